"""Listing while the index is far behind: the index answers for the
sessions whose rows are current, the files for the rest, so `ls` on a
store far ahead of its index answers without building its rows first
(docs/architecture.md, "Listing while the index catches up").

Invariants:
- the summaries are those `Queries.scan_summaries` gives (every file
  folded), filtered and ordered the same way (newest `updated_at` first,
  ties by id): the index's rows leave out every session `Lag.skip` names,
  and each behind session is folded whole from its file, so no session is
  answered twice or by neither;
- a behind file is read for its header (key, parent) and the newest
  time it records (every `ts` and `created_at`: `filescan.newest_time`), which
  its `updated_at` (the newest of those the fold keeps) never passes; files are
  folded newest such time first, and folding stops at the first older
  than the `limit`-th newest summary held, so `ls -n 20` folds about 20
  files however many are behind;
- sub-agent and fork counts add the behind files' headers (keys and
  parents never change after the header) to the index's current rows;
- nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import orjson

from chit.errors import NotFound
from chit.model import AFTER_AGENT_KEY, AGENT_KEY, SessionSummary, agent_of, is_agent_key
from chit.service.filescan import NEWEST_UNKNOWN, newest_time
from chit.service.ticker import Ticker

if TYPE_CHECKING:
    from chit.index.db import Index
    from chit.model import Project
    from chit.service.base import Context
    from chit.service.catchup import Behind, Lag

HEAD_SPAN = 64 * 1024  # bytes read for a header; a file with a longer first line is always folded
SCAN_BLOCK = 8 * 1024 * 1024  # most session files are read in one piece
#: (what, done, total): a long listing reports its progress; the command line sets it
report_progress: Callable[[str, int, int], None] | None = None


class Head(NamedTuple):
    """What a listing needs of a behind file before folding it."""

    behind: Behind
    key: str | None
    parent_id: str | None
    newest: str  # no time of the session is newer


def list_lagging(
    ctx: Context,
    index: Index,
    lag: Lag,
    projects: dict[str, Project],
    *,
    tag: str | None,
    state: str | None,
    limit: int | None,
    agents: bool,
) -> list[SessionSummary]:
    """Summaries newest first (ties by id), at most `limit`: the index's
    current rows and the behind files of `lag`."""
    from chit.index.search import summaries

    ticker = Ticker(len(lag.files), "session files not indexed yet read", report_progress)
    try:
        heads = [h for n, behind in enumerate(lag.files) if (h := _head(ctx, behind, ticker, n, newest=True)) is not None]
        found = []  # no index yet: none is made here (the catch-up makes it)
        if index.exists():
            found = summaries(index, projects, False, tag=tag, state=state, limit=limit, agents=agents, skip=lag.skip)
        found += _folded(ctx, heads, found, tag=tag, state=state, limit=limit, agents=agents)
    finally:
        ticker.finish()
    found = _in_order(found)
    found = found if limit is None else found[:limit]
    return _with_agents(index, lag, heads, found)


def _in_order(found: list[SessionSummary]) -> list[SessionSummary]:
    found.sort(key=lambda s: s.id)
    found.sort(key=lambda s: s.updated_at, reverse=True)
    return found


def _folded(
    ctx: Context, heads: list[Head], held: list[SessionSummary], *,
    tag: str | None, state: str | None, limit: int | None, agents: bool,
) -> list[SessionSummary]:
    """The summaries of the behind files that can be among the `limit`
    newest, folded newest recorded time first."""
    import heapq

    newest: list[str] = [s.updated_at for s in held]  # a min-heap of the `limit` newest held
    heapq.heapify(newest)
    while limit is not None and len(newest) > limit:
        heapq.heappop(newest)
    found: list[SessionSummary] = []
    for head in sorted(heads, key=lambda h: h.newest, reverse=True):
        if limit is not None and (limit == 0 or (len(newest) >= limit and head.newest < newest[0])):
            break
        if not agents and is_agent_key(head.key):
            continue
        project = head.behind.project
        try:
            summary = ctx.read_session(project, head.behind.id).summary(project.name)
        except NotFound:
            continue  # removed since it was listed
        if (tag is not None and tag not in summary.tags) or (state is not None and summary.state != state):
            continue
        if not agents and is_agent_key(summary.key):
            continue  # a header read only by the fold (a first line past SCAN_BLOCK)
        found.append(summary)
        if limit is not None:
            heapq.heappush(newest, summary.updated_at)
            if len(newest) > limit:
                heapq.heappop(newest)
    return found


def _with_agents(index: Index, lag: Lag, heads: list[Head], found: list[SessionSummary]) -> list[SessionSummary]:
    """`found` with each session's sub-agents counted: the index's current
    rows and the behind files' keys."""
    from dataclasses import replace

    slugs = {h.behind.id: h.behind.project.slug for h in heads}
    counted = []
    for summary in found:
        if summary.key is None or is_agent_key(summary.key):
            counted.append(summary)
            continue
        slug = slugs.get(summary.id) or _slug_of(index, summary.id)
        behind = sum(1 for h in heads if h.behind.project.slug == slug and agent_of(h.key, summary.key))
        counted.append(replace(summary, agents=_indexed_agents(index, lag, slug, summary.key) + behind))
    return counted


