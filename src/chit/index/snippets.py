"""Case-insensitive matching and the snippet rule of `chit search`.

Invariants: matching is Unicode casefold substring; the span returned is in
the original text's indices even where folding changes length ("ß" → "ss");
a snippet is a 120-character window starting 30 characters before the match,
newlines as spaces, with "…" on each side that was cut.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

SNIPPET_WIDTH = 120
SNIPPET_LEAD = 30
_NEWLINES_TO_SPACES = {ord("\n"): " ", ord("\r"): " "}
WINDOW = 1 << 16
#: every character past ASCII whose casefolded text holds an ASCII one, and
#: that text: the ones a match on raw bytes must look out for (tests check it
#: against this Python's Unicode tables)
FOLDS_TO_ASCII = {
    "\u00df": "ss", "\u0130": "i\u0307", "\u0149": "\u02bcn", "\u017f": "s", "\u01f0": "j\u030c",
    "\u1e96": "h\u0331", "\u1e97": "t\u0308", "\u1e98": "w\u030a", "\u1e99": "y\u030a", "\u1e9a": "a\u02be",
    "\u1e9e": "ss", "\u212a": "k", "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi",
    "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st",
}


def find_folded(text: str, folded_query: str) -> tuple[int, int] | None:
    """(start, end) of the first casefold match of `folded_query` in `text`.

    A long text is searched in windows of `WINDOW` characters, overlapping
    by the query's length less one (a character folds to one or more, so a
    match spans at most that many): memory stays bounded whatever the size
    of the text, and positions are mapped only in the window that matched."""
    if not folded_query:
        return None
    reach = len(folded_query) - 1
    for start in range(0, max(len(text), 1), WINDOW):
        window = text[start : start + WINDOW + reach]
        span = folded_span(window, window.casefold(), folded_query)  # each window casefolded once, the matching one too
        if span is not None:
            return span[0] + start, span[1] + start
    return None


def find_folded_all(text: str, folded_terms: Sequence[str]) -> tuple[int, int] | None:
    """`find_folded` of the first of `folded_terms` when `text` holds every
    one of them, else None. A text of at most `WINDOW` characters is
    casefolded once for all of them; a longer one is looked at a window at
    a time, as `find_folded` does."""
    first, others = folded_terms[0], folded_terms[1:]
    if not first:
        return None
    if len(text) <= WINDOW:
        folded = text.casefold()
        return folded_span(text, folded, first) if all(term in folded for term in others) else None
    if not all(find_folded(text, term) is not None for term in others):
        return None
    return find_folded(text, first)


def folded_span(text: str, folded: str, folded_query: str) -> tuple[int, int] | None:
    """`find_folded` of a text of at most `WINDOW` characters whose
    casefold, `folded`, was made already."""
    pos = folded.find(folded_query)
    if pos < 0:
        return None
    if len(folded) == len(text):  # no character folded to more than one ("ß" → "ss")
        return pos, pos + len(folded_query)
    return _unfolded_span(text, pos, pos + len(folded_query))


def _unfolded_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The characters of `text` whose folds cover [start, end) of its
    casefold; the walk stops at the match, not at the end of the text."""
    first = 0
    folded_at = 0
    for i, ch in enumerate(text):
        folded_next = folded_at + len(ch.casefold())
        if folded_at <= start < folded_next:
            first = i
        if folded_next >= end:
            return first, i + 1
        folded_at = folded_next
    raise ValueError("span past the end of the folded text")


def make_snippet(text: str, start: int, end: int = 0) -> str:
    begin = max(0, start - SNIPPET_LEAD)
    finish = min(len(text), begin + SNIPPET_WIDTH)
    window = text[begin:finish].translate(_NEWLINES_TO_SPACES)
    return ("…" if begin > 0 else "") + window + ("…" if finish < len(text) else "")


def snippet_of_part(part: str, start: int, *, text_before: bool, text_after: bool) -> str | None:
    """`make_snippet` of a text at a match starting at `start` of `part`,
    a run of the text's characters (`text_before`: the text has more
    characters before it; `text_after`: after it); None when `part` is
    too short to tell."""
    if text_before and start < SNIPPET_LEAD:
        return None
    begin = max(0, start - SNIPPET_LEAD)
    finish = begin + SNIPPET_WIDTH
    if text_after and len(part) < finish:
        return None
    cut_after = text_after or finish < len(part)
    window = part[begin:finish].translate(_NEWLINES_TO_SPACES)
    return ("…" if begin > 0 or text_before else "") + window + ("…" if cut_after else "")


def find_snippet(pieces: Iterable[str], folded_query: str) -> str | None:
    """`make_snippet` at `find_folded` of the text these pieces make, or
    None; holds the current piece and a few characters of the last one
    (a match spans at most len(folded_query) characters)."""
    keep = max(len(folded_query) - 1, 0) + SNIPPET_LEAD
    taken = iter(pieces)
    text = ""
    before = 0  # characters dropped from the front of `text`
    for piece in taken:
        text += piece
        span = find_folded(text, folded_query)
        if span is None:
            cut = max(len(text) - keep, 0)
            before += cut
            text = text[cut:]
            continue
        begin = max(0, span[0] - SNIPPET_LEAD)  # never before `text`: a match found only now ends in `piece`
        while len(text) <= begin + SNIPPET_WIDTH and (more := next(taken, None)) is not None:
            text += more
        snippet = make_snippet(text, span[0], span[1])
        return ("…" if before and begin == 0 else "") + snippet
    return None
