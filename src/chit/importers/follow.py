"""Following an append-only source file: reading only the lines it gained.

Claude Code transcripts and Codex rollouts only ever grow by whole lines.
After a whole read, an importer of such a file gives a `mark` (where the
read ended and a check of what came before) and its own resume state; the
next import, finding the file grown, reads from the mark on and maps only
the new lines (`read_new`).

Invariants:
- a follow gives exactly what a whole read of the file would add: the
  importer's follow function returns None, and the file is read whole,
  whenever the new lines could change anything read before (a new header
  fact, a title, an earlier message's tokens, another branch) or anything
  is doubtful (a problem on a new line, a last line still being written);
- the part read before is trusted only while the file is the same file
  (its inode), at least as long as the mark, and its first 4 KiB and the
  4 KiB before the mark hash as they did: a file replaced, truncated, or
  rewritten there is read whole (a rewrite in place of bytes between the
  two, keeping the size, is not seen: no tool these files come from
  writes so);
- a mark is made only when the read ended on a line end, so the new part
  always starts at a line.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chit.store.files import open_regular
from chit.importers.base import Problem, Transcript, parse_lines

#: how much of a file before the mark is checked again when it is followed
CHECKED = 4096


#: the bytes a whole read of a followed file reads at a time
READ_PIECE = 1 << 20
Records = list[tuple[int, dict[str, Any]]]


def read_marked(
    path: Path, problems: list[Problem], keep: Callable[[dict[str, Any]], dict[str, Any]],
) -> tuple[Records, dict[str, Any] | None]:
    """A whole read of a file: (line number, record) of its JSON object
    lines as `parse_lines` gives them, each as `keep` leaves it, and its
    mark (None when the file does not end with a line end: a line still
    being written is never the start of a follow). The file is read a
    piece at a time and parsed as it comes, so its bytes are never all in
    memory beside its records (a long transcript). A read that fails is
    one problem and gives no records."""
    records: Records = []
    found: list[Problem] = []  # the lines' problems: none when the read fails
    head, tail, rest = b"", b"", bytearray()
    size = lines = parsed = 0  # parsed: the line ends of the lines parsed so far

    def parse(data: bytes) -> None:
        records.extend((n, keep(r)) for n, r in parse_lines(data, str(path), found, parsed + 1))

    try:
        fd = open_regular(path, follow_links=True)  # a FIFO put there meanwhile never blocks the import
        with os.fdopen(fd, "rb") as handle:
            inode = os.fstat(handle.fileno()).st_ino
            while piece := handle.read(READ_PIECE):
                head = head if len(head) >= CHECKED else (head + piece)[:CHECKED]
                tail = (tail + piece)[-CHECKED:]
                size, lines = size + len(piece), lines + piece.count(b"\n")
                rest += piece
                if (cut := rest.rfind(b"\n") + 1) > 0:
                    parse(bytes(rest[:cut]))  # whole lines: one piece's worth copied at a time
                    del rest[:cut]
                    parsed = lines
    except OSError as exc:
        problems.append(Problem(str(path), None, f"cannot read the file: {exc.strerror or exc}"))
        return [], None
    parse(bytes(rest))  # a last line with no line end
    problems.extend(found)
    return records, None if rest else _mark(inode, size, head, tail, lines)


def _mark(inode: int, offset: int, head: bytes, before: bytes, lines: int) -> dict[str, Any]:
    check = hashlib.sha256(head + b"\0" + before).hexdigest()
    return {"inode": inode, "offset": offset, "check": check, "lines": lines}


def read_new(path: Path, mark: Any) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, Any], int] | None:
    """The records after `mark` (numbered as a whole read numbers them),
    the new mark and the bytes read; None when the file is not the one
    marked, its new part ends inside a line, or a new line is unusable."""
    if not isinstance(mark, dict) or not all(isinstance(mark.get(k), int) for k in ("inode", "offset", "lines")):
        return None
    offset: int = mark["offset"]
    try:
        fd = open_regular(path, follow_links=True)
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(handle.fileno())
            if st.st_ino != mark["inode"] or st.st_size < offset:
                return None
            head = handle.read(min(CHECKED, offset))
            start = max(0, offset - CHECKED)
            handle.seek(start)
            data = handle.read()
    except OSError:
        return None
    before, new = data[: offset - start], data[offset - start :]
    if len(before) != offset - start or hashlib.sha256(head + b"\0" + before).hexdigest() != mark.get("check"):
        return None
    if new and not new.endswith(b"\n"):
        return None
    problems: list[Problem] = []
    records = list(parse_lines(new, str(path), problems, mark["lines"] + 1))
    if problems:
        return None  # a whole read reports them, and the file is not cached
    ended = before + new
    first = (head + new)[:CHECKED] if offset < CHECKED else head
    moved = _mark(mark["inode"], offset + len(new), first, ended[-CHECKED:], mark["lines"] + new.count(b"\n"))
    return records, moved, len(head) + len(data)


class Seen:
    """A set of strings that may answer "perhaps" but never wrongly "no"
    (a Bloom filter): what a followed file held before its last lines,
    kept in a few bytes a line. A "perhaps" only ever sends the file to a
    whole read; it holds at most `capacity` strings."""

    HASHES = 5
    BITS_PER_ITEM = 16

    def __init__(self, capacity: int, bits: bytearray | None = None, count: int = 0) -> None:
        self.capacity = capacity
        self.size = capacity * self.BITS_PER_ITEM
        self.bits = bits if bits is not None else bytearray((self.size + 7) // 8)
        self.count = count

    def _positions(self, item: str) -> list[int]:
        digest = hashlib.blake2b(item.encode("utf-8", "surrogatepass"), digest_size=4 * self.HASHES).digest()
        return [int.from_bytes(digest[i * 4 : i * 4 + 4], "little") % self.size for i in range(self.HASHES)]

    def add(self, item: str) -> None:
        for p in self._positions(item):
            self.bits[p >> 3] |= 1 << (p & 7)
        self.count += 1

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str) and all(self.bits[p >> 3] & (1 << (p & 7)) for p in self._positions(item))

    @property
    def full(self) -> bool:
        return self.count > self.capacity

    def dump(self) -> dict[str, Any]:
        return {"capacity": self.capacity, "count": self.count, "bits": base64.b64encode(bytes(self.bits)).decode("ascii")}

    @classmethod
    def load(cls, data: Any) -> Seen:
        """Raises ValueError / KeyError / TypeError for a damaged state (then the file is read whole)."""
        capacity, count = int(data["capacity"]), int(data["count"])
        bits = bytearray(base64.b64decode(data["bits"], validate=True))
        if capacity <= 0 or len(bits) != (capacity * cls.BITS_PER_ITEM + 7) // 8:
            raise ValueError("not a set of this shape")
        return cls(capacity, bits, count)


def answered_state(out: Transcript) -> dict[str, Any] | None:
    """The calls a transcript saw answered, as a `Seen` for its resume
    state (None: too many since the last whole read; read whole next)."""
    seen = out.earlier if isinstance(out.earlier, Seen) else Seen(max(1024, 2 * len(out.answered)))
    for call in out.answered:
        seen.add(call)
    return None if seen.full else seen.dump()
