"""What a search query means, and search hits grouped by session.

A query is split into terms: each word, and each `"quoted phrase"` kept
whole (its words together, in order, as typed). A message (or manual
title) matches when its casefolded text holds every term.

Invariants: pure (no I/O); terms are casefolded and never empty; a group
holds the hits of one session in one project, in the order they came (newest first), and
groups are ordered by their newest hit, so grouping never reorders what
the search found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from chit.errors import InvalidInput
from chit.model import SearchHit
from chit.patterns import LazyPattern
from chit.value import Value, value_type

_TERM = LazyPattern(r'"([^"]*)"|(\S+)')


def terms(query: str) -> list[str]:
    """The casefolded terms of `query`, longest first (the longest is the
    most selective one to look up); a blank query or phrase is InvalidInput."""
    if query.count('"') % 2:
        raise InvalidInput('search query has an unclosed "')
    found: list[str] = []
    for phrase, word in _TERM.findall(query):
        term = (word or phrase).casefold()
        if not term.strip():
            raise InvalidInput("search query has an empty phrase")
        if term not in found:
            found.append(term)
    if not found:
        raise InvalidInput("search query is empty")
    return sorted(found, key=len, reverse=True)


def holds_all(text: str, wanted: Sequence[str]) -> bool:
    folded = text.casefold()
    return all(term in folded for term in wanted)


@value_type
class SearchGroup(Value):
    """The hits of one session: how many, the best one (whose snippet shows
    the most terms; the newest of those) and the newest one's time."""

    best: SearchHit
    hits: tuple[SearchHit, ...]

    def __init__(self, best: SearchHit, hits: tuple[SearchHit, ...]) -> None:
        self.__dict__.update(best=best, hits=hits)

    @property
    def id(self) -> str:
        return self.best.id

    @property
    def newest(self) -> str:
        return self.hits[0].ts

    def as_dict(self) -> dict[str, Any]:
        return {**self.best.as_dict(), "hits": len(self.hits), "newest": self.newest}


def group(hits: Iterable[SearchHit], wanted: Sequence[str]) -> list[SearchGroup]:
    """`hits` (newest first) grouped by session, groups newest first; a
    session under two projects (a move cut short) is a group in each, as
    `chit ls` lists it in each."""
    by_session: dict[tuple[str, str], list[SearchHit]] = {}
    for hit in hits:
        by_session.setdefault((hit.project_slug, hit.id), []).append(hit)
    groups = []
    for found in by_session.values():
        best = max(found, key=lambda h: sum(term in h.snippet.casefold() for term in wanted))  # max keeps the first of equals
        groups.append(SearchGroup(best, tuple(found)))
    return groups  # dicts keep insertion order: the first hit of each is the newest
