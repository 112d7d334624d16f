"""What `chit stats` needs of the index: live messages counted per session
and day, within a time window.

Invariants: a message row is a live message of its session (see
`chit.index.rows`), with its role, timestamp and token counts, so these
counts equal those of the sessions' folds; the window compares the
timestamps as strings, as `chit.service.when.within` does (SQLite's binary
order of UTF-8 text is the order of the code points). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chit.index.db import Index


@dataclass(frozen=True)
class DayCount:
    """One session's live messages of one day (UTC) in the window."""

    slug: str
    session_id: str
    day: str  # YYYY-MM-DD, the first ten characters of the timestamp
    messages: int
    turns: int  # messages from the user
    tokens_in: int
    tokens_out: int
    counted: int  # messages that recorded token counts


def day_counts(index: Index, slugs: Sequence[str], since: str | None, until: str | None) -> list[DayCount]:
    """Per live session of these projects and per day, its messages in
    [since, until] (either end open); sessions without one are absent."""
    if not slugs:
        return []
    where = f"s.trash = 0 AND s.slug IN ({','.join('?' * len(slugs))})"
    params: list[object] = list(slugs)
    if since is not None:
        where += " AND m.ts >= ?"
        params.append(since)
    if until is not None:
        where += " AND m.ts <= ?"
        params.append(until)
    sql = (
        "SELECT s.slug, s.id, substr(m.ts, 1, 10) AS day, count(*), sum(m.role = 'user'),"
        " sum(coalesce(m.tok_in, 0)), sum(coalesce(m.tok_out, 0)), count(m.tok)"
        f" FROM sessions s JOIN messages m ON m.sid = s.sid WHERE {where} GROUP BY s.sid, day"
    )
    return [DayCount(*row) for row in index.conn.execute(sql, params)]
