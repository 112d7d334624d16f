"""Session directories for the index: as listed now (`Snapshot`) and as
the index last recorded them (`DirRow`, a row of its `dirs` table).

Invariants:
- a directory reached through a symbolic link (itself or a directory above
  it below the home) is never listed: it is missing, as it is for the store;
- a snapshot names only regular files called `<uuid>.jsonl`, each with the
  (size, mtime_ns, inode) that a refresh compares with its row; its `sig`
  changes whenever a file is created, removed, replaced or changed; no
  snapshot's sig is DOUBTED, so a doubted directory is always synced, even
  once it is gone;
- a directory's mtime is recorded only once it is older than
  TRUST_AFTER_NS: a change in the same clock tick would not move it;
- the conflict copies a file-sync tool left in the directory (and, for a
  project's sessions directory, beside its project.json) are counted from
  the same listing and kept in the sig (`conflicts_in`), so a refresh that
  lists nothing still knows how many there were at the last full check.
"""

from __future__ import annotations

import errno
import os
import stat
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from chit.store import conflicts

if TYPE_CHECKING:
    import sqlite3

    from chit.store.paths import Layout

from chit.value import Value, value_type
from chit.patterns import LazyPattern

TRUST_AFTER_NS = 2_000_000_000
DOUBTED = ""  # the sig of a directory whose files must all be checked again (`Rows.doubt`)
MISSING = "missing"  # the sig of a missing directory: never DOUBTED, or a doubted row would outlive its directory
_SESSION_NAMES = LazyPattern(r"\0([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl(?=\0)")


class FileStat(NamedTuple):
    """One session file as stat'ed: what its row's stat must equal."""

    id: str
    size: int
    mtime_ns: int
    ino: int


@value_type
class Snapshot(Value):
    """One directory as listed now."""

    slug: str
    trash: bool
    files: list[FileStat]
    sig: str
    mtime_ns: int | None  # the directory's mtime, once old enough to trust
    linked: frozenset[str] = frozenset()  # files with another name too (a move cut short)
    conflicts: int = 0  # conflict copies seen (chit.store.conflicts)

    def __init__(
        self, slug: str, trash: bool, files: list[FileStat], sig: str, mtime_ns: int | None,
        linked: frozenset[str] = frozenset(), conflicts: int = 0,
    ) -> None:
        self.__dict__.update(slug=slug, trash=trash, files=files, sig=sig, mtime_ns=mtime_ns, linked=linked, conflicts=conflicts)


class JournalPlace(NamedTuple):
    """How far the index has read a directory's change journal: the
    journal's token, the offset read to, and the session ids left pending
    (space-separated, sorted)."""

    token: str | None
    offset: int
    pending: str


@value_type
class DirRow(Value):
    """What the index recorded of one session directory."""

    sig: str  # the snapshot's sig when its rows were last synced; DOUBTED to check every file again
    mtime_ns: int | None  # the trusted mtime of that snapshot
    journal: JournalPlace
    checked_ns: int  # when the last full check was made (0: never, or doubted since)
    boot: str | None  # the boot id of that check

    def __init__(self, sig: str, mtime_ns: int | None, journal: JournalPlace, checked_ns: int, boot: str | None) -> None:
        self.__dict__.update(sig=sig, mtime_ns=mtime_ns, journal=journal, checked_ns=checked_ns, boot=boot)

    @classmethod
    def read(cls, conn: sqlite3.Connection, slug: str, trash: bool) -> DirRow | None:
        row = conn.execute(
            "SELECT sig, mtime_ns, jtoken, joff, pending, checked_ns, boot FROM dirs WHERE slug = ? AND trash = ?",
            (slug, int(trash)),
        ).fetchone()
        if row is None:
            return None
        sig, mtime_ns, token, offset, pending, checked_ns, boot = row
        return cls(sig, mtime_ns, JournalPlace(token, offset, pending), checked_ns, boot)


def directory(layout: Layout, slug: str, trash: bool) -> Path:
    return layout.trash_dir(slug) if trash else layout.sessions_dir(slug)


def open_dir(layout: Layout, slug: str, trash: bool) -> int | None:
    """A descriptor on a session directory; None when it is missing or
    reached through a link (a linked directory is never followed)."""
    path = os.fspath(directory(layout, slug, trash))
    home = os.fspath(layout.home).rstrip(os.sep)
    probe = home  # then projects, projects/<slug> (the home itself may be a link); strings: this runs for every directory of every refresh
    for part in path[len(home) + 1 :].split(os.sep)[:-1]:
        probe = probe + os.sep + part
        if os.path.islink(probe):
            return None
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        return None


def snapshot(layout: Layout, slug: str, trash: bool) -> tuple[Snapshot, int | None]:
    """List a directory and stat its session files (no SQLite needed).
    Returns the snapshot and an open directory fd (None if missing)."""
    dfd = open_dir(layout, slug, trash)
    if dfd is None:
        return Snapshot(slug, trash, [], MISSING, None), None
    dir_mtime = os.fstat(dfd).st_mtime_ns
    files = []
    linked = []
    numbers: list[int] = []
    names = os.listdir(dfd)
    conflict_count = _conflicts(layout, slug, trash, names)
    for session_id in _SESSION_NAMES.findall("\0" + "\0".join(names) + "\0"):
        try:
            st = os.stat(session_id + ".jsonl", dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(st.st_mode):
            files.append(FileStat(session_id, st.st_size, st.st_mtime_ns, st.st_ino))
            numbers += files[-1][1:]
            if st.st_nlink > 1:
                linked.append(session_id)
    sig = f"{zlib.crc32(''.join(f.id for f in files).encode())}:{hash(tuple(numbers))}:{len(files)}"
    if conflict_count:
        sig += f"{_CONFLICTS}{conflict_count}"
    trusted = dir_mtime if time.time_ns() - dir_mtime > TRUST_AFTER_NS else None
    return Snapshot(slug, trash, files, sig, trusted, frozenset(linked), conflict_count), dfd


_CONFLICTS = ":c"  # in a sig: the conflict copies counted with it


def _conflicts(layout: Layout, slug: str, trash: bool, names: list[str]) -> int:
    """The conflict copies among a session directory's names, and for a
    project's sessions directory those beside its project.json too (one
    more listing, made only by a full check)."""
    found = conflicts.count(names, sessions=True)
    if not trash:
        try:
            found += conflicts.count(os.listdir(layout.project_dir(slug)), sessions=False)
        except OSError:
            pass
    return found


def conflicts_in(sig: str) -> int:
    """The conflict copies a directory held when its sig was taken."""
    _, mark, number = sig.rpartition(_CONFLICTS)
    return int(number) if mark and number.isdigit() else 0


def still_pending(pending: set[str], snap: Snapshot) -> str:
    """The ids a full check leaves pending: those named pending that are
    still in the directory (one that comes back changes its mtime), and
    every file that has another name too, in a directory an append through
    that other name is journaled in."""
    present = {f.id for f in snap.files}
    return " ".join(sorted((pending & present) | snap.linked))


def present(dfd: int, session_id: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(f"{session_id}.jsonl", dir_fd=dfd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False
