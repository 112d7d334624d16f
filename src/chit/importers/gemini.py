"""Gemini CLI sessions: `~/.gemini/tmp/<project>/chats/session-<time>-<id8>.json[l]`.

Two layouts, both read:
- `.json` (Gemini CLI before its JSON Lines recording): one object
  `{sessionId, projectHash, startTime, lastUpdated, summary?, kind?,
  messages: [...]}`, rewritten whole on every change;
- `.jsonl` (later versions): a log. A metadata record (`sessionId`,
  `projectHash`, `startTime`…), then message records (anything with a
  string `id`; a record with an id already seen replaces it in place,
  which is how Gemini CLI adds tokens and tool calls to a reply),
  `{"$set": {...}}` metadata updates (a `messages` list there replaces
  them all) and `{"$rewindTo": id}`, which drops that message and every
  later one. When both files of one session exist (Gemini CLI copies a
  `.json` into a `.jsonl` when it resumes it), only the `.jsonl` is read.

Invariants:
- message types: `user` → user; `gemini` → assistant (its `model`, its
  `tokens` on the last message of that reply); `info`, `warning`,
  `error` (the CLI's own notices) → system with `subtype`;
- each entry of a reply's `toolCalls` → a tool call (content: its `args`
  as JSON) after the reply's text, then its result (the
  `functionResponse` output) once every call of the reply is listed;
  `status: "error"` marks the result `tool_error`, and so does a shell
  command's exit status other than 0 (Gemini CLI reports such a command as
  a success, its exit status only in the output's `Exit Code: N` line,
  kept as `exit_code`);
- `thoughts` ("subject" and "description") are never content: they go
  to `metadata.thinking` of the reply's first message;
- a `$set` of `messages` (Gemini CLI states the whole history again when
  it resumes a session, in the API's form: `thought`, `functionCall` and
  `functionResponse` parts, no tokens, no `toolCalls`) sets the messages
  and their order, but a message already recorded keeps its record; the
  parts of one that was not are read as its thoughts, calls and results;
- user text Gemini CLI writes itself (`<session_context>`,
  `<hook_context>`) is a system message (`injected`), never a prompt;
- message ids derive from Gemini's own message ids (and the tool call
  id), so appending to a session never changes an earlier id; a reply's
  id is the invocation id of its messages;
- the working directory is the project root Gemini CLI recorded for the
  project folder (`.project_root`, or `projects.json`); sessions of
  older versions, whose folder is a hash of that root, have none;
- a sub-agent's session (`kind: "subagent"`) is skipped.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from chit.store.files import read_regular
from chit.importers.base import (
    Batch,
    Problem,
    Scan,
    Source,
    SourceSession,
    Transcript,
    Unit,
    check_source_path,
    file_stamp,
    json_text,
    loads,
    obj,
    one_line,
    read_bytes,
    read_jsonl,
    text,
    tokens_of,
    ts_from_text,
)

NAME = "gemini"
NOTICES = ("info", "warning", "error")
#: the shell tool, whose result gives the command's exit status
SHELL_TOOL = "run_shell_command"
_EXIT = re.compile(r"Exit Code: (-?[0-9]+)$")
#: the lines Gemini CLI writes after a shell command's exit status
_TRAILER = ("Signal: ", "Background PIDs: ", "Process Group PGID: ", "</untrusted_context>")
#: user text Gemini CLI writes itself (the environment it starts a chat with, hook output)
INJECTED = ("<session_context>", "<hook_context>")


def default_path() -> Path:
    home = os.environ.get("GEMINI_CLI_HOME")
    return (Path(home).expanduser() if home else Path.home()) / ".gemini" / "tmp"


def scan(path: Path) -> Scan:
    """One unit per session file; a `.json` whose `.jsonl` twin exists is
    left out (the twin holds all of it and what came after)."""
    check_source_path(path)
    if path.is_file():
        files = [path]
    else:
        found = sorted(p for p in path.rglob("session-*.json*") if p.suffix in (".json", ".jsonl") and p.is_file())
        twins = {p.with_suffix(".json") for p in found if p.suffix == ".jsonl"}
        files = [p for p in found if p not in twins]
    return Scan([Unit(f"{NAME}:{f}", f.name, file_stamp(f), partial(read_file, f)) for f in files])


SOURCE = Source(NAME, default_path, scan, "Gemini CLI sessions (~/.gemini/tmp)")


def read_file(path: Path) -> Batch:
    batch = Batch()
    loaded = _read_log(path, batch.problems) if path.suffix == ".jsonl" else _read_whole(path, batch.problems)
    if loaded is None:
        return batch
    meta, messages = loaded
    session_id = one_line(meta.get("sessionId"))
    if session_id is None:
        batch.problems.append(Problem(str(path), None, "no sessionId"))
        return batch
    if meta.get("kind") == "subagent":
        batch.skipped.append((str(path), "sub-agent transcript"))
        return batch
    times = [t for m in messages if (t := ts_from_text(m.get("timestamp")))]
    start = ts_from_text(meta.get("startTime")) or (min(times) if times else "1970-01-01T00:00:00.000000Z")
    out = Transcript(NAME, session_id, start)
    for number, message in enumerate(messages):
        try:
            _message(out, message)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a record of the wrong shape costs only itself
            out.drop_thinking()
            batch.problems.append(Problem(str(path), None, f"unusable message {number + 1} ({type(exc).__name__})"))
    if not out.messages:
        batch.skipped.append((str(path), "no messages"))
        return batch
    if all(m.role == "system" for m in out.messages):  # only the CLI's notices (a failed hook's warning) or context
        batch.skipped.append((str(path), "no conversation"))
        return batch
    metadata = {"path": str(path), "project_hash": one_line(meta.get("projectHash"))}
    batch.sessions.append(SourceSession(
        NAME, session_id, start, out.messages, title=one_line(meta.get("summary")), cwd=project_root(path),
        metadata={k: v for k, v in metadata.items() if v},
    ))
    return batch


def project_root(path: Path) -> str | None:
    """The directory Gemini CLI ran in, as it recorded it for the session's
    project folder (`<folder>/chats/<file>`), or None."""
    folder = path.parent.parent
    marker = _small_file(folder / ".project_root", 8192)
    root = marker.decode("utf-8", "replace").strip() if marker is not None else ""
    if root:
        return text(root)
    registry = _small_file(folder.parent.parent / "projects.json", 1 << 22)
    try:
        projects = obj(obj(loads(registry)).get("projects")) if registry is not None else {}
    except ValueError:
        return None
    roots = [root for root, slug in projects.items() if slug == folder.name]
    return text(roots[0]) if len(roots) == 1 else None


def _small_file(path: Path, limit: int) -> bytes | None:
    """The first `limit` bytes of a regular file (a FIFO there is never
    waited on), or None."""
    try:
        return read_regular(path, limit, follow_links=True)
    except OSError:
        return None


# -- reading the two layouts ---------------------------------------------------


def _read_whole(path: Path, problems: list[Problem]) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    data = read_bytes(path, problems)
    if data is None:
        return None
    try:
        record = loads(data)
    except ValueError:
        problems.append(Problem(str(path), None, "not JSON (a session file cut short?)"))
        return None
    if not isinstance(record, dict):
        problems.append(Problem(str(path), None, "not a JSON object"))
        return None
    return record, _message_list(record.get("messages"))


def _read_log(path: Path, problems: list[Problem]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    meta: dict[str, Any] = {}
    messages: dict[str, dict[str, Any]] = {}  # id -> record, in first-seen order
    order: list[str] = []  # the ids of `messages` in that order: a rewind cuts its tail, never walks it all
    place: dict[str, int] = {}  # id -> its index in `order`
    recorded: dict[str, dict[str, Any]] = {}  # id -> its last record, whatever was set since
    for _, record in read_jsonl(path, problems):
        rewind = record.get("$rewindTo")
        if isinstance(rewind, str):
            cut = place.get(rewind, 0)  # an id not there: every message
            for dropped in order[cut:]:
                del messages[dropped], place[dropped]
                recorded.pop(dropped, None)  # what is rewound is no record to keep
            del order[cut:]
        elif isinstance(record.get("id"), str):
            if record["id"] not in messages:
                place[record["id"]] = len(order)
                order.append(record["id"])
            messages[record["id"]] = recorded[record["id"]] = record
        elif isinstance(record.get("$set"), dict):
            update = record["$set"]
            if isinstance(update.get("messages"), list):
                # A resume states the history again, as the API saw it (parts, no tokens or
                # tool calls): a message already recorded keeps its record, in the new order.
                listed = [m for m in _message_list(update["messages"]) if isinstance(m.get("id"), str)]
                messages = {m["id"]: recorded.setdefault(m["id"], m) for m in listed}
                order = list(messages)
                place = {message_id: number for number, message_id in enumerate(order)}
            meta.update({k: v for k, v in update.items() if k != "messages"})
        elif isinstance(record.get("sessionId"), str):
            # a resume writes the metadata again, with the time it resumed: the session began at the first
            meta.update({k: v for k, v in record.items() if k != "startTime" or "startTime" not in meta})
    return meta, list(messages.values())


def _message_list(value: Any) -> list[dict[str, Any]]:
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


# -- one message ---------------------------------------------------------------


def _message(out: Transcript, message: dict[str, Any]) -> None:
    kind = message.get("type")
    local = one_line(message.get("id")) or f"#{len(out.messages)}"
    ts = ts_from_text(message.get("timestamp"))
    if kind == "user":
        _results(out, message.get("content"), local, ts)
        body = _parts_text(message.get("content"))
        if body.lstrip().startswith(INJECTED):
            out.add("system", body, local, ts, source_id=one_line(message.get("id")), injected=True)
        else:
            out.add("user", body, local, ts, source_id=one_line(message.get("id")))
    elif kind in NOTICES:
        out.add("system", _parts_text(message.get("content")), local, ts, subtype=kind)
    elif kind == "gemini":
        _reply(out, message, local, ts)


def _results(out: Transcript, content: Any, local: str, ts: str | None) -> None:
    """The tool results a user message carries as `functionResponse` parts
    (the history a resume states again), those not already answered."""
    for number, part in enumerate(content if isinstance(content, list) else []):
        response = obj(obj(part).get("functionResponse"))
        call_id = one_line(response.get("id"))
        if call_id and call_id not in out.answered:
            name, result = one_line(response.get("name")), _result_text({"result": [part]}) or ""
            out.add("tool", result, f"{local}:result:{call_id}:{number}", ts,
                    tool_kind="result", tool_name=name, tool_call_id=call_id, **_verdict(name, result, False))


def _reply(out: Transcript, message: dict[str, Any], local: str, ts: str | None) -> None:
    """A model reply: its text, its tool calls, then their results; the
    reply's tokens go on the last message the model produced."""
    content = message.get("content")
    parts = [p for p in content if isinstance(p, dict)] if isinstance(content, list) else []
    thoughts = _message_list(message.get("thoughts")) or [
        {"description": p["text"]} for p in parts if p.get("thought") and isinstance(p.get("text"), str)]
    for thought in thoughts:
        if thought:
            out.think("\n".join(text(thought.get(k)) for k in ("subject", "description") if thought.get(k)))
    model = one_line(message.get("model"))
    source_id = one_line(message.get("id"))
    # the history a resume states again has no `toolCalls`, only `functionCall` parts
    calls = _message_list(message.get("toolCalls")) or [obj(p.get("functionCall")) for p in parts if p.get("functionCall")]
    produced = [out.add("assistant", _parts_text(message.get("content")), local, ts, model=model,
                        invocation_id=source_id, source_id=source_id)]
    for number, call in enumerate(calls):
        call_id = one_line(call.get("id")) or str(number)
        produced.append(out.add(
            "tool", json_text(call.get("args") if call.get("args") is not None else {}), f"{local}:call:{call_id}",
            ts_from_text(call.get("timestamp")) or ts, model=model, invocation_id=source_id, source_id=source_id,
            tool_kind="call",
            tool_name=one_line(call.get("name")), tool_call_id=call_id,
        ))
    out.drop_thinking()  # a reply with neither text nor calls leaves its thoughts behind
    made = [m for m in produced if m is not None]
    tokens = obj(message.get("tokens"))
    if made and tokens:  # the last message this reply added is the last in the transcript
        out.messages[-1] = replace(made[-1], tokens=tokens_of(tokens.get("input"), tokens.get("output")))
    for number, call in enumerate(calls):
        call_id = one_line(call.get("id")) or str(number)
        result = _result_text(call)
        if result is not None:
            name = one_line(call.get("name"))
            out.add("tool", result, f"{local}:result:{call_id}", ts_from_text(call.get("timestamp")) or ts,
                    tool_kind="result", tool_name=name, tool_call_id=call_id,
                    **_verdict(name, result, call.get("status") == "error"))


