"""Case-insensitive matching and the snippet rule of `chit search`.

Invariants: matching is Unicode casefold substring; the span returned is in
the original text's indices even where folding changes length ("ß" → "ss");
a snippet is a 120-character window starting 30 characters before the match,
newlines as spaces, with "…" on each side that was cut.
"""

from __future__ import annotations

SNIPPET_WIDTH = 120
SNIPPET_LEAD = 30
_NEWLINES_TO_SPACES = {ord("\n"): " ", ord("\r"): " "}


def find_folded(text: str, folded_query: str) -> tuple[int, int] | None:
    """(start, end) of the first casefold match of `folded_query` in `text`."""
    if not folded_query:
        return None
    if text.isascii() and folded_query.isascii():
        pos = text.lower().find(folded_query)
        return None if pos < 0 else (pos, pos + len(folded_query))
    index_map: list[int] = []
    parts: list[str] = []
    for i, ch in enumerate(text):
        folded = ch.casefold()
        parts.append(folded)
        index_map.extend([i] * len(folded))
    pos = "".join(parts).find(folded_query)
    if pos < 0:
        return None
    return index_map[pos], index_map[pos + len(folded_query) - 1] + 1


def make_snippet(text: str, start: int, end: int = 0) -> str:
    begin = max(0, start - SNIPPET_LEAD)
    finish = min(len(text), begin + SNIPPET_WIDTH)
    window = text[begin:finish].translate(_NEWLINES_TO_SPACES)
    return ("…" if begin > 0 else "") + window + ("…" if finish < len(text) else "")
