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
import re
from collections.abc import Sequence
from typing import Any

import orjson

from chit.index.snippets import SNIPPET_LEAD, SNIPPET_WIDTH, snippet_of_part
from chit.store import longline

#: the characters past ASCII whose casefold holds an ASCII letter (the
#: whole of Unicode, as Python's tables have it; a test holds it so)
FOLDS_TO_ASCII = "ßİŉſǰẖẗẘẙẚẞ\u212aﬀﬁﬂﬃﬄﬅﬆ"
_BACKSLASH = 0x5C
_ESCAPE_SPAN = 6  # `\uXXXX`, the longest escape
_BEFORE = 4 * SNIPPET_LEAD  # bytes before a match to decode (a character is at most 4 bytes, escapes aside)
_AFTER = 16 * SNIPPET_WIDTH  # bytes after it (a `\uXXXX\uXXXX` pair is one character in 12)
_CUT_REACH = 256  # bytes searched for a place to cut the body
_ESCAPED_MATCHES = 64  # byte matches inside escapes passed over before the text is decoded instead


class Unsure(enum.Enum):
    """The bytes cannot tell; decode the text."""

    UNSURE = 0


UNSURE = Unsure.UNSURE


class Query:
    """A casefolded query as bytes, and what in a body could spell it
    otherwise than verbatim."""

    __slots__ = ("folded", "needle", "doubts")

    def __init__(self, folded: str) -> None:
        self.folded = folded
        self.needle = folded.encode("ascii")
        shared = [re.escape(ch.encode()) for ch in FOLDS_TO_ASCII if _shares(ch.casefold(), folded)]
        # a run of backslashes then "u" or "/": an escape when the run is odd
        self.doubts = re.compile(b"|".join([rb"\\+[u/]", *shared]))

    @staticmethod
    def of(folded: str) -> Query | None:
        """The query if the bytes can answer for it, else None."""
        if not folded or not all(" " <= ch <= "~" and ch not in '"\\' for ch in folded):
            return None
        return Query(folded)

    def doubted_by(self, escape: bytes) -> bool:
        """Whether an escape (`\\/` or `\\uXXXX`, a real one) spells a
        character whose fold shares letters with the query."""
        if escape[1:2] == b"/":
            return "/" in self.folded
        digits = escape[2:6]
        if len(digits) != 4 or digits.strip(b"0123456789abcdefABCDEF"):
            return True  # not an escape JSON allows: the decoder will say so
        return _shares(chr(int(digits, 16)).casefold(), self.folded)


def _shares(fold: str, query: str) -> bool:
    """Whether `fold` and `query` agree wherever they overlap, at some
    offset where they do (a match of `query` may hold part of `fold`)."""
    for shift in range(1 - len(fold), len(query)):
        if all(fold[i] == query[i + shift] for i in range(len(fold)) if 0 <= i + shift < len(query)):
            return True
    return False


