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
  version is readable but marked read-only by the store;
- format 2 (`chit.store.clock`, docs/architecture.md "Format 2"): an
  event with an `hlc` is stamped and must carry `by` and `id`; its
  references are by id (`keep_id`, `hides`, `adds`, `trash`) and a hiding
  event carries `seen`; an event without `hlc` is read by the format-1
  rules, in a file of either version (nothing is rewritten);
- a message line longer than `LONG_LINE`, in the shape chit writes, is
  decoded with its text in pieces (`chit.store.longline`): the same record or
  the same refusal, without holding the line, a copy of it and the text
  at once; the caller may ask for only the title's part of the text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

import orjson

from chit.store import longline, usual
from chit.model import ROLES, STATES, title_text
from chit.patterns import LazyPattern

FORMAT_VERSION = 2
LONG_LINE = longline.LONG_LINE
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


_BLANK = LazyPattern(rb"[ \t\n\r\x0b\x0c]*")  # what bytes.strip() removes


def line_spans(data: bytes | bytearray, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, end) of each complete line of `data[:stop]` from `start`,
    newline excluded, blank lines included; a torn last line is not one.
    Nothing is copied: a long message is decoded straight from `data`."""
    end = data.rfind(b"\n", start, stop) + 1
    while start < end:
        newline = data.index(b"\n", start)
        yield start, newline
        start = newline + 1


_SPACE = b" \t\n\r\x0b\x0c"


def is_blank(data: bytes | bytearray, start: int, end: int) -> bool:
    # a line starting with anything but white space (a record: "{") is not blank
    return start == end or (data[start] in _SPACE and _BLANK.fullmatch(data, start, end) is not None)


def whole_lines(data: bytes | bytearray) -> list[bytes]:
    """The complete, non-blank lines of `data`, each with its newline: a
    session file as the set of lines that format 2 folds."""
    return [bytes(data[start : end + 1]) for start, end in line_spans(data) if not is_blank(data, start, end)]


def lines_lacking(lines: Iterable[bytes], have: Iterable[bytes]) -> list[bytes]:
    """`lines` that are not in `have`, in their order, each once: what a
    union of two copies of a file adds to the one holding `have`."""
    seen = set(have)
    added = []
    for line in lines:
        if line not in seen:
            seen.add(line)
            added.append(line)
    return added


#: What a long message line's text becomes (`chit.store.longline`): "whole", the
#: text; "in_place", the text, decoded over the line's bytes in `data` (a
#: bytearray its caller no longer needs); "title", only as much of it as
#: its title needs (the rest is checked, not kept).
Text = Literal["whole", "in_place", "title"]


def decode_event_in(
    data: bytes | bytearray, start: int, end: int, version: int = FORMAT_VERSION, text: Text = "whole", view: memoryview | None = None
) -> dict[str, Any]:
    """`decode_event` of the line `data[start:end]`, without copying it;
    `view`: `memoryview(data)`, made once by a caller decoding every line."""
    if end - start > LONG_LINE:
        record = _long_message(data, start, end, text)
        if record is not None:
            return _event(record, version)
    return _event(_parse((memoryview(data) if view is None else view)[start:end], (data, start, end)), version)


def decode_lines(
    data: bytes | bytearray,
    spans: list[tuple[int, int]],
    version: int,
    text: Text,
    events: list[dict[str, Any]],
    refused: Callable[[int, int, int, str], None],
) -> None:
    """`decode_event_in` of each line `data[start:end]` of `spans`, in order:
    each record appended to `events`, a blank line skipped, a line refused
    given to `refused(its index in spans, start, end, reason)`. A usual
    message line (`chit.store.usual.usual_line`) is decoded by
    `orjson.loads` and one test of what it made; every other line by the
    same checks as a line decoded alone."""
    loads = orjson.loads
    usual_line = usual.usual_line
    append = events.append
    current = version >= FORMAT_VERSION  # an older version's records are migrated: by `_event`
    view = memoryview(data)  # one for every line (a long session has thousands)
    try:
        for index, (start, end) in enumerate(spans):
            try:
                if data[start] == 0x7B and end - start <= LONG_LINE:  # a record starts with "{"
                    try:
                        record = loads(view[start:end])
                    except (orjson.JSONDecodeError, RecursionError):
                        append(decode_event_in(data, start, end, version, text, view))  # raises, saying why
                        continue
                    append(record if current and type(record) is dict and usual_line(record)
                           else _event(_record(record, view[start:end], (data, start, end)), version))
                elif not is_blank(data, start, end):
                    append(decode_event_in(data, start, end, version, text, view))
            except BadRecord as exc:
                refused(index, start, end, exc.reason)
    finally:
        view.release()


def _long_message(data: bytes | bytearray, start: int, end: int, text: Text) -> dict[str, Any] | None:
    """A long message line decoded with its text in pieces; None when the
    line is not shaped for it (then it is decoded whole)."""
    if text == "in_place" and isinstance(data, bytearray):
        return _in_place(data, start, end)
    split = message_in_pieces(data, start, end)
    if split is None:
        return None
    record, pieces = split
    if text == "title":
        record["content"] = title_text(pieces)
        for _ in pieces:  # the rest is checked as the whole line would be
            pass
    else:
        record["content"] = "".join(pieces)
    return record


def _in_place(data: bytearray, start: int, end: int) -> dict[str, Any] | None:
    span = longline.split_message(data, start, end)
    fields = _other_fields(data, start, end, span)
    if fields is None or span is None:
        return None
    try:
        fields["content"] = longline.text_in_place(data, *span)
    except longline.BadLine as exc:
        raise BadRecord(exc.reason) from None
    return fields


def message_in_pieces(data: bytes | bytearray, start: int, end: int) -> tuple[dict[str, Any], Iterator[str]] | None:
    """A long message line as its record without the text ("content" is
    "") and the text in pieces, each checked as it is decoded (the
    iterator raises BadRecord); None if the line is not shaped for it."""
    span = longline.split_message(data, start, end)
    record = _other_fields(data, start, end, span)
    if record is None or span is None:
        return None

    def pieces() -> Iterator[str]:
        try:
            for piece in longline.pieces(data, *span):
                yield piece
        except longline.BadLine as exc:
            raise BadRecord(exc.reason) from None

    return record, pieces()


def _other_fields(data: bytes | bytearray, start: int, end: int, span: tuple[int, int] | None) -> dict[str, Any] | None:
    if span is None:
        return None
    record = _parse(longline.other_fields(data, start, end, *span))
    if record.get("content") != "":
        return None  # a second "content" key: the whole line says which one counts
    return record


def _parse(line: bytes | bytearray | memoryview, where: tuple[bytes | bytearray, int, int] | None = None) -> dict[str, Any]:
    """The JSON object of a line; `where` is the buffer and span a
    memoryview `line` shows (to count its brackets without a copy)."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        reason = "invalid UTF-8" if "utf-8" in str(exc).lower() else "not JSON"
        raise BadRecord(reason) from None
    except RecursionError:
        raise BadRecord("nested too deeply") from None
    return _record(value, line, where)


