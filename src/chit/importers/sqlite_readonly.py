"""Reading another tool's SQLite database while leaving its folder as it
was.

Invariants: no file is created beside the database and none is changed,
but for the reader marks SQLite keeps in a `-shm` the tool has open; a
read sees every row committed when it began, or says which it could not.

An ordinary read-only connection to a database in WAL mode creates its
`-wal` and `-shm` files when they are not there, so the folder is opened
according to what lies beside the database:

- no `-wal`: no connection has the database open in WAL mode, and every
  committed row is in the database file itself. It is opened
  `immutable`: SQLite then takes no lock and creates nothing. A writer
  that starts meanwhile writes to a new `-wal` and leaves the database
  file alone until a checkpoint; a read during which the file changed
  (its inode, size or modification time, to the clock's tick) is read
  again, so a checkpoint is not read half done;
- a `-wal` and its `-shm`: a connection has it open (the tool is
  running) or had it when it was killed, and committed rows may be in
  the `-wal` only. It is opened read-only as any reader beside the tool:
  it sees every committed row and creates no file; SQLite's readers
  mark what they read in the `-shm` (the shared memory every connection
  to the database writes), and no other file is changed;
- a `-wal` without `-shm` (left by a copy or a cleanup; a live
  connection always has its `-shm`): reading it would create the `-shm`,
  so the database file is read alone, `immutable`, and `orphaned_wal`
  says so: rows committed only to that `-wal` are not seen until the
  tool next opens the database and folds them in.

There remains a moment the tool can close its database between the look
beside it and the opening (its `-wal` and `-shm` then removed): that read
recreates them, as the tool's own next start would.

Before any connection, the database and the `-wal` and `-shm` beside it
(links followed) must be regular files: SQLite opens a FIFO and waits on
it, and reads a device such as /dev/zero as if it were a file, so either
is refused (`not_regular`) before SQLite opens anything.

A TEXT value that is not valid UTF-8 is read with U+FFFD in place of the
bytes that are not (`LENIENT_TEXT`): one bad byte costs one character.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from chit.store.files import kind_of

T = TypeVar("T")
ATTEMPTS = 3  # reads of a database whose file changed each time before giving up


def side_file(database: Path, suffix: str) -> Path:
    """SQLite's `-wal` or `-shm` file of `database`."""
    return database.with_name(database.name + suffix)


def orphaned_wal(database: Path) -> bool:
    """Whether `database` has a `-wal` that holds frames but no `-shm`: its
    rows committed since the last checkpoint cannot be read without
    creating a file beside it."""
    try:
        wal = side_file(database, "-wal").stat().st_size
    except OSError:
        return False
    return wal > 32 and not side_file(database, "-shm").exists()  # 32: a WAL header without frames


def not_regular(database: Path) -> str | None:
    """Why SQLite must not open `database` (a FIFO, a device, a socket or
    a directory there, or beside it as its `-wal` or `-shm`), in words;
    None when each is a regular file or absent."""
    for path in (database, side_file(database, "-wal"), side_file(database, "-shm")):
        try:
            mode = os.stat(path).st_mode
        except OSError:
            continue  # absent (SQLite's own refusal names a missing database)
        if not stat.S_ISREG(mode):
            return f"{path.name} is not a regular file ({kind_of(mode)})"
    return None


#: how a TEXT value is read: bytes that are not UTF-8 (a corrupt byte, text
#: a tool stored in another encoding) become U+FFFD, instead of failing the
#: whole query (SQLite's "Could not decode to UTF-8") and with it every
#: message of the conversation the row belongs to
LENIENT_TEXT = partial(bytes.decode, encoding="utf-8", errors="replace")


def read(database: Path, work: Callable[[sqlite3.Connection], T]) -> T:
    """What `work` reads from `database` through a read-only connection
    that creates no file beside it (see the module docstring). A read of
    the database file alone is done again, up to ATTEMPTS times, when the
    file changed meanwhile; then `sqlite3.OperationalError`. Errors of
    SQLite and of `work` reach the caller; a FIFO or device at the
    database or beside it is `sqlite3.OperationalError` before it is opened."""
    for _ in range(ATTEMPTS):
        if (refused := not_regular(database)) is not None:
            raise sqlite3.OperationalError(refused)
        live = side_file(database, "-wal").exists() and side_file(database, "-shm").exists()
        before = None if live else _signature(database)
        query = "mode=ro" if live else "mode=ro&immutable=1"
        db = sqlite3.connect(f"{database.absolute().as_uri()}?{query}", uri=True)
        db.text_factory = LENIENT_TEXT
        try:
            result = work(db)
        except sqlite3.Error:
            if live or _signature(database) == before:
                raise
            continue  # a checkpoint wrote the file while it was read
        finally:
            db.close()
        if live or _signature(database) == before:
            return result
    raise sqlite3.OperationalError(f"the file changed each of the {ATTEMPTS} times it was read")


def _signature(database: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(database)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns
