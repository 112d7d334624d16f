"""Search while the index is far behind: the index answers for the
sessions it has caught up with, the files for the rest (docs/architecture.md,
"Search while the index catches up").

Invariants:
- the hits are those `Queries.scan_search` gives (every file folded), in
  the same order: the index's hits leave out every session `Lag.skip`
  names, and each behind file is folded and searched whole as the scan
  does, so no session is answered twice or by neither;
- each behind file is read once for whether one of its lines may hold
  every term (the prefilter of `chit.service.prefilter`) and a time no
  hit of it can pass (`filescan.newest_if_may_match`); those that may
  are folded newest such time first, and reading stops at the first whose time is older than all of
  the newest hits held: the `limit` newest hits, or with `sessions` (one
  line per session, as `chit search` shows them) the newest hit of each
  of the `sessions` sessions with the newest hits. Either way the answer
  is the indexed search's;
- nothing here writes.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from chit.errors import NotFound
from chit.model import SearchHit
from chit.service import filescan, scan_split
from chit.service.prefilter import Prefilter
from chit.service.ticker import Ticker

if TYPE_CHECKING:
    from chit.service.base import Context
    from chit.service.catchup import Behind, Lag



class _Newest:
    """The `k` newest hits, or the newest hits of `k` sessions (`sessions`),
    among those added: is a time older than all of them?"""

    def __init__(self, k: int | None, sessions: bool) -> None:
        self.k = k
        self.sessions = sessions
        self.heap: list[str] = []  # the k newest times (hits, or each session's newest hit)
        self.newest_of: dict[str, str] = {}  # sessions: each one's newest hit

    def add(self, hit: SearchHit) -> None:
        if self.k is None:
            return
        if self.sessions:
            known = self.newest_of.get(hit.id)
            if known is None or hit.ts > known:
                self.newest_of[hit.id] = hit.ts
                self.heap = []  # worked out again when asked
        elif len(self.heap) < self.k:
            heapq.heappush(self.heap, hit.ts)
        elif hit.ts > self.heap[0]:
            heapq.heapreplace(self.heap, hit.ts)

    def older_than_all(self, bound: str) -> bool:
        """Whether `bound` sorts before the k-th newest time held."""
        if self.k is None:
            return False
        if self.sessions and not self.heap:
            self.heap = heapq.nlargest(self.k, self.newest_of.values())[::-1]
        return self.k == 0 or (len(self.heap) >= self.k and bound < self.heap[0])


def search_lagging(
    ctx: Context,
    lag: Lag,
    indexed: Iterable[SearchHit],
    folded_query: str,
    *,
    role: str | None,
    tag: str | None,
    limit: int | None,
    sessions: int | None = None,
    also: Sequence[str] = (),
) -> list[SearchHit]:
    """The index's hits (`indexed`, newest first, without the skipped
    sessions) and those of the behind files, newest first, at most
    `limit`; `sessions`: every hit of the `sessions` sessions whose newest
    hits are the newest (and maybe of others)."""
    from chit.index.search import session_copy

    wanted = [folded_query, *also]
    found = list(indexed)
    newest = _Newest(limit, False) if sessions is None else _Newest(sessions, True)
    for hit in found:
        newest.add(hit)
    ticker = Ticker(len(lag.files), "session files not indexed yet searched", filescan.report_progress)
    try:
        found += _newest(ctx, lag, newest, wanted, role, tag, ticker)
    finally:
        ticker.finish()
    found.sort(key=session_copy)  # stable: the hits of one copy of a session keep their order
    found.sort(key=lambda h: h.ts, reverse=True)
    return found if limit is None else found[:limit]


def _newest(
    ctx: Context, lag: Lag, newest: _Newest, wanted: list[str], role: str | None, tag: str | None, ticker: Ticker,
) -> list[SearchHit]:
    """The hits of the behind files that can be among the newest (`newest`
    holds the index's): every file is read once for whether it may hold
    the terms, and those that may for the newest time they record; then
    those are folded, newest such time first, until that time is older
    than all of the newest hits held."""
    folders = {slug: str(ctx.layout.sessions_dir(slug)) for slug in {b.project.slug for b in lag.files}}
    paths = [os.path.join(folders[b.project.slug], f"{b.id}.jsonl") for b in lag.files]
    bounds = scan_split.bounds(paths, Prefilter(wanted), lag.bytes, ticker.tick)
    candidates = [(bound, behind) for bound, behind in zip(bounds, lag.files) if bound is not None and bound != scan_split.GONE]
    candidates.sort(key=lambda c: c[0], reverse=True)
    found: list[SearchHit] = []
    for bound, behind in candidates:
        if newest.older_than_all(bound):
            break
        hits = _file_hits(ctx, behind, wanted, role, tag)
        for hit in hits:
            newest.add(hit)
        found += hits
    return found


def _file_hits(ctx: Context, behind: Behind, wanted: list[str], role: str | None, tag: str | None) -> list[SearchHit]:
    """The hits of one behind session, as the file scan finds them; none
    when it is gone."""
    from chit.service.hits import session_hits

    project = behind.project
    try:
        session = ctx.read_session(project, behind.id)
    except NotFound:
        return []  # removed since it was listed
    if tag is not None and tag not in session.tags:
        return []
    return session_hits(session, project, wanted[0], role, wanted[1:])
