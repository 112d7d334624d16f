"""Search the session files the index has not caught up with, straight
from their bytes (`chit search` while the index is far behind; see
docs/architecture.md, "Search while the index catches up").

Invariants:
- `file_may_match` is a prefilter (`chit.service.prefilter`): it says
  False only when no line of the file can carry a string whose casefolded
  text holds every (casefolded) term, so skipping the file never drops a
  hit of chit's matcher (`str.casefold`, then a substring test);
- a file is read in blocks of whole lines (at most BLOCK bytes beyond one
  line), so its bytes are never all in memory at once; a line longer than
  a block is read in pieces, each piece's folded end carried into the
  next;
- `newest_if_may_match` gives, for a file that may hold the terms, the
  newest time it records (every `ts` and `created_at`): a message's time
  and a title's (its session's newest event) are among them, so no hit of
  the file is newer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from os import PathLike

from chit.service.prefilter import Prefilter, prefilterable, spelled

__all__ = ["BLOCK", "NEWEST_UNKNOWN", "blocks", "file_may_match", "might_hold", "newest_if_may_match", "prefilterable"]

BLOCK = 1024 * 1024
#: a time of a session file (a message's, an event's, the header's), as JSON spells it
_STAMP = re.compile(rb'"(?:ts|created_at)"\s*:\s*"((?:[^"\\]|\\.)*)"')
NEWEST_UNKNOWN = "\uffff"  # after every time
#: how chit starts a message line: its time is the time of every hit in it
_MESSAGE = b'{"type":"message",'
#: (what, done, total): a long scan reports its progress; the command line sets it
report_progress: Callable[[str, int, int], None] | None = None


def might_hold(block: bytes, term: str) -> bool:
    """Whether some JSON string in `block` (whole lines) may hold the
    casefolded `term` once casefolded; False only when none can."""
    return Prefilter([term]).may_hold(block)


def blocks(path: str | PathLike[str], size: int = BLOCK) -> Iterator[tuple[bytes, bool]]:
    """The file's bytes as (piece, whole): blocks of whole lines of about
    `size` bytes (whole: True; the last may lack its newline), and a line
    longer than `size` in pieces (whole: False; the piece that ends the
    line ends with its newline). A piece is cut only just after an ASCII
    byte that can end no escape half way (`_cut`), so each piece reads as
    text on its own."""
    with open(path, "rb", buffering=0) as f:  # one read per block, no copy through a buffer
        rest = b""
        in_long_line = False
        while True:
            chunk = f.read(size)
            data = rest + chunk
            if not chunk:
                if data:
                    yield data, not in_long_line
                return
            if in_long_line:
                first = data.find(b"\n")
                if first < 0:
                    cut = _cut(data)
                    if cut:
                        yield data[:cut], False
                    rest = data[cut:]
                    continue
                yield data[: first + 1], False
                data, in_long_line = data[first + 1 :], False
            end = data.rfind(b"\n")
            if end >= 0:
                yield data[: end + 1], True
                rest = data[end + 1 :]
            elif len(data) >= size and _cut(data):
                cut = _cut(data)
                yield data[:cut], False
                rest, in_long_line = data[cut:], True
            else:
                rest = data


_SAFE_END = frozenset(b" \t,.;:!?()[]{}<>=+*&|'#@%$~^`-_" + bytes(range(ord("g"), ord("z") + 1)) + bytes(range(ord("G"), ord("Z") + 1))) - {ord("u")}


def _cut(data: bytes) -> int:
    """Where to cut a long line: just after its last byte (of the last
    4 KiB) that is ASCII and neither a backslash, a quote nor a letter or
    digit an escape may end with; 0 when there is none (read on)."""
    for at in range(len(data) - 1, max(len(data) - 4096, 0), -1):
        if data[at] in _SAFE_END:
            return at + 1
    return 0


def file_may_match(path: str | PathLike[str], terms: Sequence[str] | Prefilter, size: int = BLOCK) -> bool:
    """Whether some line of the file may hold every one of `terms`
    (casefolded) in one string; False only when none can."""
    prefilter = terms if isinstance(terms, Prefilter) else Prefilter(terms)
    if prefilter.off:
        return True
    long_line = _LongLine(prefilter)
    for piece, whole in blocks(path, size):
        if whole:
            if prefilter.may_hold(piece):
                return True
        elif long_line.add(piece):
            return True
    return False


class _LongLine:
    """A line read in pieces: whether every term may be in it. Each piece
    is folded on its own (its bytes view for ASCII terms, else its
    casefolded text: both map one character at a time), after the last
    characters of the one before (one fewer than the longest term), so the
    pieces hold every match the whole line holds."""

    def __init__(self, prefilter: Prefilter) -> None:
        self.prefilter = prefilter
        self.terms = prefilter.terms
        self.keep = max(len(t) for t in self.terms) - 1
        self.reset()

    def reset(self) -> None:
        self.found: set[str] = set()
        self.tail = ""

    def add(self, piece: bytes) -> bool:
        """Take the next piece (its line ends with it when it ends with a
        newline); True once every term was found in this line."""
        text = self.tail + self._folded(piece)
        self.found.update(t for t in self.terms if t in text)
        self.tail = text[len(text) - self.keep :] if self.keep else ""
        if len(self.found) == len(self.terms):
            return True
        if piece.endswith(b"\n"):
            self.reset()
        return False

    def _folded(self, piece: bytes) -> str:
        if self.prefilter.wide:
            return spelled(piece).decode("utf-8", "replace").casefold()
        return self.prefilter.view(piece).decode("latin-1")  # ASCII terms: one character a byte


def newest_if_may_match(path: str | PathLike[str], terms: Sequence[str] | Prefilter, size: int = BLOCK) -> str | None:
    """None when no line of the file can hold every one of `terms`; else a
    time no hit in the file can pass: the newest time of the message lines
    that may hold them, as chit writes them; the newest time the file
    records (every `ts` and `created_at`: a title hit's time is its
    session's newest event's) when another line may. NEWEST_UNKNOWN when
    a time is spelled in a way not read here."""
    prefilter = terms if isinstance(terms, Prefilter) else Prefilter(terms)
    if prefilter.off:
        return newest_time(path, size)
    long_line = _LongLine(prefilter)
    newest: str | None = None
    for piece, whole in blocks(path, size):
        if not whole:
            if long_line.add(piece):
                return newest_time(path, size)
            continue
        lines = prefilter.lines_holding(piece)
        if lines is None:
            if prefilter.may_hold(piece):
                return newest_time(path, size)
            continue
        stamps: list[bytes] = []
        for line in lines:
            found = _STAMP.findall(line) if line.startswith(_MESSAGE) else None
            if not found:
                return newest_time(path, size)
            stamps += found
        if stamps:
            newest = max(newest or "", _newest_of(stamps))
    return newest


def newest_time(path: str | PathLike[str], size: int = BLOCK) -> str:
    """The newest time the file records (every `ts` and `created_at`);
    NEWEST_UNKNOWN when one is spelled with an escape (it could be any)."""
    newest = ""
    tail = b""  # the end of the piece before: a time cut in two is read whole
    for piece, whole in blocks(path, size):
        stamps = _STAMP.findall(tail + piece if tail else piece)
        tail = b"" if whole else piece[-64:]
        if not stamps:
            continue
        newest = max(newest, _newest_of(stamps))
    return newest


def _newest_of(stamps: list[bytes]) -> str:
    """The newest of these times, as text (NEWEST_UNKNOWN for one spelled
    with an escape)."""
    joined = b"\0".join(stamps)
    if b"\\" not in joined and joined.isascii():  # the usual case: bytes sort as their text
        return max(stamps).decode()
    return max(NEWEST_UNKNOWN if b"\\" in s else s.decode("utf-8", "replace") for s in stamps)
