"""The one way chit makes a rich console, and why it is safe for data.

Invariants, for every console `make_console` returns:
- no piece of text is ever interpreted: markup (`[bold]` in a title) and
  emoji codes (`:smile:`) are off, so data prints as it is written;
- every segment of text leaves through `visible`, so control characters
  and escape sequences from data are shown, never sent to the terminal.
  rich's own styles and cursor moves are not text segments (they are
  added around them, or are control segments) and pass untouched, so
  colour still works where colour is on.
Off a terminal (a pipe, a file), `print_clean` prints without the
spaces rich pads lines with to the console width: no line of `chit show |
cat -A` ends in padding.
This render hook is the choke point for all human output that goes
through rich: the CLI's tables and transcripts, the pager's captured text,
the REPL's notes, live tail and rendered replies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment

from chit.visible import UNSAFE, visible


class SafeConsole(Console):
    """A rich console whose text segments pass through `visible`."""

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control is None and UNSAFE.search(segment.text) is not None:
                yield Segment(visible(segment.text), segment.style)
            else:
                yield segment


def make_console(**options: Any) -> Console:
    """A `SafeConsole` with highlighting, markup and emoji codes off."""
    return SafeConsole(highlight=False, markup=False, emoji=False, **options)


def print_clean(console: Console, renderable: RenderableType) -> None:
    """Print `renderable`; off a terminal, each line without its trailing
    padding (rich pads paragraphs and code blocks to the width)."""
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    text = captured.get()
    console.file.write("".join(line.rstrip() + "\n" for line in text.splitlines()))
