"""Message row ids of the index, allocated by timestamp: `ts_key` and
`RowIds`, which `chit.index.rows.Rows` keeps for one write transaction.

Invariants:
- a message with a canonical timestamp (1970 or later) gets a free row id
  at or above `ts_key(ts)`, its whole seconds since the epoch; so a
  message's second is never after its row id (see `chit.index.search` for
  how search stops). Other timestamps get negative row ids, below every
  other. Dense, time-ordered row ids keep the text index small (its lists
  store row id gaps);
- the id given is the first free one at or above `ts_key(ts)`, but for ids
  freed earlier in the same transaction: the stretches of ids it found
  taken (or gave) stay known taken until it ends, so that messages of a
  packed stretch of time (several a second, a fork or import of them) do
  not each walk it again, nor ask SQLite about the free ids it saw after
  them. Only `allocate` adds message rows in a write transaction, so an
  id it knows taken is taken or was freed since, and one it knows free is
  free until it gives it;
- a stretch of taken ids is measured in SQLite (counts of row id ranges,
  doubling then halving), not row by row.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from chit.patterns import LazyPattern

if TYPE_CHECKING:
    import sqlite3

_TS = LazyPattern(r"(\d{4})-(\d\d)-(\d\d)T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)\.(\d{6})Z\Z")
_COUNT = "SELECT count(*) FROM messages WHERE rowid BETWEEN ? AND ?"
_NEXT_TAKEN = "SELECT min(rowid) FROM messages WHERE rowid >= ?"
_ABOVE_ALL = 1 << 63  # above every row id


@lru_cache(maxsize=4096)
def _epoch_day(text: str) -> int | None:
    try:
        return date(int(text[:4]), int(text[5:7]), int(text[8:10])).toordinal() - 719163
    except ValueError:
        return None


def ts_key(ts: str) -> int | None:
    """The lowest row id of a message with this timestamp: its whole seconds
    since 1970 (so non-decreasing with the text order of canonical
    timestamps); None for any other text or an earlier time."""
    match = _TS.match(ts)
    if match is None:
        return None
    day = _epoch_day(ts[:10])
    if day is None or day < 0:
        return None
    return ((day * 24 + int(match[4])) * 60 + int(match[5])) * 60 + int(match[6])


class RowIds:
    """The message row ids one write transaction gives out."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        # Stretches of ids known taken, in order, never touching: stretch n
        # is firsts[n]..lasts[n], and the ids after it, below frees[n], are
        # known free.
        self.firsts: list[int] = []
        self.lasts: list[int] = []
        self.frees: list[int] = []

    def allocate(self, ts: str) -> int:
        """A free message row id for a message stamped `ts`, now taken."""
        base = ts_key(ts)
        if base is None:
            low = self.conn.execute("SELECT min(rowid) FROM messages").fetchone()[0]
            return min(int(low or 0), 0) - 1
        firsts, lasts, frees = self.firsts, self.lasts, self.frees
        at = bisect_right(firsts, base) - 1  # the stretch starting at or below base
        if at >= 0 and base <= lasts[at] + 1:
            key = lasts[at] + 1
            if key >= frees[at]:  # (the next stretch is further: they merge when they meet)
                key, frees[at] = first_free(self.conn, key)
            lasts[at] = key
        else:
            at += 1  # a new stretch, before the one (if any) now at `at`
            key, free = first_free(self.conn, base)
            firsts.insert(at, base)
            lasts.insert(at, key)
            frees.insert(at, free)
        while at + 1 < len(firsts) and firsts[at + 1] <= key + 1:  # it reached the next stretch: one now
            if lasts[at + 1] > key:
                lasts[at], frees[at] = lasts[at + 1], frees[at + 1]
            del firsts[at + 1], lasts[at + 1], frees[at + 1]
        return key


def first_free(conn: sqlite3.Connection, key: int) -> tuple[int, int]:
    """The first message row id at or above `key` that no row holds, and
    the first above it that one does (or _ABOVE_ALL)."""
    taken = conn.execute(_NEXT_TAKEN, (key,)).fetchone()[0]
    if taken != key:
        return key, _ABOVE_ALL if taken is None else taken  # (most often: one query)
    key, span = key + 1, 1
    while conn.execute(_COUNT, (key, key + span - 1)).fetchone()[0] == span:
        key += span  # key..key+span-1 all taken: look twice as far past them
        span *= 2
    last = key + span - 1  # a free id lies in key..last
    while key < last:
        middle = (key + last) // 2
        if conn.execute(_COUNT, (key, middle)).fetchone()[0] == middle - key + 1:
            key = middle + 1
        else:
            last = middle
    taken = conn.execute(_NEXT_TAKEN, (key,)).fetchone()[0]
    return key, _ABOVE_ALL if taken is None else taken
