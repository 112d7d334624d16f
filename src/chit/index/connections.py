"""The index connections this process holds open.

Invariant: every connection `Index` opens is in `open_now` until it is
closed; a command that ends without the interpreter's shutdown
(`chit.cli.main`) first closes those that wrote (`close_written`), so
SQLite folds their write-ahead log into the index file and removes it, as
freeing a connection does: an index never keeps a log of its whole build
beside it. One that only read is left open: closing it would only remove
an empty log that the next command makes again (a few milliseconds of
every `load`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

open_now: set[sqlite3.Connection] = set()


def close_written() -> None:
    """Close every index connection of this process that changed the index."""
    for conn in [c for c in open_now if c.total_changes]:
        open_now.discard(conn)
        conn.close()
