"""Message row ids (chit.index.rowids) on a real index: the ids given are
those of a plain walk, taken row by row, from each message's second (or
from the end of the one stretch the transaction last walked), over random
and densely packed timestamps and several transactions; with rows deleted
meanwhile, every id is still free, at or above its second, and every id
between is taken or was freed in the same transaction."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable

import pytest

from chit.api import Chit
from chit.index.rowids import first_free, ts_key
from chit.service.facade import parts_of

SECOND = "2026-03-01T10:00:{:02d}.{:06d}Z"


class WalkedIds:
    """The ids as given by walking the taken ids one by one, remembering
    only the last stretch walked in the transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.run: tuple[int, int] | None = None

    def allocate(self, ts: str) -> int:
        base = ts_key(ts)
        if base is None:
            low = self.conn.execute("SELECT min(rowid) FROM messages").fetchone()[0]
            return min(int(low or 0), 0) - 1
        run = self.run
        within = run is not None and run[0] <= base <= run[1] + 1
        key = run[1] + 1 if run is not None and within else base
        for (taken,) in self.conn.execute("SELECT rowid FROM messages WHERE rowid >= ? ORDER BY rowid", (key,)):
            if taken != key:
                break
            key += 1
        self.run = (run[0] if run is not None and within else base, key)
        return key


def _stamps(rng: random.Random, count: int, dense: bool) -> list[str]:
    if dense:  # a few seconds, many messages each, now and then an odd or a far one
        picks = [rng.choice((0, 0, 0, 1, 2, 5)) for _ in range(count)]
    else:
        picks = [rng.randrange(60) for _ in range(count)]
    stamps = [SECOND.format(second, rng.randrange(1000)) for second in picks]
    for place in rng.sample(range(count), count // 20):
        stamps[place] = rng.choice(("sometime", "1969-12-31T23:59:59.000000Z", "2026-03-01T11:00:00.000000Z"))
    return stamps


def _insert(conn: sqlite3.Connection, rowid: int, ts: str, pos: int) -> None:
    conn.execute(
        "INSERT INTO messages (rowid, sid, pos, mid, role, ts, turn, off, len, fts) VALUES (?,1,?,?,'user',?,NULL,0,0,1)",
        (rowid, pos, f"m{pos}", ts),
    )


def _transactions(api: Chit, seed: int, dense: bool, deleting: bool, check: Callable[[sqlite3.Connection, int, str, set[int]], None]) -> None:
    rng = random.Random(seed)
    index = parts_of(api).ctx.index
    pos = 0
    for _ in range(6):
        with index.writing() as rows:
            conn, freed = rows.conn, set()
            walked = WalkedIds(conn)
            for ts in _stamps(rng, rng.randrange(1, 400), dense):
                if deleting and rng.random() < 0.05:
                    gone = conn.execute("SELECT rowid FROM messages ORDER BY random() LIMIT 3").fetchall()
                    conn.executemany("DELETE FROM messages WHERE rowid = ?", gone)
                    freed.update(rowid for (rowid,) in gone)
                want = None if deleting else walked.allocate(ts)
                rowid = rows.ids.allocate(ts)
                if want is not None:
                    assert rowid == want, ts
                check(conn, rowid, ts, freed)
                _insert(conn, rowid, ts, pos)
                pos += 1


def _free_and_above_its_second(conn: sqlite3.Connection, rowid: int, ts: str, freed: set[int]) -> None:
    assert conn.execute("SELECT 1 FROM messages WHERE rowid = ?", (rowid,)).fetchone() is None
    base = ts_key(ts)
    if base is None:
        assert rowid < min(0, conn.execute("SELECT min(rowid) FROM messages").fetchone()[0] or 0)
        return
    assert rowid >= base
    # every id between is taken or was freed, counted (a packed second spans thousands of ids)
    taken = conn.execute("SELECT count(*) FROM messages WHERE rowid BETWEEN ? AND ?", (base, rowid - 1)).fetchone()[0]
    freed_between = [f for f in freed if base <= f < rowid]
    taken_again = conn.execute(f"SELECT count(*) FROM messages WHERE rowid IN ({','.join('?' * len(freed_between))})", freed_between).fetchone()[0]
    assert taken + len(freed_between) - taken_again == rowid - base


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dense", [True, False])
def test_the_ids_are_those_of_a_walk_row_by_row(api: Chit, seed: int, dense: bool) -> None:
    _transactions(api, seed, dense, deleting=False, check=_free_and_above_its_second)


@pytest.mark.parametrize("seed", range(4))
def test_with_rows_deleted_meanwhile_every_id_is_free_and_after_taken_or_freed_ones(api: Chit, seed: int) -> None:
    _transactions(api, seed, dense=True, deleting=True, check=_free_and_above_its_second)


def test_the_first_free_id_past_runs_of_every_length(api: Chit) -> None:
    rng = random.Random(7)
    with parts_of(api).ctx.index.writing() as rows:
        conn, taken = rows.conn, set()
        for pos, rowid in enumerate(rng.sample(range(1000, 3000), 1500)):
            _insert(conn, rowid, "x", pos)
            taken.add(rowid)
        for key in range(990, 3010):
            free = key
            while free in taken:
                free += 1
            above = free + 1
            while above not in taken and above < 3000:
                above += 1
            assert first_free(conn, key) == (free, above if above in taken else 1 << 63)


def test_a_packed_second_costs_a_transaction_few_queries_whatever_it_adds(api: Chit) -> None:
    """3000 ids of one second taken: the next transaction measures them in
    a few dozen queries, then gives 500 more ids of that second without
    asking SQLite again."""
    base = ts_key(SECOND.format(0, 0))
    assert base is not None
    index = parts_of(api).ctx.index
    with index.writing() as rows:
        for pos in range(3000):
            _insert(rows.conn, base + pos, SECOND.format(0, pos), pos)
    asked: list[str] = []
    with index.writing() as rows:
        rows.conn.set_trace_callback(lambda sql: asked.append(sql) if sql.startswith("SELECT") else None)
        try:
            for pos in range(3000, 3500):
                assert rows.ids.allocate(SECOND.format(0, pos)) == base + pos
                _insert(rows.conn, base + pos, SECOND.format(0, pos), pos)
        finally:
            rows.conn.set_trace_callback(None)
    assert len(asked) <= 40
