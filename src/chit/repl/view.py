"""REPL output: a reply streaming in, then shown as Markdown.

Invariant: while a reply streams, only its tail is shown in a transient
live region (it never fights the terminal's scrollback); once it is
complete, the whole reply is printed once, rendered as Markdown with
highlighted code.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.text import Text


@contextmanager
def streaming(console: Console) -> Iterator[Callable[[str], None]]:
    """Yields `show(text_so_far)`; on a terminal the tail is live-updated."""
    if not console.is_terminal:
        yield lambda text: None
        return
    from rich.live import Live

    live = Live(console=console, transient=True, refresh_per_second=15, auto_refresh=True)

    def show(text: str) -> None:
        height = max(3, console.size.height - 4)
        width = max(20, console.size.width - 1)
        lines: list[str] = []
        for raw in text.splitlines()[-height:] or [""]:
            lines.extend(textwrap.wrap(raw, width) or [""])
        live.update(Text("\n".join(lines[-height:])))

    with live:
        yield show


def reply(console: Console, text: str, label: str, interrupted: bool = False) -> None:
    from rich.markdown import Markdown

    console.print(Text(label, style="bold blue"))
    if text:
        console.print(Markdown(text))
    if interrupted:
        console.print(Text("[interrupted]", style="yellow"))
