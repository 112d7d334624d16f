"""Human output with rich: tables, transcripts, short confirmations.

Invariants: results go to the Environment's stdout, notes and warnings to
its stderr; every console comes from the Environment (made by
`chit.render.console`), so text from data is never interpreted as rich
markup and its control characters are shown, never obeyed
(docs/architecture.md, rule 11); NO_COLOR and narrow terminals are
honoured (rich reads NO_COLOR and COLUMNS from the Environment's
variables, and the width of its terminal); the pager is the Environment's
PAGER.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from chit.exporters.common import ending, failure
from chit.model import Project, SearchHit, Session, SessionSummary, Tokens, age
from chit.render import table_parts
from chit.render.console import make_console, print_clean
from chit.visible import visible

if TYPE_CHECKING:
    from chit.render.environment import Environment
    from chit.service.search_terms import SearchGroup

def line(env: Environment, text: str) -> None:
    """One line of a result, on stdout."""
    say(env.console(), text)


def note(env: Environment, text: str) -> None:
    """A remark for the person (stderr), never part of the result."""
    env.note(text)


def say(console: Console, text: str) -> None:
    """`text` on `console`, as it is (made visible), never wrapped."""
    console.print(Text(visible(text)), soft_wrap=True)


def remark(console: Console, text: str) -> None:
    """`text` on `console`, dim: a remark beside the result."""
    console.print(Text(visible(text), style="dim"), soft_wrap=True)


def error(console: Console, text: str) -> None:
    """`text` on `console` after a red "error: "."""
    console.print(Text.assemble(("error: ", "bold red"), visible(text)), soft_wrap=True)


# Below these widths a listing drops its least useful columns, so that at
# 40 columns every row still fits on one line (titles are cut with "…").
WIDE = 100
MEDIUM = 64


def _table() -> Table:
    return Table(box=None, pad_edge=False, show_edge=False, header_style="bold")


def _cut(table: Table, name: str, min_width: int | None = None, max_width: int | None = None, style: str = "") -> None:
    """A column that gives up width when the terminal is narrow; its cells
    should be `_one_line` texts, so they are cut with "…", never wrapped."""
    table.add_column(name, min_width=min_width, max_width=max_width, style=style)


def _fixed(table: Table, name: str, style: str = "", justify: Any = "left") -> None:
    """A column that keeps its full width (ids, counts, ages)."""
    table.add_column(name, no_wrap=True, style=style, justify=justify)


def _one_line(text: str) -> Text:
    return Text(visible(text), no_wrap=True, overflow="ellipsis")


def _width(env: Environment) -> int:
    """The width tables are laid out for: the terminal's, or unlimited in a
    pipe (where rows are printed whole, see `_print_table`)."""
    console = env.console()
    return console.width if console.is_terminal or env.columns else 10_000


def _print_table(env: Environment, table: Table, laying_out: table_parts.LayingOut | None = None) -> None:
    """Fit a table to the terminal; in a pipe (no terminal, no COLUMNS) print
    rows whole, so nothing is cut or folded for grep and friends, and
    without the padding of the last column (`laying_out`: `parts`')."""
    console = env.console()
    if not (console.is_terminal or env.columns):
        console = make_console(file=console.file, width=10_000, _environ=env.rich_variables())
    for part in table_parts.parts(console, table, laying_out):  # a long table's first rows at once
        print_clean(console, part)
        console.file.flush()


def _age(ts: str, reference: datetime, narrow: bool) -> str:
    text = age(ts, reference)
    return text.removesuffix(" ago") if narrow else text


def sessions(
    env: Environment, items: Sequence[SessionSummary], show_project: bool, empty: str = "no sessions", forks: dict[str, int] | None = None,
    laying_out: table_parts.LayingOut | None = None,
) -> None:
    """The sessions table; with `forks` (counts by id), a fork's title is
    marked ↳ and a session with forks shows how many."""
    if not items:
        note(env, empty)
        return
    reference = datetime.now(timezone.utc)
    width = _width(env)
    narrow = width < MEDIUM
    table = _table()
    _fixed(table, "id", style="cyan")
    _cut(table, "title", min_width=8)
    if width >= WIDE:
        _cut(table, "tags", max_width=24, style="magenta")
    agents = not narrow and any(s.agents for s in items)  # a column only when some session has sub-agents
    if not narrow:
        _fixed(table, "turns", justify="right")
        _fixed(table, "msgs", justify="right")
    if agents:
        _fixed(table, "agents", justify="right")
    _fixed(table, "age" if narrow else "updated")
    if show_project:
        _cut(table, "project", min_width=4, max_width=24)
    for s in items:
        row: list[Text | str] = [s.short_id, _one_line(_lineage_mark(s, forks) + s.title if forks is not None else s.title)]
        if width >= WIDE:
            row.append(_one_line(",".join(s.tags)))
        if not narrow:
            row += [str(s.turns), str(s.messages)]
        if agents:
            row.append(str(s.agents) if s.agents else "")
        row.append(_age(s.updated_at, reference, narrow))
        if show_project:
            row.append(_one_line(s.project_name))
        table.add_row(*row)
    _print_table(env, table, laying_out)


def _lineage_mark(s: SessionSummary, forks: dict[str, int]) -> str:
    mark = "↳ " if s.parent_id is not None else ""
    count = forks.get(s.id, 0)
    return mark + (f"[{count} fork{'s' if count > 1 else ''}] " if count else "")


def trashed(env: Environment, items: Sequence[SessionSummary]) -> None:
    if not items:
        note(env, "the trash is empty")
        return
    reference = datetime.now(timezone.utc)
    narrow = _width(env) < MEDIUM
    table = _table()
    _fixed(table, "id", style="cyan")
    _cut(table, "title", min_width=8)
    _fixed(table, "deleted")
    _cut(table, "project", min_width=4, max_width=24)
    for s in items:
        table.add_row(s.short_id, _one_line(s.title), _age(s.deleted_at or s.updated_at, reference, narrow), _one_line(s.project_name))
    _print_table(env, table)


def hits(env: Environment, items: Sequence[SearchHit]) -> None:
    if not items:
        note(env, "no matches")
        return
    reference = datetime.now(timezone.utc)
    console = env.console()
    for h in items:
        title, snippet = visible(h.title), visible(h.snippet)
        where = "title" if h.turn is None and h.role is None else f"turn {h.turn if h.turn is not None else '-'} · {h.role}"
        place = visible(f"{where} · {h.project_name} · {age(h.ts, reference)}")
        if not console.is_terminal:  # a pipe: one line each, never cut
            head = Text.assemble((h.short_id, "cyan"), "  ", (title, "bold"), "  ", (place, "dim"))
            console.print(head, soft_wrap=True)
            console.print(Text("  " + snippet), soft_wrap=True)
            continue
        console.print(Text.assemble((h.short_id, "cyan"), "  ", (title, "bold")), no_wrap=True, overflow="ellipsis")
        console.print(Padding(Group(Text(place, style="dim"), Text(snippet)), (0, 0, 0, 2)))


def hit_groups(env: Environment, groups: Sequence[SearchGroup]) -> None:
    """One line per session: id, hits, title, where and when the newest
    was, then the best snippet."""
    reference = datetime.now(timezone.utc)
    console = env.console()
    for g in groups:
        h = g.best
        count = f"{len(g.hits)} hit{'' if len(g.hits) == 1 else 's'}"
        place = visible(f"{count} · {h.project_name} · {age(g.newest, reference)}")
        head = Text.assemble((h.short_id, "cyan"), "  ", (visible(h.title), "bold"), "  ", (place, "dim"))
        if console.is_terminal:
            console.print(head, no_wrap=True, overflow="ellipsis")
        else:
            console.print(head, soft_wrap=True)
        console.print(Text("  " + visible(h.snippet)), soft_wrap=not console.is_terminal, no_wrap=console.is_terminal, overflow="ellipsis")


def projects(env: Environment, items: Iterable[tuple[Project, int]]) -> None:
    rows = list(items)
    if not rows:
        note(env, "no projects yet")
        return
    wide = _width(env) >= WIDE
    table = _table()
    _cut(table, "name", min_width=6)
    _fixed(table, "sessions", justify="right")
    table.add_column("path", overflow="fold")
    if wide:
        _fixed(table, "slug", style="dim")
    for project, count in rows:
        path = Text(visible(project.path or ("not on this machine" if project.git_root else "-")))
        if project.path and not os.path.isdir(project.path):
            path.append(" (gone)", style="yellow")
        row: list[Text | str] = [_one_line(project.name), str(count), path]
        if wide:
            row.append(project.slug)
        table.add_row(*row)
    _print_table(env, table)


def _tokens(tokens: Tokens) -> str:
    """'tokens 1,204 in / 388 out' (a count no message reported is '?')."""
    def count(n: int | None) -> str:
        return "?" if n is None else f"{n:,}"

    return f"tokens {count(tokens.input)} in / {count(tokens.output)} out"


def _header(session: Session, project_name: str) -> Text:
    bits = [f"{session.short_id}", f"project {project_name}", f"{session.turns} turn{'' if session.turns == 1 else 's'}", f"updated {age(session.updated_at)}"]
    if session.tags:
        bits.append("tags " + ",".join(session.tags))
    if session.tokens:
        bits.append(_tokens(session.tokens))
    if session.parent:
        bits.append(f"fork of {session.parent.id[:8]} at turn {session.parent.turn}")
    return Text.assemble((visible(session.title), "bold"), "\n", (visible(" · ".join(bits)), "dim"))


def _agents(agents: Sequence[SessionSummary]) -> Text:
    """The sub-agents' sessions, one per line: id, title, messages."""
    lines = [f"sub-agents ({len(agents)}):"]
    lines += [f"  {a.short_id}  {' '.join(a.title.split())}  ({a.messages} messages)" for a in agents]
    return Text(visible("\n".join(lines)), style="dim")


def _forks(forks: Sequence[SessionSummary]) -> Text:
    """The session's forks, one per line: id, title, turns."""
    lines = [f"forks ({len(forks)}):"]
    lines += [f"  {f.short_id}  {' '.join(f.title.split())}  ({f.turns} turns)" for f in forks]
    return Text(visible("\n".join(lines)), style="dim")


#: Past this many characters a message is printed as plain text, in pieces:
#: rich lays out one long paragraph in quadratic time (a 50 MB reply would
#: take hours), and Markdown of that size is not read anyway.
LARGE = 100_000
PIECE = 8_192


def _pieces(content: str) -> Iterator[str]:
    """`content` in pieces of about PIECE characters, cut after a newline
    where there is one."""
    start = 0
    while start < len(content):
        end = start + PIECE
        if end < len(content):
            cut = content.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        piece = content[start:end]
        yield piece[:-1] if piece.endswith("\n") else piece
        start = end


def message_body(content: str, markdown: bool) -> list[Any]:
    """Renderables for a message's `content`, made visible: Markdown (with
    hard line breaks) when asked, plain text when not or when it is LARGE."""
    shown = visible(content)
    if len(shown) > LARGE:
        return [Text(piece) for piece in _pieces(shown)]
    if not markdown:
        return [Text(shown)]
    from chit.render.markdown import ChatMarkdown  # markdown-it and pygments: only for Markdown

    return [ChatMarkdown(shown)]


def marked(mark: str) -> Text:
    """A reply's mark ("interrupted", "cut off: …") as the line after it."""
    return Text(visible(f"[{mark}]"), style="yellow")


def transcript(
    console: Console, session: Session, project_name: str, pager: Mapping[str, str] | None,
    agents: Sequence[SessionSummary] = (), agent_of: SessionSummary | None = None,
    forks: Sequence[SessionSummary] = (),
) -> None:
    from chit.exporters.common import is_tool, label

    parts: list[Any] = [_header(session, project_name)]
    if agent_of is not None:
        parts.append(Text(visible(f"sub-agent of {agent_of.short_id}  {' '.join(agent_of.title.split())}"), style="dim"))
    if agents:
        parts.append(_agents(agents))
    if forks:
        parts.append(_forks(forks))
    current: object = "start"
    formatted_from = _formatted_from(session.messages)
    for n, message in enumerate(session.messages):
        turn = None
        if message.turn != current:
            current = message.turn
            turn = "preamble" if current is None else f"turn {current}"
        # a tool message says which tool, and whether it is a call, a result or an error
        who = label(message) if is_tool(message) else message.role + (f" · {message.model}" if message.model else "")
        mark = ending(message)
        if n < formatted_from:
            parts.append(_Plain(message.content, _plain_head(turn, who, console.width), f"[{mark}]\n" if mark else ""))
            continue
        if turn is not None:
            parts.append(Rule(Text(turn, style="bold"), align="left", style="dim"))
        parts.append(Text(visible(who), style=_ROLE_STYLE.get(message.role, "")))
        if len(message.content) > LARGE:
            parts.append(_Plain(message.content))
        else:
            parts.extend(message_body(message.content, markdown=message.role == "assistant"))
        if mark:
            parts.append(marked(mark))
    if mark := failure(session):
        parts.append(marked(mark))
    if not session.messages:
        parts.append(Text("(no messages yet)", style="dim"))
    if session.changes:
        parts.append(Text(_hidden_note(session), style="dim"))
    plain = sum(len(p.content) for p in parts if isinstance(p, _Plain))
    if pager is not None and console.is_terminal and plain <= PAGED_MAX:
        page_text(console, _rendered(console, parts), pager)
    else:
        _print_parts(console, parts)


#: Past this many characters of long messages, a transcript is printed
#: without the pager (which would hold all of it at once).
PAGED_MAX = 2_000_000

#: A transcript lays out (Markdown, highlighted code, wrapping) only its
#: latest messages, up to this many characters of them; the ones before
#: are printed as plain text. rich spends microseconds per character, so a
#: session of megabytes laid out whole takes seconds; plain text is
#: written at the speed of the terminal.
FORMATTED = 50_000


def _formatted_from(messages: Sequence[Any]) -> int:
    """The index of the first message the transcript lays out."""
    size = 0
    for n in range(len(messages) - 1, -1, -1):
        size += len(messages[n].content)
        if size > FORMATTED:
            return n + 1
    return 0


def _plain_head(turn: str | None, who: str, width: int) -> str:
    """The turn rule (when a turn starts) and the role line of a message
    printed as plain text, as the laid-out ones show them, without style."""
    head = ""
    if turn is not None:
        head = f"── {turn} " + "─" * max(0, width - len(turn) - 4) + "\n"
    return head + visible(who) + "\n"


class _Plain:
    """A message written as it is, a piece at a time (bounded memory and
    linear time), never laid out by rich; `head` and `tail` are lines
    written before and after it."""

    def __init__(self, content: str, head: str = "", tail: str = "") -> None:
        self.content = content
        self.head = head
        self.tail = tail

    def write(self, out: IO[str]) -> None:
        out.write(self.head)
        start = 0
        while start < len(self.content):
            end = start + PIECE * 64
            if self.content[end - 1 : end] == "\r":  # never split a CR LF pair
                end += 1
            out.write(visible(self.content[start:end]))
            start = end
        if not self.content.endswith("\n"):
            out.write("\n")
        out.write(self.tail)


def _print_parts(console: Console, parts: list[Any]) -> None:
    """Print the parts in order: runs of renderables through rich, plain
    messages straight to the console's file."""
    run: list[Any] = []
    for part in parts:
        if isinstance(part, _Plain):
            if run:
                print_clean(console, Group(*run))
                run = []
                console.file.flush()
            part.write(console.file)
        else:
            run.append(part)
    if run:
        print_clean(console, Group(*run))


def _rendered(console: Console, parts: list[Any]) -> str:
    """The text `_print_parts` would print on this console."""
    out = io.StringIO()
    run: list[Any] = []
    for part in [*parts, None]:
        if isinstance(part, _Plain) or part is None:
            if run:
                with console.capture() as captured:
                    console.print(Group(*run))
                out.write(captured.get())
                run = []
            if part is not None:
                part.write(out)
        else:
            run.append(part)
    return out.getvalue()


def _hidden_note(session: Session) -> str:
    last = session.changes[-1]
    count = len(last.hidden)
    note = f"{count} message{'' if count == 1 else 's'} hidden by {last.kind} — `chit undo` brings {'it' if count == 1 else 'them'} back"
    return note + (f" ({session.hidden} hidden in all: each undo goes one change further back)" if session.hidden > count else "")


def page(console: Console, renderable: Any, variables: Mapping[str, str]) -> None:
    """Print `renderable`, through `$PAGER` of `variables` (an Environment's;
    default `less`) when it is taller than the terminal. Like git, `LESS=FRX`
    is set when LESS is unset so colours pass through; an empty PAGER, or
    one that cannot start, means printing directly."""
    with console.capture() as captured:
        console.print(renderable)
    page_text(console, captured.get(), variables)


def page_text(console: Console, text: str, variables: Mapping[str, str]) -> None:
    """Print `text` (rendered for this console) as `page` does."""
    command = variables.get("PAGER", "less").strip()
    if text.count("\n") < console.height or not command or command == "cat":
        console.file.write(text)
        console.file.flush()
        return
    import subprocess

    env = dict(variables)
    env.setdefault("LESS", "FRX")
    env.setdefault("LV", "-c")
    console.file.flush()
    try:
        pager = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
    except OSError:
        console.file.write(text)
        return
    assert pager.stdin is not None
    try:
        pager.stdin.write(text.encode("utf-8", "replace"))
        pager.stdin.close()
    except BrokenPipeError:  # the reader quit before the end
        pass
    while True:
        try:
            pager.wait()
            break
        except KeyboardInterrupt:  # Ctrl-C belongs to the pager (less)
            continue
    if pager.returncode == 127:  # the shell could not find the pager
        console.file.write(text)


_ROLE_STYLE = {"user": "bold green", "assistant": "bold blue", "system": "bold yellow", "tool": "bold magenta"}
