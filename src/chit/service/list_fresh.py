"""Listing while the index is far behind: the index answers for the
sessions whose rows are current, the files for the rest, so `ls` on a
store far ahead of its index answers without building its rows first
(docs/architecture.md, "Listing while the index catches up").

Invariants:
- the summaries are those `Queries.scan_summaries` gives (every file
  folded), kept and ordered as the `Narrowing` says: the index's rows
  leave out every session `Lag.skip` names, and each behind session is
  folded whole from its file, so no session is answered twice or by
  neither;
- a behind file is read for its header (key, parent, `created_at`, the
  session's creation time) and, when the order or a time window needs it,
  the newest time it records (every `ts` and `created_at`:
  `filescan.newest_time`), which its `updated_at` (the newest of those the
  fold keeps, never older than `created_at`) never passes. So a file is
  never folded when those rule it out of `--since`/`--until`, and for the
  orders by update or creation files are folded greatest bound first,
  stopping at the first below the `limit`-th key held: `ls -n 20`,
  `--since T` and `--sort created` fold about what they print however
  many files are behind. Only `-n 0` and the orders by turns or tokens
  fold every file the window keeps (the fold is reported past a second);
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
from chit.model import AFTER_AGENT_KEY, AGENT_KEY, SessionSummary, is_agent_key
from chit.service.filescan import NEWEST_UNKNOWN, newest_time
from chit.service.ordering import Narrowing
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
    newest: str  # no time of the session is newer (NEWEST_UNKNOWN when not read)
    created: str | None  # the header's creation time, the session's; None when no header was read


def list_lagging(ctx: Context, index: Index, lag: Lag, projects: dict[str, Project], want: Narrowing) -> list[SessionSummary]:
    """The summaries `want` keeps, in its order: the index's current rows
    and the behind files of `lag`."""
    from chit.index.search import summaries

    ticker = Ticker(len(lag.files), "session files not indexed yet read", report_progress)
    try:
        # the newest times bound the order by update with a limit, and a window
        timed = (want.sort == "updated" and want.limit is not None) or want.since is not None or want.until is not None
        heads = [h for n, behind in enumerate(lag.files) if (h := _head(ctx, behind, ticker, n, newest=timed)) is not None]
        found = []  # no index yet: none is made here (the catch-up makes it)
        if index.exists():
            tag = want.tags[0] if want.tags else None
            limit = want.limit if want.plain else None
            found = summaries(index, projects, False, tag=tag, state=want.state, limit=limit, agents=want.agents, skip=lag.skip)
            found = [s for s in found if want.keeps(s)]
        found += _folded(ctx, [h for h in heads if _may_keep(h, want)], found, want, ticker)
    finally:
        ticker.finish()
    return _with_agents(index, lag, heads, want.ordered(found))


def _may_keep(head: Head, want: Narrowing) -> bool:
    """False when the header and the file's newest time rule the session
    out: updated after `until` (it is never older than its creation), or
    before `since` (never newer than the file's newest time)."""
    if (not want.agents and is_agent_key(head.key)) or (want.ids is not None and head.behind.id not in want.ids):
        return False
    if want.until is not None and head.created is not None and head.created > want.until:
        return False
    return want.since is None or head.newest >= want.since


def _bound(head: Head, want: Narrowing) -> str | None:
    """The most the session's key in `want.sort` can be (None: no bound
    from the header, it must be folded)."""
    if want.sort == "created":
        return NEWEST_UNKNOWN if head.created is None else head.created
    if want.sort == "updated":
        return head.newest if want.until is None else min(head.newest, want.until)
    return None


def _key(summary: SessionSummary, sort: str) -> str:
    return summary.created_at if sort == "created" else summary.updated_at


def _folded(ctx: Context, heads: list[Head], held: list[SessionSummary], want: Narrowing, ticker: Ticker) -> list[SessionSummary]:
    """The summaries `want` keeps among the behind files that can be among
    the `limit` first, folded greatest bound first: folding stops at the
    first file whose bound is below the `limit`-th key held (with no
    bound, every file is folded)."""
    import heapq

    limit = want.limit if want.sort in ("updated", "created") else None
    best: list[str] = [_key(s, want.sort) for s in held]  # a min-heap of the `limit` greatest keys held
    heapq.heapify(best)
    while limit is not None and len(best) > limit:
        heapq.heappop(best)
    ticker.phase("session files not indexed yet folded", len(heads))
    found: list[SessionSummary] = []
    bounds = [(_bound(h, want) or "", h) for h in heads]
    bounds.sort(key=lambda pair: pair[0], reverse=True)
    for n, (bound, head) in enumerate(bounds):
        if limit is not None and (limit == 0 or (len(best) >= limit and bound < best[0])):
            break
        ticker.tick(n)
        project = head.behind.project
        try:
            summary = ctx.read_session(project, head.behind.id).summary(project.name, project.slug)
        except NotFound:
            continue  # removed since it was listed
        if not want.keeps(summary):
            continue
        found.append(summary)
        if limit is not None:
            heapq.heappush(best, _key(summary, want.sort))
            if len(best) > limit:
                heapq.heappop(best)
    return found


def _with_agents(index: Index, lag: Lag, heads: list[Head], found: list[SessionSummary]) -> list[SessionSummary]:
    """`found` with each session's sub-agents counted: the index's current
    rows and the behind files' keys."""
    from collections import Counter
    from dataclasses import replace

    slugs = {h.behind.id: h.behind.project.slug for h in heads}
    # a sub-agent's key is its parent's (which holds no AGENT_KEY) followed by AGENT_KEY
    behind: Counter[tuple[str | None, str]] = Counter(
        (h.behind.project.slug, h.key.split(AGENT_KEY, 1)[0]) for h in heads if h.key is not None and is_agent_key(h.key)
    )
    counted = []
    for summary in found:
        if summary.key is None or is_agent_key(summary.key):
            counted.append(summary)
            continue
        slug = slugs.get(summary.id) or _slug_of(index, summary.id)
        agents = _indexed_agents(index, lag, slug, summary.key) + behind[(slug, summary.key)]
        counted.append(replace(summary, agents=agents))
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
        return Head(behind, None, None, NEWEST_UNKNOWN, None)
    parent = header.get("parent")
    key = header.get("key")
    created = str(header["created_at"])
    return Head(
        behind,
        key if isinstance(key, str) else None,
        parent.get("id") if isinstance(parent, dict) and isinstance(parent.get("id"), str) else None,
        max(latest, created) if newest else NEWEST_UNKNOWN,
        created,
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
