"""Search while the index is far behind: the index answers for the
sessions it has caught up with, the files for the rest (docs/architecture.md,
"Search while the index catches up").

Invariants:
- the hits are those `Queries.scan_search` gives (every file folded), in
  the same order: the index's hits leave out every session `Lag.skip`
  names, and each behind file is folded and searched whole as the scan
  does, so no session is answered twice or by neither;
- behind files are read newest first, each only when the prefilter
  (`chit.service.filescan`) says one of its lines may hold every term;
  reading stops once `limit` hits are held and the next file's time bound
  is older than all of them: a file's time bounds the times chit stamps
  its messages with (a clock set back, or lines stamped by a machine whose
  clock runs ahead, can break that bound, and then only past the limit);
- with `sessions` (one line per session, as `chit search` shows them),
  reading stops once the behind files gave that many sessions with hits:
  while the index catches up, those are the sessions written last, not
  necessarily the ones with the newest hits (imported sessions carry
  their old times, which no file time bounds usefully);
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
    newest_hits = _Newest(limit)
    for hit in found:
        newest_hits.add(hit.ts)
    with_hits = 0  # behind sessions found with hits
    ticker = _Ticker(len(lag.files))
    try:
        for done, behind in enumerate(lag.files):
            if newest_hits.older_than_all(filescan.file_bound(behind.mtime_ns)) or (sessions is not None and with_hits >= sessions):
                break
            ticker.tick(done)
            hits = _file_hits(ctx, behind, wanted, role, tag)
            for hit in hits:
                newest_hits.add(hit.ts)
            with_hits += bool(hits)
            found.extend(hits)
    finally:
        ticker.finish()
    found.sort(key=lambda h: (h.id, h.project))  # stable: a session's hits keep their order
    found.sort(key=lambda h: h.ts, reverse=True)
    return found if limit is None else found[:limit]


def _file_hits(ctx: Context, behind: Behind, wanted: list[str], role: str | None, tag: str | None) -> list[SearchHit]:
    """The hits of one behind session, as the file scan finds them; none
    when the prefilter rules the file out or it is gone."""
    from chit.service.queries import session_hits

    project = behind.project
    try:
        if not filescan.file_may_match(ctx.layout.session_file(project.slug, behind.id), wanted):
            return []
        session = ctx.read_session(project, behind.id)
    except (FileNotFoundError, NotFound):
        return []  # removed since it was listed
    if tag is not None and tag not in session.tags:
        return []
    return session_hits(session, project, wanted[0], role, wanted[1:])
