"""Markdown as chit's transcripts show it (rich's Markdown, which loads
markdown-it and pygments: imported only when a message is shown as Markdown)."""

from __future__ import annotations

from typing import Any

from rich.markdown import Markdown


class ChatMarkdown(Markdown):
    """Markdown as chat apps show it: a single newline is a line break, not
    a space (CommonMark joins the lines of a paragraph). Only the breaks
    inside paragraphs change; code blocks, lists and tables are as parsed."""

    def __init__(self, markup: str, **options: Any) -> None:
        super().__init__(markup, **options)
        for token in self.parsed:
            for child in token.children or ():
                if child.type == "softbreak":
                    child.type = "hardbreak"
