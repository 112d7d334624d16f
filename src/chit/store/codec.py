"""Records <-> bytes: the only module that knows the on-disk line format.

A session file is JSON Lines. Line 1 is the header
(`{"type": "session", "version": N, "id", "project", "created_at", "parent",
"key", "title", "metadata"}`); each later line is one event (see
`EVENT_FIELDS`). Invariants:
- `encode` always yields exactly one line ending in b"\\n" with no other
  newline inside (orjson escapes control characters in strings);
- `decode_*` either returns a record whose fields have the documented types
  (and that `encode` can write back: nested at most `MAX_DEPTH` deep) or
  raises `BadRecord` with a short reason; it never raises anything else;
- records from an older format version are migrated on read; a newer
  version is readable but marked read-only by the store.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from chit.model import ROLES, STATES

FORMAT_VERSION = 1
#: orjson writes values nested at most this deep (the record itself is 1);
#: a line nested deeper is refused on read, or chit could not write it back
MAX_DEPTH = 254


class BadRecord(Exception):
    """A line that is not a valid record; `reason` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


def encode_many(records: list[dict[str, Any]]) -> bytes:
    # one record (an append) is its own buffer: a long message is never copied
    return b"".join([orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in records])


_BLANK = re.compile(rb"[ \t\n\r\x0b\x0c]*")  # what bytes.strip() removes


def line_spans(data: bytes, start: int = 0) -> Iterator[tuple[int, int]]:
    """(start, end) of each complete line of `data` from `start`, newline
    excluded, blank lines included; a torn last line is not one. Nothing
    is copied: a long message is decoded straight from `data`."""
    end = data.rfind(b"\n") + 1
    while start < end:
        newline = data.index(b"\n", start)
        yield start, newline
        start = newline + 1


def is_blank(data: bytes, start: int, end: int) -> bool:
    return _BLANK.fullmatch(data, start, end) is not None


def decode_event_in(data: bytes, start: int, end: int, version: int = FORMAT_VERSION) -> dict[str, Any]:
    """`decode_event` of the line `data[start:end]`, without copying it."""
    brackets = data.count(b"[", start, end) + data.count(b"{", start, end)
    return _event(_parse(memoryview(data)[start:end], brackets), version)


def _parse(line: bytes | memoryview, brackets: int | None = None) -> dict[str, Any]:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        reason = "invalid UTF-8" if "utf-8" in str(exc).lower() else "not JSON"
        raise BadRecord(reason) from None
    except RecursionError:
        raise BadRecord("nested too deeply") from None
    if not isinstance(value, dict):
        raise BadRecord("not a JSON object")
    if brackets is None and isinstance(line, bytes):
        brackets = line.count(b"[") + line.count(b"{")
    if (brackets or 0) > MAX_DEPTH and _too_deep(value):
        raise BadRecord("nested too deeply")
    return value


def _too_deep(value: Any) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _check(record: dict[str, Any], name: str, kinds: tuple[type, ...], required: bool = True) -> None:
    if name not in record or record[name] is None:
        if required:
            raise BadRecord(f"missing {name}")
        return
    value = record[name]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise BadRecord(f"{name} has the wrong type")


def _check_str(record: dict[str, Any], name: str, required: bool = True) -> None:
    _check(record, name, (str,), required)


def _check_tags(record: dict[str, Any]) -> None:
    _check(record, "tags", (list,))
    if not all(isinstance(t, str) for t in record["tags"]):
        raise BadRecord("tags must be strings")


def _check_message(record: dict[str, Any]) -> None:
    for name in ("id", "role", "content", "ts"):
        _check_str(record, name)
    if record["role"] not in ROLES:
        raise BadRecord("unknown role")
    for name in ("invocation_id", "model"):
        _check_str(record, name, required=False)
    _check(record, "metadata", (dict,), required=False)
    tokens = record.get("tokens")
    if tokens is not None:
        if not isinstance(tokens, dict):
            raise BadRecord("tokens has the wrong type")
        for name in ("input", "output"):
            _check(tokens, name, (int,), required=False)


def _check_state(record: dict[str, Any]) -> None:
    _check_str(record, "state")
    if record["state"] not in STATES:
        raise BadRecord("unknown state")
    _check_str(record, "turn_id", required=False)
    _check_str(record, "error", required=False)


def _check_rewind(record: dict[str, Any]) -> None:
    _check(record, "keep", (int,))
    if record["keep"] < 0:
        raise BadRecord("keep is negative")
    _check_str(record, "change", required=False)
    _check_str(record, "undo", required=False)  # the change an undo reverts
    _check(record, "adds", (int,), required=False)  # messages a replace wrote after it
    if (record.get("adds") or 0) < 0:
        raise BadRecord("adds is negative")


def _check_set(record: dict[str, Any]) -> None:
    _check_str(record, "key")
    if "value" not in record:
        raise BadRecord("missing value")


EVENT_FIELDS: dict[str, Callable[[dict[str, Any]], None]] = {
    "message": _check_message,
    "rename": lambda r: _check_str(r, "title", required=False),
    "tag": _check_tags,
    "untag": _check_tags,
    "rewind": _check_rewind,
    "pop": lambda r: _check_str(r, "change", required=False),
    "state": _check_state,
    "set": _check_set,
    "unset": lambda r: _check_str(r, "key"),
    "trash": lambda r: None,
    "restore": lambda r: None,
}

# version -> function upgrading a record from that version to the next one.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def migrate(record: dict[str, Any], version: int) -> dict[str, Any]:
    while version < FORMAT_VERSION:
        step = MIGRATIONS.get(version)
        if step is not None:
            record = step(record)
        version += 1
    return record


def decode_header(line: bytes) -> dict[str, Any]:
    record = _parse(line)
    if record.get("type") != "session":
        raise BadRecord("not a session header")
    _check(record, "version", (int,))
    for name in ("id", "project", "created_at"):
        _check_str(record, name)
    _check_str(record, "key", required=False)
    _check_str(record, "title", required=False)
    _check(record, "metadata", (dict,), required=False)
    parent = record.get("parent")
    if parent is not None:
        if not isinstance(parent, dict):
            raise BadRecord("parent has the wrong type")
        _check_str(parent, "id")
        _check(parent, "turn", (int,), required=False)
    return migrate(record, record["version"]) if record["version"] < FORMAT_VERSION else record


def decode_event(line: bytes, version: int = FORMAT_VERSION) -> dict[str, Any]:
    """Decode one event line. Unknown event types pass through untouched."""
    return _event(_parse(line), version)


def _event(record: dict[str, Any], version: int) -> dict[str, Any]:
    kind = record.get("type")
    if not isinstance(kind, str):
        raise BadRecord("missing type")
    if kind == "session":
        raise BadRecord("a second header")
    check = EVENT_FIELDS.get(kind)
    if check is not None:
        check(record)
        if kind != "message":
            _check_str(record, "ts", required=False)
    return migrate(record, version) if version < FORMAT_VERSION else record
