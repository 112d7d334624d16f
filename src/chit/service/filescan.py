"""Search the session files the index has not caught up with, straight
from their bytes (`chit search` while the index is far behind; see
docs/architecture.md, "Search while the index catches up").

Invariants:
- `might_hold` is a prefilter: it says False only when no line of a block
  of whole JSON lines can carry a string whose casefolded text holds the
  (casefolded) term, so skipping a block never drops a hit of chit's
  matcher (`str.casefold`, then a substring test; no Unicode
  normalisation). Why it is safe: `casefold` maps one character at a time,
  so the casefolded line holds the casefolded text of every run of a
  string's characters that the line spells verbatim; a run that gives a
  match spells none of the characters JSON escapes (`"`, `\\`, control
  characters, `/`) unless the term holds one, and then there is no
  prefilter; a `\\uXXXX` escape may spell any character, so those are
  spelled out (`_spelled`) before the test;
- a file is read in blocks of whole lines (at most BLOCK bytes beyond one
  line), so its bytes are never all in memory at once;
- `newest_if_may_match` gives, for a file that may hold the terms, the
  newest time it records (every `ts` and `created_at`): a message's time
  and a title's (its session's newest event) are among them, so no hit of
  the file is newer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence

BLOCK = 1024 * 1024
#: characters JSON may write as an escape: a term holding one is never prefiltered
_ESCAPED = frozenset('"\\/' + "".join(map(chr, range(0x20))))
#: an escaped backslash (kept as it is, so the "u" after it is no escape), a surrogate pair, or one \u escape
_UNICODE_ESCAPE = re.compile(rb"\\\\|\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})")
#: a time of a session file (a message's, an event's, the header's), as JSON spells it
_STAMP = re.compile(rb'"(?:ts|created_at)"\s*:\s*"((?:[^"\\]|\\.)*)"')
NEWEST_UNKNOWN = "\uffff"  # after every time
#: (what, done, total): a long scan reports its progress; the command line sets it
report_progress: Callable[[str, int, int], None] | None = None


def prefilterable(term: str) -> bool:
    """Whether `might_hold` can rule anything out for `term`."""
    return not any(c in _ESCAPED for c in term)


def might_hold(block: bytes, term: str) -> bool:
    """Whether some JSON string in `block` (whole lines) may hold the
    casefolded `term` once casefolded; False only when none can."""
    if not prefilterable(term):
        return True
    return _holds(spelled(block), term)


def spelled(block: bytes) -> bytes:
    """`block` with its `\\uXXXX` escapes spelled out as UTF-8."""
    return _UNICODE_ESCAPE.sub(_spelled, block) if b"\\u" in block else block


def _holds(block: bytes, term: str) -> bool:
    if block.isascii():
        return term.isascii() and term.encode() in block.lower()  # casefold is lower() on ASCII
    return term in block.decode("utf-8", "replace").casefold()


def _spelled(escape: re.Match[bytes]) -> bytes:
    """A `\\uXXXX` escape (or a pair of them for one character past
    U+FFFF) as the character's UTF-8; an escaped backslash as it was."""
    high, low, single = escape.groups()
    if single is not None:
        code = int(single, 16)
    elif high is not None:
        code = 0x10000 + ((int(high, 16) - 0xD800) << 10) + int(low, 16) - 0xDC00
    else:
        return escape.group()
    return chr(code).encode("utf-8", "surrogatepass")


def blocks(path: str | os.PathLike[str], size: int = BLOCK) -> Iterator[tuple[bytes, bool]]:
    """The file's bytes as (piece, whole): blocks of whole lines of about
    `size` bytes (whole: True; the last may lack its newline), and a line
    longer than `size` in pieces (whole: False; the piece that ends the
    line ends with its newline). A piece is cut only just after an ASCII
    byte that can end no escape half way (`_cut`), so each piece reads as
    text on its own."""
    with open(path, "rb") as f:
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


def file_may_match(path: str | os.PathLike[str], terms: Sequence[str], size: int = BLOCK) -> bool:
    """Whether some line of the file may hold every one of `terms`
    (casefolded) in one string; False only when none can."""
    if not all(prefilterable(term) for term in terms):
        return True
    long_line = _LongLine(terms)
    for piece, whole in blocks(path, size):
        if whole:
            if all(might_hold(piece, term) for term in terms):
                return True
        elif long_line.add(spelled(piece)):
            return True
    return False


class _LongLine:
    """A line read in pieces: whether every term may be in it. Casefolding
    maps one character at a time, so the folded pieces, each after the
    last characters of the one before (one fewer than the longest term),
    hold every match the whole line's folded text holds."""

    def __init__(self, terms: Sequence[str]) -> None:
        self.terms = terms
        self.keep = max(len(t) for t in terms) - 1
        self.reset()

    def reset(self) -> None:
        self.found: set[str] = set()
        self.tail = ""

    def add(self, piece: bytes) -> bool:
        """Take the next piece, its escapes spelled out (its line ends with
        it when it ends with a newline); True once every term was found in
        this line."""
        text = self.tail + piece.decode("utf-8", "replace").casefold()
        self.found.update(t for t in self.terms if t in text)
        self.tail = text[len(text) - self.keep :] if self.keep else ""
        if len(self.found) == len(self.terms):
            return True
        if piece.endswith(b"\n"):
            self.reset()
        return False


def newest_if_may_match(path: str | os.PathLike[str], terms: Sequence[str], size: int = BLOCK) -> str | None:
    """None when no line of the file can hold every one of `terms`; else
    the newest time the file records (every `ts` and `created_at`), which
    no hit in it (a message's time, a title's session time) can pass.
    NEWEST_UNKNOWN when a time is spelled in a way not read here."""
    can = not all(prefilterable(term) for term in terms)
    long_line = _LongLine(terms)
    newest = ""
    tail = b""  # the end of the piece before: a time cut in two is read whole
    for piece, whole in blocks(path, size):
        for stamp in _STAMP.findall(tail + piece):  # an escape in a time: it could be any time
            newest = max(newest, NEWEST_UNKNOWN if b"\\" in stamp else stamp.decode("utf-8", "replace"))
        tail = b"" if whole else piece[-64:]
        if not can:
            piece = spelled(piece)
            can = all(_holds(piece, term) for term in terms) if whole else long_line.add(piece)
    return newest if can else None
