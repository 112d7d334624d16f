"""One store's files: session logs, project records, trash.

Invariants:
- a write is either an append of whole lines to a session log, made under
  that session's exclusive lock and fsynced (unless durability is relaxed),
  or an atomic replace (temp file in the same dir, fsync, rename, fsync dir);
- a new session file appears whole or not at all (written aside, then
  hard-linked into place, which also refuses to overwrite);
- an append never glues itself to a torn last line: it terminates it first;
- readers never trust a torn last line and never fail on a corrupt line;
  they set it aside as a `LogIssue`;
- symlinks are never followed into or out of the store (O_NOFOLLOW on
  files, `no_links` on the directories below the home), and a FIFO,
  socket, directory or device where a file belongs is refused, never
  opened in a way that could block (`files.open_regular`);
- files are created 0600 and directories 0700 whatever the umask;
- session ids are validated as UUIDs before they become path parts;
- every event chit writes is stamped (`chit.store.clock.stamp`) after the
  greatest stamp in the file it is appended to, so it sorts after every
  event its writer could have seen; the header is never stamped.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import orjson

from chit.errors import InvalidData, NotFound, ProjectGone, ReadOnly
from chit.patterns import LazyPattern
from chit.store import clock, codec, lock
from chit.store.files import (
    create_whole,
    FILE_MODE,
    NotRegular,
    cut_back,
    first_line,
    fsync_dir,
    make_dir,
    open_regular,
    os_errors,
    read_whole,
    write_all,
    write_atomic,
)
from chit.store.journal import Writer as JournalWriter
from chit.store.log import Log, appended, parse_log, read_log
from chit.store.paths import Layout, check_home

_Read = TypeVar("_Read")

UUID_RE = LazyPattern(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def id_prefix_shaped(lowered: str) -> bool:
    """Whether `lowered` (stripped, lowercased) is only hex digits and
    dashes: what an id prefix can be (no pattern compiled for it)."""
    return not lowered.strip("0123456789abcdef-")


DURABILITY_ENV = "CHIT_DURABILITY"
#: events a new file's writer stamps and encodes at a time: with long tool outputs a
#: batch is still a few MB, and the cost of a batch is one join
CREATE_BATCH = 100


def durability_fsync() -> bool:
    """`CHIT_DURABILITY=flush` skips fsync (faster, not crash-safe); default fsync."""
    return os.environ.get(DURABILITY_ENV, "fsync").strip().lower() != "flush"


def check_session_id(session_id: str) -> str:
    if not UUID_RE.match(session_id):
        raise InvalidData(f"not a session id: {session_id!r}")
    return session_id


def same_file(a: Path, b: Path) -> bool:
    """Whether two names are links to one file (a move cut short)."""
    try:
        first, second = os.stat(a, follow_symlinks=False), os.stat(b, follow_symlinks=False)
    except OSError:
        return False
    return (first.st_ino, first.st_dev) == (second.st_ino, second.st_dev)


def _open_nofollow(path: Path, flags: int) -> int:
    try:
        return open_regular(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound(f"session file is gone: {path.name}") from None
    except NotRegular as exc:
        raise InvalidData(f"refusing to open {path}: {exc.strerror}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InvalidData(f"refusing to follow a symbolic link: {path}") from None
        raise


def _open_created(path: Path) -> int | None:
    """`path` opened, created if missing; None when its directory is gone."""
    try:
        return _open_nofollow(path, os.O_RDWR | os.O_CREAT)
    except NotFound:
        return None


def _still_at(fd: int, path: Path) -> bool:
    """Whether the open file `fd` is the file now at `path`."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def _subdirs(directory: Path) -> list[str]:
    try:
        entries = os.scandir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    with entries:
        return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))


