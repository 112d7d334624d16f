"""Change journals: which session files chit changed in place, so that the
index can bring a directory up to date without stat'ing every file in it.

An append changes no directory's mtime, so without a journal a reader must
stat every session file to find the one that grew. Each session directory
has a journal, `$CHIT_HOME/changes/<slug>.sessions` (`.trash` for the
trash), written by the appenders and read by the index. Like the index it
is derived: deleting it costs the next reader one full check.

Invariants:
- a journal starts with a header line naming a random token, and is only
  ever put in place whole (a finished temp file linked or renamed over the
  path): a reader that sees the same token sees the same file, grown;
- a writer holding a session's lock writes `+<id>` before it changes that
  file in place and `-<id>` after, each line with one O_APPEND write; it
  then checks that the journal it wrote to is still the one at the path,
  and writes the line again if a rotation replaced it meanwhile. So once an
  append is acknowledged, its `-<id>` line is in the current journal, or
  the token changed after the line was written;
- an id left with `+` and no later `-` (a writer at work, or killed between
  the two) stays pending for readers, who stat it on every refresh until
  its `-` comes;
- nothing here is fsynced: readers do a full check after a reboot (a new
  boot id), whenever the token is not the one they last saw and whenever
  there is no journal (they then start one, before their check);
- a journal that cannot be written is removed, so that readers fall back
  to full checks instead of trusting a journal that missed a change.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from chit.store.files import create_temp, make_dir, open_regular

HEADER = b"chit-changes "
ROTATE_AT = 1 << 20  # bytes; about 13,000 appends
_READ_MAX = 8 << 20  # a longer unread tail is not worth parsing: full check instead
_BOOT_ID = "/proc/sys/kernel/random/boot_id"


class Writer:
    """The journal of one session directory, for one change to one file.

    with Writer(path, session_id): ...change the file in place...
    """

    def __init__(self, path: Path, session_id: str) -> None:
        self.path = path
        self.line = session_id.encode() + b"\n"
        self.fd = -1

    def __enter__(self) -> Writer:
        try:
            self.fd = _open(self.path)
            os.write(self.fd, b"+" + self.line)
        except OSError:
            self._give_up()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd < 0:
            return
        try:
            for _ in range(8):
                os.write(self.fd, b"-" + self.line)
                if _same_file(self.fd, self.path):
                    break
                os.close(self.fd)  # rotated meanwhile: say it again in the new journal
                self.fd = -1
                self.fd = _open(self.path)
            else:
                raise OSError("the journal keeps changing")
            if os.fstat(self.fd).st_size > ROTATE_AT:
                _put_new(self.path, replace=True)
        except OSError:
            self._give_up()
        finally:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1

    def _give_up(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        try:
            if _real_dir(self.path.parent):  # never unlink through a planted link
                os.unlink(self.path)
        except OSError:
            pass


def _real_dir(directory: Path) -> bool:
    """The journals' directory is no link (a planted link is never followed)."""
    try:
        return stat.S_ISDIR(os.lstat(directory).st_mode)
    except FileNotFoundError:
        return True  # made on first use, by make_dir
    except OSError:
        return False


def _open(path: Path) -> int:
    if not _real_dir(path.parent):
        raise OSError("the journals' directory is a link")
    for _ in range(8):
        try:
            return open_regular(path, os.O_WRONLY | os.O_APPEND)  # a FIFO there would block the appender
        except FileNotFoundError:
            _put_new(path, replace=False)
    raise OSError("the journal keeps disappearing")


def _put_new(path: Path, replace: bool) -> None:
    """Put a fresh journal (header only) at `path`: over the old one with
    `replace`, else only where there is none."""
    make_dir(path.parent)
    tmp, fd = create_temp(path)
    try:
        os.write(fd, HEADER + os.urandom(8).hex().encode() + b"\n")
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
    finally:
        tmp.unlink(missing_ok=True)
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    held = os.fstat(fd)
    try:
        now = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return (held.st_ino, held.st_dev) == (now.st_ino, now.st_dev)


class Tail:
    """What a reader learns from a journal since its last look.

    `token` is the journal's (None: no journal); `offset` is where the next
    look starts; `marks` are the (sign, session id) lines read; `same` says
    whether they continue the journal the reader saw last (same token)."""

    __slots__ = ("token", "offset", "marks", "same")

    def __init__(self, token: str | None, offset: int, marks: list[tuple[str, str]], same: bool) -> None:
        self.token = token
        self.offset = offset
        self.marks = marks
        self.same = same


def follow(path: Path, token: str | None, offset: int) -> Tail:
    """The complete lines of the journal at `path` past `offset`, when its
    token is still `token`; else (new journal) none, from its end."""
    try:
        if not _real_dir(path.parent):
            return Tail(None, 0, [], False)
        fd = open_regular(path)
    except OSError:
        return Tail(None, 0, [], False)
    try:
        return _tail(fd, token, offset)
    except OSError:
        return Tail(None, 0, [], False)
    finally:
        os.close(fd)


def _tail(fd: int, token: str | None, offset: int) -> Tail:
    head = os.pread(fd, 64, 0)
    end = os.fstat(fd).st_size
    newline = head.find(b"\n")
    if not head.startswith(HEADER) or newline < 0:
        return Tail(None, 0, [], False)
    current = head[len(HEADER) : newline].decode("ascii", "replace")
    if current != token or offset < newline + 1 or offset > end or end - offset > _READ_MAX:
        return Tail(current, end, [], False)
    data = os.pread(fd, end - offset, offset)
    complete = data.rfind(b"\n") + 1
    marks = []
    for line in data[:complete].split(b"\n"):
        if line[:1] in (b"+", b"-"):
            marks.append((chr(line[0]), line[1:].decode("ascii", "replace")))
    return Tail(current, offset + complete, marks, True)


def start(path: Path) -> None:
    """Put a journal where there is none (a reader does, before a full
    check), so that the next look has a token to trust; quietly nothing
    when the store cannot be written."""
    try:
        if _real_dir(path.parent):
            _put_new(path, replace=False)
    except OSError:
        pass


_boot: list[str] = []


def boot_id() -> str | None:
    """This boot's id (Linux), else None: journals are then never trusted."""
    if not _boot:
        try:
            with open(_BOOT_ID, "rb") as handle:
                _boot.append(handle.read().strip().decode("ascii", "replace"))
        except OSError:
            _boot.append("")
    return _boot[0] or None
