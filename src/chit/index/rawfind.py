"""A search query confirmed on a long message line's bytes, its text left
undecoded.

A search confirms each candidate message by finding the first casefold
match of the query in its text (`chit.index.snippets.find_folded`) and
cutting the snippet there. For a message of megabytes (a tool's output)
decoding and casefolding the text costs more than the rest of a search;
here a query of printable ASCII is looked for in the ASCII-lowered bytes
of the text's JSON body instead, and only a few kilobytes around the
match are decoded, for its snippet.

Invariants:
- an answer is the decoded text's answer: the byte at which the text's
  first casefold match starts, or that the text holds none; where the
  bytes cannot tell, `UNSURE`, and the caller decodes the text. Why it
  holds: `casefold` maps one character at a time and is `lower()` on
  ASCII, so a match of an ASCII query is the folds of a run of
  characters each of whose folds shares letters with the query. A run of
  ASCII characters spelled verbatim in the JSON body is the query's bytes
  once lowered; any other run holds a *doubt*: a `\\uXXXX` or `\\/`
  escape, or a non-ASCII character whose fold holds ASCII letters
  (`FOLDS_TO_ASCII`: "ß" → "ss", the Kelvin sign → "k", "ﬁ" → "fi", …),
  that shares letters with the query (`_shares`). So the first byte match
  (not inside an escape) is the first match of the text when no doubt
  comes before it, and no byte match with no doubt anywhere means no
  match;
- a byte match starts a match of the text only outside an escape ("\\n"
  then "nabc" holds no "nabc"); the query holds no backslash, so an
  escape can only have started before it;
- queries answered here are printable ASCII without `"` and `\\`, the
  characters JSON spells as escapes; a line not in the shape chit writes
  (`chit.store.longline.split_message`) is never answered here.
"""

from __future__ import annotations

import enum
import os
from typing import Any

import orjson

from chit.index.snippets import FOLDS_TO_ASCII, SNIPPET_LEAD, SNIPPET_WIDTH, snippet_of_part
from chit.patterns import LazyPattern
from chit.store import longline

_BACKSLASH = 0x5C
# `\uXXXX` of an ASCII letter or sign (U+0020–U+007F) or of a character of
# FOLDS_TO_ASCII, and more (a few others are let through, then told apart)
_LETTER_ESCAPES = LazyPattern(rb"\\u(?:00[2-7]|00[dD][fF]|01[347fF]|1[eE]9|212|[fF][bB]0)")
_LETTER_OR_SLASH_ESCAPES = LazyPattern(_LETTER_ESCAPES.source + rb"|\\/")
_ESCAPE_SPAN = 6  # `\uXXXX`, the longest escape
_BEFORE = 4 * SNIPPET_LEAD  # bytes before a match to decode (a character is at most 4 bytes, escapes aside)
_AFTER = 16 * SNIPPET_WIDTH  # bytes after it (a `\uXXXX\uXXXX` pair is one character in 12)
_CUT_REACH = 256  # bytes searched for a place to cut the body
_ESCAPED_MATCHES = 64  # byte matches inside escapes passed over before the text is decoded instead
BLOCK = 1 << 18  # bytes of a line read at a time
_CARRY = 1 << 12  # bytes of a block kept with the next: the backslashes before an escape, a match across the cut
_MARGIN = 16  # bytes at a block's end left to the next (an escape's hex digits, the text's closing `","ts":"`)
LONGEST = 1024  # bytes of the longest query looked for here


class Unsure(enum.Enum):
    """The bytes cannot tell; decode the text."""

    UNSURE = 0


UNSURE = Unsure.UNSURE


