"""The indexes this process holds a connection open to.

Invariant: every `Index` with an open connection is in `open_now` until it
closes it, held weakly (an index freed closes its connection, as before).
A command that ends without the interpreter's shutdown (`chit.cli.main`)
first closes the connections that wrote (`close_written`), so SQLite folds
their write-ahead log into the index file and removes it, as freeing them
does: an index never keeps a log of its whole build beside it. One that
only read is left open: closing it would only remove an empty log that
the next command makes again (a few milliseconds of every `load`).
"""

from __future__ import annotations

import weakref
from typing import Protocol


class _Open(Protocol):
    def close_if_written(self) -> None: ...


open_now: weakref.WeakSet[_Open] = weakref.WeakSet()


def close_written() -> None:
    """Close every index connection of this process that changed the index."""
    for index in list(open_now):
        index.close_if_written()
