"""Fuzzy filtering of the picker's rows: plain functions, no I/O.

A query matches an entry when its characters appear in order (not
necessarily together) in the entry's haystack: title, tags, project and id,
lower-cased once when the entry is made. Whitespace splits the query into
words that must all match. Better matches come first: a word found as a
whole substring beats one spread out, a tighter spread beats a looser one,
a match in the title beats one further right; equal scores keep the
listing's order (newest first), even when filtering starts from an
earlier result.

Invariant: filtering never reorders the input beyond the score (a stable
sort), and an empty query keeps every entry in its order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from chit.model import SessionSummary


@dataclass(frozen=True)
class Entry:
    """One listed session and the text the filter reads."""

    summary: SessionSummary
    haystack: str  # lower-cased: title, tags, project, id
    order: int  # place in the listing (newest first): breaks ties
    snippet: str | None = None  # the matching text, in content search


def make_entry(summary: SessionSummary, order: int, snippet: str | None = None) -> Entry:
    tags = " ".join(f"#{t}" for t in summary.tags)
    text = f"{summary.title} {tags} {summary.project_name} {summary.id}"
    return Entry(summary, text.lower(), order, snippet)


@lru_cache(maxsize=256)
def _pattern(word: str) -> re.Pattern[str]:
    """Each character of `word`, in order, with as little as possible between."""
    return re.compile(".*?".join(re.escape(c) for c in word))


def score(haystack: str, words: Sequence[str]) -> int | None:
    """How well `words` match `haystack` (lower is better), None if one does not."""
    total = 0
    for word in words:
        at = haystack.find(word)
        if at >= 0:
            total += at // 8  # a whole substring: only its position counts
            continue
        found = _pattern(word).search(haystack)
        if found is None:
            return None
        spread = found.end() - found.start() - len(word)
        total += 1000 + spread * 10 + found.start() // 8
    return total


def query_words(query: str) -> list[str]:
    return query.lower().split()


def filter_entries(entries: Sequence[Entry], query: str) -> list[Entry]:
    """The entries `query` matches, best first (ties keep their order)."""
    words = query_words(query)
    if not words:
        return list(entries)
    scored = []
    for entry in entries:
        value = score(entry.haystack, words)
        if value is not None:
            scored.append((value, entry.order, entry))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [entry for _, _, entry in scored]


def narrows(previous: str, query: str) -> bool:
    """Whether every entry `query` matches is among those `previous` matched
    (so the filter may start from the previous result)."""
    old, new = query_words(previous), query_words(query)
    if not old or len(new) < len(old):
        return False
    return all(word.startswith(prior) or prior in word for prior, word in zip(old, new))
