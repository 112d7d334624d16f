"""Emptying the trash everywhere (`chit trash --empty --everywhere`).

The request travels as one line in the mirror, `emptied/<session id>.jsonl`
(union-merged like a session file, so two machines asking at once merge):
`{"session", "by", "seen"}`, where `seen` is the version vector of the
file the asking machine removed (machine id: greatest stamp of its events).
Until the next sync sends it, a request waits in the machine-local
`$CHIT_HOME/sync/emptied.jsonl`. It lives in the store layer because the
service records requests and `chit.sync` sends and applies them; both hold
the sync lock (`sync_locked`) while they touch the pending file.

Invariants:
- a machine removes its copy of a session only when the copy holds no
  stamped event the request did not see (`covered`): a message, a restore
  or any other change written on a machine after the asking one last saw
  the session keeps it, and the sync reports it kept;
- the asking machine removes the session's mirror file only when the
  mirror holds nothing the request did not see; a copy another machine
  sends back later wins over that removal (see `chit.sync.run`);
- a request is recorded before the file it names is removed, and dropped
  from the pending file only after the mirror commit holding it exists, so
  a run killed anywhere sends it at the next sync.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from chit.store import lock
from chit.errors import InvalidData
from chit.store.files import FILE_MODE, make_dir, os_errors, read_regular, write_atomic

FOLDER = "emptied"  # in the mirror
PENDING = "emptied.jsonl"  # in the sync directory, machine-local
Seen = dict[str, str]


def syncs(sync_dir: Path) -> bool:
    """Whether the home of `sync_dir` syncs (`chit sync init` or `clone` ran)."""
    return (sync_dir / "state.json").is_file() and (sync_dir / "repo" / ".git").is_dir()


@contextmanager
def sync_locked(sync_dir: Path, timeout: float) -> Iterator[int]:
    """Hold the sync lock (Locked, exit 6, past `timeout` seconds); the
    descriptor it is held by (a child given it holds the lock too)."""
    with os_errors("lock the sync"):
        make_dir(sync_dir)
        fd = os.open(sync_dir / "lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    try:
        lock.acquire(fd, "chit sync", timeout)
        yield fd
    finally:
        os.close(fd)


def seen_of(data: bytes | bytearray) -> Seen:
    """The version vector of a session file's stamped events."""
    seen: Seen = {}
    for line in data.split(b"\n"):
        record = _record(line)
        if record is None:
            continue
        by, hlc = record.get("by"), record.get("hlc")
        if isinstance(by, str) and isinstance(hlc, str) and hlc > seen.get(by, ""):
            seen[by] = hlc
    return seen


def covered(data: bytes | bytearray, seen: Seen) -> bool:
    """Whether every stamped event of `data` was seen by `seen`."""
    unseen = seen_of(data)
    return all(hlc <= seen.get(by, "") for by, hlc in unseen.items())


def request_line(session_id: str, machine: str, seen: Seen) -> bytes:
    return orjson.dumps({"session": session_id, "by": machine, "seen": seen}, option=orjson.OPT_SORT_KEYS) + b"\n"


def parse_request(line: bytes) -> tuple[str, str, Seen] | None:
    """A request line as (session id, asking machine, seen), None if malformed."""
    record = _record(line)
    if record is None:
        return None
    session, by, seen = record.get("session"), record.get("by"), record.get("seen")
    if not (isinstance(session, str) and isinstance(by, str) and isinstance(seen, dict)):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in seen.items()):
        return None
    return session, by, seen


def pending(sync_dir: Path) -> list[bytes]:
    """The requests waiting for the next sync, in the order asked."""
    path = sync_dir / PENDING
    try:
        data = read_regular(path)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise InvalidData(f"cannot read the trash to empty everywhere, {path}: {exc.strerror}") from None
    return [line + b"\n" for line in data.split(b"\n") if parse_request(line) is not None]


def ask(sync_dir: Path, lines: list[bytes], durable: bool) -> None:
    """Add requests to the pending ones (before their files are removed)."""
    if lines:
        with os_errors("record the trash to empty everywhere"):
            write_atomic(sync_dir / PENDING, b"".join([*pending(sync_dir), *lines]), durable)


def sent(sync_dir: Path, lines: list[bytes], durable: bool) -> None:
    """Drop requests now held by a mirror commit."""
    left = [line for line in pending(sync_dir) if line not in set(lines)]
    with os_errors("update the trash to empty everywhere"):
        if left:
            write_atomic(sync_dir / PENDING, b"".join(left), durable)
        else:
            (sync_dir / PENDING).unlink(missing_ok=True)


def _record(line: bytes | bytearray) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None
