"""opencode sessions: `opencode.db` (opencode 1.2 and later) and the JSON
storage of earlier versions, both under `~/.local/share/opencode`.

The two hold the same records. A session (`id`, `title`, `directory`,
`parentID`, `revert`…) has messages (`role` user or assistant; an
assistant message has `modelID`, `tokens`, `error`…) and each message has
parts (`text`, `reasoning`, `tool`, `file`, `step-start`,
`step-finish`…), each with its own id. In `opencode.db` they are the rows
of the `session`, `message` and `part` tables (a message's and a part's
fields in the JSON `data` column); in the JSON storage they are the files
`storage/session/<project>/<session>.json`,
`storage/message/<session>/<message>.json` and
`storage/part/<message>/<part>.json`. opencode 1.2 copies the JSON
storage into the database and leaves the files: a session found in both
is read from the database only.

Invariants:
- messages and parts are taken in id order (opencode's ids grow with
  time); a session's `revert` (an undo not yet discarded) hides the
  messages from its `messageID` on, as opencode shows it;
- a user message's text parts are one user message (attached files as
  `[file: name]` lines); text opencode adds itself (`synthetic`, such as
  a file it read for the prompt) is a system message with `injected`;
- an assistant message's text parts → assistant messages (its `modelID`;
  its id is the invocation id); `reasoning` → `metadata.thinking`; each
  `tool` part → a tool call (its input as JSON) and, once it ran, its
  result (`output`, or `error` with `tool_error`; a shell command's exit
  status as `exit_code`, `tool_error` if not 0); results follow their
  calls in the order they came (calls made at once run together), so
  messages stay in time order; a `step-finish`'s
  tokens go on the last message of that step (input with the cache's reads
  and writes, output with the reasoning); a message's `error` → a
  system message with `subtype: "error"`;
- message ids derive from opencode's part and message ids, so a session
  that grows keeps every earlier id;
- a sub-agent's session (a `task` call's, its `parentID` set) is a child
  session keyed under its parent's key and linked to that call
  (`opencode_agents`); its stamp holds its parent's, so a link the parent
  gains later is imported;
- the database is opened read-only and nothing is created or changed
  beside it (`sqlite_readonly`); a record that is not JSON costs only
  itself (one problem).
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from chit.errors import InvalidData
from chit.model import Tokens
from chit.importers import opencode_agents, sqlite_readonly
from chit.importers.base import (
    Batch,
    Problem,
    Scan,
    Source,
    SourceSession,
    Transcript,
    Unit,
    file_stamp,
    json_files,
    json_text,
    loads,
    obj,
    one_line,
    read_bytes,
    text,
    tokens_of,
    ts_from_epoch,
)

NAME = "opencode"
_ORPHANED_WAL = (
    "its -wal file has writes not yet in the database and no -shm beside it:"
    " read without them (opening it would create a file); they are read once opencode has opened it again"
)
_DEFAULT_TITLE = re.compile(r"^(New|Child) session - \d{4}-\d\d-\d\dT")


def default_path() -> Path:
    data = os.environ.get("XDG_DATA_HOME")
    return (Path(data).expanduser() if data else Path.home() / ".local" / "share") / "opencode"


@dataclass
class Raw:
    """One session as opencode stored it, before mapping."""

    where: str
    info: dict[str, Any]
    messages: list[tuple[dict[str, Any], list[dict[str, Any]]]] = field(default_factory=list)
    #: a sub-agent's session: the parent's `task` part that started it, once found
    started_by: dict[str, Any] | None = None


def scan(path: Path) -> Scan:
    database, storage = _locate(path)
    if database is None and storage is None:
        raise InvalidData(f"{path} holds no opencode data (no opencode.db, no storage folder)")
    units: list[Unit] = []
    problems: list[Problem] = []
    in_database: set[str] = set()
    if database is not None:
        if sqlite_readonly.orphaned_wal(database):
            problems.append(Problem(str(database), None, _ORPHANED_WAL))
        for session_id, stamp in _database_sessions(database):
            in_database.add(session_id)
            units.append(Unit(f"{NAME}:{database}:{session_id}", session_id, stamp,
                              partial(_load, partial(_read_database, database, session_id))))
    if storage is not None:
        files = {f.stem: f for f in sorted(storage.glob("session/*/*.json")) if f.stem not in in_database}
        stamps = {sid: _storage_stamp(storage, f) for sid, f in files.items()}
        for session_id, session_file in files.items():
            parent = _parent_of(session_file)  # a sub-agent's link is read from its parent
            stamp = f"{stamps[session_id]}|{stamps.get(parent, '')}" if parent else stamps[session_id]
            units.append(Unit(f"{NAME}:{session_file}", session_id, stamp,
                              partial(_load, partial(_read_storage, storage, session_file))))
    return Scan(units, problems)


SOURCE = Source(NAME, default_path, scan, "opencode sessions (~/.local/share/opencode)")


def _locate(path: Path) -> tuple[Path | None, Path | None]:
    """(the database, the JSON storage folder) at `path`, either may be None."""
    if not path.is_dir():  # a file, or a FIFO or device the read refuses
        return path, None
    database = path / "opencode.db"
    storage = path / "storage" if (path / "storage" / "session").is_dir() else path if (path / "session").is_dir() else None
    return (database if database.exists() else None), storage


def _load(read: Callable[[list[Problem]], Raw | None]) -> Batch:
    batch = Batch()
    raw = read(batch.problems)
    if raw is None:
        return batch
    session = _map(raw, batch.problems)
    if session is None:
        batch.skipped.append((raw.where, "no messages"))
    else:
        batch.sessions.append(session)
    return batch


# -- the database ----------------------------------------------------------------


def _opencode_tables(db: sqlite3.Connection, database: Path) -> None:
    """Raises InvalidData unless `db` has opencode's tables."""
    db.row_factory = sqlite3.Row
    have = {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
    if not {"session", "message", "part"} <= have:
        raise InvalidData(f"{database} is not an opencode database (no session, message and part tables)")


def _database_sessions(database: Path) -> list[tuple[str, str]]:
    """(session id, stamp) of every session; the stamp moves with any
    change to the session, its messages or its parts."""
    def stamps(db: sqlite3.Connection) -> list[Any]:
        _opencode_tables(db, database)
        return db.execute(
            "select s.id, s.parent_id, s.time_updated,"
            " (select count(*) || ':' || coalesce(max(time_updated), 0) from message m where m.session_id = s.id),"
            " (select count(*) || ':' || coalesce(max(time_updated), 0) from part p where p.session_id = s.id)"
            " from session s order by s.id"
        ).fetchall()

    try:
        rows = sqlite_readonly.read(database, stamps)
    except sqlite3.Error as exc:
        raise InvalidData(f"cannot read {database} as an opencode database: {exc}") from None
    own = {text(row[0]): f"{row[2]}|{row[3]}|{row[4]}" for row in rows}
    # a sub-agent's link is read from its parent: the parent's changes are its own
    return [(sid, f"{stamp}|{own.get(text(row[1]), '')}" if row[1] else stamp) for row, (sid, stamp) in zip(rows, own.items())]


def _read_database(database: Path, session_id: str, problems: list[Problem]) -> Raw | None:
    where = f"{database}:{session_id}"
    found: list[Problem] = []  # a read done again starts its problems afresh

    def session(db: sqlite3.Connection) -> Raw | None:
        found.clear()
        _opencode_tables(db, database)
        return _session_rows(db, session_id, found, where)

    try:
        raw = sqlite_readonly.read(database, session)
    except InvalidData as exc:
        problems.append(Problem(str(database), None, exc.message))
        return None
    except sqlite3.Error as exc:
        problems.append(Problem(where, None, f"cannot read the session: {exc}"))
        return None
    problems.extend(found)
    return raw


def _session_rows(db: sqlite3.Connection, session_id: str, problems: list[Problem], where: str) -> Raw | None:
    row = db.execute("select * from session where id = ?", (session_id,)).fetchone()
    if row is None:  # deleted since the scan
        return None
    raw = Raw(where, _session_info(dict(row), problems, where))
    parent = one_line(raw.info.get("parentID"))
    if parent is not None:
        raw.started_by = opencode_agents.call_in_database(db, parent, session_id)
    parts: dict[str, list[dict[str, Any]]] = {}
    for part in db.execute("select id, message_id, data from part where session_id = ? order by id", (session_id,)):
        data = _data(part["data"], problems, where, f"part {part['id']}")
        if data is not None:
            parts.setdefault(part["message_id"], []).append({**data, "id": part["id"]})
    for message in db.execute("select id, time_created, data from message where session_id = ? order by id", (session_id,)):
        data = _data(message["data"], problems, where, f"message {message['id']}")
        if data is not None:
            raw.messages.append(({"time": {"created": message["time_created"]}, **data, "id": message["id"]},
                                 parts.get(message["id"], [])))
    return raw


def _session_info(row: dict[str, Any], problems: list[Problem], where: str) -> dict[str, Any]:
    """A `session` row in the shape of the JSON storage's session file."""
    revert = _data(row.get("revert"), problems, where, "revert") if row.get("revert") else None
    return {
        "id": row.get("id"), "title": row.get("title"), "directory": row.get("directory"),
        "parentID": row.get("parent_id"), "projectID": row.get("project_id"), "slug": row.get("slug"),
        "version": row.get("version"), "revert": revert,
        "time": {"created": row.get("time_created"), "updated": row.get("time_updated")},
    }


def _data(value: Any, problems: list[Problem], where: str, what: str) -> dict[str, Any] | None:
    try:
        data = loads(value) if isinstance(value, (str, bytes)) else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        problems.append(Problem(where, None, f"{what}: not a JSON object"))
        return None
    return data


# -- the JSON storage -------------------------------------------------------------


def _storage_stamp(storage: Path, session_file: Path) -> str:
    """Size and time of the session file and of every file of its messages
    and parts (a listing, not a read)."""
    digest = hashlib.sha256(file_stamp(session_file).encode())
    for message_file in json_files(storage / "message" / session_file.stem):
        digest.update(f"{message_file.name}={file_stamp(message_file)};".encode())
        for part_file in json_files(storage / "part" / message_file.stem):
            digest.update(f"{part_file.name}={file_stamp(part_file)};".encode())
    return digest.hexdigest()


def _parent_of(session_file: Path) -> str | None:
    """The `parentID` of a session file (None: none, or unreadable: the read tells)."""
    data = read_bytes(session_file, [])
    try:
        return one_line(obj(loads(data)).get("parentID")) if data is not None else None
    except ValueError:
        return None


def _read_storage(storage: Path, session_file: Path, problems: list[Problem]) -> Raw | None:
    info = _json_file(session_file, problems)
    if info is None:
        return None
    raw = Raw(str(session_file), {**info, "id": session_file.stem})  # opencode trusts the name over the content
    parent = one_line(info.get("parentID"))
    if parent is not None:
        raw.started_by = opencode_agents.call_in_storage(storage, parent, session_file.stem)
    for message_file in json_files(storage / "message" / session_file.stem):
        message = _json_file(message_file, problems)
        if message is not None:
            parts = [{**p, "id": f.stem} for f in json_files(storage / "part" / message_file.stem)
                     if (p := _json_file(f, problems)) is not None]
            raw.messages.append(({**message, "id": message_file.stem}, parts))
    return raw


def _json_file(path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    data = read_bytes(path, problems)
    if data is None:
        return None
    try:
        record = loads(data)
    except ValueError:
        problems.append(Problem(str(path), None, "not JSON"))
        return None
    if not isinstance(record, dict):
        problems.append(Problem(str(path), None, "not a JSON object"))
        return None
    return record


# -- mapping -----------------------------------------------------------------------


def _map(raw: Raw, problems: list[Problem]) -> SourceSession | None:
    info = raw.info
    session_id = one_line(info.get("id"))
    if session_id is None:
        return None
    times = obj(info.get("time"))
    start = _ms(times.get("created")) or "1970-01-01T00:00:00.000000Z"
    out = Transcript(NAME, session_id, start)
    for message, parts in _live(raw.messages, obj(info.get("revert"))):
        try:
            if message.get("role") == "user":
                _user(out, message, parts)
            elif message.get("role") == "assistant":
                _assistant(out, message, parts)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a record of the wrong shape costs only itself
            out.drop_thinking()
            problems.append(Problem(raw.where, None, f"unusable message {message['id']} ({type(exc).__name__})"))
    if not out.messages:
        return None
    title = one_line(info.get("title"))
    parent = one_line(info.get("parentID"))
    metadata = {
        "path": raw.where, "version": one_line(info.get("version")), "slug": one_line(info.get("slug")),
        "parent_id": parent, "project_id": one_line(info.get("projectID")),
    }
    source_id = opencode_agents.source_id(session_id, parent)
    if parent is not None and source_id != session_id:
        metadata.update(opencode_agents.link_facts(session_id, parent, raw.started_by, NAME))
    directory = info.get("directory")
    return SourceSession(
        NAME, source_id, start, out.messages, cwd=text(directory) if isinstance(directory, str) and directory else None,
        title=None if title is None or _DEFAULT_TITLE.match(title) else title,
        metadata={k: v for k, v in metadata.items() if v},
        former_keys=(f"{NAME}:{session_id}",) if source_id != session_id else (),  # a sub-agent's key before it was a child
    )


def _live(messages: list[tuple[dict[str, Any], list[dict[str, Any]]]],
          revert: dict[str, Any]) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Messages and parts in id order, without what a pending undo hides."""
    cut_message, cut_part = one_line(revert.get("messageID")), one_line(revert.get("partID"))
    for message, parts in sorted(messages, key=lambda pair: str(pair[0]["id"])):
        ordered = sorted(parts, key=lambda part: str(part["id"]))
        if cut_message is not None and str(message["id"]) >= cut_message:
            if str(message["id"]) == cut_message and cut_part is not None:
                yield message, [p for p in ordered if str(p["id"]) < cut_part]
            return
        yield message, ordered


def _ms(value: Any) -> str | None:
    return ts_from_epoch(value / 1000) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _user(out: Transcript, message: dict[str, Any], parts: list[dict[str, Any]]) -> None:
    ts = _ms(obj(message.get("time")).get("created"))
    lines = [text(p.get("text")) for p in parts
             if p.get("type") == "text" and not p.get("synthetic") and not p.get("ignored")]
    lines += [f"[file: {one_line(p.get('filename')) or one_line(p.get('mime')) or 'file'}]"
              for p in parts if p.get("type") == "file"]
    out.add("user", "\n".join(lines), str(message["id"]), ts, source_id=one_line(message["id"]))
    for part in parts:
        if part.get("type") == "text" and part.get("synthetic") and not part.get("ignored"):
            out.add("system", text(part.get("text")), str(part["id"]), ts, source_id=one_line(part["id"]), injected=True)


def _assistant(out: Transcript, message: dict[str, Any], parts: list[dict[str, Any]]) -> None:
    ts = _ms(obj(message.get("time")).get("created"))
    model, invocation = one_line(message.get("modelID")), one_line(message.get("id"))
    step: list[int] = []  # indexes of the messages the current model call produced
    results: list[Result] = []  # of the calls above, not yet written
    counted = False
    for part in parts:
        kind, local = part.get("type"), str(part["id"])
        when = _ms(obj(part.get("time")).get("start")) or (max(ts, out.last_ts) if ts else None)  # never before the part above
        if kind == "tool":
            _tool(out, part, step, results, model, invocation, ts)
            continue
        _write_results(out, results)
        if kind == "step-start":
            step = []
        elif kind == "reasoning":
            out.think(text(part.get("text")))
        elif kind == "text" and not part.get("ignored"):
            _produced(step, out, out.add("assistant", text(part.get("text")), local, when, model=model,
                                         invocation_id=invocation, source_id=one_line(part["id"])))
        elif kind == "step-finish":
            counted = _put_tokens(out, step, obj(part.get("tokens"))) or counted
            step = []
    _write_results(out, results)
    if not counted:
        _put_tokens(out, step, obj(message.get("tokens")))
    error = obj(message.get("error"))
    if error:
        detail = text(obj(error.get("data")).get("message")) or json_text(error.get("data") or {})
        out.add("system", f"{one_line(error.get('name')) or 'error'}: {detail}", f"{message['id']}:error",
                _ms(obj(message.get("time")).get("completed")) or ts, subtype="error")


@dataclass
class Result:
    """A tool's result, held back until the calls made with it are written."""

    ts: str
    content: str
    local: str
    metadata: dict[str, Any]


def _tool(out: Transcript, part: dict[str, Any], step: list[int], results: list[Result], model: str | None,
          invocation: str | None, ts: str | None) -> None:
    """The call, after the results that came before it; its result joins
    `results`. A tool part holds a call and its result, but a model call
    can make several calls at once and opencode runs them together, so
    results are written in the order they came, each after its call."""
    state = obj(part.get("state"))
    times = obj(state.get("time"))
    name, call_id = one_line(part.get("tool")), one_line(part.get("callID")) or str(part["id"])
    start = _ms(times.get("start")) or ts
    _write_results(out, results, until=start)
    _produced(step, out, out.add(
        "tool", json_text(state.get("input") if state.get("input") is not None else {}), f"{part['id']}:call",
        start, model=model, invocation_id=invocation, source_id=one_line(part["id"]),
        tool_kind="call", tool_name=name, tool_call_id=call_id,
    ))
    status = state.get("status")
    if status in ("completed", "error"):
        output = state.get("output") if status == "completed" else state.get("error")
        exit_code = obj(state.get("metadata")).get("exit")  # a shell command's; it failed though the tool ran
        if not isinstance(exit_code, int) or isinstance(exit_code, bool):
            exit_code = None
        results.append(Result(
            _ms(times.get("end")) or start or "", output if isinstance(output, str) else json_text(output),
            f"{part['id']}:result", {"invocation_id": invocation, "tool_kind": "result", "tool_name": name,
                                     "tool_call_id": call_id, "tool_error": status == "error" or bool(exit_code),
                                     "exit_code": exit_code}))


def _write_results(out: Transcript, results: list[Result], until: str | None = None) -> None:
    """Write the held results that came by `until` (all without it), oldest first."""
    ready = sorted((r for r in results if until is None or r.ts <= until), key=lambda r: r.ts)
    for result in ready:
        results.remove(result)
        out.add("tool", result.content, result.local, result.ts or None, **result.metadata)


def _produced(step: list[int], out: Transcript, message: object) -> None:
    if message is not None:
        step.append(len(out.messages) - 1)


def _put_tokens(out: Transcript, step: list[int], tokens: dict[str, Any]) -> bool:
    """The model call's token counts on its last message; False if it made none."""
    pair = _counts(tokens) if tokens else None
    if not step or pair is None:
        return False
    out.messages[step[-1]] = replace(out.messages[step[-1]], tokens=pair)
    return True


def _counts(tokens: dict[str, Any]) -> Tokens | None:
    """(tokens read, tokens written) as chit counts them for every tool:
    input with cached tokens, output with reasoning. opencode's `input`
    leaves out the cache's reads and writes; whether its `output` holds
    the reasoning depends on its version (1.1 yes, 1.18 no), but its
    `total` is always input + cache + output (+ reasoning where apart)."""
    def count(value: Any) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0

    cache = obj(tokens.get("cache"))
    plain = tokens_of(tokens.get("input"), tokens.get("output"))
    if plain is None:
        return None
    read = count(tokens.get("input")) + count(cache.get("read")) + count(cache.get("write"))
    written = count(tokens.get("output"))
    total = count(tokens.get("total"))
    if total >= read + written:
        written = total - read
    return Tokens(read if plain.input is not None else None, written if plain.output is not None else None)
