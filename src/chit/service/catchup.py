"""How far the index is behind the files, and bringing it up to date
(`chit index`, which a search that found it far behind starts in the
background; docs/architecture.md, "Search while the index catches up").

Invariants:
- `lag` only reads (opening an index of an older schema migrates it). A
  session is "behind" when its file has no row, its row's (size, mtime,
  inode) is not the file's, or some of its live messages still lack their
  text in the text index; every other session of the scope is answered by
  the index, every behind one by its file, so no session is answered
  twice or by neither (`Lag.skip` names the ones the index must leave out:
  the behind ones and rows whose file is gone);
- a quick look (the index's directory rows, journals and pending text)
  decides whether the stat of every file is needed at all: an index that
  is up to date, or nearly, costs a search nothing more;
- a listing or a search that finds the index far behind starts `chit index
  --background` detached (`start`; `listing_lags` for every listing: `ls`,
  `tree`, the picker, the REPL's `/list`); it never waits for it. Through
  the API (`Context.catch_up_here`) it brings the index up to date in its
  own process first (`caught_up_here`), and answers from the files only
  while another catch-up holds the lock (never waited for);
- one catch-up at a time: `catch_up` holds `index.catchup` (flock) while
  it refreshes; another that finds it held returns at once. A catch-up
  killed at any point leaves an index that the next refresh completes (each
  step is one SQLite transaction). `index.catchup` is opened without
  waiting: a FIFO or device there is refused in one line (`chit index`)
  or taken as no catch-up running (a listing), never waited on.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from chit.errors import InvalidData
from chit.store.files import NotRegular, make_dir, open_regular

if TYPE_CHECKING:
    import sqlite3

    from chit.index.db import Index
    from chit.model import Project
    from chit.service.queries import Queries

#: indexing left (bytes of files and of message text) under which a search refreshes the index itself (about a CPU second)
FAR_BEHIND = 8 * 1024 * 1024
#: and in at least this many files: a refresh reads a few long files in pieces, in less memory than a scan's whole fold
FAR_FILES = 8
JOURNAL_SLACK = 64 * 1024  # bytes of change journal past what the index read: a few hundred changed files
LOG_KEEP = 64 * 1024  # the catch-up log is cut back to its newest lines past this


class Behind(NamedTuple):
    """A session file the index has not caught up with."""

    project: Project
    id: str
    size: int
    mtime_ns: int


class Lag(NamedTuple):
    """The sessions of a scope the index cannot answer for yet."""

    files: list[Behind]  # newest file first
    skip: frozenset[tuple[str, str]]  # (slug, id): sessions the index must leave out
    bytes: int  # indexing left: those files' bytes

    @property
    def far(self) -> bool:
        return self.bytes >= FAR_BEHIND and len(self.files) >= FAR_FILES


def lag(index: Index, scope: Sequence[Project], text: bool = True) -> Lag | None:
    """The sessions of `scope` the index is behind on; None when a quick
    look finds it up to date or nearly (a refresh is cheap). Without
    `text`, a session whose row is current is not behind however much of
    its text is left to index (a listing reads no text)."""
    if index.exists() and _looks_current(index, scope, text):
        return None
    from chit.index.dirs import snapshot

    rows: dict[tuple[str, str], tuple[int, int, int]] = {}
    pending: set[tuple[str, str]] = set()
    if index.exists():
        rows, pending = _rows(index, scope, text)
    files: list[Behind] = []
    gone: set[tuple[str, str]] = set(rows)  # rows whose file is not listed
    skip: set[tuple[str, str]] = set()
    for project in scope:
        snap, dfd = snapshot(index.layout, project.slug, False)
        if dfd is not None:
            os.close(dfd)
        for file in snap.files:
            key = (project.slug, file.id)
            gone.discard(key)
            if rows.get(key) != (file.size, file.mtime_ns, file.ino) or key in pending:
                files.append(Behind(project, file.id, file.size, file.mtime_ns))
                skip.add(key)  # even without a row now: a catch-up may write one before the index is asked
    files.sort(key=lambda b: (b.mtime_ns, b.id), reverse=True)
    return Lag(files, frozenset(skip | gone), sum(b.size for b in files))


def _looks_current(index: Index, scope: Sequence[Project], text: bool = True) -> bool:
    """Whether the index recorded every directory of the scope as it is
    (its mtime), read nearly all of its change journal, and has the text
    of every message: then what is left is a refresh's usual work."""
    from chit.index.dirs import DirRow

    conn = index.conn
    if text and index.has_text and conn.execute("SELECT 1 FROM messages WHERE fts = 0 LIMIT 1").fetchone():
        return False
    for project in scope:
        known = DirRow.read(conn, project.slug, False)
        try:
            mtime = os.stat(index.layout.sessions_dir(project.slug)).st_mtime_ns
        except FileNotFoundError:
            continue
        if known is None or known.mtime_ns != mtime:
            return False
        try:
            journal_size = os.stat(index.layout.changes_file(project.slug)).st_size
        except FileNotFoundError:
            return False
        if not 0 <= journal_size - known.journal.offset < JOURNAL_SLACK:
            return False
    return True