def _record(value: Any, line: bytes | bytearray | memoryview, where: tuple[bytes | bytearray, int, int] | None) -> dict[str, Any]:
    """The JSON value `orjson.loads` made of `line`, checked to be a record."""
    if not isinstance(value, dict):
        raise BadRecord("not a JSON object")
    if not usual.shallow(value) and _brackets(line, where) > MAX_DEPTH and _too_deep(value):
        raise BadRecord("nested too deeply")
    return value


def _brackets(line: bytes | bytearray | memoryview, where: tuple[bytes | bytearray, int, int] | None) -> int:
    """How many arrays and objects a line could open: the bound of its depth."""
    if where is not None:
        data, start, end = where
        return data.count(b"[", start, end) + data.count(b"{", start, end)
    if isinstance(line, memoryview):
        line = line.tobytes()
    return line.count(b"[") + line.count(b"{")


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
    if usual.usual_message(record):
        return
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
    if "hlc" in record:
        _check_stamped_rewind(record)
        return
    _check(record, "keep", (int,))
    if record["keep"] < 0:
        raise BadRecord("keep is negative")
    _check_str(record, "change", required=False)
    _check_str(record, "undo", required=False)  # the change an undo reverts
    _check(record, "adds", (int,), required=False)  # messages a replace wrote after it
    if (record.get("adds") or 0) < 0:
        raise BadRecord("adds is negative")


