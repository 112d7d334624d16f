"""The index connections this process holds open.

Invariant: every connection `Index` opens is in `open_now` until it is
closed; a command that ends without the interpreter's shutdown
(`chit.cli.main`) closes them first (`close_all`), so SQLite folds the
write-ahead log into the index file and removes it, as freeing a
connection does: an index never keeps a log of its whole build beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

open_now: set[sqlite3.Connection] = set()


def close_all() -> None:
    """Close every index connection this process has open."""
    while open_now:
        open_now.pop().close()
