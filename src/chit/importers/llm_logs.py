"""The `llm` tool's log database (`logs.db`).

Where llm keeps it: `$LLM_USER_PATH/logs.db`, else `logs.db` in the
platform's user directory for `io.datasette.llm` (as llm resolves it).
The database is opened read-only and never migrated.

Two generations of tables, both read:
- `threads` / `messages` / `parts` / `turns` (llm's content-addressed
  store): a thread is a pointer at its tip message; its history is the
  `parent_hash` chain from there to the root, so only the live branch is
  imported. Messages carry no time: each gets the time, model and id
  (invocation id) of the turn that first contributed it, and a turn's
  token counts go on its last output message;
- `conversations` / `responses` (+ `tool_calls`, `tool_results`): one row
  per model call holding the prompt, the system prompt and the reply. A
  conversation that also exists as a thread is read from the thread,
  which holds its whole history.

Invariants: each thread or conversation is one unit and one chit session
(key `llm:<id>`), in the project `llm` unless the import names one; text
parts that borrow a fragment are resolved; attachments become
`[attachment: …]` lines; reasoning goes to `metadata.thinking`; tool calls
and results are tool messages with `tool_name` and `tool_call_id`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from chit.errors import InvalidData
from chit.importers import sqlite_readonly
from chit.importers.base import (
    Batch,
    Problem,
    Scan,
    Source,
    SourceSession,
    Transcript,
    Unit,
    json_text,
    loads,
    one_line,
    text,
    tokens_of,
    ts_from_text,
)

NAME = "llm"
PROJECT = "llm"
_EPOCH = "1970-01-01T00:00:00.000000Z"
_CHUNK = 500


def default_path() -> Path:
    env = os.environ.get("LLM_USER_PATH")
    if env:
        return Path(env).expanduser() / "logs.db"
    from platformdirs import user_config_dir

    return Path(user_config_dir("io.datasette.llm", appauthor=False, roaming=True)) / "logs.db"


def connect(path: Path) -> sqlite3.Connection:
    refused = sqlite_readonly.not_regular(path)  # SQLite would wait on a FIFO for ever
    if refused is not None:
        raise InvalidData(f"cannot read {path} as an llm log database: {refused}")
    try:
        db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        db.text_factory = sqlite_readonly.LENIENT_TEXT  # one bad byte costs a character, not the conversation
        db.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise InvalidData(f"cannot read {path} as an llm log database: {exc}") from None
    return db


def tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("select name from sqlite_master where type in ('table', 'view')")}


def scan(path: Path) -> Scan:
    source = path / "logs.db" if path.is_dir() else path
    db = connect(source)
    try:
        have = tables(db)
        if not {"threads", "turns", "messages", "parts"} <= have and not {"conversations", "responses"} <= have:
            raise InvalidData(f"{source} is not an llm log database (no threads or responses tables)")
        units: list[Unit] = []
        threads: set[str] = set()
        if {"threads", "turns", "messages", "parts"} <= have:
            for row in db.execute(
                "select t.id, t.tip_message_hash, count(u.id), max(u.id) from threads t"
                " left join turns u on u.thread_id = t.id group by t.id order by t.id"
            ):
                thread_id = text(row[0])
                threads.add(thread_id)
                units.append(_unit(source, thread_id, f"t|{row[1]}|{row[2]}|{row[3]}", True))
        if {"conversations", "responses"} <= have:
            for row in db.execute(
                "select coalesce(conversation_id, id), count(*), max(id) from responses"
                " group by coalesce(conversation_id, id) order by 1"
            ):
                conversation_id = text(row[0])
                if conversation_id not in threads:
                    units.append(_unit(source, conversation_id, f"r|{row[1]}|{row[2]}", False))
        return Scan(units)
    except sqlite3.Error as exc:
        raise InvalidData(f"cannot read {source} as an llm log database: {exc}") from None
    finally:
        db.close()


SOURCE = Source(NAME, default_path, scan, "the llm tool's logs.db")


def _unit(source: Path, session_id: str, stamp: str, thread: bool) -> Unit:
    reader = read_thread if thread else read_conversation
    return Unit(f"{NAME}:{source}:{session_id}", session_id, stamp, lambda: _guarded(reader, source, session_id))


def _guarded(reader: Any, source: Path, session_id: str) -> Batch:
    batch = Batch()
    try:
        db = connect(source)
    except InvalidData as exc:
        batch.problems.append(Problem(str(source), None, exc.message))
        return batch
    try:
        session = reader(db, source, session_id, batch.problems)
    except (sqlite3.Error, TypeError, ValueError, KeyError, AttributeError) as exc:
        batch.problems.append(Problem(str(source), None, f"cannot read {session_id}: {type(exc).__name__}: {exc}"))
        return batch
    finally:
        db.close()
    if session is None or not session.messages:
        batch.skipped.append((f"{source}:{session_id}", "no messages"))
    else:
        batch.sessions.append(session)
    return batch


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _select_in(db: sqlite3.Connection, sql: str, values: list[Any]) -> list[sqlite3.Row]:
    rows: list[sqlite3.Row] = []
    for chunk in _chunks(values):
        rows.extend(db.execute(sql.format(",".join("?" * len(chunk))), chunk))
    return rows


# -- threads (the content-addressed store) ---------------------------------


def read_thread(db: sqlite3.Connection, source: Path, thread_id: str, problems: list[Problem]) -> SourceSession | None:
    thread = db.execute("select * from threads where id = ?", [thread_id]).fetchone()
    if thread is None:
        return None
    chain = _chain(db, thread["tip_message_hash"])
    position = {h: i for i, (h, _) in enumerate(chain)}
    owner: list[sqlite3.Row | None] = [None] * len(chain)
    is_output: list[bool] = [False] * len(chain)
    done = -1
    for turn in db.execute("select * from turns where thread_id = ? order by datetime_utc, id", [thread_id]):
        end = position.get(turn["tip_message_hash"])
        if end is None or end <= done:
            continue  # a turn on an abandoned branch, or one already covered
        outputs_from = position.get(turn["parent_message_hash"], done) + 1
        for index in range(done + 1, end + 1):
            owner[index] = turn
            is_output[index] = index >= outputs_from
        done = end
    parts = _parts(db, [h for h, _ in chain])
    start = ts_from_text(thread["datetime_utc"]) or _EPOCH
    times = [t for turn in owner if turn is not None and (t := ts_from_text(turn["datetime_utc"]))]
    out = Transcript(NAME, thread_id, min([start, *times]))
    for index, (message_hash, role) in enumerate(chain):
        turn = owner[index]
        output = turn is not None and is_output[index]
        last_output = output and turn is not None and message_hash == turn["tip_message_hash"]
        context = {
            "ts": ts_from_text(turn["datetime_utc"]) if turn is not None else None,
            "model": (turn["resolved_model"] or turn["model"]) if output and turn is not None else None,
            "invocation_id": turn["id"] if output and turn is not None else None,
            "tokens": tokens_of(turn["input_tokens"], turn["output_tokens"]) if last_output and turn is not None else None,
        }
        _emit(out, message_hash, text(role), parts.get(message_hash, []), context)
    return SourceSession(
        NAME, thread_id, out.messages[0].ts if out.messages else start, out.messages, project=PROJECT,
        metadata=_clean({"path": str(source), "name": one_line(thread["name"]), "forked_from": one_line(thread["forked_from"]),
                         "model": next((m.model for m in out.messages if m.model), None)}),
    )


def _chain(db: sqlite3.Connection, tip: Any) -> list[tuple[str, str]]:
    """(hash, role) from the root to `tip`; a cycle or a missing parent ends it."""
    chain: list[tuple[str, str]] = []
    seen: set[str] = set()
    current = tip
    while isinstance(current, str) and current not in seen:
        seen.add(current)
        row = db.execute("select hash, parent_hash, role from messages where hash = ?", [current]).fetchone()
        if row is None:
            break
        chain.append((row["hash"], row["role"]))
        current = row["parent_hash"]
    chain.reverse()
    return chain


def _parts(db: sqlite3.Connection, hashes: list[str]) -> dict[str, list[dict[str, Any]]]:
    rows = _select_in(db, "select * from parts where message_hash in ({}) order by message_hash, position", hashes)
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        payload = _payload(row["payload"])
        payload["type"] = row["type"]
        if row["text"] is not None:
            payload["text"] = row["text"]
        payload["position"] = row["position"]
        found.setdefault(row["message_hash"], []).append(payload)
    fragment_ids = sorted({p["fragment"] for ps in found.values() for d in ps for p in _refs(d) if "fragment" in p})
    fragments = {r["id"]: r["content"] for r in _select_in(db, "select id, content from fragments where id in ({})", fragment_ids)}
    for payloads in found.values():
        for payload in payloads:
            if "text_ref" in payload:
                payload["text"] = "".join(
                    text(p.get("literal")) if "literal" in p else text(fragments.get(p.get("fragment"), "")) for p in _refs(payload)
                )
    return found


def _payload(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, str) or not raw:
        return {}
    try:
        value = loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _refs(payload: dict[str, Any]) -> list[dict[str, Any]]:
    refs = payload.get("text_ref")
    return [p for p in refs if isinstance(p, dict)] if isinstance(refs, list) else []


def _emit(out: Transcript, message_hash: str, role: str, parts: list[dict[str, Any]], context: dict[str, Any]) -> None:
    ts, model, invocation = context["ts"], context["model"], context["invocation_id"]
    pieces: list[str] = []
    for part in parts:
        kind = part.get("type")
        if kind == "reasoning":
            out.think(text(part.get("text")))
        elif kind == "text":
            pieces.append(text(part.get("text")))
        elif kind == "attachment":
            pieces.append(_attachment_note(part.get("attachment")))
    if role in ("user", "system", "assistant") and pieces:
        out.add(role, "\n".join(pieces), message_hash, ts, source_id=message_hash, model=model if role == "assistant" else None,
                invocation_id=invocation if role == "assistant" else None,
                tokens=context["tokens"] if not any(p.get("type") == "tool_call" for p in parts) else None)
    calls = [p for p in parts if p.get("type") == "tool_call"]
    for part in parts:
        kind = part.get("type")
        local = f"{message_hash}#{part.get('position')}"
        if kind == "tool_call":
            out.add("tool", json_text(part.get("arguments")), local, ts, source_id=message_hash, model=model, invocation_id=invocation,
                    tokens=context["tokens"] if part is calls[-1] else None, tool_kind="call",
                    tool_name=one_line(part.get("name")), tool_call_id=one_line(part.get("tool_call_id")),
                    server_executed=part.get("server_executed") is True)
        elif kind == "tool_result":
            out.add("tool", text(part.get("output")), local, ts, source_id=message_hash, invocation_id=invocation, tool_kind="result",
                    tool_name=one_line(part.get("name")), tool_call_id=one_line(part.get("tool_call_id")),
                    tool_error=bool(part.get("exception")), exception=one_line(part.get("exception"), 2000))


def _attachment_note(value: Any) -> str:
    if isinstance(value, dict):
        where = value.get("url") or value.get("path") or value.get("id") or ""
        kind = value.get("type")
        return f"[attachment: {text(kind) + ' ' if kind else ''}{text(where)}]".replace(" ]", "]")
    return "[attachment]"


def _clean(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if v}


# -- conversations / responses (tables of older llm versions) ----------------


def read_conversation(db: sqlite3.Connection, source: Path, conversation_id: str, problems: list[Problem]) -> SourceSession | None:
    have = tables(db)
    rows = list(db.execute(
        "select * from responses where coalesce(conversation_id, id) = ? order by datetime_utc, id", [conversation_id]
    ))
    if not rows:
        return None
    conversation = db.execute("select * from conversations where id = ?", [conversation_id]).fetchone()
    start = next((t for r in rows if (t := ts_from_text(r["datetime_utc"]))), _EPOCH)
    out = Transcript(NAME, conversation_id, start)
    system: str | None = None
    for row in rows:
        rid, ts = text(row["id"]), ts_from_text(row["datetime_utc"])
        columns = row.keys()
        if row["system"] and row["system"] != system:
            out.add("system", text(row["system"]), f"{rid}:system", ts)
        system = row["system"] or system
        if "tool_results" in have:
            for result in db.execute("select * from tool_results where response_id = ? order by id", [rid]):
                out.add("tool", text(result["output"]), f"{rid}:tool_result:{result['id']}", ts, tool_kind="result",
                        tool_name=one_line(result["name"]), tool_call_id=one_line(result["tool_call_id"]),
                        tool_error=bool(result["exception"]) if "exception" in result.keys() else False)
        notes = _legacy_attachments(db, have, rid)
        prompt = "\n".join(p for p in [text(row["prompt"]), *notes] if p)
        out.add("user", prompt, f"{rid}:prompt", ts, fragments=_legacy_fragments(db, have, rid) or None)
        if "reasoning" in columns and row["reasoning"]:
            out.think(text(row["reasoning"]))
        model = one_line(row["resolved_model"] if "resolved_model" in columns and row["resolved_model"] else row["model"])
        tokens = tokens_of(row["input_tokens"], row["output_tokens"]) if "input_tokens" in columns else None
        calls = list(db.execute("select * from tool_calls where response_id = ? order by id", [rid])) if "tool_calls" in have else []
        out.add("assistant", text(row["response"]), f"{rid}:response", ts, model=model, invocation_id=rid,
                tokens=None if calls else tokens)
        for index, call in enumerate(calls):
            out.add("tool", text(call["arguments"]), f"{rid}:tool_call:{call['id']}", ts, model=model, invocation_id=rid,
                    tokens=tokens if index == len(calls) - 1 else None, tool_kind="call",
                    tool_name=one_line(call["name"]), tool_call_id=one_line(call["tool_call_id"]))
    metadata = {"path": str(source), "model": one_line(rows[0]["model"])}
    if conversation is not None:
        metadata["name"] = one_line(conversation["name"])
    return SourceSession(NAME, conversation_id, start, out.messages, project=PROJECT, metadata=_clean(metadata))


def _legacy_attachments(db: sqlite3.Connection, have: set[str], response_id: str) -> list[str]:
    if not {"prompt_attachments", "attachments"} <= have:
        return []
    rows = db.execute(
        'select a.type, a.path, a.url from prompt_attachments p join attachments a on a.id = p.attachment_id'
        ' where p.response_id = ? order by p."order"', [response_id],
    )
    return [_attachment_note({"type": r["type"], "path": r["path"], "url": r["url"]}) for r in rows]


def _legacy_fragments(db: sqlite3.Connection, have: set[str], response_id: str) -> list[str]:
    if not {"prompt_fragments", "fragments"} <= have:
        return []
    rows = db.execute(
        'select f.source, f.hash from prompt_fragments p join fragments f on f.id = p.fragment_id'
        ' where p.response_id = ? order by p."order"', [response_id],
    )
    return [text(r["source"] or r["hash"]) for r in rows]
