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


_RANK = 1 << 40  # a rank is score * _RANK + order: orders are below it


@lru_cache(maxsize=256)
def _pattern(word: str) -> re.Pattern[str]:
    """Each character of `word`, in order, with as little as possible
    between: the next one is the first of its kind after the one before
    (`[^r]*r`). That finds what `p.*?r` finds, and when the rest of the
    word is not there it gives up at once instead of trying every later
    `r` in turn (which made some keystrokes over 10,000 entries cost
    tens of milliseconds)."""
    escaped = [re.escape(c) for c in word]
    return re.compile(escaped[0] + "".join(f"[^{c}]*{c}" for c in escaped[1:]) if escaped else "")


def score(haystack: str, words: Sequence[str]) -> int | None:
    """How well `words` match `haystack` (lower is better), None if one does not."""
    total = 0
    for word in words:
        value = _word_score(haystack, word)
        if value is None:
            return None
        total += value
    return total


def _word_score(haystack: str, word: str) -> int | None:
    at = haystack.find(word)
    if at >= 0:
        return min(at // 8, 999)  # a whole substring: only its position counts
    return _spread_score(haystack, _pattern(word), len(word))


def _spread_score(haystack: str, pattern: re.Pattern[str], length: int) -> int | None:
    """The score of a word matched with gaps (always worse than a substring)."""
    found = pattern.search(haystack)
    if found is None:
        return None
    return 1000 + (found.end() - found.start() - length) * 10 + found.start() // 8


def query_words(query: str) -> list[str]:
    return query.lower().split()


def filter_entries(entries: Sequence[Entry], query: str) -> list[Entry]:
    """The entries `query` matches, best first (ties keep their order)."""
    words = query_words(query)
    if not words:
        return list(entries)
    # A keystroke may go over 10,000 entries: the first word is scored by
    # comprehensions over C string and regex calls, and the ranks are plain
    # integers (score, then listing order), so an entry that does not match
    # allocates nothing and one that does allocates no tuple. Allocating
    # an object the collector tracks for every entry set off collections
    # (a full one took 100 ms or more) in the middle of keystrokes.
    first = words[0]
    found = [entry.haystack.find(first) for entry in entries]
    matched = [entry for entry, at in zip(entries, found) if at >= 0]
    ranks = [min(at // 8, 999) * _RANK + entry.order for entry, at in zip(entries, found) if at >= 0]
    search = _pattern(first).search
    for entry, at in zip(entries, found):
        if at < 0 and (match := search(entry.haystack)) is not None:  # as _spread_score
            matched.append(entry)
            ranks.append((1000 + (match.end() - match.start() - len(first)) * 10 + match.start() // 8) * _RANK + entry.order)
    if len(words) > 1:
        rest = words[1:]
        extras = [score(entry.haystack, rest) for entry in matched]
        matched = [entry for entry, extra in zip(matched, extras) if extra is not None]
        ranks = [rank + extra * _RANK for rank, extra in zip(ranks, extras) if extra is not None]
    best_first = sorted(range(len(matched)), key=ranks.__getitem__)  # orders are unique: no two ranks are equal
    return [matched[n] for n in best_first]


def narrows(previous: str, query: str) -> bool:
    """Whether every entry `query` matches is among those `previous` matched
    (so the filter may start from the previous result)."""
    old, new = query_words(previous), query_words(query)
    if not old or len(new) < len(old):
        return False
    return all(word.startswith(prior) or prior in word for prior, word in zip(old, new))