def _slug_of(index: Index, session_id: str) -> str | None:
    if not index.exists():
        return None
    row = index.conn.execute("SELECT slug FROM sessions WHERE id = ? AND trash = 0", (session_id,)).fetchone()
    return None if row is None else str(row[0])


def _indexed_agents(index: Index, lag: Lag, slug: str | None, key: str) -> int:
    """Sub-agents of the session keyed `key` among the project's current rows."""
    if slug is None or not index.exists():
        return 0
    rows = index.conn.execute(
        "SELECT id FROM sessions INDEXED BY sessions_key WHERE key >= ? AND key < ? AND slug = ? AND trash = 0",
        (key + AGENT_KEY, key + AFTER_AGENT_KEY, slug),
    )
    return sum(1 for (sid,) in rows if (slug, sid) not in lag.skip)


def fork_counts_lagging(ctx: Context, index: Index, lag: Lag, parents: dict[str, str]) -> dict[str, int]:
    """Live forks of each session (id -> its project's slug): the index's
    current rows and the behind files' headers."""
    counts: dict[str, int] = {}
    for session_id, slug in (parents if index.exists() else {}).items():
        rows = index.conn.execute("SELECT id FROM sessions WHERE parent_id = ? AND slug = ? AND trash = 0", (session_id, slug))
        n = sum(1 for (sid,) in rows if (slug, sid) not in lag.skip)
        if n:
            counts[session_id] = n
    for n, behind in enumerate(lag.files):
        head = _head(ctx, behind, None, n, newest=False)
        if head is not None and head.parent_id in parents and parents[head.parent_id] == behind.project.slug:
            counts[head.parent_id] = counts.get(head.parent_id, 0) + 1
    return counts


def _head(ctx: Context, behind: Behind, ticker: Ticker | None, done: int, newest: bool) -> Head | None:
    """A behind file's header and (with `newest`) the newest time it
    records; None when it is gone. A file without a header read here is
    always folded (its times are the fold's to make)."""
    if ticker is not None:
        ticker.tick(done)
    path = ctx.layout.session_file(behind.project.slug, behind.id)
    try:
        first = _first_line(path)
        latest = newest_time(path, SCAN_BLOCK) if newest else ""
    except FileNotFoundError:
        return None
    header = _header(first)
    if header is None:
        return Head(behind, None, None, NEWEST_UNKNOWN)
    parent = header.get("parent")
    key = header.get("key")
    return Head(
        behind,
        key if isinstance(key, str) else None,
        parent.get("id") if isinstance(parent, dict) and isinstance(parent.get("id"), str) else None,
        max(latest, str(header["created_at"])) if newest else "",
    )


def _first_line(path: Path) -> bytes:
    """The file's first line (empty when it is longer than HEAD_SPAN)."""
    with open(path, "rb") as f:
        data = f.read(HEAD_SPAN)
    end = data.find(b"\n")
    return data[: end + 1] if end >= 0 else b""


def _header(line: bytes) -> dict[str, object] | None:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict) or record.get("type") != "session" or not isinstance(record.get("created_at"), str):
        return None
    return record
