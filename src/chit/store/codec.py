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
from typing import Any, Literal, NamedTuple

import orjson

from chit.store import longline, usual
from chit.model import ROLES, STATES, title_text
from chit.patterns import LazyPattern

FORMAT_VERSION = 2
LONG_LINE = longline.LONG_LINE
#: orjson writes values nested at most this deep (the record itself is 1);
#: a line nested deeper is refused on read, or chit could not write it back
MAX_DEPTH = 254
#: a shorter line cannot be nested deeper: each level takes a bracket to open and one to close
_DEEP_ENOUGH = 2 * (MAX_DEPTH + 1)


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
    if len(line) >= _DEEP_ENOUGH and not usual.shallow(value) and _brackets(line, where) > MAX_DEPTH and _too_deep(value):
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


class Field(NamedTuple):
    """One rule of a record: `name` holds a `kind` (None: any value) or is
    absent or null, as `need` allows; then `check`, given the value, may
    name what else is wrong with it."""

    name: str
    kind: type | None
    need: int
    check: Callable[[Any], str | None] | None = None


OPTIONAL, REQUIRED, KEY = 0, 1, 2  # KEY: the name must be there, null or not
Fields = tuple[Field, ...]


def problem(record: dict[str, Any], fields: Fields) -> str | None:
    """Why `record` breaks the first of `fields` it breaks, in their order;
    None when it keeps them all. (Its values come from JSON, so `type(v) is
    int` is `isinstance` without taking a bool for an int.)"""
    for name, kind, need, check in fields:
        if name in record and (value := record[name]) is not None:
            if kind is not None and type(value) is not kind:
                return f"{name} has the wrong type"
            if check is not None and (reason := check(value)) is not None:
                return reason
        elif need and (need == REQUIRED or name not in record):
            return f"missing {name}"
    return None


def _strings(values: Iterable[Any]) -> bool:
    for value in values:
        if type(value) is not str:
            return False
    return True


def _opt(name: str, kind: type | None = str, check: Callable[[Any], str | None] | None = None) -> Field:
    return Field(name, kind, OPTIONAL, check)


def _req(name: str, kind: type | None = str, check: Callable[[Any], str | None] | None = None) -> Field:
    return Field(name, kind, REQUIRED, check)


def _one_of(known: tuple[str, ...], reason: str) -> Callable[[Any], str | None]:
    return lambda value: None if value in known else reason


def _not_negative(name: str) -> Callable[[Any], str | None]:
    return lambda value: f"{name} is negative" if value < 0 else None


def _both(*fields: Field) -> tuple[Fields, Fields]:
    return fields, fields


TOKENS: Fields = (_opt("input", int), _opt("output", int))
#: a message's fields; its role is known only once every type is right
MESSAGE: Fields = (
    *(_req(name) for name in ("id", "role", "content", "ts")),
    _req("role", str, _one_of(ROLES, "unknown role")),
    _opt("invocation_id"),
    _opt("model"),
    _opt("metadata", dict),
    _opt("tokens", dict, lambda tokens: problem(tokens, TOKENS)),
)
#: a stamped (format 2) event's own fields, before those of its kind
STAMP: Fields = (_req("hlc", str, lambda hlc: None if usual.usual_stamp(hlc) else "hlc is not a clock stamp"), _req("by"), _req("id"))
SEEN = _req("seen", dict, lambda seen: None if _strings(seen.values()) else "seen must map machines to stamps")
TAGS: Fields = (_req("tags", list, lambda tags: None if _strings(tags) else "tags must be strings"),)
#: a stamped rewind holding "undo" reverts that change: nothing else of it is checked
UNDO: Fields = (_opt("change"), _opt("undo"))

#: What a valid event of each kind is, the one place that says it: kind ->
#: (the fields of an event without a stamp, those of a stamped one, after
#: STAMP); every kind but a message may hold a "ts" string too, checked
#: after the others. An event of a kind not named here is checked for its
#: stamp only.
EVENT_FIELDS: dict[str, tuple[Fields, Fields]] = {
    "message": (MESSAGE, MESSAGE),
    "rename": _both(_opt("title")),
    "tag": _both(*TAGS),
    "untag": _both(*TAGS),
    "rewind": (  # "undo": the change an undo reverts; "adds": the messages a replace wrote after it
        (_req("keep", int, _not_negative("keep")), _opt("change"), _opt("undo"), _opt("adds", int, _not_negative("adds"))),
        (_opt("change"), Field("keep_id", str, KEY), SEEN,
         _opt("adds", None, lambda adds: None if type(adds) is list and _strings(adds) else "adds must be message ids")),
    ),
    "pop": ((_opt("change"),), (_opt("change"), _req("hides"), SEEN)),
    "state": _both(_req("state", str, _one_of(STATES, "unknown state")), _opt("turn_id"), _opt("error")),
    "set": _both(_req("key"), Field("value", None, KEY)),
    "unset": _both(_req("key")),
    "trash": ((), (SEEN,)),
    "restore": _both(_opt("trash")),
    "compact": ((), (SEEN,)),  # format 2: the changes it saw can no longer be undone
}


def _with_ts(kind: str, fields: Fields) -> Fields:
    return fields if kind == "message" else (*fields, _opt("ts"))


# what `_event` checks of each kind, built once from EVENT_FIELDS
_PLAIN: dict[str, Fields] = {kind: _with_ts(kind, plain) for kind, (plain, _) in EVENT_FIELDS.items()}
_STAMPED: dict[str, Fields] = {kind: (*STAMP, *_with_ts(kind, stamped)) for kind, (_, stamped) in EVENT_FIELDS.items()}
_STAMPED_UNDO: Fields = (*STAMP, *_with_ts("rewind", UNDO))
_STAMPED_REWIND = _STAMPED["rewind"]

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


HEADER: Fields = (
    _req("version", int),
    *(_req(name) for name in ("id", "project", "created_at")),
    _opt("key"),
    _opt("title"),
    _opt("metadata", dict),
    _opt("parent", dict, lambda parent: problem(parent, (_req("id"), _opt("turn", int)))),
)


def decode_header(line: bytes | bytearray) -> dict[str, Any]:
    record = _parse(line)
    if record.get("type") != "session":
        raise BadRecord("not a session header")
    reason = problem(record, HEADER)
    if reason is not None:
        raise BadRecord(reason)
    return migrate(record, record["version"]) if record["version"] < FORMAT_VERSION else record


def decode_event(line: bytes | bytearray, version: int = FORMAT_VERSION) -> dict[str, Any]:
    """Decode one event line. Unknown event types pass through untouched."""
    return _event(_parse(line), version)


def _event(record: dict[str, Any], version: int) -> dict[str, Any]:
    kind = record.get("type")
    if kind != "message" or not usual.usual_message_event(record):  # that one-pass test: the usual message
        if type(kind) is not str:
            raise BadRecord("missing type")
        if kind == "session":
            raise BadRecord("a second header")
        if "hlc" in record:
            fields = _STAMPED.get(kind, STAMP)  # a kind unknown here: only its stamp is checked
            if fields is _STAMPED_REWIND and "undo" in record:
                fields = _STAMPED_UNDO
        else:
            fields = _PLAIN.get(kind, ())
        reason = problem(record, fields)
        if reason is not None:
            raise BadRecord(reason)
    return migrate(record, version) if version < FORMAT_VERSION else record
