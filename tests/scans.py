"""The reference scans of a check after a kill, reading each file once.

A kill test compares the index's answers with `scan_summaries` and
`scan_search`, which fold every session file again for each query: seven
queries, seven reads of every file. While `each_file_read_once(api)` is
open, the scans share one read and fold of each file: the same code
computes the same answers from the same bytes, since nothing writes the
store while the parent checks it (the child that wrote is dead).

Given `kept` (a `Kept` that lives across the rounds of a test), a file
whose bytes and mtime are those of a fold made in an earlier check is not
folded again, nor its session searched again for a query asked of that
fold before: what chit folds a file into depends only on those, its name
and its project (`Store.read`), and a session's hits only on the session,
its project and the query (`session_hits`). The bytes are read and
compared whole every time, so a file changed in any way is folded afresh.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from chit.api import Chit
from chit.model import Project, SearchHit, Session
from chit.service import hits
from chit.service.facade import parts_of

_Key = tuple[str, str, str, bool]
_Query = tuple[str, str, str, str, str | None, tuple[str, ...]]


class _Fold:
    def __init__(self, data: bytes, mtime_ns: int, session: Session) -> None:
        self.data, self.mtime_ns, self.session = data, mtime_ns, session
        self.hits: dict[_Query, list[SearchHit]] = {}


class Kept:
    """Folds of earlier checks, each with the bytes and mtime it was folded
    from, and the hits found in it."""

    def __init__(self) -> None:
        self.folds: dict[_Key, _Fold] = {}
        self.by_session: dict[int, _Fold] = {}  # id(session): its fold, which holds the session (so the id is not reused)
        self.reused = 0

    def fold(self, key: _Key, data: bytes, mtime_ns: int) -> Session | None:
        before = self.folds.get(key)
        if before is not None and before.data == data and before.mtime_ns == mtime_ns:
            self.reused += 1
            return before.session
        return None

    def keep(self, key: _Key, data: bytes, mtime_ns: int, session: Session) -> None:
        before = self.folds.get(key)
        if before is not None:
            del self.by_session[id(before.session)]
        self.folds[key] = self.by_session[id(session)] = _Fold(data, mtime_ns, session)


@contextmanager
def each_file_read_once(api: Chit, kept: Kept | None = None) -> Iterator[None]:
    ctx = parts_of(api).ctx
    read = ctx.read_session
    folded: dict[_Key, Session] = {}

    def fold_or_reuse(project: Project, session_id: str, trash: bool, key: _Key) -> Session:
        if kept is None:
            return read(project, session_id, trash)
        data, st = ctx.store.read_bytes(project.slug, session_id, trash)
        session = kept.fold(key, data, st.st_mtime_ns)
        if session is None:
            session = read(project, session_id, trash)
            kept.keep(key, data, st.st_mtime_ns, session)
        return session

    def read_once(project: Project, session_id: str, trash: bool = False) -> Session:
        key = (project.slug, project.key, session_id, trash)
        if key not in folded:
            folded[key] = fold_or_reuse(project, session_id, trash, key)
        return folded[key]

    session_hits = hits.session_hits

    def hits_once(session: Session, project: Project, folded_query: str, role: str | None, also: Sequence[str] = ()) -> list[SearchHit]:
        fold = kept.by_session.get(id(session)) if kept is not None else None
        if fold is None:
            return session_hits(session, project, folded_query, role, also)
        query = (project.slug, project.key, project.name, folded_query, role, tuple(also))
        if query not in fold.hits:
            fold.hits[query] = session_hits(session, project, folded_query, role, also)
        return list(fold.hits[query])

    ctx.read_session = read_once  # type: ignore[method-assign]
    hits.session_hits = hits_once
    try:
        yield
    finally:
        del ctx.read_session
        hits.session_hits = session_hits
