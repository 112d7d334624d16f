"""What the codec accepts of each kind of event, and the reason it gives
for what it refuses, at the near misses: each field missing, null or of
another type, two faults at once (the first in the order of the rules is
named), the fields a format ignores, a stamped rewind that undoes; the
header's fields; the depth limit at the shortest line that can pass it.
Each case is decoded alone and among other lines (`decode_lines`)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from chit.store import codec

H = "1765036800000.000001"
S = {"hlc": H, "by": "0123456789abcdef", "id": "e1"}  # a stamp
MESSAGE = {"type": "message", "id": "m1", "role": "user", "content": "x", "ts": "t"}

CASES: list[tuple[dict[str, Any], str | None]] = [
    ({"type": 5}, "missing type"),
    ({"type": "future", "ts": 5}, None),  # a kind unknown here passes through
    ({"type": "rename", "title": 5}, "title has the wrong type"),
    ({"type": "rename", "title": None}, None),
    ({"type": "rename", "ts": 5}, "ts has the wrong type"),
    ({"type": "tag"}, "missing tags"),
    ({"type": "tag", "tags": "a"}, "tags has the wrong type"),
    ({"type": "untag", "tags": ["a", 1]}, "tags must be strings"),
    ({"type": "rewind"}, "missing keep"),
    ({"type": "rewind", "keep": True}, "keep has the wrong type"),
    ({"type": "rewind", "keep": 1.0}, "keep has the wrong type"),
    ({"type": "rewind", "keep": -1, "change": 5}, "keep is negative"),
    ({"type": "rewind", "keep": 0, "change": 5}, "change has the wrong type"),
    ({"type": "rewind", "keep": 0, "undo": 5}, "undo has the wrong type"),
    ({"type": "rewind", "keep": 0, "adds": "x"}, "adds has the wrong type"),
    ({"type": "rewind", "keep": 0, "adds": -1, "ts": 5}, "adds is negative"),
    ({"type": "rewind", "keep": 0, "adds": 0, "keep_id": 5, "seen": 5}, None),  # format 1 reads neither
    ({"type": "pop", "change": 5}, "change has the wrong type"),
    ({"type": "pop", "hides": 5, "seen": 5}, None),
    ({"type": "state"}, "missing state"),
    ({"type": "state", "state": 1}, "state has the wrong type"),
    ({"type": "state", "state": "sleeping", "turn_id": 5}, "unknown state"),
    ({"type": "state", "state": "idle", "turn_id": 5}, "turn_id has the wrong type"),
    ({"type": "state", "state": "idle", "error": 5}, "error has the wrong type"),
    ({"type": "set", "value": 1}, "missing key"),
    ({"type": "set", "key": 1}, "key has the wrong type"),
    ({"type": "set", "key": "k"}, "missing value"),
    ({"type": "set", "key": "k", "value": None}, None),
    ({"type": "unset", "key": None}, "missing key"),
    ({"type": "trash", "seen": 5}, None),
    ({"type": "restore", "trash": 5}, "trash has the wrong type"),
    ({"type": "compact", "seen": 5}, None),
    ({**MESSAGE, "role": "robot", "content": 5}, "content has the wrong type"),  # the role is known after the types
    ({**S, "type": "session"}, "a second header"),
    ({**S, "hlc": None, "type": "future"}, "missing hlc"),
    ({**S, "hlc": 5, "type": "future"}, "hlc has the wrong type"),
    ({**S, "hlc": "1765036800000.1", "type": "future"}, "hlc is not a clock stamp"),
    ({**S, "by": None, "type": "future"}, "missing by"),
    ({**S, "id": 5, "type": "future"}, "id has the wrong type"),
    ({**S, "type": "future", "seen": 5}, None),
    ({**S, "hlc": "1", "type": "tag"}, "hlc is not a clock stamp"),  # the stamp before the kind's fields
    ({**S, "type": "rename", "title": 5}, "title has the wrong type"),
    ({**S, "type": "rewind", "seen": {}}, "missing keep_id"),
    ({**S, "type": "rewind", "keep_id": None}, "missing seen"),
    ({**S, "type": "rewind", "keep_id": None, "seen": {}}, None),
    ({**S, "type": "rewind", "keep_id": 5, "seen": {}}, "keep_id has the wrong type"),
    ({**S, "type": "rewind", "keep_id": "m", "seen": []}, "seen has the wrong type"),
    ({**S, "type": "rewind", "keep_id": "m", "seen": {"a": 1}}, "seen must map machines to stamps"),
    ({**S, "type": "rewind", "keep_id": "m", "seen": {}, "adds": 5}, "adds must be message ids"),
    ({**S, "type": "rewind", "keep_id": "m", "seen": {}, "adds": ["a", 1]}, "adds must be message ids"),
    ({**S, "type": "rewind", "keep_id": "m", "seen": {}, "adds": ["a"], "keep": -1}, None),  # format 2 reads no keep
    ({**S, "type": "rewind", "keep_id": "m", "seen": {}, "change": 5, "ts": 5}, "change has the wrong type"),
    ({**S, "type": "rewind", "undo": None}, None),  # an undo: nothing else of it is read
    ({**S, "type": "rewind", "undo": "c", "keep_id": 5, "seen": 5, "adds": 5}, None),
    ({**S, "type": "rewind", "undo": 5}, "undo has the wrong type"),
    ({**S, "type": "rewind", "undo": 5, "change": 5}, "change has the wrong type"),
    ({**S, "type": "rewind", "undo": "c", "ts": 5}, "ts has the wrong type"),
    ({**S, "type": "pop", "seen": {}}, "missing hides"),
    ({**S, "type": "pop", "hides": 5, "change": 5}, "change has the wrong type"),
    ({**S, "type": "pop", "hides": 5}, "hides has the wrong type"),
    ({**S, "type": "pop", "hides": "m"}, "missing seen"),
    ({**S, "type": "trash"}, "missing seen"),
    ({**S, "type": "compact", "seen": {"a": None}}, "seen must map machines to stamps"),
    ({**S, "type": "restore", "trash": "e0"}, None),
    ({**S, "type": "restore", "trash": 5, "seen": 5}, "trash has the wrong type"),
]


def decoded(line: bytes) -> dict[str, Any] | str:
    try:
        return codec.decode_event(line)
    except codec.BadRecord as exc:
        return exc.reason


@pytest.mark.parametrize(("record", "reason"), CASES)
def test_an_event_is_accepted_or_refused_with_its_reason(record: dict[str, Any], reason: str | None) -> None:
    line = orjson.dumps(record)
    assert decoded(line) == (record if reason is None else reason)


def test_decode_lines_gives_each_case_what_decode_event_gives() -> None:
    lines = [orjson.dumps(record) for record, _ in CASES]
    data = b"".join(line + b"\n" for line in lines)
    events: list[dict[str, Any]] = []
    refused: dict[int, str] = {}
    codec.decode_lines(data, list(codec.line_spans(data)), codec.FORMAT_VERSION, "whole", events,
                       lambda i, start, end, reason: refused.__setitem__(i, reason))
    assert refused == {i: reason for i, (_, reason) in enumerate(CASES) if reason is not None}
    assert events == [record for record, reason in CASES if reason is None]


HEADER = {"type": "session", "version": 2, "id": "s", "project": "/p", "created_at": "t", "parent": {"id": "p", "turn": 1}}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"version": None}, "missing version"),
        ({"version": True}, "version has the wrong type"),
        ({"id": 5, "project": 5}, "id has the wrong type"),
        ({"created_at": None}, "missing created_at"),
        ({"key": 5}, "key has the wrong type"),
        ({"title": 5}, "title has the wrong type"),
        ({"metadata": []}, "metadata has the wrong type"),
        ({"parent": []}, "parent has the wrong type"),
        ({"parent": {"turn": 1}}, "missing id"),
        ({"parent": {"id": "p", "turn": "1"}}, "turn has the wrong type"),
        ({"parent": None, "key": None, "title": None, "metadata": None}, None),
    ],
)
def test_a_header_is_accepted_or_refused_with_its_reason(change: dict[str, Any], reason: str | None) -> None:
    record = {**HEADER, **change}
    try:
        assert codec.decode_header(orjson.dumps(record)) == record and reason is None
    except codec.BadRecord as exc:
        assert exc.reason == reason


@pytest.mark.parametrize(("depth", "reason"), [(codec.MAX_DEPTH, "missing type"), (codec.MAX_DEPTH + 1, "nested too deeply")])
def test_the_shortest_line_nested_past_the_limit_is_refused(depth: int, reason: str) -> None:
    """The record is one level; every other takes two bytes: a line nested
    one level too deep is just long enough that its depth is counted."""
    line = b'{"":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
    assert decoded(line) == reason
    refused: list[str] = []
    codec.decode_lines(line + b"\n", [(0, len(line))], codec.FORMAT_VERSION, "whole", [], lambda i, start, end, why: refused.append(why))
    assert refused == [reason]
