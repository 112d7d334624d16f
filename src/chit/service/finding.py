"""Search by words: what `chit search` does, on top of `Queries.search`.

Invariants: `Queries.search_all` finds the messages (and manual titles)
holding every term, its snippet from the query's longest term (the index
looks up all the terms at once and confirms each candidate against its
line); with several tags, a hit is kept only when its session, read
back, has every one; grouping keeps the
newest-first order (chit.service.search_terms). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from chit.errors import InvalidInput
from chit.model import SearchHit, Session
from chit.service.base import check_role, check_tag
from chit.service.search_terms import SearchGroup, group, holds_all, terms
from chit.service.when import window, within

if TYPE_CHECKING:
    from chit.service.queries import Queries


class Finder:
    """Word and phrase search, its hits grouped by session."""

    def __init__(self, queries: Queries) -> None:
        self.queries = queries

    def search_words(
        self,
        query: str,
        project: str | None = None,
        *,
        limit: int | None = 20,
        role: str | None = None,
        tag: str | Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[SearchHit]:
        """Every message (and manual title) holding each word of `query` and
        each `"quoted phrase"` whole, case-insensitively (`search` finds the
        query as one string); newest first, at most `limit`. `tag`: sessions
        with every one of these tags; `since`/`until`: hits written in that
        window."""
        found = self._matching(query, project, role, tag, since, until, limit)
        return found if limit is None else found[:limit]

    def search_groups(
        self,
        query: str,
        project: str | None = None,
        *,
        limit: int | None = 20,
        role: str | None = None,
        tag: str | Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[SearchGroup]:
        """`search_words`'s hits grouped one per session (count, best snippet),
        sessions by their newest hit, at most `limit` sessions."""
        found = group(self._matching(query, project, role, tag, since, until, None, sessions=limit), terms(query))
        return found if limit is None else found[:limit]

    def _matching(
        self,
        query: str,
        project: str | None,
        role: str | None,
        tag: str | Sequence[str] | None,
        since: str | None,
        until: str | None,
        limit: int | None,
        sessions: int | None = None,
    ) -> list[SearchHit]:
        """The hits of `query`: the index (or a scan) finds those holding
        every term, and each is kept only if its session has every tag;
        `limit` (hits) or `sessions` (the newest hits of that many sessions)
        bounds the lookup only when no such check can drop a hit."""
        if not isinstance(query, str) or not query.strip():
            raise InvalidInput("search query is empty")
        wanted = terms(query)
        if role is not None:
            check_role(role)
        tags = [tag] if isinstance(tag, str) else list(tag or ())
        for one in tags:
            check_tag(one)
        if limit is not None and limit < 0:
            raise InvalidInput("limit must be 0 or more")
        start, end = window(since, until, datetime.now(timezone.utc))
        exact = len(tags) <= 1 and start is None and end is None
        found = self.queries.search_all(
            wanted, project, role=role, tag=tags[0] if tags else None, limit=limit if exact else None, sessions=sessions if exact else None
        )
        found = [h for h in found if within(h.ts, start, end)]
        if len(tags) > 1:
            found = self._holding_all(found, wanted, tags)
        return found

    def _holding_all(self, hits: list[SearchHit], wanted: list[str], tags: list[str]) -> list[SearchHit]:
        """The hits whose message (or manual title) holds every term and
        whose session has every tag, each session read once."""
        read: dict[str, tuple[Session, dict[str, str]]] = {}
        kept = []
        for hit in hits:
            if hit.id not in read:
                session = self.queries.get(hit.id)
                read[hit.id] = session, {m.id: m.content for m in session.messages}
            session, texts = read[hit.id]
            text = (session.manual_title or "") if hit.message_id is None else texts.get(hit.message_id, "")
            if set(tags) <= set(session.tags) and holds_all(text, wanted):
                kept.append(hit)
        return kept