def _check_stamped_rewind(record: dict[str, Any]) -> None:
    _check_str(record, "change", required=False)
    if "undo" in record:
        _check_str(record, "undo", required=False)
        return
    if "keep_id" not in record:
        raise BadRecord("missing keep_id")
    _check_str(record, "keep_id", required=False)
    _check_seen(record)
    adds = record.get("adds")
    if adds is not None and not (isinstance(adds, list) and all(isinstance(a, str) for a in adds)):
        raise BadRecord("adds must be message ids")


def _check_seen(record: dict[str, Any]) -> None:
    if "hlc" not in record:
        return
    _check(record, "seen", (dict,))
    if not all(isinstance(v, str) for v in record["seen"].values()):
        raise BadRecord("seen must map machines to stamps")


def _check_pop(record: dict[str, Any]) -> None:
    _check_str(record, "change", required=False)
    if "hlc" in record:
        _check_str(record, "hides")
        _check_seen(record)


def _check_stamp(record: dict[str, Any]) -> None:
    """The fields of a stamped (format 2) event."""
    hlc = record["hlc"]
    if type(hlc) is str and usual.usual_stamp(hlc) and type(record.get("by")) is str and type(record.get("id")) is str:
        return  # the usual case, tested in one pass
    _check_str(record, "hlc")
    if not usual.usual_stamp(record["hlc"]):  # `HLC_RE.match`, without compiling it
        raise BadRecord("hlc is not a clock stamp")
    _check_str(record, "by")
    _check_str(record, "id")


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
    "pop": _check_pop,
    "state": _check_state,
    "set": _check_set,
    "unset": lambda r: _check_str(r, "key"),
    "trash": _check_seen,
    "restore": lambda r: _check_str(r, "trash", required=False),
    "compact": _check_seen,  # format 2: the changes it saw can no longer be undone
}

# version -> function upgrading a record from that version to the next one.
# Format 1 to 2 changes no record: an event without an hlc keeps the rules
# it was written under (chit.store.fold).
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def migrate(record: dict[str, Any], version: int) -> dict[str, Any]:
    while version < FORMAT_VERSION:
        step = MIGRATIONS.get(version)
        if step is not None:
            record = step(record)
        version += 1
    return record


def decode_header(line: bytes | bytearray) -> dict[str, Any]:
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


def decode_event(line: bytes | bytearray, version: int = FORMAT_VERSION) -> dict[str, Any]:
    """Decode one event line. Unknown event types pass through untouched."""
    return _event(_parse(line), version)


def _event(record: dict[str, Any], version: int) -> dict[str, Any]:
    if usual.usual_message_event(record):
        return migrate(record, version) if version < FORMAT_VERSION else record
    kind = record.get("type")
    if not isinstance(kind, str):
        raise BadRecord("missing type")
    if kind == "session":
        raise BadRecord("a second header")
    if "hlc" in record:
        _check_stamp(record)
    check = EVENT_FIELDS.get(kind)
    if check is not None:
        check(record)
        if kind != "message":
            _check_str(record, "ts", required=False)
    return migrate(record, version) if version < FORMAT_VERSION else record
