"""The REPL's tables: the slash commands (`/help`) and a numbered listing
of sessions (`/list`, `/search`), drawn on the REPL's console.

Invariants: as chit.render.human's (text from data made visible and never
read as markup); each row is one line at any width: cells are cut with
"…", never wrapped.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from chit.visible import visible


def _one_line(text: str) -> Text:
    return Text(" ".join(visible(text).split()), no_wrap=True, overflow="ellipsis")


def commands(console: Console, rows: Sequence[tuple[str, str]]) -> None:
    """Each command's usage and what it does."""
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="cyan", no_wrap=True)
    table.add_column()
    for usage, text in rows:
        table.add_row(usage, text)
    console.print(table)


def sessions(console: Console, rows: Sequence[tuple[str, str, str]]) -> None:
    """Sessions numbered from 1: short id, title, a detail (age, snippet)."""
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(style="cyan", no_wrap=True)
    table.add_column(min_width=8)
    table.add_column(style="dim", min_width=6)
    for number, (session_id, title, detail) in enumerate(rows, start=1):
        table.add_row(str(number), session_id[:8], _one_line(title), _one_line(detail))
    console.print(table)
