"""Search while the index is far behind: the index answers for the
sessions it has caught up with, the files for the rest (docs/architecture.md,
"Search while the index catches up").

Invariants:
- the hits are those `Queries.scan_search` gives (every file folded), in
  the same order: the index's hits leave out every session `Lag.skip`
  names, and each behind file is folded and searched whole as the scan
  does, so no session is answered twice or by neither;
- for hits (`limit`, or every hit): each behind file is read once for
  whether one of its lines may hold every term (the prefilter of
  `chit.service.filescan`) and for the newest time it records (its
  messages', events' and header's: no hit of it is newer); those that
  may are folded newest such time first, and reading stops at the first
  whose time is older than the `limit` newest hits held;
- with `sessions` (one line per session, as `chit search` shows them),
  files are taken newest file (mtime) first and reading stops once that
  many behind sessions had hits: while the index catches up, those are
  the sessions written last, not necessarily those with the newest hits
  (an import of old transcripts writes old times into new files), so the
  first lines come without reading every file;
- nothing here writes.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from chit.errors import NotFound
from chit.model import SearchHit
from chit.service import filescan
from chit.service.prefilter import Prefilter

if TYPE_CHECKING:
    from chit.service.base import Context
    from chit.service.catchup import Behind, Lag

PROGRESS_AFTER = 1.0  # seconds a scan runs before it reports
PROGRESS_EVERY = 1.0


class _Newest:
    """The k newest of the times added: is a time older than all of them?"""

    def __init__(self, k: int | None) -> None:
        self.k = k
        self.heap: list[str] = []

    def add(self, ts: str) -> None:
        if self.k is None:
            return
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, ts)
        elif ts > self.heap[0]:
            heapq.heapreplace(self.heap, ts)

    def older_than_all(self, bound: str) -> bool:
        """Whether `bound` sorts before the k-th newest time held."""
        return self.k is not None and (self.k == 0 or (len(self.heap) >= self.k and bound < self.heap[0]))


class _Ticker:
    def __init__(self, total: int) -> None:
        self.total = total
        self.started = time.monotonic()
        self.shown = 0.0

    def tick(self, done: int) -> None:
        now = time.monotonic()
        report = filescan.report_progress
        if report is not None and now - self.started >= PROGRESS_AFTER and now - self.shown >= PROGRESS_EVERY:
            self.shown = now
            report("session files not indexed yet searched", done, self.total)

    def finish(self) -> None:
        if filescan.report_progress is not None and self.shown:
            filescan.report_progress("done", 0, 0)


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
    `limit`; `sessions`: enough once that many sessions have hits."""
    wanted = [folded_query, *also]
    found = list(indexed)
    ticker = _Ticker(len(lag.files))
    try:
        if sessions is not None:
            found += _written_last(ctx, lag, wanted, role, tag, sessions, ticker)
        else:
            found += _newest(ctx, lag, found, wanted, role, tag, limit, ticker)
    finally:
        ticker.finish()
    found.sort(key=lambda h: (h.id, h.project))  # stable: a session's hits keep their order
    found.sort(key=lambda h: h.ts, reverse=True)
    return found if limit is None else found[:limit]


def _written_last(
    ctx: Context, lag: Lag, wanted: list[str], role: str | None, tag: str | None, sessions: int, ticker: _Ticker,
) -> list[SearchHit]:
    """The hits of the behind files written last, newest file first, until
    `sessions` of them had hits."""
    found: list[SearchHit] = []
    with_hits = 0
    prefilter = Prefilter(wanted)
    for done, behind in enumerate(lag.files):
        if with_hits >= sessions:
            break
        ticker.tick(done)
        path = ctx.layout.session_file(behind.project.slug, behind.id)
        try:
            if not filescan.file_may_match(path, prefilter):
                continue
        except FileNotFoundError:
            continue  # removed since it was listed
        hits = _file_hits(ctx, behind, wanted, role, tag)
        with_hits += bool(hits)
        found += hits
    return found


def _newest(
    ctx: Context, lag: Lag, indexed: list[SearchHit], wanted: list[str], role: str | None, tag: str | None,
    limit: int | None, ticker: _Ticker,
) -> list[SearchHit]:
    """The hits of the behind files that can be among the `limit` newest:
    every file is read once for whether it may hold the terms and the
    newest time it records; then those that may are folded, newest such
    time first, until that time is older than the `limit` newest hits."""
    candidates: list[tuple[str, Behind]] = []
    prefilter = Prefilter(wanted)
    for done, behind in enumerate(lag.files):
        ticker.tick(done)
        try:
            newest = filescan.newest_if_may_match(ctx.layout.session_file(behind.project.slug, behind.id), prefilter)
        except FileNotFoundError:
            continue  # removed since it was listed
        if newest is not None:
            candidates.append((newest, behind))
    candidates.sort(key=lambda c: c[0], reverse=True)
    newest_hits = _Newest(limit)
    for hit in indexed:
        newest_hits.add(hit.ts)
    found: list[SearchHit] = []
    for bound, behind in candidates:
        if newest_hits.older_than_all(bound):
            break
        hits = _file_hits(ctx, behind, wanted, role, tag)
        for hit in hits:
            newest_hits.add(hit.ts)
        found += hits
    return found


def _file_hits(ctx: Context, behind: Behind, wanted: list[str], role: str | None, tag: str | None) -> list[SearchHit]:
    """The hits of one behind session, as the file scan finds them; none
    when it is gone."""
    from chit.service.queries import session_hits

    project = behind.project
    try:
        session = ctx.read_session(project, behind.id)
    except NotFound:
        return []  # removed since it was listed
    if tag is not None and tag not in session.tags:
        return []
    return session_hits(session, project, wanted[0], role, wanted[1:])