def _verdict(name: str | None, result: str, failed: bool) -> dict[str, Any]:
    """`tool_error` (and a shell command's `exit_code`) of a tool result:
    Gemini CLI's verdict, or the exit status its shell tool writes in the
    output's trailer (`Exit Code: N`, followed only by the lines
    `Signal:`, `Background PIDs:`, `Process Group PGID:`), which it does
    not count as a failure."""
    code = _exit_code(result) if name == SHELL_TOOL else None
    verdict: dict[str, Any] = {"tool_error": failed or bool(code)}
    if code is not None:
        verdict["exit_code"] = code
    return verdict


def _exit_code(output: str) -> int | None:
    """The exit status in a shell result's trailer; None without one (Gemini
    CLI leaves it out for 0, older versions write `Exit Code: (none)`).
    Only the trailer is read: a command may print such a line itself."""
    for line in reversed(output.rstrip().splitlines()):
        found = _EXIT.match(line)
        if found:
            return int(found.group(1))
        if not line.startswith(_TRAILER):
            return None
    return None


def _result_text(call: dict[str, Any]) -> str | None:
    """A tool call's output as the model saw it (None: it has none)."""
    result = call.get("result")
    if isinstance(result, (list, dict)):
        parts = result if isinstance(result, list) else [result]
        pieces = []
        for part in parts:
            response = obj(obj(part).get("functionResponse")).get("response")
            if isinstance(response, dict):
                value = response.get("output", response.get("error", response))
                pieces.append(value if isinstance(value, str) else json_text(value))
            elif isinstance(part, dict):
                pieces.append(_part_text(part))
        return "\n".join(p for p in pieces if p)
    if isinstance(result, str):
        return text(result)
    display = call.get("resultDisplay")
    return text(display) if isinstance(display, str) and display else None


def _parts_text(content: Any) -> str:
    """A `PartListUnion` (a string, a part, or a list of either) as text;
    function calls and responses are left out (tool messages carry them)."""
    if isinstance(content, str):
        return text(content)
    if isinstance(content, dict):
        return _part_text(content)
    if isinstance(content, list):
        return "".join(_parts_text(part) for part in content)
    return ""


def _part_text(part: dict[str, Any]) -> str:
    if isinstance(part.get("text"), str) and not part.get("thought"):
        return text(part["text"])
    for key in ("inlineData", "fileData"):
        if isinstance(part.get(key), dict):
            return f"[{one_line(part[key].get('mimeType')) or 'file'}]"
    return ""
