"""File-system primitives under the store: private modes, mkdir -p that
can be undone, atomic replace, whole writes, and OS refusals turned into
one-line `StorageError`s.

Invariants: files are created 0600 and directories 0700 whatever the
umask; `open_regular` opens only regular files (never through a link,
never blocking on a FIFO, never a directory, socket or device);
`write_atomic` leaves either the old file or the new one (temp file in the
same directory, fsync, rename, fsync of the directory), and when it fails
it leaves no temp file and no directory it created. A temp file is
flock'ed by its writer from its creation until after its rename, so a temp
file whose lock is free was left by a writer that died (`temp_writer_gone`).
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from chit.errors import ChitError, StorageError

FILE_MODE = 0o600
DIR_MODE = 0o700


@contextmanager
def os_errors(action: str) -> Iterator[None]:
    """Turn file-system refusals into one-line `StorageError`s."""
    try:
        yield
    except ChitError:
        raise
    except OSError as exc:
        reasons = {
            errno.ENOSPC: "no space left on device",
            errno.EDQUOT: "disk quota exceeded",
            errno.EROFS: "read-only file system",
            errno.EACCES: "permission denied",
            errno.EPERM: "operation not permitted",
            errno.ELOOP: "refusing to follow a symbolic link",
        }
        reason = reasons.get(exc.errno or 0, exc.strerror or str(exc))
        where = f" ({exc.filename})" if exc.filename else ""
        raise StorageError(f"cannot {action}: {reason}{where}") from None


class NotRegular(OSError):
    """A FIFO, socket, directory or device where chit expects a regular file."""

    def __init__(self, path: str | os.PathLike[str], mode: int) -> None:
        super().__init__(errno.EINVAL, f"not a regular file ({kind_of(mode)})", os.fspath(path))


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words (for one-line messages)."""
    kinds = [
        (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISLNK, "a symbolic link"),
    ]
    return next((name for test, name in kinds if test(mode)), "not a file")


