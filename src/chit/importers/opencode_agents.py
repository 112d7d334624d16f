"""opencode sub-agents: a `task` tool call's own session becomes a child session.

opencode runs a sub-agent (its `task` tool) in a session of its own whose
`parentID` names the session that called it; the calling session's `task`
part names that session in `state.metadata.sessionId` (from the moment the
call starts), its input gives the agent type (`subagent_type`).

Invariants (the same as for Claude Code's sub-agents, `claude_agents`):
- a sub-agent's session has the source id `<parent session id>/agent-<its
  session id>`, so its key is its parent's key followed by
  `model.AGENT_KEY`: `ls` lists it under its parent, whichever is imported
  first;
- `metadata.import` links it: `parent` (the parent's key), `agent_id` (its
  own opencode session id), and, once the parent's `task` part names it,
  `tool_call_id` and `agent_type`. A parent that cannot be read, or has no
  such part yet, leaves those out;
- finding the call reads only the parent's parts that name the sub-agent's
  id (their raw text holds it), nothing else of the parent.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from chit.model import AGENT_KEY
from chit.importers.base import json_files, loads, obj, one_line, read_bytes

TASK_TOOL = "task"


def source_id(session_id: str, parent: str | None) -> str:
    """The source id of a session: under its parent's for a sub-agent's
    (an id that could not be told apart from a key is kept as it is)."""
    if parent is None or "/" in parent or "/" in session_id:
        return session_id
    return f"{parent}{AGENT_KEY}{session_id}"


def link_facts(session_id: str, parent: str, call: dict[str, Any] | None, source: str) -> dict[str, Any]:
    """`metadata.import` facts linking a sub-agent's session to its parent and
    to the `task` call that started it (`call`: that part, when found)."""
    facts: dict[str, str | None] = {"parent": f"{source}:{parent}", "agent_id": session_id}
    if call is not None:
        facts["tool_call_id"] = one_line(call.get("callID")) or one_line(call.get("id"))
        facts["agent_type"] = one_line(obj(obj(call.get("state")).get("input")).get("subagent_type"))
    return {k: v for k, v in facts.items() if v}


def _started(part: Any, session_id: str) -> bool:
    """Whether a part is the `task` call that started session `session_id`."""
    part = obj(part)
    return (part.get("type") == "tool" and part.get("tool") == TASK_TOOL
            and obj(obj(part.get("state")).get("metadata")).get("sessionId") == session_id)


def call_in_database(db: sqlite3.Connection, parent: str, session_id: str) -> dict[str, Any] | None:
    """The parent's `task` part that started `session_id`, from `opencode.db`."""
    rows = db.execute("select id, data from part where session_id = ? and instr(data, ?) > 0 order by id",
                      (parent, session_id)).fetchall()
    for part_id, data in rows:
        part = _parsed(data)
        if _started(part, session_id):
            return {**part, "id": part_id}
    return None


def call_in_storage(storage: Path, parent: str, session_id: str) -> dict[str, Any] | None:
    """The parent's `task` part that started `session_id`, from the JSON
    storage (`message/<parent>/*.json`, then `part/<message>/*.json`); a
    file of the parent that cannot be read is the parent's problem, reported
    when the parent is read."""
    wanted = session_id.encode()
    for message_file in json_files(storage / "message" / parent):
        for part_file in json_files(storage / "part" / message_file.stem):
            data = read_bytes(part_file, [])
            if data is not None and wanted in data and _started(part := _parsed(data), session_id):
                return {**part, "id": part_file.stem}
    return None


def _parsed(data: Any) -> dict[str, Any]:
    try:
        return obj(loads(data)) if isinstance(data, (str, bytes)) else {}
    except ValueError:
        return {}
