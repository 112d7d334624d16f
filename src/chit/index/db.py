"""The derived index: a disposable SQLite cache of what listing, key lookup
and search need (`$CHIT_HOME/index.sqlite`; docs/architecture.md, "The index").

Invariants:
- the session files are the truth. The index holds nothing that cannot be
  rebuilt from them; deleting `index.sqlite*` loses nothing, and a missing,
  corrupt (garbage bytes) or foreign index is replaced by a fresh one;
- every answer follows a refresh of the directories it covers. Which files
  a refresh stats: those the directory's change journal (`chit.store.journal`)
  names since the last refresh, when the journal's token, the directory's
  trusted mtime and the boot id are unchanged and the last full check is
  under a minute old; else all of them (a full check). A file whose
  (size, mtime_ns, inode) equal its row is skipped; one that grew in place is
  read from the end of its last complete line (an append-only log) only
  while its witness (`chit.index.rows.witness`) is the row's: a file system
  hands a freed inode to the next new file, so a compaction's file may
  carry its predecessor's number. Any other change is re-read whole. A
  torn or half-written last line is never consumed;
- a session row equals what `fold()` gives for the file's complete lines
  (see `chit.index.fold`); the live messages are rows with the byte offset
  of their line, so the text is always read back from the file itself;
- the text index (FTS5 over the casefolded words of each message,
  `detail=none`, and their vocabulary; `chit.index.grams`) only proposes candidates; `chit.index.search`
  confirms each one against the message line in its file. Entries left behind by rewinds or rewrites are
  never deleted (contentless tables cannot be) and can only cost time.
  Rows are written first and their text added afterwards, in row id order
  (`Rows.drain` in `chit.index.rows`). A row whose line turns out to be another is
  doubted (`Rows.doubt`) and read again whole: in the same
  refresh when the text index found it, at the retry when a search did;
- message row ids follow the message timestamps: a message's whole second
  since 1970 is never above its row id (a free id at or above it),
  so "newest first" is nearly the order of the row ids, and exactly so
  second by second; a timestamp that is not chit's canonical form gets a
  negative row id instead;
- writers serialise through SQLite (WAL; one write transaction per refresh
  step); a refresh that finds nothing changed only reads (a full check
  records its time, at most once a second). A directory's
  mtime is recorded only once it is old enough to be trusted (a change in
  the same clock tick would not move it), for `key_fresh`.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from chit.index.dirs import (
    DirRow,
    FileStat,
    JournalPlace,
    Snapshot,
    conflicts_in,
    directory,
    open_dir,
    present,
    snapshot,
    still_pending,
)
from chit.index import connections, vocabulary
from chit.index.progress import Report, Span, files_behind
from chit.index import schema
from chit.index.schema import MIGRATIONS, SCHEMA_VERSION, TEXT_TABLES
from chit.store import journal
from chit.store.files import FILE_MODE, make_dir
from chit.store.paths import Layout
from chit.store.sessions import UUID_RE

if TYPE_CHECKING:
    import sqlite3

    from chit.index.rows import Rows

FULL_CHECK_EVERY_NS = 60_000_000_000  # changes made outside chit show up within this
BUSY_TIMEOUT = 30.0
COMMIT_EVERY = 1.0  # seconds of work per write transaction in a long build
ORPHAN_SLACK = 50_000
VACUUM_AFTER = 10_000  # messages whose text one refresh added before it compacts the text index
PROGRESS_AFTER = 1.0  # seconds a refresh runs before it reports its progress
PROGRESS_EVERY = 1.0  # seconds between two reports
report_progress: Report | None = None  # (what, done, total or 0); the command line sets it
#: (slug, trash) -> the conflict copies of a file-sync tool its last refresh in this process saw; the command line reports them
conflict_copies: dict[tuple[str, bool], int] = {}


class ForeignIndex(Exception):
    """index.sqlite holds something else than this version's index."""