def read_named(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a file a person named (a snapshot, an export): a regular
    file, a pipe (`<(command)`, waited on as `cat` waits) or /dev/null. Any
    other device (/dev/zero would never end), a socket or a directory is
    `NotRegular` before a byte is read."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        found = os.fstat(fd)
        if not _readable_as_named(found):
            raise NotRegular(path, found.st_mode)
        return handle.read()


def is_named_file(path: str | os.PathLike[str]) -> bool:
    """Whether `read_named` would read `path` (links followed); OSError
    when there is nothing there."""
    return _readable_as_named(os.stat(path))


def _readable_as_named(found: os.stat_result) -> bool:
    """A regular file, a pipe or the null device: what ends when read."""
    if stat.S_ISREG(found.st_mode) or stat.S_ISFIFO(found.st_mode):
        return True
    return stat.S_ISCHR(found.st_mode) and os.path.samestat(found, os.stat(os.devnull))


def open_regular(
    path: str | os.PathLike[str], flags: int = os.O_RDONLY, dir_fd: int | None = None, follow_links: bool = False
) -> int:
    """Open a file that must be a regular one. Never follows a link (ELOOP)
    unless `follow_links` (files outside the store, such as an import
    source) and never blocks: opening a FIFO waits for its other end, so it
    is opened with O_NONBLOCK and, like a socket (ENXIO), a directory
    (EISDIR) or a device, refused with `NotRegular` after fstat."""
    flags |= os.O_CLOEXEC | os.O_NONBLOCK | (0 if follow_links else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags, FILE_MODE, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno not in (errno.ENXIO, errno.EISDIR, errno.EOPNOTSUPP):
            raise
        st = os.stat(path, dir_fd=dir_fd, follow_symlinks=follow_links)
        if stat.S_ISREG(st.st_mode):
            raise
        raise NotRegular(path, st.st_mode) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegular(path, mode)
        os.set_blocking(fd, True)  # nothing blocks on a regular file; keep later writes plain
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: str | os.PathLike[str], limit: int | None = None, follow_links: bool = False) -> bytes:
    """The bytes of a regular file, at most `limit` of them: opened as
    `open_regular` opens it (a FIFO there is refused, never waited on)."""
    with os.fdopen(open_regular(path, follow_links=follow_links), "rb") as handle:
        return handle.read(-1 if limit is None else limit)


def make_dir(path: Path) -> list[Path]:
    """mkdir -p with 0700 on every directory chit creates; returns those it
    created, outermost first (for `remove_dirs` when the write then fails)."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    created = []
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue
        created.append(directory)
        os.chmod(directory, DIR_MODE)
    return created


def remove_dirs(created: list[Path]) -> None:
    """Undo `make_dir` after a failed write: a refused write leaves no trace
    (only still-empty directories go, so a concurrent writer's stay)."""
    for directory in reversed(created):
        try:
            os.rmdir(directory)
        except OSError:
            return


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Replace `path` with `data`: temp file beside it, fsync, rename."""
    created = make_dir(path.parent)
    try:
        _replace(path, data, durable)
    except BaseException:
        remove_dirs(created)
        raise


def create_temp(path: Path) -> tuple[Path, int]:
    """A new temp file beside `path` (`.<name>.<hex>.tmp`), open for writing
    and flock'ed: keep the descriptor open until the file is renamed."""
    tmp = path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return tmp, fd


#: A temp file younger than this is never taken for a dead writer's: it may
#: be between its creation and its writer's flock.
TEMP_GRACE = 2.0


def temp_writer_gone(path: Path) -> bool:
    """Whether the writer of temp file `path` is dead: nobody holds its
    lock, it is older than TEMP_GRACE, and it is still the file at `path`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        held = os.fstat(fd)
        if not stat.S_ISREG(held.st_mode) or time.time() - held.st_mtime < TEMP_GRACE:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        now = os.stat(path, follow_symlinks=False)
        return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)
    except OSError:
        return False
    finally:
        os.close(fd)


def _replace(path: Path, data: bytes, durable: bool) -> None:
    tmp, fd = create_temp(path)
    try:
        os.fchmod(fd, FILE_MODE)
        write_all(fd, data)
        if durable:
            os.fsync(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)  # the lock goes with it, after the rename
    if durable:
        fsync_dir(path.parent)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def cut_back(fd: int, size: int) -> None:
    """Truncate a log back to `size` after a failed append (best effort)."""
    try:
        os.ftruncate(fd, size)
    except OSError:
        pass


def read_whole(fd: int, size: int, offset: int = 0) -> bytearray:
    """`size` bytes of a file from `offset` (fewer if it is shorter now), as
    a bytearray: a reader may decode a long message over its bytes."""
    data = bytearray(size)
    view = memoryview(data)
    done = 0
    while done < size:
        got = os.preadv(fd, [view[done:]], offset + done)
        if got == 0:
            break
        done += got
    view.release()
    del data[done:]
    return data


def first_line(fd: int) -> bytes:
    """A file's first line, without its newline."""
    head = b""
    while b"\n" not in head:
        chunk = os.pread(fd, 65536, len(head))
        if not chunk:
            break
        head += chunk
    return head.split(b"\n", 1)[0]


def create_whole(path: Path, data: bytes | Iterable[bytes], durable: bool) -> bool:
    """Create the file `path` holding `data` (bytes, or pieces written one
    after the other as they come, so the whole need never be in memory at
    once): written aside, then linked into place, so it appears whole or
    not at all (and never replaces a file). False if a file is there
    already; a failed write leaves nothing behind."""
    pieces = [data] if isinstance(data, bytes) else data
    with os_errors("create the session"):
        created = make_dir(path.parent)
        tmp = path.parent / f".{path.name.removesuffix('.jsonl')}.{os.urandom(6).hex()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
            try:
                os.fchmod(fd, FILE_MODE)
                for piece in pieces:
                    write_all(fd, piece)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a full disk (or a piece that failed) leaves nothing behind
            remove_dirs(created)
            raise
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
        if durable:
            fsync_dir(path.parent)
    return True
