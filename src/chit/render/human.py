"""Human output with rich: tables, transcripts, short confirmations.

Invariants: results go to stdout, notes and warnings to stderr; user text is
never interpreted as rich markup; NO_COLOR and narrow terminals are honoured
(rich reads NO_COLOR and the terminal width itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from rich.console import Console, Group
from rich.markdown import Markdown
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from chit.model import Project, SearchHit, Session, SessionSummary, age

_out: Console | None = None
_err: Console | None = None


def out() -> Console:
    global _out
    if _out is None:
        _out = Console(highlight=False)
    return _out


def err() -> Console:
    global _err
    if _err is None:
        _err = Console(stderr=True, highlight=False)
    return _err


def line(text: str) -> None:
    out().print(Text(text), soft_wrap=True)


def note(text: str) -> None:
    """A remark for the person (stderr), never part of the result."""
    err().print(Text(text, style="dim"), soft_wrap=True)


def _table(*columns: str) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for name in columns:
        table.add_column(name, overflow="fold")
    return table


def sessions(items: Sequence[SessionSummary], show_project: bool, empty: str = "no sessions") -> None:
    if not items:
        note(empty)
        return
    reference = datetime.now(timezone.utc)
    columns = ["id", "title", "tags", "turns", "msgs", "updated"] + (["project"] if show_project else [])
    table = _table(*columns)
    table.columns[3].justify = "right"
    table.columns[4].justify = "right"
    for s in items:
        row: list[Text | str] = [
            Text(s.short_id, style="cyan"),
            Text(s.title),
            Text(",".join(s.tags), style="magenta"),
            str(s.turns),
            str(s.messages),
            age(s.updated_at, reference),
        ]
        if show_project:
            row.append(Text(s.project_name))
        table.add_row(*row)
    out().print(table)


def trashed(items: Sequence[SessionSummary]) -> None:
    if not items:
        note("the trash is empty")
        return
    table = _table("id", "title", "deleted", "project")
    for s in items:
        table.add_row(Text(s.short_id, style="cyan"), Text(s.title), age(s.deleted_at or s.updated_at), Text(s.project_name))
    out().print(table)


def hits(items: Sequence[SearchHit]) -> None:
    if not items:
        note("no matches")
        return
    reference = datetime.now(timezone.utc)
    for h in items:
        where = "title" if h.turn is None and h.role is None else f"turn {h.turn if h.turn is not None else '-'} · {h.role}"
        head = Text.assemble((h.short_id, "cyan"), "  ", (h.title, "bold"), "  ", (f"{where} · {h.project_name} · {age(h.ts, reference)}", "dim"))
        out().print(head, soft_wrap=True)
        out().print(Text("  " + h.snippet), soft_wrap=True)


def projects(items: Iterable[tuple[Project, int]]) -> None:
    rows = list(items)
    if not rows:
        note("no projects yet")
        return
    table = _table("name", "sessions", "path", "slug")
    table.columns[1].justify = "right"
    for project, count in rows:
        table.add_row(Text(project.name), str(count), Text(project.path or "-"), Text(project.slug, style="dim"))
    out().print(table)


def _header(session: Session, project_name: str) -> Text:
    bits = [f"{session.short_id}", f"project {project_name}", f"{session.turns} turn{'' if session.turns == 1 else 's'}", f"updated {age(session.updated_at)}"]
    if session.tags:
        bits.append("tags " + ",".join(session.tags))
    if session.parent:
        bits.append(f"fork of {session.parent.id[:8]} at turn {session.parent.turn}")
    return Text.assemble((session.title, "bold"), "\n", (" · ".join(bits), "dim"))


def transcript(session: Session, project_name: str, pager: bool) -> None:
    parts: list[Any] = [_header(session, project_name)]
    current: object = "start"
    for message in session.messages:
        if message.turn != current:
            current = message.turn
            label = "preamble" if current is None else f"turn {current}"
            parts.append(Rule(Text(label, style="bold"), align="left", style="dim"))
        who = message.role + (f" · {message.model}" if message.model else "")
        parts.append(Text(who, style=_ROLE_STYLE.get(message.role, "")))
        if message.role == "assistant":
            parts.append(Markdown(message.content))
        else:
            parts.append(Text(message.content))
    if not session.messages:
        parts.append(Text("(no messages yet)", style="dim"))
    console = out()
    if pager and console.is_terminal:
        with console.pager(styles=True):
            console.print(Group(*parts))
    else:
        console.print(Group(*parts))


_ROLE_STYLE = {"user": "bold green", "assistant": "bold blue", "system": "bold yellow", "tool": "bold magenta"}