class Query:
    """A casefolded query as bytes, and what in a body could spell it
    otherwise than verbatim."""

    __slots__ = ("folded", "needle", "folds", "escapes", "_escapes")

    def __init__(self, folded: str) -> None:
        self.folded = folded
        self.needle = folded.encode("ascii")
        #: the UTF-8 of the characters past ASCII that fold to some of the query's letters
        self.folds = [ch.encode() for ch in FOLDS_TO_ASCII if _shares(ch.casefold(), folded)]
        #: the escapes that may spell a character whose fold holds an ASCII letter
        self.escapes = _LETTER_ESCAPES if "/" not in folded else _LETTER_OR_SLASH_ESCAPES
        self._escapes: dict[bytes, bool] = {}

    @staticmethod
    def of(folded: str) -> Query | None:
        """The query if the bytes can answer for it, else None."""
        if not folded or len(folded) > LONGEST or not all(" " <= ch <= "~" and ch not in '"\\' for ch in folded):
            return None
        return Query(folded)

    def doubted_by(self, escape: bytes) -> bool:
        """Whether an escape (`\\/` or `\\uXXXX`, a real one) spells a
        character whose fold shares letters with the query."""
        if escape[1:2] == b"/":
            return "/" in self.folded
        doubted = self._escapes.get(escape)
        if doubted is None:
            digits = escape[2:6]
            if len(digits) != 4 or digits.strip(b"0123456789abcdefABCDEF"):
                doubted = True  # not an escape JSON allows: the decoder will say so
            else:
                doubted = _shares(chr(int(digits, 16)).casefold(), self.folded)
            self._escapes[escape] = doubted
        return doubted


def _shares(fold: str, query: str) -> bool:
    """Whether `fold` and `query` agree wherever they overlap, at some
    offset where they do (a match of `query` may hold part of `fold`)."""
    for shift in range(1 - len(fold), len(query)):
        if all(fold[i] == query[i + shift] for i in range(len(fold)) if 0 <= i + shift < len(query)):
            return True
    return False


class _Line:
    """A message line of a file, read a block at a time: `buf` holds its
    bytes from `base`, the last _CARRY bytes of the block before and the
    block."""

    def __init__(self, fd: int, off: int, length: int) -> None:
        self.fd, self.off, self.length = fd, off, length
        self.buf = bytearray()  # one buffer, read into again and again: no new memory for each block
        self.base = 0

    @property
    def end(self) -> int:
        return self.base + len(self.buf)

    def advance(self) -> bool:
        """Read the next block; False at the end of the line."""
        end = self.end
        if end >= self.length:
            return False
        size = min(BLOCK, self.length - end)
        buf = self.buf
        keep = min(_CARRY, len(buf))
        buf[:keep] = buf[len(buf) - keep :]
        if len(buf) > keep + size:
            del buf[keep + size :]
        else:
            buf.extend(bytes(keep + size - len(buf)))
        with memoryview(buf) as view:
            got = os.preadv(self.fd, [view[keep:]], self.off + end)
        if got != size:
            raise OSError("the line is shorter than its row says")
        self.base = end - keep
        return True

    def read(self, start: int, end: int) -> bytes:
        """The line's bytes [start, end); raises OSError if the file is shorter."""
        data = os.pread(self.fd, end - start, self.off + start)
        if len(data) != end - start:
            raise OSError("the line is shorter than its row says")
        return data

    def backslashes_before(self, at: int) -> int | None:
        """The run of backslashes just before byte `at`; None if it may
        go on before the bytes held."""
        run, i = 0, at - self.base - 1
        while i >= 0 and self.buf[i] == _BACKSLASH:
            run, i = run + 1, i - 1
        return None if i < 0 and self.base > 0 else run


