"""Shared plumbing of the importers: what they yield, stable ids,
timestamps, lenient JSON reading, and a transcript builder.

Invariants:
- an importer only reads: it never writes to its source and never touches
  chit's store (the service does that);
- it never raises for bad content: a record it cannot use becomes a
  `Problem` (path, line, reason) and the rest of the file is still read.
  Only a missing source (`NotFound`) or a source that is unreadable as a
  whole (`InvalidData`, e.g. a conversations.json that is not JSON) raises,
  and only from `scan`, before anything is imported;
- every message id is a UUID v5 derived from the source tool, the source
  session id and the record's own id (or its line number, for sources
  whose records have none), so reading an unchanged source twice yields
  identical messages: the ground of idempotent re-imports.
  `is_imported_id` tells these ids from chit's own (UUID v4);
- timestamps come out in chit's RFC 3339 UTC form (`...Z`); a record with
  no usable timestamp borrows the one before it;
- text is valid Unicode: lone surrogates (legal in JSON, not in UTF-8)
  and bytes that are not UTF-8 are replaced (U+FFFD), so a record is
  never lost to one bad byte and never fails later at write time.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import re
import stat
import uuid
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from chit.errors import InvalidData
from chit.store.files import kind_of, read_regular
from chit.model import Message, Tokens, format_ts, parse_ts

#: Namespace of the UUID v5 ids of imported messages.
NAMESPACE = uuid.UUID("3c1f6e2a-9b7d-4c55-8e0a-6f1d2b4c8a90")
MODEL_MAX = 200
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


@dataclass(frozen=True)
class Problem:
    """Something the import could not use: a file, a record, a message."""

    path: str
    line: int | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "problem": self.reason}


@dataclass
class SourceSession:
    """One session of another tool, mapped onto chit messages."""

    source: str
    source_id: str
    created_at: str
    messages: list[Message]
    title: str | None = None
    cwd: str | None = None
    #: a project name for sources without a working directory (chatgpt, llm)
    project: str | None = None
    #: header metadata kept under "import" (source, id and cwd are added)
    metadata: dict[str, Any] = field(default_factory=dict)
    #: keys an earlier chit gave this session: a session stored under one
    #: of them is this one, given its key now (never a second copy)
    former_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # a session never starts after its first message (a source's own
        # start time may be written after the first records)
        if self.messages and self.messages[0].ts < self.created_at:
            self.created_at = self.messages[0].ts

    @property
    def key(self) -> str:
        return f"{self.source}:{self.source_id}"


@dataclass
class Batch:
    """What one unit of a source held."""

    sessions: list[SourceSession] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: (label, reason) of things read but not imported (empty, sub-agent…)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: where a unit of one session that can be followed was read to, and
    #: what its importer needs to map only the lines added after that
    #: (`chit.importers.follow`); None: the next change is read whole
    resume: dict[str, Any] | None = None


@dataclass
class Tail:
    """What the lines a followed file gained add to its one session."""

    messages: list[Message]
    #: the importer's resume state at the file's new end
    state: dict[str, Any]
    #: bytes read to find them (the check before the old end included)
    read: int


@dataclass(frozen=True)
class Unit:
    """A piece of a source read as a whole: a file, or one conversation.

    `stamp` changes whenever the unit's content may have changed (file size
    and mtime, a conversation's update time…); the service skips a unit
    whose stamp and chit sessions are as the last import left them.
    """

    key: str
    label: str
    stamp: str
    load: Callable[[], Batch]
    #: for an append-only file: the lines added since a `Batch.resume`
    #: state, or None when only a whole read can tell (then `load`)
    follow: Callable[[dict[str, Any]], Tail | None] | None = None


@dataclass
class Scan:
    units: list[Unit]
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Source:
    """An importer: its name, where its data lives (None: the person must
    say), how to list its units."""

    name: str
    default_path: Callable[[], Path | None]
    scan: Callable[[Path], Scan]
    description: str


# -- ids and times --------------------------------------------------------


def stable_id(source: str, session_id: str, local: str) -> str:
    """The id of an imported message: the same input, the same id."""
    return str(uuid.uuid5(NAMESPACE, f"{source}\x1f{session_id}\x1f{local}"))


def is_imported_id(message_id: str) -> bool:
    """Whether a message id was made by `stable_id` (UUID version 5)."""
    return len(message_id) == 36 and message_id[14] == "5" and message_id[8] == "-"


def ts_from_text(value: Any) -> str | None:
    """An ISO 8601 / RFC 3339 timestamp in chit's form, or None."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        return format_ts(parse_ts(value.strip()))
    except ValueError:
        return None


