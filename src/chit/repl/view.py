"""REPL output: a reply streaming in, then shown as Markdown.

Invariants:
- until the first text arrives, the live region is one spinner line with
  the seconds waited (Ctrl-C cancels the request as it does a reply); the
  first text replaces it, and it is never printed to a pipe;
- while a reply streams, only its tail is shown in a transient live region
  (it never fights the terminal's scrollback); the live region keeps at
  most `TAIL_CHARS` characters and is laid out only when rich refreshes it
  (15 times a second), never per chunk, so a reply of n chunks costs O(n);
- once complete, the whole reply is printed once: rendered as Markdown
  with highlighted code, or as plain text when it is longer than
  `human.LARGE` characters (Markdown of that size takes minutes);
- every character of the reply is shown through `visible`: escape
  sequences in a model's reply are shown, never obeyed;
- Ctrl-C while a reply is printed stops the printing (the reply is already
  stored) and the prompt returns.
"""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from chit.render.console import print_clean
from chit.visible import visible

#: The most of a streaming reply the live region keeps: more than a screen
#: holds, so the tail it shows is whole.
TAIL_CHARS = 32_768


SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class Tail:
    """The end of a streaming reply. `add` is O(len(chunk)) amortised; the
    text is wrapped to the screen only when rich renders the live region
    (from its refresh thread, hence the lock)."""

    def __init__(self, limit: int = TAIL_CHARS, waiting_for: str = "the model") -> None:
        self.limit = limit
        self.waiting_for = waiting_for
        self.started = time.monotonic()
        self._pieces: list[str] = []
        self._size = 0
        self._lock = threading.Lock()

    def add(self, chunk: str) -> None:
        with self._lock:
            self._pieces.append(chunk)
            self._size += len(chunk)
            if self._size > 2 * self.limit:  # compact: each character is copied at most twice
                kept = "".join(self._pieces)[-self.limit :]
                self._pieces = [kept]
                self._size = len(kept)

    def text(self) -> str:
        with self._lock:
            return "".join(self._pieces)[-self.limit :]

    def waiting(self) -> Text:
        elapsed = time.monotonic() - self.started
        frame = SPINNER[int(elapsed * 10) % len(SPINNER)]
        return Text(visible(f"{frame} waiting for {self.waiting_for}… {elapsed:.0f}s (Ctrl-C cancels)"), style="dim", no_wrap=True, overflow="ellipsis")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self._size == 0:
            yield self.waiting()
            return
        height = max(3, console.size.height - 4)
        width = max(20, console.size.width - 1)
        lines: list[str] = []
        for raw in visible(self.text()).splitlines()[-height:] or [""]:
            lines.extend(textwrap.wrap(raw, width) or [""])
        yield Text("\n".join(lines[-height:]))


@contextmanager
def streaming(console: Console, waiting_for: str = "the model") -> Iterator[Callable[[str], None]]:
    """Yields `show(chunk)`, to call with each chunk as it arrives; on a
    terminal a spinner shows the wait for `waiting_for`'s first text, then
    the tail of the reply so far is live-updated."""
    if not console.is_terminal:
        yield lambda chunk: None
        return
    from rich.live import Live

    tail = Tail(waiting_for=waiting_for)
    live = Live(tail, console=console, transient=True, refresh_per_second=15, auto_refresh=True)
    # not `with Live(...)`: a Ctrl-C that lands inside its start (after the
    # refresh thread or the console's render hook is in place, before the
    # with-block is entered) would leave the spinner drawn under every later
    # line; stop() undoes a start however far it got
    try:
        live.start(refresh=True)
        yield tail.add
    finally:
        live.stop()


def reply(console: Console, text: str, label: str, mark: str | None = None, *, tail_only: bool = False) -> None:
    """Print a stored reply, then its mark ("interrupted", "cut off: …")
    if it ended short; Ctrl-C stops the printing, not the REPL. With
    `tail_only` (the user pressed Ctrl-C while it arrived, so wants the
    prompt back, not megabytes scrolling by) only its last screenful."""
    from chit.render.human import marked, message_body

    console.print(Text(visible(label), style="bold blue"))
    shown = _last_screenful(console, text) if tail_only else text
    if len(shown) < len(text):
        console.print(Text("[earlier text not shown: the reply is stored, /show prints it]", style="yellow"))
    try:
        for part in message_body(shown, markdown=shown is text):
            print_clean(console, part)
    except KeyboardInterrupt:
        console.print(Text("[display stopped: the whole reply is stored, /show prints it]", style="yellow"))
    if mark:
        console.print(marked(mark), soft_wrap=True)


def _last_screenful(console: Console, text: str) -> str:
    """The end of `text` that fits a screen: at most its last lines, and
    never more characters than those lines can show (one long line too)."""
    height = max(3, console.size.height - 6)
    limit = height * max(20, console.size.width)
    lines = (text if len(text) <= limit else text[-limit:]).splitlines()
    if len(text) <= limit and len(lines) <= height:
        return text
    return "\n".join(lines[-height:])
