"""The bound of every behind file (`filescan.newest_if_may_match`), read
on two CPUs when there are many bytes to read: a forked child reads every
other file (docs/architecture.md, "Search while the index catches up").

Invariants:
- the answer is the one reading every file here would give, in the
  files' order: the child only reads files and sends back one bound (or
  GONE) per file it was given; if it fails or is killed, this process
  reads its share itself;
- a child is forked only from a process with no other thread (a fork
  copies just the calling thread, and any lock another one holds stays
  held in the child), only when at least two CPUs are ours and the files
  hold at least SPLIT_BYTES; it ends with `os._exit` (nothing inherited is
  flushed or closed twice) and is always waited for: an interrupt here
  kills it first, and a child whose parent is gone (killed, SIGTERM or
  SIGKILL) stops before its next file;
- nothing here writes but the pipe.
"""

from __future__ import annotations

import marshal
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence

from chit.service import filescan
from chit.service.prefilter import Prefilter

#: bytes of files past which a second process reads half of them: a few milliseconds of
#: reading, what its fork costs (a search far behind reads more: chit.service.catchup.FAR_BEHIND)
SPLIT_BYTES = 8 * 1024 * 1024
GONE = "\0gone"  # a file removed since it was listed


def bounds(
    paths: Sequence[str], prefilter: Prefilter, total_bytes: int, tick: Callable[[int], None], split_bytes: int = SPLIT_BYTES
) -> list[str | None]:
    """`filescan.newest_if_may_match` of each path (GONE for one that is
    gone), in order; `tick(done)` now and then."""
    if total_bytes < split_bytes or len(paths) < 2 or not _may_fork():
        return [_bound(path, prefilter) for path in _ticking(paths, tick, 1)]
    read, write = os.pipe()
    parent = os.getpid()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child ends in os._exit, coverage never sees it
        _child(paths[1::2], prefilter, read, write, parent)
    os.close(write)
    try:
        mine = [_bound(path, prefilter) for path in _ticking(paths[0::2], tick, 2)]
        with os.fdopen(read, "rb") as pipe:
            sent = pipe.read()
        _, status = os.waitpid(child, 0)
    except BaseException:
        _end(child)
        raise
    theirs = _received(sent, status, len(paths[1::2]))
    if theirs is None:
        theirs = [_bound(path, prefilter) for path in paths[1::2]]
    merged: list[str | None] = []
    for at, bound in enumerate(mine):
        merged.append(bound)
        if at < len(theirs):
            merged.append(theirs[at])
    return merged


def _may_fork() -> bool:
    if not hasattr(os, "fork") or threading.active_count() != 1:
        return False
    return len(os.sched_getaffinity(0)) >= 2 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) >= 2


def _child(paths: Sequence[str], prefilter: Prefilter, read: int, write: int, parent: int) -> None:
    """The forked child: its files' bounds down the pipe, then exit; at
    once, before its next file, once `parent` is gone (killed: nobody
    would read them)."""
    code = 1
    try:
        os.close(read)
        found: list[str | None] = []
        for path in paths:
            if os.getppid() != parent:  # a child whose parent died is adopted by another process
                return
            found.append(_bound(path, prefilter))
        data = marshal.dumps(found)
        with os.fdopen(write, "wb") as pipe:
            pipe.write(data)
        code = 0
    finally:
        os._exit(code)


def _received(sent: bytes, status: int, count: int) -> list[str | None] | None:
    """The child's bounds, or None when it did not send them whole."""
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    try:
        theirs = marshal.loads(sent)
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(theirs, list) or len(theirs) != count:
        return None
    return theirs


def _end(child: int) -> None:
    try:
        os.kill(child, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(child, 0)


def _bound(path: str, prefilter: Prefilter) -> str | None:
    try:
        return filescan.newest_if_may_match(path, prefilter)
    except FileNotFoundError:
        return GONE


def _ticking(paths: Sequence[str], tick: Callable[[int], None], each: int) -> Iterator[str]:
    """`paths`, calling `tick` with the files read so far (both processes':
    `each` a file here) before each."""
    for done, path in enumerate(paths):
        tick(done * each)
        yield path
