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
  prefilter; a `\\uXXXX` escape may spell any character, so a block with
  one is always read;
- a file is read in blocks of whole lines (at most BLOCK bytes beyond one
  line), so its bytes are never all in memory at once;
- `newest_first` orders files by modification time, newest first: a
  message chit writes carries a time no later than its file's, so a file's
  time bounds the times of its hits (`file_bound`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone

BLOCK = 4 * 1024 * 1024
#: a file's time comes from a coarse clock that may lag the one that stamps messages by a tick
CLOCK_SLACK = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: characters JSON may write as an escape: a term holding one is never prefiltered
_ESCAPED = frozenset('"\\/' + "".join(map(chr, range(0x20))))
_UNICODE_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u")  # a \u escape, not an escaped backslash before a "u"
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
    if b"\\u" in block and _UNICODE_ESCAPE.search(block):
        return True
    if block.isascii():
        return term.isascii() and term.encode() in block.lower()  # casefold is lower() on ASCII
    return term in block.decode("utf-8", "replace").casefold()


def blocks(path: str | os.PathLike[str], size: int = BLOCK) -> Iterator[bytes]:
    """The file's bytes in blocks of whole lines (the last may lack its
    newline): each about `size` bytes, or one line when a line is longer."""
    with open(path, "rb") as f:
        rest = b""
        while True:
            chunk = f.read(size)
            if not chunk:
                if rest:
                    yield rest
                return
            data = rest + chunk
            end = data.rfind(b"\n")
            if end < 0:
                rest = data
                continue
            yield data[: end + 1]
            rest = data[end + 1 :]


def file_may_match(path: str | os.PathLike[str], terms: Sequence[str]) -> bool:
    """Whether some line of the file may hold every one of `terms`
    (casefolded) in one string; False only when none can."""
    return any(all(might_hold(block, term) for term in terms) for block in blocks(path))


def file_bound(mtime_ns: int) -> str:
    """A file's modification time as a message timestamp (chit's canonical
    form, a second later for the coarse clock), the bound on the times of
    its messages."""
    moment = _EPOCH + timedelta(microseconds=mtime_ns // 1000) + CLOCK_SLACK
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