class Body:
    """The JSON body of a message line's text, `data[first:past]`."""

    def __init__(self, data: bytes | bytearray, first: int, past: int) -> None:
        self.data = data
        self.first = first
        self.past = past
        self._lowered: bytes | bytearray | None = None

    @property
    def lowered(self) -> bytes | bytearray:
        """The whole line, ASCII letters lowered (its positions are the line's)."""
        if self._lowered is None:
            self._lowered = self.data.lower()
        return self._lowered

    def first_match(self, query: Query) -> int | None | Unsure:
        """The byte at which the text's first match of `query` starts, None
        if the text holds none."""
        scanned = self.first  # no doubt before this byte
        start = self.first
        for _ in range(_ESCAPED_MATCHES):
            at = self.lowered.find(query.needle, start, self.past)
            until = at if at >= 0 else self.past
            if self._doubt(query, scanned, until):
                return UNSURE
            if at < 0:
                return None
            if not self._escaped(at):
                return at
            scanned = at - self._backslashes_before(at)  # that run is read again, whole
            start = at + 1
        return UNSURE

    def holds(self, query: Query) -> bool | Unsure:
        """Whether the text holds `query` anywhere."""
        start = self.first
        for _ in range(_ESCAPED_MATCHES):
            at = self.lowered.find(query.needle, start, self.past)
            if at < 0:
                return UNSURE if self._doubt(query, self.first, self.past) else False
            if not self._escaped(at):
                return True
            start = at + 1
        return UNSURE

    def snippet(self, at: int, query: Query) -> str | None:
        """The snippet of a match starting at byte `at` (as `first_match`
        gave it); None when the bytes around it do not tell it."""
        begin = self.first if at - self.first <= _BEFORE + _CUT_REACH else longline.next_cut(self.data, at - _BEFORE - _CUT_REACH, at - _BEFORE)
        reach = at + len(query.needle) + _AFTER
        end = self.past if self.past - reach <= _CUT_REACH else longline.next_cut(self.data, reach, reach + _CUT_REACH)
        if begin is None or end is None:
            return None
        before, after = _decoded(self.data, begin, at), _decoded(self.data, at, end)
        if before is None or after is None or after[: len(query.folded)].casefold() != query.folded:
            return None
        return snippet_of_part(before + after, len(before), text_before=begin > self.first, text_after=end < self.past)

    def _doubt(self, query: Query, start: int, end: int) -> bool:
        """Whether `data[start:end]` (`start` not inside a run of
        backslashes) spells a doubt for `query`."""
        while (found := query.doubts.search(self.data, start, end)) is not None:
            start = found.end()
            spelled = found.group()
            if spelled[0] != _BACKSLASH:
                return True  # a character folding to some of the query's letters
            escape = self.data[start - 2 : start - 2 + _ESCAPE_SPAN]
            if (len(spelled) - 1) % 2 == 1 and query.doubted_by(bytes(escape)):
                return True
        return False

    def _backslashes_before(self, at: int) -> int:
        run = 0
        while at - run - 1 >= self.first and self.data[at - run - 1] == _BACKSLASH:
            run += 1
        return run

    def _escaped(self, at: int) -> bool:
        """Whether byte `at` (not a backslash) is inside an escape."""
        back = self.data.rfind(b"\\", max(self.first, at - _ESCAPE_SPAN + 1), at)
        if back < 0 or self._backslashes_before(back + 1) % 2 == 0:
            return False  # no escape, or the last backslash ends an escaped one
        return at < back + (_ESCAPE_SPAN if self.data[back + 1] == ord("u") else 2)


def _decoded(data: bytes | bytearray, start: int, end: int) -> str | None:
    try:
        text = orjson.loads(b'"' + bytes(data[start:end]) + b'"')
    except orjson.JSONDecodeError:
        return None
    return text if isinstance(text, str) else None


def confirm(data: bytes | bytearray, message_id: str, queries: Sequence[Query]) -> str | None | Unsure:
    """For the message line `data` (the message `message_id`): the snippet
    at the first query's first match if its text holds every one of
    `queries`, None if it does not, UNSURE if its bytes cannot tell (or it
    is not that message's line in the shape chit writes)."""
    span = longline.split_message(data, 0, len(data))
    if span is None:
        return UNSURE
    fields = _fields(data, *span)
    if fields is None or fields.get("id") != message_id:
        return UNSURE
    body = Body(data, *span)
    at = body.first_match(queries[0])
    if at is None or isinstance(at, Unsure):
        return at
    for query in queries[1:]:
        held = body.holds(query)
        if held is not True:
            return None if held is False else UNSURE
    snippet = body.snippet(at, queries[0])
    return UNSURE if snippet is None else snippet


def _fields(data: bytes | bytearray, first: int, past: int) -> dict[str, Any] | None:
    """The line's fields but its text, if it is a message's."""
    try:
        record = orjson.loads(longline.other_fields(data, 0, len(data), first, past))
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict) or record.get("type") != "message" or record.get("content") != "":
        return None
    return record