class _Scan:
    """The text's first match of a query, looked for block by block; the
    body's end (`past`) is found on the way."""

    def __init__(self, line: _Line, first: int, query: Query) -> None:
        self.line, self.first, self.query = line, first, query
        self.past: int | None = None
        self._tail_from = first

    def first_match(self) -> int | None | Unsure:
        line, needle = self.line, self.query.needle
        scanned = start = self.first  # no doubt before `scanned`, no match starts before `start`
        passed = 0  # byte matches inside escapes passed over
        while True:
            self._find_past()
            at_end = line.end >= line.length
            if self.past is None and at_end:
                return UNSURE  # no end of the text: not a line in chit's shape
            limit = self.past if self.past is not None else line.end - len(needle) - _MARGIN
            stop = limit if self.past is not None else limit + len(needle) - 1
            found = -1
            if start < limit:
                found = line.buf.lower().find(needle, start - line.base, stop - line.base)
            at = line.base + found if found >= 0 else None
            until = at if at is not None else max(limit, scanned)
            if self._doubt(scanned, until):
                return UNSURE
            if at is None:
                if self.past is not None:
                    return None
                scanned = start = max(limit, start)
                if not line.advance():
                    return UNSURE
                continue
            escaped = self._escaped(at)
            if escaped is None or (escaped and passed == _ESCAPED_MATCHES):
                return UNSURE
            if not escaped:
                return at
            passed += 1
            run = line.backslashes_before(at)
            if run is None:
                return UNSURE
            scanned, start = at - run, at + 1  # that run of backslashes is read again, whole

    def find_past(self) -> bool:
        """Read on to the body's end; False if the line has none."""
        self._find_past()
        while self.past is None:
            if not self.line.advance():
                return False
            self._find_past()
        return True

    def _find_past(self) -> None:
        if self.past is None:
            line = self.line
            found = line.buf.find(longline.TAIL, self._tail_from - line.base)
            if found >= 0:
                self.past = line.base + found
            else:
                self._tail_from = max(self._tail_from, line.end - len(longline.TAIL) + 1)

    def _doubt(self, start: int, end: int) -> bool:
        """Whether bytes [start, end) spell a doubt for the query (an
        escape whose backslash is before `end`)."""
        line, query = self.line, self.query
        buf, base = line.buf, line.base
        if any(buf.find(spelling, start - base, end - base + len(spelling) - 1) >= 0 for spelling in query.folds):
            return True  # a character folding to some of the query's letters
        at = start - base
        while (escape := query.escapes.search(buf, at, end - base + _ESCAPE_SPAN - 1)) is not None and escape.start() < end - base:
            at = escape.start() + 2
            run = line.backslashes_before(base + escape.start())
            if run is None or (run % 2 == 0 and query.doubted_by(bytes(buf[escape.start() : escape.start() + _ESCAPE_SPAN]))):
                return True  # a real escape (an even run of backslashes before it)
        return False

    def _escaped(self, at: int) -> bool | None:
        """Whether byte `at` (not a backslash) is inside an escape; None
        if the bytes held cannot tell."""
        buf, base = self.line.buf, self.line.base
        back = buf.rfind(b"\\", max(self.first, at - _ESCAPE_SPAN + 1) - base, at - base)
        if back < 0:
            return False
        run = self.line.backslashes_before(base + back + 1)
        if run is None:
            return None
        if run % 2 == 0:
            return False  # the last backslash ends an escaped one
        return at - base < back + (_ESCAPE_SPAN if buf[back + 1] == ord("u") else 2)


def _snippet(line: _Line, first: int, past: int, at: int, query: Query) -> str | None:
    """The snippet of a match starting at byte `at`; None when the bytes
    around it do not tell it."""
    low = first if at - first <= _BEFORE + _CUT_REACH else at - _BEFORE - _CUT_REACH
    reach = at + len(query.needle) + _AFTER
    high = past if past - reach <= _CUT_REACH else reach + _CUT_REACH
    window = line.read(low, high)
    begin = 0 if low == first else longline.next_cut(window, 0, _CUT_REACH)
    end = len(window) if high == past else longline.next_cut(window, reach - low, len(window))
    if begin is None or end is None:
        return None
    before, after = _decoded(window[begin : at - low]), _decoded(window[at - low : end])
    if before is None or after is None or after[: len(query.folded)].casefold() != query.folded:
        return None
    return snippet_of_part(before + after, len(before), text_before=low + begin > first, text_after=low + end < past)


def _decoded(body: bytes) -> str | None:
    try:
        text = orjson.loads(b'"' + body + b'"')
    except orjson.JSONDecodeError:
        return None
    return text if isinstance(text, str) else None


def confirm(fd: int, off: int, length: int, message_id: str, query: Query) -> str | None | Unsure:
    """For the message line of `length` bytes at `off` in the file `fd`
    (the message `message_id`): the snippet at the text's first match of
    `query`, None if the text holds none, UNSURE if the bytes cannot tell
    (or it is not that message's line in the shape chit writes)."""
    line = _Line(fd, off, length)
    try:
        if not line.advance():
            return UNSURE
        first = longline.text_start(line.buf)
        if first is None:
            return UNSURE
        head = line.buf[:first]
        scan = _Scan(line, first, query)
        at = scan.first_match()
        if isinstance(at, Unsure) or not scan.find_past() or scan.past is None:
            return UNSURE
        fields = _fields(head + line.read(scan.past, length))
        if fields is None or fields.get("id") != message_id:
            return UNSURE
        if at is None:
            return None
        snippet = _snippet(line, first, scan.past, at, query)
    except OSError:
        return UNSURE
    return UNSURE if snippet is None else snippet


def _fields(other: bytes | bytearray) -> dict[str, Any] | None:
    """The line's fields but its text (`other`: the line without it), if
    it is a message's."""
    try:
        record = orjson.loads(other)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict) or record.get("type") != "message" or record.get("content") != "":
        return None
    return record