def _rows(
    index: Index, scope: Sequence[Project], text: bool = True
) -> tuple[dict[tuple[str, str], tuple[int, int, int]], set[tuple[str, str]]]:
    """The index's live session rows of the scope (their stat) and (with
    `text`) those with a message whose text is not indexed yet."""
    slugs = {p.slug for p in scope}
    conn = index.conn
    conn.execute("BEGIN")  # one snapshot for both: a catch-up may commit in between
    try:
        return _rows_and_pending(index, conn, slugs, text)
    finally:
        conn.execute("COMMIT")


def _rows_and_pending(
    index: Index, conn: sqlite3.Connection, slugs: set[str], text: bool
) -> tuple[dict[tuple[str, str], tuple[int, int, int]], set[tuple[str, str]]]:
    rows = {  # the scope's rows only (sessions_listed): a small project's listing beside a large one stays small
        (slug, sid): (size, mtime, ino)
        for slug in slugs
        for sid, size, mtime, ino in conn.execute("SELECT id, size, mtime_ns, ino FROM sessions WHERE slug = ? AND trash = 0", (slug,))
    }
    pending: set[tuple[str, str]] = set()
    if text and index.has_text:
        pending = {
            (slug, sid)
            for slug, sid in conn.execute(
                "SELECT s.slug, s.id FROM sessions s WHERE s.trash = 0 AND s.sid IN (SELECT DISTINCT sid FROM messages WHERE fts = 0)"
            )
            if slug in slugs
        }
    return rows, pending


def catch_up(index: Index, slugs: Sequence[str], wait: bool) -> int | None:
    """Bring the index (rows and text) of these projects up to date, one
    project at a time, under one progress (`Index.reporting`); the number
    of session files read. None, doing
    nothing, when another catch-up holds the lock and `wait` is False."""
    import fcntl

    lock_path = index.layout.home / "index.catchup"
    make_dir(lock_path.parent)
    try:
        fd = open_regular(lock_path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
    except NotRegular as exc:  # a FIFO there is never waited on
        raise InvalidData(f"refusing to open {lock_path}: {exc.strerror}; remove it") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InvalidData(f"refusing to follow a symbolic link: {lock_path}") from None
        raise
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return None
        started = time.time()
        read = 0
        with index.reporting([(slug, False) for slug in slugs]):  # one progress over every project
            for slug in slugs:
                with index.lock:
                    index.refresh([(slug, False)], text=True, settle=False)
                    read += index.files_read
            with index.lock:
                index.settle_text()  # once: it passes over the whole text index
        _log(fd, f"{os.getpid()} {started:.3f} {time.time() - started:.3f}s {read} files read\n")
        return read
    finally:
        os.close(fd)


def caught_up_here(index: Index, scope: Sequence[Project]) -> bool:
    """Bring the index of `scope` up to date in this process, as `chit
    index` does (what the API's listings and searches do when they find it
    far behind; `Context.catch_up_here`). False, having done nothing, when
    another catch-up holds the lock or the lock cannot be opened: the files
    answer meanwhile."""
    try:
        return catch_up(index, [p.slug for p in scope], wait=False) is not None
    except (InvalidData, OSError):  # `index.catchup` not a regular file, or not writable: as no catch-up
        return False


def running(index: Index) -> bool:
    """Whether a catch-up holds the lock now."""
    import fcntl

    try:
        fd = open_regular(index.layout.home / "index.catchup")
    except OSError:  # none there, or not a regular file (never waited on): no catch-up holds it
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _log(fd: int, line: str) -> None:
    """One line on the catch-up's log (the lock file itself), cut back to
    its newest part once past LOG_KEEP."""
    os.write(fd, line.encode())
    if os.fstat(fd).st_size > LOG_KEEP:
        os.lseek(fd, 0, os.SEEK_SET)
        kept = os.read(fd, LOG_KEEP * 2)[-LOG_KEEP // 2 :]
        os.ftruncate(fd, 0)
        os.write(fd, kept[kept.find(b"\n") + 1 :])


def listing_lags(
    queries: Queries, background: bool, note: Callable[[str], None] | None, report: Callable[[str, int, int], None] | None = None
) -> None:
    """Have the next listing of `queries` that finds the index's rows far
    behind start a catch-up in the background (when `background`: config.toml's
    `[index] background`), tell `note` so and report its reading to `report`:
    `ls`, `tree`, the picker and the REPL's `/list` alike."""

    def lagging(lag: Lag) -> None:
        from chit.service import list_fresh

        if report is not None:
            list_fresh.report_progress = report
        index = queries.ctx.index
        if background and not running(index):
            start(str(index.layout.home))
        if note is not None:
            what = "catching up in the background" if background else "run `chit index` to catch up"
            note(f"the index is behind on {len(lag.files):,} session file(s) ({lag.bytes / 1e6:,.0f} MB): reading them directly; {what}")

    queries.on_listing_lagging = lagging


def start(home: str) -> None:
    """`chit index --background` on this home, detached."""
    env = {**os.environ, "CHIT_HOME": home}
    subprocess.Popen(
        [sys.executable, "-m", "chit", "index", "--background"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        env=env,
    )
