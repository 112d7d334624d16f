"""Event stamps of format 2: the machine id and the hybrid logical clock.

Invariants:
- an hlc stamp is `HLC_RE`: 13-digit wall milliseconds, ".", a 6-digit
  counter; stamps sort as text in clock order;
- `next_after(seen)` is greater than `seen` whatever this machine's wall
  clock says (a writer that saw an event stamps after it), and follows the
  wall clock when that is ahead. A writer that folded the session under
  its lock saw every event; a plain append saw the file's last `TAIL`
  bytes (chit appends in stamp order, so the greatest stamp is there
  unless a union of copies appended more than that of older lines);
- the machine id is random, made once per home (`$CHIT_HOME/machine-id`),
  never copied between machines: it is machine-local state, not data;
- `stamp` gives each record of an append an id (a message keeps its own),
  an hlc and the machine id, as the record's first keys after "type", so
  `max_hlc` finds every stamp chit wrote by scanning line starts, without
  decoding a single line.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from chit.patterns import LazyPattern

HLC_RE = LazyPattern(r"\d{13}\.\d{6}\Z")
MACHINE_RE = LazyPattern(r"[0-9a-f]{16}\Z")
COUNTER_MAX = 999_999
TAIL = 256 * 1024  # what a plain append reads of a file it has not read before
# a stamped line as chit writes it begins so; the hlc is group 1
_LINE_HLC = LazyPattern(rb'\n\{"type":"[a-z_]+","hlc":"(\d{13}\.\d{6})"')


def format_hlc(millis: int, counter: int) -> str:
    return f"{millis:013d}.{counter:06d}"


def parse_hlc(stamp: str) -> tuple[int, int]:
    millis, counter = stamp.split(".")
    return int(millis), int(counter)


def wall_millis() -> int:
    return time.time_ns() // 1_000_000


def next_after(seen: str | None, skew_ms: int = 0) -> str:
    """A stamp greater than `seen` (None: nothing seen), from the wall clock
    shifted by `skew_ms` when that is ahead."""
    wall = wall_millis() + skew_ms
    if seen is None:
        return format_hlc(wall, 0)
    millis, counter = parse_hlc(seen)
    if wall > millis:
        return format_hlc(wall, 0)
    if counter >= COUNTER_MAX:
        return format_hlc(millis + 1, 0)
    return format_hlc(millis, counter + 1)


def max_hlc(data: bytes | bytearray, start: int = 0) -> str | None:
    """The greatest stamp on the lines of `data` after `start` (a newline
    or before it: line 1, the header, is never stamped)."""
    best: bytes | None = None
    for match in _LINE_HLC.finditer(data, start):
        found = match.group(1)
        if best is None or found > best:
            best = found
    return None if best is None else best.decode()


def new_event_id() -> str:
    """An event's id: the scheme message ids use."""
    return str(uuid.uuid4())


def stamp(records: list[dict[str, Any]], machine: str, after: str | None, skew_ms: int = 0) -> tuple[list[dict[str, Any]], str | None]:
    """`records` stamped in order, each after the one before and after
    `after`; and the last stamp given. A record that has an hlc already
    (a line copied from another copy) is kept as it is."""
    stamped = []
    last = after
    for record in records:
        if "hlc" in record:
            stamped.append(record)
            last = record["hlc"] if last is None or record["hlc"] > last else last
            continue
        last = next_after(last, skew_ms)
        rest = {k: v for k, v in record.items() if k not in ("type", "id")}
        event_id = record.get("id") if record.get("type") == "message" else None
        stamped.append({"type": record["type"], "hlc": last, "by": machine, "id": event_id or new_event_id(), **rest})
    return stamped, last


class Stamper:
    """A home's stamps: its machine id (read on first use), the skew added
    to its wall clock (0; tests of machines whose clocks differ set it),
    and for each file appended to, the greatest stamp found in it so far:
    a process appending to one long file (the REPL) scans only what was
    added since it last looked."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.skew_ms = 0
        self._machine: str | None = None
        self._files: dict[str, tuple[int, int, str | None]] = {}  # path -> (inode, bytes scanned, greatest stamp)

    @property
    def machine(self) -> str:
        if self._machine is None:
            from chit.store.files import os_errors

            with os_errors("read the machine id"):
                self._machine = machine_id(self.home)
        return self._machine

    def stamp(self, records: list[dict[str, Any]], after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return stamp(records, self.machine, after, self.skew_ms)

    def last_in(self, path: str, fd: int, st: os.stat_result) -> str | None:
        """The greatest stamp this process has seen in the open file `fd`
        at `path`: what a whole read under the lock found (`remember`) and
        what was added since; else that of the file's last TAIL bytes (a
        plain append reads no more: it has seen those lines)."""
        ino, scanned, last = self._files.get(path, (-1, 0, None))
        known = ino == st.st_ino and 0 < scanned <= st.st_size
        start = scanned - 1 if known else max(0, st.st_size - TAIL)
        if not known:
            last = None
        if st.st_size > start:
            found = max_hlc(os.pread(fd, st.st_size - start, start))
            if found is not None and (last is None or found > last):
                last = found
        return last

    def remember(self, path: str, st: os.stat_result, size: int, last: str | None) -> None:
        """The file at `path` (inode of `st`) is `size` bytes, its greatest stamp `last`."""
        self._files[path] = (st.st_ino, size, last)


def machine_id(home: Path) -> str:
    """This home's machine id, made on first use (a damaged one is made again)."""
    path = home / "machine-id"
    found = _read_id(path)
    if found is not None:
        return found
    made = os.urandom(8).hex()
    os.makedirs(home, mode=0o700, exist_ok=True)
    temp = home / f".machine-id.{os.urandom(6).hex()}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, made.encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        if path.exists() or path.is_symlink():
            os.replace(temp, path)  # damaged: replaced whole
        else:
            os.link(temp, path)  # two first uses at once: one id wins
    except FileExistsError:
        pass
    except OSError:  # not to be replaced (a directory there): this process's own id, unique all the same
        return made
    finally:
        temp.unlink(missing_ok=True)
    found = _read_id(path)
    return found if found is not None else made


def _read_id(path: Path) -> str | None:
    from chit.store.files import open_regular

    try:
        fd = open_regular(path)  # a FIFO there is never waited on: damaged, made again
    except OSError:
        return None
    try:
        text = os.read(fd, 64).decode("ascii", "replace").strip()
    finally:
        os.close(fd)
    return text if MACHINE_RE.match(text) else None
