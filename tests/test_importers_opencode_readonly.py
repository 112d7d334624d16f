"""An import from opencode leaves opencode's folder as it was: no SQLite
`-wal` or `-shm` file created beside `opencode.db` (the database is in WAL
mode, where an ordinary read-only connection creates both), no byte
changed, whether opencode has the database open or not
(chit.importers.sqlite_readonly).

The database is the one opencode 1.18.33 wrote (tests/data), copied; a
connection of this test process that wrote to it and stays open stands
for a running opencode.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import Result, tree_digest
from importer_sources import fixture

TITLE = "Größe prüfen, 日本語 und Русский 🚀"  # the main session's, as recorded
LATER = "renamed while chit reads"

Cli = Callable[..., Result]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the opencode folder holding only the recorded opencode.db."""
    folder = tmp_path / "opencode"
    folder.mkdir()
    shutil.copy(fixture("opencode-1.18.33", "opencode.db"), folder / "opencode.db")
    return folder


@pytest.fixture
def running(folder: Path) -> Iterator[sqlite3.Connection]:
    """opencode at work: a connection that renamed the main session, its
    write committed to the -wal only (no checkpoint), and still open."""
    writer = sqlite3.connect(folder / "opencode.db")
    writer.execute("pragma wal_autocheckpoint = 0")
    writer.execute("update session set title = ? where title = ?", (LATER, TITLE))
    writer.commit()
    yield writer
    writer.close()


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_an_import_creates_and_changes_nothing_in_the_opencode_folder(cli: Cli, folder: Path) -> None:
    before = tree_digest(folder)
    result = cli("import", "--from", "opencode", str(folder))
    assert result.code == 0, result.err
    assert "imported 2," in result.err and TITLE in result.out
    assert names(folder) == ["opencode.db"]
    assert tree_digest(folder) == before
    again = cli("import", "--from", "opencode", str(folder))
    assert again.code == 0 and "imported 0, updated 0" in again.err
    assert tree_digest(folder) == before


def test_a_database_opencode_has_open_is_read_with_its_committed_writes(
    cli: Cli, folder: Path, running: sqlite3.Connection
) -> None:
    files = names(folder)
    assert files == ["opencode.db", "opencode.db-shm", "opencode.db-wal"]
    database, wal = ((folder / name).read_bytes() for name in files[::2])
    result = cli("import", "--from", "opencode", str(folder))
    assert result.code == 0, result.err
    assert LATER in result.out and TITLE not in result.out  # the row committed to the -wal only
    assert names(folder) == files
    assert (folder / "opencode.db").read_bytes() == database and (folder / "opencode.db-wal").read_bytes() == wal


def test_a_wal_left_without_its_shm_is_left_alone_and_said(
    cli: Cli, folder: Path, running: sqlite3.Connection, tmp_path: Path
) -> None:
    copy = tmp_path / "copied"
    copy.mkdir()
    for name in ("opencode.db", "opencode.db-wal"):
        shutil.copy(folder / name, copy / name)
    before = tree_digest(copy)
    result = cli("import", "--from", "opencode", str(copy))
    assert result.code == 0, result.err
    assert TITLE in result.out  # the database file as last checkpointed
    assert "its -wal file has writes not yet in the database" in result.err
    assert tree_digest(copy) == before and names(copy) == ["opencode.db", "opencode.db-wal"]


def test_a_read_during_which_opencode_wrote_the_database_file_is_read_again(folder: Path) -> None:
    """A checkpoint that writes the database file while chit reads it
    unlocked (`immutable`) could be read half done: such a read is
    thrown away and done again."""
    from chit.importers import sqlite_readonly

    database = folder / "opencode.db"
    titles: list[str] = []

    def read_title(db: sqlite3.Connection) -> str:
        title = str(db.execute("select title from session where parent_id is null").fetchone()[0])
        titles.append(title)
        if len(titles) == 1:  # opencode starts, writes, and closes (a checkpoint into the file) meanwhile
            time.sleep(0.05)  # past the clock tick of the copy's modification time
            writer = sqlite3.connect(database)
            writer.execute("update session set title = ? where parent_id is null", (LATER,))
            writer.commit()
            writer.close()
        return title

    assert sqlite_readonly.read(database, read_title) == LATER
    assert titles == [TITLE, LATER]
    assert names(folder) == ["opencode.db"]