class Index:
    """One store's index. Use `refresh` before any query; see `chit.index.search`."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.path = layout.index_file
        self._conn: sqlite3.Connection | None = None
        self.lock = threading.RLock()
        self.has_text = True
        self.doubted = False  # a committed transaction doubted rows (`Rows.doubt`): their directories need a full check
        self.progress = self._span([])  # of the refresh under way
        self.spanning = False  # `reporting`: every refresh tells the one progress
        self.files_read = 0  # by the refresh under way
        self.text_added = 0  # messages whose text was added since the last `settle_text`
        self.bulk_text = False  # text was added without FTS5's merges since then (`Rows.defer_merges`)

    # -- connection -----------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._open()
            connections.open_now.add(self)
        return self._conn

    def exists(self) -> bool:
        return self.path.exists()

    def close(self) -> None:
        if self._conn is not None:
            connections.open_now.discard(self)
            self._conn.close()
            self._conn = None

    def close_if_written(self) -> None:
        """Close the connection if it changed the index (`chit.index.connections`)."""
        if self._conn is not None and self._conn.total_changes:
            self.close()

    def _open(self) -> sqlite3.Connection:
        import sqlite3

        make_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
        os.close(fd)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                # takes effect only in a new, empty file, and writes the file's
                # header each time it is set: not on every open of an index
                conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            if version != SCHEMA_VERSION:
                self._create(conn, version)
            self.has_text = schema.has_text(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _create(self, conn: sqlite3.Connection, version: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
            if version in MIGRATIONS:
                schema.migrate(conn, version)
            elif version != SCHEMA_VERSION:
                if version != 0 or conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    raise ForeignIndex(f"index schema {version}, expected {SCHEMA_VERSION}")
                schema.create(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def rebuild(self) -> None:
        """Throw the index away (it is only a cache); the next use rebuilds it.
        Under a lock so two processes never delete each other's fresh index."""
        import fcntl
        import sqlite3

        self.close()
        make_dir(self.path.parent)
        fd = os.open(self.path.with_name("index.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                self._open().close()  # someone may have rebuilt it meanwhile
                return
            except (sqlite3.DatabaseError, ForeignIndex):
                pass
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.unlink(f"{self.path}{suffix}")
                except FileNotFoundError:
                    pass
        finally:
            os.close(fd)

    @contextmanager
    def writing(self) -> Iterator[Rows]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), through the
        rows it changes."""
        from chit.index.rows import Rows  # only to write: start-up time

        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        rows = Rows(conn, self.layout)
        try:
            yield rows
            rows.finish_text()  # the vocabulary commits with the text it comes from
            if rows.orphans:
                conn.execute(
                    "INSERT INTO meta VALUES ('orphans', ?) ON CONFLICT(k) DO UPDATE SET v = v + excluded.v",
                    (rows.orphans,),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.doubted = self.doubted or rows.doubted

    # -- refresh --------------------------------------------------------
    def refresh(self, dirs: Sequence[tuple[str, bool]], text: bool = False, full: bool = False, settle: bool = True) -> bool:
        """Bring the rows of these (slug, trash) directories up to date;
        with `text`, also the text index of every message, then (unless
        `settle` is False: a caller refreshing one part at a time calls
        `settle_text` once at its end) the vocabulary and the compaction
        (`settle_text`); with `full`, stat every file even where the change
        journal vouches for them. Returns False (creating nothing) when
        there is no index and no session file."""
        with self.lock:
            if self._conn is None and not self.exists() and not any(self._has_sessions(slug, trash) for slug, trash in dirs):
                return False
            self.files_read = 0
            if not self.spanning:
                self.progress = self._span(dirs)
            try:
                for slug, trash in dirs:
                    self._refresh_dir(slug, trash, full)
                if text and self.has_text:
                    self.doubted = False
                    self._drain()
                    if self.doubted:  # lines that were not what their rows said: read those files again
                        for slug, trash in dirs:
                            self._refresh_dir(slug, trash, full)
                        self._drain()
                    if settle:
                        self.settle_text()
            finally:
                if not self.spanning:
                    self.progress.finish()
            return True

    @contextmanager
    def reporting(self, dirs: Sequence[tuple[str, bool]], report: Report | None = None) -> Iterator[None]:
        """One progress over every refresh inside (a catch-up, one project
        at a time, of these directories), told to `report` (default
        `report_progress`): counts summed over them, the total theirs."""
        with self.lock:
            self.progress, self.spanning = self._span(dirs, report), True
        try:
            yield
        finally:
            with self.lock:
                self.spanning = False
                self.progress.finish()

    def _span(self, dirs: Sequence[tuple[str, bool]], report: Report | None = None) -> Span:
        return Span(report or report_progress, PROGRESS_AFTER, PROGRESS_EVERY, lambda: files_behind(self.conn, self.layout, dirs))

    def _has_sessions(self, slug: str, trash: bool) -> bool:
        snap, dfd = snapshot(self.layout, slug, trash)
        if dfd is not None:
            os.close(dfd)
        return bool(snap.files)

    def _refresh_dir(self, slug: str, trash: bool, full: bool) -> None:
        """One directory: from its change journal when the directory is
        unchanged and was fully checked lately on this boot, else by
        stat'ing every file (a full check)."""
        known = DirRow.read(self.conn, slug, trash)
        journal_path = self.layout.changes_file(slug, trash)
        tail = journal.follow(journal_path, known.journal.token if known else None, known.journal.offset if known else 0)
        if tail.token is None and directory(self.layout, slug, trash).is_dir():  # never trusted; one started now vouches from here on
            journal.start(journal_path)
            tail = journal.follow(journal_path, None, 0)
        pending = set(known.journal.pending.split()) if known is not None and tail.same else set()
        touched = set(pending)
        garbled = False  # a line cut short (a full disk): check everything once
        for sign, session_id in tail.marks:
            if not UUID_RE.match(session_id):
                garbled = True
                continue
            touched.add(session_id)
            if sign == "+":
                pending.add(session_id)
            else:
                pending.discard(session_id)
        read_to = JournalPlace(tail.token, tail.offset, " ".join(sorted(pending)))
        boot = journal.boot_id()
        now = time.time_ns()
        if (
            not full
            and not garbled
            and known is not None
            and tail.same
            and boot is not None
            and known.boot == boot
            and known.mtime_ns is not None
            and 0 <= now - known.checked_ns < FULL_CHECK_EVERY_NS  # a clock set back counts as stale
            and self._from_journal(slug, trash, known, touched, read_to)
        ):
            conflict_copies[(slug, trash)] = conflicts_in(known.sig)
            return
        snap, dfd = snapshot(self.layout, slug, trash)
        conflict_copies[(slug, trash)] = snap.conflicts
        try:
            if known is None and dfd is None:
                return
            if known is None or known.sig != snap.sig:
                self._sync(snap, dfd)
            read_to = JournalPlace(tail.token, tail.offset, still_pending(pending, snap))
            row = (snap.mtime_ns, *read_to, boot)
            if (
                known is None
                or (snap.mtime_ns, read_to, boot) != (known.mtime_ns, known.journal, known.boot)
                or abs(now - known.checked_ns) > 1_000_000_000
            ):
                with self.writing() as rows:
                    rows.conn.execute(
                        "UPDATE dirs SET mtime_ns = ?, jtoken = ?, joff = ?, pending = ?, boot = ?, checked_ns = ?"
                        " WHERE slug = ? AND trash = ?",
                        (*row, now, slug, int(trash)),
                    )
        finally:
            if dfd is not None:
                os.close(dfd)

    def _from_journal(self, slug: str, trash: bool, known: DirRow, touched: set[str], read_to: JournalPlace) -> bool:
        """Refresh only the files the journal names (and those still
        pending). False, doing nothing, when that cannot be trusted: the
        directory changed (a file was created, removed or replaced) or a
        named file is gone."""
        try:
            dfd = open_dir(self.layout, slug, trash)
        except OSError:
            return False
        if dfd is None:
            return False
        try:
            if os.fstat(dfd).st_mtime_ns != known.mtime_ns:
                return False
            todo = []
            for session_id in touched:
                try:
                    st = os.stat(session_id + ".jsonl", dir_fd=dfd, follow_symlinks=False)
                except FileNotFoundError:
                    return False
                row = self.conn.execute(
                    "SELECT size, mtime_ns, ino FROM sessions WHERE slug = ? AND trash = ? AND id = ?",
                    (slug, int(trash), session_id),
                ).fetchone()
                if row is None or not stat.S_ISREG(st.st_mode):
                    return False
                if tuple(row) != (st.st_size, st.st_mtime_ns, st.st_ino):
                    todo.append(session_id)
            if not todo and read_to == known.journal:
                return True  # nothing changed: only read
            with self.writing() as rows:
                for session_id in todo:
                    rows.read_file(dfd, slug, int(trash), session_id)
                rows.conn.execute(
                    "UPDATE dirs SET jtoken = ?, joff = ?, pending = ? WHERE slug = ? AND trash = ?",
                    (*read_to, slug, int(trash)),
                )
            return True
        finally:
            os.close(dfd)

    def refresh_if_changed(self, slugs: Sequence[str]) -> bool:
        """Bring these projects' rows up to date where a session file may
        have been created, removed or replaced since a trusted refresh:
        enough for keys and ids, which appends never change. False when
        there is no index and no session file."""
        stale = [(slug, False) for slug in slugs if not (self.exists() and self.key_fresh(slug))]
        return not stale or self.refresh(stale)

    def key_fresh(self, slug: str, trash: bool = False) -> bool:
        """Whether the rows' headers (keys) of this project (or its trash)
        are current: its directory has not changed since a trusted refresh."""
        try:
            mtime = os.stat(directory(self.layout, slug, trash)).st_mtime_ns
        except FileNotFoundError:
            return False
        row = self.conn.execute("SELECT mtime_ns, sig FROM dirs WHERE slug = ? AND trash = ?", (slug, int(trash))).fetchone()
        if row is None or row[0] != mtime:
            return False
        conflict_copies[(slug, trash)] = conflicts_in(row[1])  # unchanged since that refresh: so is its count
        return True

    def _sync(self, snap: Snapshot, dfd: int | None) -> None:
        trash = int(snap.trash)
        indexed = {
            row[0]: FileStat(*row)
            for row in self.conn.execute(
                "SELECT id, size, mtime_ns, ino FROM sessions WHERE slug = ? AND trash = ?", (snap.slug, trash)
            )
        }
        todo = [file.id for file in snap.files if indexed.pop(file.id, None) != file]
        while True:
            with self.writing() as writes:
                started = time.monotonic()
                while todo and time.monotonic() - started < COMMIT_EVERY:
                    assert dfd is not None
                    writes.read_file(dfd, snap.slug, trash, todo.pop())
                    self.files_read += 1
                    self.progress.file_read()
                if todo:
                    continue
                for session_id in indexed:  # gone from the directory
                    if dfd is None or not present(dfd, session_id):
                        writes.forget(snap.slug, trash, session_id)
                writes.conn.execute(
                    "INSERT INTO dirs(slug, trash, sig, mtime_ns) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT(slug, trash) DO UPDATE SET sig = excluded.sig, mtime_ns = excluded.mtime_ns",
                    (snap.slug, trash, snap.sig, snap.mtime_ns),
                )
                return

    # -- text -----------------------------------------------------------
    def _drain(self) -> None:
        """Add the text of every message indexed without it, oldest row id first."""
        conn = self.conn
        pending = conn.execute("SELECT count(*) FROM messages WHERE fts = 0").fetchone()[0]
        total = conn.execute("SELECT count(*) FROM messages").fetchone()[0] if pending >= VACUUM_AFTER else 0
        bulk = pending >= VACUUM_AFTER and (self.text_added + pending) * 2 >= total  # most of the text: a build
        self.bulk_text = self.bulk_text or bulk
        more = pending > 0
        done = 0
        while more:
            with self.writing() as rows:
                if bulk:
                    rows.defer_merges()  # `settle_text` merges it all at the end
                started = time.monotonic()
                while True:
                    more = rows.drain()
                    self.progress.tick(rows.drained)
                    if not more or time.monotonic() - started >= COMMIT_EVERY:
                        break
            done += rows.drained
            self.progress.text(rows.drained)
        self.text_added += done

    def settle_text(self) -> None:
        """After text was added (once per build, however many refreshes it
        took): the vocabulary catches up if it is behind, in one pass over
        msgtext's terms (`chit.index.vocabulary`); a large build is
        compacted; a text index that is mostly entries left behind starts
        over."""
        conn = self.conn
        if not self.has_text:
            return
        added, self.text_added = self.text_added, 0
        bulk, self.bulk_text = self.bulk_text, False
        rebuilt = added >= VACUUM_AFTER and (bulk or added * 2 >= conn.execute("SELECT count(*) FROM messages").fetchone()[0])
        if rebuilt or vocabulary.is_behind(conn):
            self.progress.enter("finishing the text index")
        if rebuilt:  # merged into one segment first: the vocabulary's pass then reads one
            with self.progress.waiting(), self.writing() as rows:  # its commit told too
                rows.conn.execute("INSERT INTO msgtext(msgtext) VALUES ('optimize')")
        if vocabulary.is_behind(conn):
            with self.progress.waiting(), self.writing() as rows:  # its commit told too
                vocabulary.catch_up(rows.conn)
        if rebuilt:
            with self.progress.waiting(), self.writing() as rows:  # its commit told too
                rows.conn.execute("INSERT INTO vocab(vocab) VALUES ('optimize')")
        if added >= VACUUM_AFTER:
            self._give_back_pages()
        orphans = conn.execute("SELECT v FROM meta WHERE k = 'orphans'").fetchone()
        if orphans is not None and orphans[0] > ORPHAN_SLACK:
            live = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
            if orphans[0] > live:
                self._reset_text()

    def _give_back_pages(self) -> None:
        """After a long build: shrink the file by the pages FTS5's merges
        freed, when they are a tenth of it or more (a build that added
        most of the text index merged it into one segment: about a tenth
        smaller, for a few percent of the build's time)."""
        conn = self.conn
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        if free * 10 >= conn.execute("PRAGMA page_count").fetchone()[0]:
            conn.executescript("PRAGMA incremental_vacuum;")  # run to the end: each step of it moves one page

    def _reset_text(self) -> None:
        """Too much garbage in the text index: start it over."""
        with self.writing() as rows:
            for table in TEXT_TABLES:
                rows.conn.execute(f"DROP TABLE IF EXISTS {table}")
            schema.create_text(rows.conn)
            rows.conn.execute("UPDATE messages SET fts = 0")
            rows.conn.execute("DELETE FROM meta WHERE k = 'orphans'")
        self._drain()
        self.settle_text()

