"""A long message line, decoded a piece at a time (see `chit.store.codec`).

orjson decodes a line whole: it holds the raw line, its own copy of it and
the resulting text at once, three times the size of a long message (more
for letters past U+00FF, which Python stores at 2 or 4 bytes each). Here
the text of a message line as chit writes it (`{"type":"message","id":…,
"role":…,"content":"…","ts":…`) is decoded in pieces of about PIECE bytes;
the rest of the line (every other field) is decoded by orjson as usual.

Invariants:
- a line is decoded here only when it has that shape; `split_message`
  returns None for any other line, and the caller decodes it whole. The
  result (record or `BadRecord`) is the one orjson gives for the whole line:
  each piece is a complete JSON string body (never cut inside an escape
  sequence or a UTF-8 sequence), so it is checked as the whole would be;
- the text's closing quote is the first `","ts":"` after its opening one: a
  quote inside a JSON string is always escaped, so `,"` never occurs there;
- `text_in_place` overwrites the line's bytes in the caller's buffer with
  the decoded text (never longer than its JSON form) and makes one str of
  it: the buffer and the text are all it holds. Callers pass only buffers
  of their own that they no longer need.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from chit.patterns import LazyPattern

LONG_LINE = 1 << 22  # message lines longer than this are decoded in pieces
PIECE = 1 << 20
# format 1, then format 2 (its stamp first: chit.store.clock)
_HEAD = LazyPattern(rb'\{"type":"message",(?:"hlc":"[^"\\]*","by":"[^"\\]*",)?"id":"[^"\\]*","role":"[^"\\]*","content":"')
TAIL = b'","ts":"'  # what follows the text's closing quote
# Where a piece may start (the match, empty, is the cut): never inside an
# escape sequence nor inside a UTF-8 sequence (at a continuation byte), nor
# at a quote. Either no backslash in the 5 bytes before it (the longest
# escape, `\uXXXX`, is 6 bytes, so none is open there) and it is no
# backslash; or it is a backslash after a byte that is not one, so it starts
# an escape (a backslash that does not is the second of `\\`), unless that
# escape is the second half of a surrogate pair (`\uDC00` to `\uDFFF`). (A
# class of the bytes no escape holds left a text of hex digits, such as a
# hex dump, one piece; the first rule alone, a text of short lines, whose
# `\n` comes every few bytes: decoded whole, its title read over all of it.)
_CUT = LazyPattern(rb'(?<=[^\\]{5})(?=[^\\"\x80-\xbf])|(?<=[^\\])(?=\\(?!u[dD][c-fC-F]))')

Buffer = bytes | bytearray


class BadLine(Exception):
    """A piece of the text is not valid JSON string content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def split_message(data: Buffer, start: int, end: int) -> tuple[int, int] | None:
    """(first, past): the span of the text's JSON body (between its
    quotes) in the message line `data[start:end]`, or None if the line is
    not shaped as chit writes messages."""
    head = _HEAD.match(data, start, end)
    if head is None:
        return None
    past = data.find(TAIL, head.end(), end)
    if past < 0:
        return None
    return head.end(), past


def text_start(data: Buffer) -> int | None:
    """Where the text's JSON body starts in a message line at the start
    of `data`, if the line starts as chit writes messages."""
    head = _HEAD.match(data)
    return None if head is None else head.end()


def next_cut(data: Buffer, start: int, end: int) -> int | None:
    """The first byte in `data[start:end]` of a JSON string body at which
    a piece of it may start (a character's first byte, never inside an
    escape sequence), or None if there is none there."""
    cut = _CUT.search(data, start, end)  # (what it looks behind may be before `start`)
    return None if cut is None else cut.start()


def other_fields(data: Buffer, start: int, end: int, first: int, past: int) -> bytes:
    """The line with an empty text: every other field, to decode whole."""
    return bytes(data[start:first]) + bytes(data[past:end])


def pieces(data: Buffer, first: int, past: int) -> Iterator[str]:
    """The JSON string body `data[first:past]` decoded a piece at a time;
    raises BadLine for a piece that is not valid."""
    view = memoryview(data)
    start = first
    while start < past:
        end = past
        if past - start > PIECE:
            cut = _CUT.search(data, start + PIECE, past)
            end = cut.start() if cut is not None else past
        chunk = b'"' + bytes(view[start:end]) + b'"'
        try:
            text = orjson.loads(chunk)
        except orjson.JSONDecodeError as exc:
            raise BadLine("invalid UTF-8" if "utf-8" in str(exc).lower() else "not JSON") from None
        del chunk
        yield text
        start = end


def text_in_place(data: bytearray, first: int, past: int) -> str:
    """The whole text; the buffer's bytes from `first` are overwritten."""
    written = first
    for text in pieces(data, first, past):
        encoded = text.encode("utf-8", "surrogatepass")
        data[written : written + len(encoded)] = encoded  # behind what `pieces` has read
        written += len(encoded)
    return str(memoryview(data)[first:written], "utf-8", "surrogatepass")
