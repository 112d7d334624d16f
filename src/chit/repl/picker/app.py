"""The picker's screen: a thin prompt-toolkit application over `Picker`.

Layout: the query line, a header naming the scope and the keys, the list
of sessions beside the preview of the highlighted one, and a status line.
Only the rows that fit are drawn, each cut to the list's width, so a
keystroke costs the filter and one screen, whatever the number of
sessions.

Invariants: leaving (Esc, Ctrl-C) changes nothing and returns None; Enter
returns the highlighted session's id; every other change is an action of
`Picker`, so its errors are one status line and the picker stays open.
No keystroke reads a file: message content is searched, and the
highlighted session's preview read, once no key has come for `PAUSE`.
The screen is drawn on the terminal even when stdout is a pipe
(`chit show $(chit pick)`). While the picker is open, what the process
held once every session was listed is frozen out of the garbage
collector's full passes (over 10,000 listed sessions one took 100 ms or
more, in the middle of a keystroke); leaving thaws it.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from prompt_toolkit.application import Application
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.layout import HSplit, Layout, VSplit, Window
from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
from prompt_toolkit.layout.dimension import Dimension
from prompt_toolkit.styles import Style

from chit.errors import ChitError, UsageError
from chit.model import age
from chit.repl.picker.rank import Entry
from chit.repl.picker.state import CONTENT_PREFIX, Picker
from chit.visible import visible

KEYS = "Tab projects · Ctrl-F content · ^R rename · ^T tag · ^O fork · ^D delete · ^Z undo · Enter open · Esc leave"
STYLE = Style.from_dict({
    "prompt": "bold",
    "header": "reverse",
    "selected": "reverse",
    "id": "ansicyan",
    "dim": "ansibrightblack",
    "snippet": "ansiyellow",
    "role": "bold",
    "status": "ansigreen",
})
PAUSE = 0.1  # seconds without a key before message content is searched or a preview read
ROW_CHARS = 300  # a row is cut here before drawing (the window cuts it again to its width)


def _one_line(text: str, limit: int = ROW_CHARS) -> str:
    return visible(" ".join(text[: limit * 2].split()))[:limit]


class PickerApp:
    """The application; `run()` returns the chosen id, or None."""

    def __init__(self, picker: Picker, **io: Any) -> None:
        self.picker = picker
        self.asking: tuple[str, Callable[[str], None]] | None = None  # (label, what to do with the answer)
        self.saved_query = ""
        self.top = 0  # first listed row on screen
        self.now = datetime.now(timezone.utc)
        self.waiting: asyncio.TimerHandle | None = None  # the search or preview read for the next pause
        self.frozen: list[Entry] | None = None  # the listing last frozen out of the collector's full passes
        self.buffer = Buffer(multiline=False, on_text_changed=self._typed)
        # explicit widths: prompt-toolkit then never measures the rows' text
        self.list_window = Window(FormattedTextControl(self._rows), wrap_lines=False, width=self._list_width)
        # the body takes the rows left: given that, prompt-toolkit never
        # lays out the preview's wrapped text just to learn its height
        body = VSplit([
            self.list_window,
            Window(width=1, char="│", style="class:dim"),
            Window(FormattedTextControl(self._preview), wrap_lines=True),
        ], height=Dimension(min=1))
        root = HSplit([
            VSplit([Window(FormattedTextControl(self._prompt), dont_extend_width=True), Window(BufferControl(self.buffer))], height=1),
            Window(FormattedTextControl(self._header), height=1, style="class:header"),
            body,
            Window(FormattedTextControl(self._status), height=1),
        ])
        self.app: Application[str | None] = Application(
            layout=Layout(root, focused_element=self.buffer),
            key_bindings=self._bindings(),
            style=STYLE,
            full_screen=True,
            mouse_support=False,
            **io,
        )
        self.app.ttimeoutlen = 0.05  # Esc alone leaves at once, not after half a second
        self.app.after_render += self._drawn

    def _drawn(self, app: Application[str | None]) -> None:
        """Once the first screen is up, list the sessions it did not need;
        once a new listing is drawn, freeze it (see the module's docstring);
        a content search or a preview still to do waits for a pause."""
        if not self.picker.complete:
            asyncio.get_running_loop().call_soon(self._finish_listing)
        elif self.frozen is not self.picker.entries:
            gc.freeze()
            self.frozen = self.picker.entries
        if self.picker.search_pending or not self.picker.preview_read():
            if self.waiting is not None:
                self.waiting.cancel()
            self.waiting = asyncio.get_running_loop().call_later(PAUSE, self._paused)

    def _paused(self) -> None:
        """Typing has paused: search, or read the preview (the next screen
        shows it)."""
        self.waiting = None
        self._guard(self.picker.run_search)
        self.picker.preview()
        self.app.invalidate()

    def _finish_listing(self) -> None:
        self._guard(self.picker.finish_listing)
        self.app.invalidate()

    def run(self) -> str | None:
        try:
            return self.app.run()
        finally:
            self._left()

    async def run_async(self) -> str | None:
        try:
            return await self.app.run_async()
        finally:
            self._left()

    def _left(self) -> None:
        if self.waiting is not None:
            self.waiting.cancel()
        gc.unfreeze()

    # -- input -------------------------------------------------------------------------
    def _typed(self, buffer: Buffer) -> None:
        if self.asking is None:
            self._guard(lambda: self.picker.set_query(buffer.text, search=False))
            self.top = 0

    def _ask(self, label: str, initial: str, then: Callable[[str], None]) -> None:
        """Read an answer on the query line (Enter gives it, Esc forgets it)."""
        if self.picker.selected_entry() is None:
            self.picker.message = "no session highlighted"
            return
        self.saved_query = self.buffer.text
        self.asking = (label, then)
        self._set_text(initial)

    def _answered(self, keep: bool) -> None:
        assert self.asking is not None
        answer, (_, then) = self.buffer.text, self.asking
        self.asking = None
        self._set_text(self.saved_query)
        if keep:
            self._guard(lambda: then(answer))

    def _set_text(self, text: str) -> None:
        """The query line holds `text`, the cursor at its end."""
        self.buffer.set_document(Document(text, len(text)))

    def _guard(self, action: Callable[[], None]) -> None:
        try:
            action()
        except ChitError as exc:
            self.picker.message = f"error: {exc.message}"

    def _bindings(self) -> KeyBindings:
        keys = KeyBindings()
        asking = Condition(lambda: self.asking is not None)
        picking = ~asking
        picker = self.picker

        @keys.add("escape", eager=True)
        @keys.add("c-c")
        def leave(event: KeyPressEvent) -> None:
            if self.asking is not None:
                self._answered(keep=False)
            else:
                event.app.exit(result=None)

        @keys.add("enter")
        def enter(event: KeyPressEvent) -> None:
            if self.asking is not None:
                self._answered(keep=True)
                return
            self._guard(picker.run_search)  # Enter right after typing picks from what the query finds
            if picker.selected_id() is not None:
                event.app.exit(result=picker.selected_id())

        def move(step: int) -> Callable[[KeyPressEvent], None]:
            return lambda event: picker.move(step)

        for key, step in (("up", -1), ("c-p", -1), ("down", 1), ("c-n", 1), ("pageup", -10), ("pagedown", 10)):
            keys.add(key, filter=picking)(move(step))

        @keys.add("tab", filter=picking)
        def projects(event: KeyPressEvent) -> None:
            self._guard(picker.toggle_projects)

        @keys.add("c-f", filter=picking)
        def content(event: KeyPressEvent) -> None:
            text = self.buffer.text
            text = text[len(CONTENT_PREFIX):] if text.startswith(CONTENT_PREFIX) else CONTENT_PREFIX + text
            self._set_text(text)

        @keys.add("c-r", filter=picking)
        def rename(event: KeyPressEvent) -> None:
            entry = picker.selected_entry()
            self._ask("rename: ", entry.summary.title if entry else "", picker.rename)

        @keys.add("c-t", filter=picking)
        def tag(event: KeyPressEvent) -> None:
            self._ask("tags (-TAG takes one off): ", "", picker.tag)

        @keys.add("c-o", filter=picking)
        def fork(event: KeyPressEvent) -> None:
            self._guard(picker.fork)

        @keys.add("c-d", filter=picking)
        def delete(event: KeyPressEvent) -> None:
            self._guard(picker.delete)

        @keys.add("c-z", filter=picking)
        def undo(event: KeyPressEvent) -> None:
            self._guard(picker.undo)

        return keys

    # -- drawing -----------------------------------------------------------------------
    def _prompt(self) -> StyleAndTextTuples:
        label = self.asking[0] if self.asking else ("search messages › " if self.picker.content_mode else "› ")
        return [("class:prompt", label)]

    def _header(self) -> StyleAndTextTuples:
        picker = self.picker
        scope = "all projects" if picker.all_projects else f"project {picker.project_name}"
        more = "" if picker.complete else "+"
        return [("", f" {scope} · {len(picker.shown)} of {len(picker.entries)}{more} sessions")]

    def _status(self) -> StyleAndTextTuples:
        if self.asking is not None:
            return [("class:dim", "Enter sets it · Esc forgets it")]
        if self.picker.message:
            return [("class:status", _one_line(self.picker.message))]
        return [("class:dim", self.picker.hint or KEYS)]

    def _list_width(self) -> Dimension:
        return Dimension.exact(self._list_columns())

    def _list_columns(self) -> int:
        return max(20, self.app.output.get_size().columns * 3 // 5)

    def _visible_rows(self) -> int:
        info = self.list_window.render_info
        return info.window_height if info is not None else max(1, self.app.output.get_size().rows - 3)

    def _rows(self) -> StyleAndTextTuples:
        picker = self.picker
        height = self._visible_rows()
        if picker.selected < self.top:
            self.top = picker.selected
        elif picker.selected >= self.top + height:
            self.top = picker.selected - height + 1
        self.now = datetime.now(timezone.utc)
        if not picker.shown:
            return [("class:dim", " no session matches" if picker.query else " no sessions")]
        fragments: StyleAndTextTuples = []
        columns = self._list_columns()
        for n in range(self.top, min(len(picker.shown), self.top + height)):
            fragments.extend(fit(self._row(picker.shown[n], n == picker.selected), columns))
            fragments.append(("", "\n"))
        return fragments[:-1]

    def _row(self, entry: Entry, selected: bool) -> StyleAndTextTuples:
        summary = entry.summary
        base = "class:selected " if selected else ""
        tags = "".join(f" #{t}" for t in summary.tags)
        where = f" · {summary.project_name}" if self.picker.all_projects else ""
        row: StyleAndTextTuples = [
            (base, "›" if selected else " "),
            (base + "class:id", f" {summary.short_id} "),
            (base, _one_line(summary.title, 60)),
            (base + "class:dim", f"{tags} · {age(summary.updated_at, self.now)}{where}"),
        ]
        if entry.snippet is not None:
            row.append((base + "class:snippet", " — " + _one_line(entry.snippet)))
        return row

    def _preview(self) -> StyleAndTextTuples:
        entry = self.picker.selected_entry()
        if entry is None:
            return []
        summary = entry.summary
        fragments: StyleAndTextTuples = [
            ("class:role", _one_line(summary.title)),
            ("class:dim", f"\n{summary.short_id} · {summary.turns} turn{'' if summary.turns == 1 else 's'} · {summary.project_name}\n"),
        ]
        if not self.picker.preview_read():
            return [*fragments, ("class:dim", "\n…")]
        for line in self.picker.preview():
            fragments.append(("class:role", f"\n{line.role}: "))
            fragments.append(("", visible(line.text[:1200])))
            fragments.append(("", "\n"))
        return fragments


def fit(row: StyleAndTextTuples, columns: int) -> StyleAndTextTuples:
    """`row` cut to `columns` characters: prompt-toolkit walks every
    character it is given, even those past the window's edge."""
    kept: StyleAndTextTuples = []
    for style, text, *_ in row:
        if columns <= 0:
            break
        kept.append((style, text[:columns]))
        columns -= len(text)
    return kept


def choose(picker: Picker) -> str | None:
    """Run the picker on this terminal: the chosen session's id, or None
    when it was left. Drawn on the terminal itself when stdout is not one
    (its output is then the caller's to print); UsageError without one."""
    import sys

    if not sys.stdin.isatty():
        raise UsageError("the session picker needs a terminal; give a REF instead")
    if sys.stdout.isatty():
        return PickerApp(picker).run()
    from prompt_toolkit.output.vt100 import Vt100_Output

    try:
        terminal = open("/dev/tty", "w", encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError:
        raise UsageError("the session picker needs a terminal; give a REF instead") from None
    with terminal:
        return PickerApp(picker, output=Vt100_Output.from_pty(terminal)).run()