class LockedSession:
    """A session file held under its exclusive lock."""

    def __init__(self, store: Store, path: Path, fd: int, session_id: str, project_key: str, journal: Path) -> None:
        self._store = store
        self.path = path
        self.journal = journal
        self.fd = fd
        self.session_id = session_id
        self.project_key = project_key
        self._log: Log | None = None  # the last `read`

    def read(self) -> Log:
        st = os.fstat(self.fd)
        data = read_whole(self.fd, st.st_size)
        log = parse_log(self.session_id, data, self.project_key, st.st_mtime_ns, scratch=True)
        newest = max((e["hlc"] for e in log.events if "hlc" in e), default=None)
        self._store.stamper.remember(os.fspath(self.path), st, len(data), newest)  # the append after it stamps after all
        self._log = log
        return log

    def read_again(self) -> Log:
        """What `read` gives now (not after a rewrite), once the file grew by whole
        lines since the last: that read with only them decoded (`chit.store.log.appended`)."""
        st, log = os.fstat(self.fd), self._log
        grown = None if log is None or st.st_size < log.size else read_whole(self.fd, st.st_size - log.size, log.size)
        extended = None if log is None or grown is None else appended(log, grown, st.st_mtime_ns)
        return extended if extended is not None else self.read()

    def check_writable(self) -> None:
        """Refuse to write to a file of a newer format version."""
        try:
            header = codec.decode_header(first_line(self.fd))
        except codec.BadRecord:
            return
        if header["version"] > codec.FORMAT_VERSION:
            raise ReadOnly(
                f"session {self.session_id[:8]} was written by a newer chit (format {header['version']}); "
                "it can be read but not changed"
            )

    def append(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        with os_errors("append to the session"):
            st = os.fstat(self.fd)
            stamper = self._store.stamper
            stamped, last = stamper.stamp(records, stamper.last_in(os.fspath(self.path), self.fd, st))
            size = self.append_lines([codec.encode_many(stamped)])
            stamper.remember(os.fspath(self.path), st, size, last)

    def data(self) -> bytearray:
        """The file's bytes as they are under the lock."""
        return read_whole(self.fd, os.fstat(self.fd).st_size)

    def append_lines(self, lines: list[bytes]) -> int:
        """Append whole lines (each ending in a newline) as they are, in one
        write: the lines of another copy of the session that this one lacks
        (a union merge). Returns the file's new size."""
        data = b"".join(lines)
        with os_errors("append to the session"):
            size = os.fstat(self.fd).st_size
            if not data:
                return size
            if size and os.pread(self.fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # close a torn last line so it stays alone
            with JournalWriter(self.journal, self.session_id):  # tells the index which file grew
                try:
                    write_all(self.fd, data)
                    if self._store.durable:
                        os.fsync(self.fd)
                except BaseException:
                    cut_back(self.fd, size)  # a failed append (full disk…) leaves no partial line
                    raise
        return size + len(data)

    def rewrite(self, records: list[dict[str, Any]]) -> None:
        """Replace the file by `records` (a header first); those without a
        stamp are stamped after every stamp the file held."""
        with os_errors("rewrite the session"):
            stamped = records[:1] + self._store.stamper.stamp(records[1:], self.last_stamp())[0]
            write_atomic(self.path, codec.encode_many(stamped), self._store.durable)

    def rewrite_lines(self, lines: list[bytes]) -> None:
        """Replace the file by these whole lines (each ending in a newline)."""
        with os_errors("rewrite the session"):
            write_atomic(self.path, b"".join(lines), self._store.durable)

    def last_stamp(self) -> str | None:
        """The greatest stamp in the file (under the lock: no writer adds one)."""
        with os_errors("read the session"):
            return self._store.stamper.last_in(os.fspath(self.path), self.fd, os.fstat(self.fd))


class Store:
    def __init__(self, layout: Layout, durable: bool | None = None, timeout: float | None = None) -> None:
        check_home(layout.home)
        self.layout = layout
        self.durable = durability_fsync() if durable is None else durable
        self.timeout = lock.lock_timeout() if timeout is None else timeout
        self.stamper = clock.Stamper(layout.home)

    # -- projects -------------------------------------------------------
    def project_slugs(self) -> list[str]:
        return _subdirs(self.layout.projects)

    def trash_slugs(self) -> list[str]:
        return _subdirs(self.layout.trash)

    def no_links(self, path: Path) -> None:
        """Refuse a path that passes through a symbolic link between the
        home (which may itself be one) and its last part: a link planted in
        the store never leads chit to read or write outside it."""
        home = os.fspath(self.layout.home)  # plain strings: this runs on every append
        parent = os.path.dirname(os.fspath(path))
        if not parent.startswith(home.rstrip(os.sep) + os.sep):
            return  # the home itself, or outside it
        probe = home.rstrip(os.sep)
        for part in parent[len(probe) + 1 :].split(os.sep):
            probe = probe + os.sep + part
            try:
                linked = stat.S_ISLNK(os.lstat(probe).st_mode)
            except (FileNotFoundError, NotADirectoryError):
                return  # the rest does not exist yet: make_dir creates real directories
            if linked:
                raise InvalidData(f"refusing to follow a symbolic link: {probe}")

    def read_json(self, path: Path) -> Any:
        try:
            self.no_links(path)
            fd = _open_nofollow(path, os.O_RDONLY)
        except (NotFound, InvalidData):
            return None
        try:
            with os.fdopen(fd, "rb") as handle:
                return orjson.loads(handle.read())
        except (orjson.JSONDecodeError, OSError):
            return None

    def write_json(self, path: Path, value: Any, *, cache: bool = False) -> None:
        """Replace the file `path` atomically; a `cache` without fsync (docs/architecture.md, invariant 5)."""
        with os_errors("write " + path.name):
            self.no_links(path)
            write_atomic(path, orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n", self.durable and not cache)

    @contextmanager
    def project_lock(self, slug: str) -> Iterator[None]:
        """Serialise project-wide decisions (unique keys, current session)."""
        fd = self._project_lock_fd(slug)
        try:
            yield
        finally:
            os.close(fd)

    @contextmanager
    def ids_lock(self) -> Iterator[None]:
        """Serialise choosing a session id that is not a fresh random one (a
        snapshot's, the id of a `Session` saved, one a sync brings) with
        looking for it in the store and creating its file, in every project
        at once: ids are unique in the whole store. The lock is the home
        directory's own (flock), so taking it writes nothing, not even a
        lock file."""
        with os_errors("lock the store's session ids"):
            make_dir(self.layout.home)
            fd = os.open(self.layout.home, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            lock.acquire(fd, "the store's session ids", self.timeout)
            yield
        finally:
            os.close(fd)

    def _project_lock_fd(self, slug: str) -> int:
        """The project's lock file, opened and locked. `projects rm` and
        `projects mv` unlink it while holding it: a waiter that then got the
        lock of the unlinked file would hold it beside the next opener of a
        new one, so it is refused (`ProjectGone`, a CONFLICT) instead, as a waiter
        that finds the project's record gone is."""
        path = self.layout.project_dir(slug) / ".lock"
        with os_errors("lock the project"):
            self.no_links(path)
            fd = None
            while fd is None:  # `projects rm` may remove the directory between its making and the open
                make_dir(path.parent)
                fd = _open_created(path)
            os.fchmod(fd, FILE_MODE)
        try:
            lock.acquire(fd, f"project {slug}", self.timeout)
            if not _still_at(fd, path):
                raise ProjectGone(f"project {slug} was moved or removed while this waited for it; nothing was written, run the command again")
        except BaseException:
            os.close(fd)
            raise
        return fd

    # -- sessions -------------------------------------------------------
    def session_ids(self, slug: str, trash: bool = False) -> list[str]:
        directory = self.layout.trash_dir(slug) if trash else self.layout.sessions_dir(slug)
        try:
            self.no_links(directory / "_")
            entries = os.scandir(directory)
        except InvalidData:
            return []  # a linked directory is not listed (doctor reports it)
        except (FileNotFoundError, NotADirectoryError):
            return []
        with entries:
            return [
                e.name[:-6]
                for e in entries
                if e.name.endswith(".jsonl") and UUID_RE.match(e.name[:-6]) and e.is_file(follow_symlinks=False)
            ]

    def session_path(self, slug: str, session_id: str, trash: bool = False) -> Path:
        check_session_id(session_id)
        path = self.layout.trash_file(slug, session_id) if trash else self.layout.session_file(slug, session_id)
        self.no_links(path)
        return path

    def holders(self, session_id: str, trash: bool = False) -> list[str]:
        """The slugs of the projects (or trashes) holding a session id, in
        slug order. A bare lstat of a string per project first: every one is
        looked in, and `exists` (no link on the way) is four calls."""
        check_session_id(session_id)
        where = os.fspath(self.layout.trash if trash else self.layout.projects) + os.sep
        tail = f"{os.sep}{session_id}.jsonl" if trash else f"{os.sep}sessions{os.sep}{session_id}.jsonl"
        slugs = self.trash_slugs() if trash else self.project_slugs()
        named = [slug for slug in slugs if os.path.lexists(where + slug + tail)]
        return [slug for slug in named if self.exists(slug, session_id, trash)]

    def exists(self, slug: str, session_id: str, trash: bool = False) -> bool:
        try:
            return self.session_path(slug, session_id, trash).is_file()
        except InvalidData:
            return False

    def create(self, slug: str, session_id: str, records: Iterable[dict[str, Any]]) -> Path:
        """Write a new session file whole; refuses if the id is taken.

        `records` (the header first) are stamped, encoded and written
        CREATE_BATCH at a time as they come: a long session's lines are
        never all in memory at once, and the file still appears whole."""
        path = self.session_path(slug, session_id)
        self.stamper.machine  # read (or made) now: the session's first append never waits for it
        if not create_whole(path, self._stamped_lines(iter(records)), self.durable):
            from chit.errors import Conflict

            raise Conflict(f"session {session_id} already exists")
        return path

    def _stamped_lines(self, records: Iterator[dict[str, Any]]) -> Iterator[bytes]:
        """The encoded lines of a new file's records, a batch at a time:
        the header as it is, then every event stamped after the one before."""
        yield codec.encode_many([next(records)])
        last = None
        while batch := list(islice(records, CREATE_BATCH)):
            stamped, last = self.stamper.stamp(batch, last)
            yield codec.encode_many(stamped)

    def read_header(self, slug: str, session_id: str) -> dict[str, Any] | None:
        """The header record alone (first line), or None if unreadable."""
        try:
            fd = _open_nofollow(self.session_path(slug, session_id), os.O_RDONLY)
        except (NotFound, InvalidData, OSError):
            return None
        try:
            first = first_line(fd)
        finally:
            os.close(fd)
        try:
            return codec.decode_header(first)
        except codec.BadRecord:
            return None

    def read(self, slug: str, session_id: str, project_key: str, trash: bool = False) -> Log:
        return self._read(slug, session_id, trash, lambda fd, st: read_log(fd, st.st_size, session_id, project_key, st.st_mtime_ns))

    def read_bytes(self, slug: str, session_id: str, trash: bool = False) -> tuple[bytes, os.stat_result]:
        """A session file's bytes and its stat when they were read."""
        return self._read(slug, session_id, trash, lambda fd, st: (os.pread(fd, st.st_size, 0), st))

    def _read(self, slug: str, session_id: str, trash: bool, read: Callable[[int, os.stat_result], _Read]) -> _Read:
        """`read(fd, its stat)` of a session file opened for it: every whole
        read of a session file goes through here."""
        path = self.session_path(slug, session_id, trash)
        with os_errors("read the session"):
            fd = _open_nofollow(path, os.O_RDONLY)
            try:
                # a file may grow between fstat and the read; read what was there
                return read(fd, os.fstat(fd))
            finally:
                os.close(fd)

    @contextmanager
    def locked(self, slug: str, session_id: str, project_key: str, trash: bool = False) -> Iterator[LockedSession]:
        """Hold a session's exclusive lock. Survives concurrent atomic rewrites:
        after locking, the open file must still be the one at the path."""
        path = self.session_path(slug, session_id, trash)
        while True:
            with os_errors("open the session"):
                fd = _open_nofollow(path, os.O_RDWR | os.O_APPEND)
            try:
                lock.acquire(fd, f"session {session_id[:8]}", self.timeout)
                held = os.fstat(fd)
                try:
                    current = os.stat(path, follow_symlinks=False)
                except FileNotFoundError:
                    raise NotFound(f"session {session_id[:8]} was deleted meanwhile") from None
                if (held.st_ino, held.st_dev) != (current.st_ino, current.st_dev):
                    continue  # replaced by a rewrite while we waited: lock the new file
                yield LockedSession(self, path, fd, session_id, project_key, self.layout.changes_file(slug, trash))
                return
            finally:
                os.close(fd)

    def temp_owner_gone(self, slug: str, name: str) -> bool:
        """Whether no writer can still own temp file `name` of a sessions
        directory: the lock its writer holds while the file exists (the
        session's for a rewrite, `.<id>.jsonl.<hex>.tmp`; the project's for
        a new session, `.<id>.<hex>.tmp`) is free right now."""
        parts = name.split(".")
        if len(parts) == 5 and parts[0] == "" and parts[2] == "jsonl" and UUID_RE.match(parts[1]):
            guard = self.session_path(slug, parts[1])
        elif len(parts) == 4 and parts[0] == "" and UUID_RE.match(parts[1]):
            guard = self.layout.project_dir(slug) / ".lock"
        else:
            return False
        try:
            fd = _open_nofollow(guard, os.O_RDONLY)
        except NotFound:
            return True  # no session or project lock file: nobody can hold it
        except (InvalidData, OSError):
            return False
        try:
            return lock.try_acquire(fd)
        finally:
            os.close(fd)

    def move(self, source: Path, target: Path) -> None:
        """Rename a session file between sessions/ and trash/ (never
        overwrites; finishes a move that was interrupted between its link
        and its unlink)."""
        session_id = source.name.removesuffix(".jsonl")
        with os_errors("move the session"):
            make_dir(target.parent)
            # While the file has both names, an append through one directory
            # is journaled there only: both journals hold it pending until the
            # move is done, so the index stats it in both (a kill leaves it so).
            with JournalWriter(self._journal_of(source), session_id), JournalWriter(self._journal_of(target), session_id):
                try:
                    os.link(source, target)
                except FileExistsError:
                    if not same_file(source, target):
                        raise
                os.unlink(source)
            if self.durable:
                fsync_dir(source.parent)
                fsync_dir(target.parent)

    def _journal_of(self, session_file: Path) -> Path:
        """The change journal of the directory holding `session_file`."""
        directory = session_file.parent
        if directory.parent == self.layout.trash:
            return self.layout.changes_file(directory.name, trash=True)
        return self.layout.changes_file(directory.parent.name)

    def unlink(self, path: Path) -> None:
        with os_errors("remove the session"):
            path.unlink(missing_ok=True)
