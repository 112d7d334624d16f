"""Reading a message's line back from its session file, at the byte
offset and length its row records (`chit.index.rows`): for the text index
(`read_body`) and for search's confirmation (`read_text`).

Invariants: a line that is not a message record with a string content is
None, never an error; a long text (past `codec.LONG_LINE` bytes) is read a
piece at a time, never decoded or casefolded whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import orjson

from chit.index import grams
from chit.store import codec
from chit.store.files import read_whole


def read_body(fd: int, off: int, length: int, mid: str) -> str | None:
    """The text entry of message `mid` on the line at `off`; None if the line is
    not that message. A long text is read a piece at a time, never whole."""
    found = read_text(fd, off, length)
    if found is None or found[0].get("id") != mid:
        return None
    record, pieces = found
    try:
        return grams.folded(record["content"]) if pieces is None else grams.words_entry(pieces)
    except codec.BadRecord:
        return None


def read_text(fd: int, off: int, length: int) -> tuple[dict[str, Any], Iterator[str] | None] | None:
    """The message record on the line at `off`, or None if it is not one.
    A long message's text comes apart, as an iterator of pieces decoded as
    they are taken (it raises `codec.BadRecord` for a bad one; "content"
    is then ""); else the iterator is None and the record has it all."""
    if length > codec.LONG_LINE:
        try:
            split = codec.message_in_pieces(read_whole(fd, length, off), 0, length)
        except (OSError, codec.BadRecord):
            return None
        if split is not None:
            return split
    record = read_record(fd, off, length)
    return None if record is None else (record, None)


def read_record(fd: int, off: int, length: int) -> dict[str, Any] | None:
    """The message record on the line at `off`, or None if it is not one."""
    try:
        record = orjson.loads(os.pread(fd, length, off))
    except (orjson.JSONDecodeError, OSError):
        return None
    if not isinstance(record, dict) or record.get("type") != "message" or not isinstance(record.get("content"), str):
        return None
    return record
