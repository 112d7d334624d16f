"""A session's search hits found by reading its folded messages: the
reference the text index must agree with, and how a search answers from
the files while the index is behind.

Invariant: a long message is never casefolded whole; it is looked at a
window at a time (`find_folded_all`), so memory stays bounded by the window.
"""

from __future__ import annotations

from collections.abc import Sequence

from chit.index.snippets import find_folded, find_folded_all, make_snippet
from chit.model import Project, SearchHit, Session


def session_hits(session: Session, project: Project, folded_query: str, role: str | None, also: Sequence[str] = ()) -> list[SearchHit]:
    """The hits of `folded_query` in `session`: its manual title, then its
    messages in order (of `role` only, if given), each also holding `also`."""
    hits = []

    def hit(text: str, start: int, end: int, **where: object) -> SearchHit:
        return SearchHit(
            id=session.id,
            project=session.project,
            project_name=project.name,
            project_slug=project.slug,
            title=session.title,
            updated_at=session.updated_at,
            snippet=make_snippet(text, start, end),
            **where,  # type: ignore[arg-type]
        )

    if role is None and session.manual_title is not None:
        span = find_folded(session.manual_title, folded_query)
        if span is not None and all(t in session.manual_title.casefold() for t in also):
            hits.append(hit(session.manual_title, *span, turn=None, role=None, message_id=None, ts=session.updated_at))
    terms = [folded_query, *also]
    for message in session.messages:
        if role is not None and message.role != role:
            continue
        span = find_folded_all(message.content, terms)
        if span is None:
            continue
        hits.append(hit(message.content, *span, turn=message.turn, role=message.role, message_id=message.id, ts=message.ts))
    return hits