def ts_from_epoch(value: Any) -> str | None:
    """Epoch seconds (int or float) in chit's form, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or not 0 <= value < 253402300800:  # before year 10000
        return None
    try:
        return format_ts(datetime.fromtimestamp(value, tz=timezone.utc))
    except (ValueError, OverflowError, OSError):
        return None


def scan_files(
    name: str, path: Path, pattern: str, read: Callable[[Path], Batch],
    follow: Callable[[Path, dict[str, Any]], Tail | None] | None = None,
) -> Scan:
    """One unit per file: `path` itself, or each file under it matching
    `pattern`, in name order (the sources whose unit is a file); `follow`
    reads a grown file's new lines (append-only formats)."""
    def unit(file: str, label: str, stamp: str) -> Unit:
        return Unit(f"{name}:{file}", label, stamp, partial(_read_at, read, file),
                    partial(_follow_at, follow, file) if follow is not None else None)

    check_source_path(path)
    if path.is_file():
        return Scan([unit(os.fspath(path), path.name, file_stamp(path))])
    found = sorted(_matching_files(os.fspath(path), pattern), key=lambda item: item[0].split(os.sep))
    return Scan([unit(f, os.path.basename(f), stamp) for f, stamp in found])


def check_source_path(path: Path) -> None:
    """A source named by a path is a folder or a file (links followed): a
    FIFO, socket or device there holds no sessions, and `InvalidData` says
    so, where reading nothing would report an import that found nothing."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # nothing there: the caller says so (NotFound)
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise InvalidData(f"{path} is not a file or folder ({kind_of(mode)})")


def _read_at(read: Callable[[Path], Batch], path: str) -> Batch:
    return read(Path(path))


def _follow_at(follow: Callable[[Path, dict[str, Any]], Tail | None], path: str, state: dict[str, Any]) -> Tail | None:
    return follow(Path(path), state)


def _matching_files(top: str, pattern: str) -> Iterator[tuple[str, str]]:
    """(path, stamp) of every regular file under `top` (links to files
    included, linked directories not entered) whose name matches `pattern`.
    One stat per file, taken from the directory scan: a refresh of a large
    unchanged tree costs little more than listing it."""
    try:
        entries = list(os.scandir(top))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _matching_files(entry.path, pattern)
            elif fnmatch.fnmatchcase(entry.name, pattern) and entry.is_file():
                st = entry.stat()
                yield entry.path, f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            continue


def file_stamp(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return "unreadable"
    return f"{st.st_size}:{st.st_mtime_ns}"


# -- text ------------------------------------------------------------------


def text(value: Any) -> str:
    """A string made safe to store: valid Unicode, never None."""
    if value is None:
        return ""
    result = value if isinstance(value, str) else str(value)
    try:
        result.encode("utf-8")
    except UnicodeEncodeError:
        # pairs split into halves are joined again; a lone half becomes U+FFFD
        result = result.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return result


def one_line(value: Any, limit: int = MODEL_MAX) -> str | None:
    """A short single-line label (model names, branches), or None."""
    if not isinstance(value, str):
        return None
    if not (safe := text(value)).isprintable():  # rare; filtering each character costs 3 to 5 times this check of them all
        safe = "".join(ch for ch in safe if ch.isprintable() or ch.isspace())
    return " ".join(safe.split())[:limit] or None


def strip_ansi(value: str) -> str:
    return _ANSI.sub("", value)


def obj(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def json_text(value: Any) -> str:
    """Compact JSON of a tool's input (keys as given, Unicode kept)."""
    if isinstance(value, str):
        return text(value)
    try:
        return str(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8"))
    except (TypeError, orjson.JSONEncodeError):
        return text(json.dumps(value, ensure_ascii=False, default=str))


def safe_json(value: Any) -> Any:
    """`value` with every string made valid Unicode (for metadata)."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {text(k): safe_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [safe_json(v) for v in value]
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return text(value)


# -- reading ---------------------------------------------------------------


def loads(data: bytes | str) -> Any:
    """Parse JSON; falls back to the standard library for input orjson
    refuses but JSON allows (lone surrogate escapes), and reads bytes that
    are not UTF-8 (a corrupt byte, a Latin-1 word in a tool's output) as
    U+FFFD, so one bad byte costs one character, not the record or the
    whole file. Raises ValueError."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        try:
            return json.loads(data)
        except UnicodeDecodeError:
            if not isinstance(data, bytes):
                raise
            return json.loads(data.decode("utf-8", "replace"))
    except (ValueError, RecursionError) as exc:
        raise ValueError(str(exc)) from None


def read_bytes(path: Path, problems: list[Problem]) -> bytes | None:
    try:
        return read_regular(path, follow_links=True)  # a FIFO put there meanwhile never blocks the import
    except OSError as exc:
        problems.append(Problem(str(path), None, f"cannot read the file: {exc.strerror or exc}"))
        return None


def json_files(folder: Path) -> list[Path]:
    """The `.json` files of a folder, by name (none if it cannot be listed)."""
    try:
        return sorted(p for p in folder.iterdir() if p.suffix == ".json")
    except OSError:
        return []


def read_jsonl(path: Path, problems: list[Problem]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of every JSON object line of a file; lines
    that are not JSON objects, and a torn last line, become problems."""
    data = read_bytes(path, problems)
    if data is not None:
        yield from parse_lines(data, str(path), problems)


def parse_lines(data: bytes, path: str, problems: list[Problem], first: int = 1) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of every JSON object line of `data`, numbered
    from `first` (a file's new part numbered as in the whole file); lines
    that are not JSON objects, and a torn last line, become problems.
    One line is copied out at a time: never a second copy of all of `data`."""
    for number, line, last in _lines(data, first):
        if not line.strip():
            continue
        try:
            record = loads(line)
        except ValueError:
            problems.append(Problem(path, number, "incomplete last line" if last else "not JSON"))
            continue
        if not isinstance(record, dict):
            problems.append(Problem(path, number, "not a JSON object"))
            continue
        yield number, record


def _lines(data: bytes, first: int) -> Iterator[tuple[int, bytes, bool]]:
    """(number, line without its newline, whether it is the text after the
    last newline) of each line of `data`, as `data.split(b"\\n")` gives them."""
    start, number = 0, first
    while (end := data.find(b"\n", start)) >= 0:
        yield number, data[start:end], False
        start, number = end + 1, number + 1
    yield number, data[start:], True


# -- building a transcript ---------------------------------------------------


class Transcript:
    """Collects one source session's messages in order.

    Reasoning ("thinking") is never message content: `think` holds it and
    the next assistant message or tool call carries it as
    `metadata["thinking"]`; reasoning with no such message after it is
    dropped. Empty user, assistant and system messages are skipped; tool
    messages are kept even when empty (an empty output is an output). A
    tool result without a tool name or invocation id takes those of the
    call it answers (same `tool_call_id`).
    """

    def __init__(self, source: str, session_id: str, start: str) -> None:
        self.source = source
        self.session_id = session_id
        self.messages: list[Message] = []
        self.last_ts = start
        self._thinking: list[str] = []
        self._ids: set[str] = set()
        self._calls: dict[str, tuple[str | None, str | None]] = {}  # call id -> (tool name, invocation)
        self.answered: set[str] = set()  # call ids a result answered
        #: after `resume`: the calls answered before (may say "perhaps"); a
        #: result for one of them makes the follow doubtful (a whole read decides)
        self.earlier: Container[str] = ()
        self.doubtful = False

    def think(self, reasoning: str) -> None:
        if reasoning.strip():
            self._thinking.append(text(reasoning).strip())

    def drop_thinking(self) -> None:
        self._thinking = []

    @property
    def thinking(self) -> list[str]:
        """Reasoning not yet given to a message."""
        return self._thinking

    def calls(self) -> dict[str, list[str | None]]:
        """call id -> [tool name, invocation] of the tool calls not yet answered."""
        return {k: [name, invocation] for k, (name, invocation) in self._calls.items() if k not in self.answered}

    def resume(self, thinking: list[str], calls: dict[str, list[str | None]], earlier: Container[str]) -> None:
        """Go on after the messages of an earlier read (its `thinking`, its
        open `calls`, and the calls it saw answered: a result for one of
        those makes the transcript `doubtful`), for the lines a followed
        file gained."""
        self._thinking = list(thinking)
        self._calls = {k: (v[0], v[1]) for k, v in calls.items()}
        self.earlier = earlier

    def add(
        self,
        role: str,
        content: str,
        local: str,
        ts: str | None = None,
        *,
        model: str | None = None,
        invocation_id: str | None = None,
        tokens: Tokens | None = None,
        **metadata: Any,
    ) -> Message | None:
        content = text(content)
        if role != "tool" and not content.strip():
            return None
        if ts is not None and ts >= self.last_ts:
            self.last_ts = ts
        meta = {k: safe_json(v) for k, v in metadata.items() if v is not None and v is not False}
        call_id = meta.get("tool_call_id")
        if role == "tool" and isinstance(call_id, str):
            if meta.get("tool_kind") == "call":
                self._calls[call_id] = (meta.get("tool_name"), invocation_id)
            else:
                self.doubtful = self.doubtful or (call_id not in self._calls and call_id in self.earlier)
                self.answered.add(call_id)
            if meta.get("tool_kind") != "call" and call_id in self._calls:
                name, invocation = self._calls[call_id]
                if name and not meta.get("tool_name"):
                    meta["tool_name"] = name
                invocation_id = invocation_id or invocation
        if self._thinking and (role == "assistant" or (role == "tool" and meta.get("tool_kind") == "call")):
            meta["thinking"] = "\n\n".join(self._thinking)
            self._thinking = []
        message_id = stable_id(self.source, self.session_id, local)
        if message_id in self._ids:  # the same source record twice: keep the first
            return None
        self._ids.add(message_id)
        message = Message(
            id=message_id,
            role=role,
            content=content,
            ts=ts or self.last_ts,
            invocation_id=one_line(invocation_id),
            model=one_line(model),
            tokens=tokens,
            metadata=meta,
        )
        self.messages.append(message)
        return message


def tokens_of(input_tokens: Any, output_tokens: Any) -> Tokens | None:
    def count(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    pair = Tokens(count(input_tokens), count(output_tokens))
    return pair if pair.input is not None or pair.output is not None else None
