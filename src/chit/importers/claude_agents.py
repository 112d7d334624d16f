"""Claude Code sub-agents: each one's transcript becomes a child session.

Claude Code writes the work of a sub-agent (started by the `Task` tool, or
`Agent` in later versions) to its own file: `<session>/subagents/agent-<agent
id>.jsonl` (older versions: `agent-<agent id>.jsonl` beside the sessions).
Every record in it is a sidechain record (`isSidechain: true`) carrying the
`agentId` and the parent's `sessionId`.

Invariants:
- a sub-agent's session has the source id `<parent session id>/agent-<agent
  id>`, so its key is its parent's key followed by `model.AGENT_KEY`: that
  is how `ls` lists it under its parent, whichever order the two files are
  imported in, and before the parent is imported at all;
- the tool call that started it is read from the parent's transcript: a
  `tool_result` whose `toolUseResult.agentId` names the agent, or an
  `agent_progress` record's `parentToolUseID`. Its input gives the
  sub-agent's type and description (the session's title). A file whose
  parent transcript is missing is still imported, without those;
- the transcripts of Claude Code's own compaction agents (`acompact-…`)
  are not imported: the summary they wrote is already in the parent, as
  its compaction summary. Nor are the warm-up transcripts Claude Code 2.0
  writes for each built-in agent type at every start (the prompt
  "Warmup" and a reply): no one asked for them, and the session they name
  is often an empty file a resume left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from chit.importers.base import Problem, SourceSession, file_stamp, loads, obj, one_line, read_bytes

_NAME = re.compile(r"^agent-(.+)\.jsonl$")
COMPACTION_PREFIX = "acompact-"
#: the whole prompt of Claude Code's own warm-up of an agent type
WARM_UP_PROMPT = "Warmup"


@dataclass(frozen=True)
class AgentFile:
    """Where a sub-agent's transcript belongs."""

    agent_id: str
    parent_session: str
    parent_path: Path

    @property
    def source_id(self) -> str:
        return f"{self.parent_session}/agent-{self.agent_id}"

    @property
    def compaction(self) -> bool:
        return self.agent_id.startswith(COMPACTION_PREFIX)


def warm_up(records: list[tuple[int, dict[str, Any]]]) -> bool:
    """Whether a sub-agent's transcript is Claude Code's warm-up: its first
    prompt is the bare word "Warmup"."""
    first = next((r for _, r in records if r.get("type") == "user"), None)
    return first is not None and obj(first.get("message")).get("content") == WARM_UP_PROMPT


@dataclass(frozen=True)
class TaskCall:
    """The parent's tool call that started a sub-agent."""

    call_id: str
    agent_type: str | None = None
    description: str | None = None


def agent_file(path: Path, records: list[tuple[int, dict[str, Any]]]) -> AgentFile | None:
    """The sub-agent a transcript belongs to, when it is one: every record
    with a uuid is a sidechain record."""
    threaded = [r for _, r in records if isinstance(r.get("uuid"), str)]
    if not threaded or any(r.get("isSidechain") is not True for r in threaded):
        return None
    named = _NAME.match(path.name)
    agent_id = next((a for r in threaded if (a := one_line(r.get("agentId")))), None) or (named.group(1) if named else None)
    session = next((s for r in threaded if (s := one_line(r.get("sessionId")))), None)
    if agent_id is None or session is None or "/" in session:
        return None
    beside = path.parent.parent.parent if path.parent.name == "subagents" else path.parent
    return AgentFile(agent_id, session, beside / f"{session}.jsonl")


def parent_stamp(path: Path) -> str | None:
    """The stamp of the parent transcript of a sub-agent file, judged from
    its place alone (`<session>/subagents/agent-*.jsonl`), else None: the
    link to the tool call is read there, so it is part of the file's stamp."""
    if path.parent.name != "subagents" or not _NAME.match(path.name):
        return None
    return file_stamp(path.parent.parent.with_name(path.parent.parent.name + ".jsonl"))


def link(session: SourceSession, agent: AgentFile, source: str, problems: list[Problem]) -> None:
    """Name a sub-agent's session after its task and link it to its parent
    session and the tool call that started it."""
    call = task_call(agent, problems)
    facts = {
        "parent": f"{source}:{agent.parent_session}",
        "agent_id": agent.agent_id,
        "tool_call_id": call.call_id if call else None,
        "agent_type": call.agent_type if call else None,
    }
    session.metadata.update({k: v for k, v in facts.items() if v})
    if call is not None and call.description:
        session.title = call.description


def task_call(agent: AgentFile, problems: list[Problem]) -> TaskCall | None:
    """The tool call that started `agent`, from its parent's transcript."""
    if not agent.parent_path.is_file():
        return None
    calls = _task_calls(str(agent.parent_path), file_stamp(agent.parent_path))
    if calls is None:
        problems.append(Problem(str(agent.parent_path), None, "cannot read the parent transcript of a sub-agent"))
        return None
    return calls.get(agent.agent_id)


@lru_cache(maxsize=4)
def _task_calls(path: str, stamp: str) -> dict[str, TaskCall] | None:
    """agent id -> its tool call, for every sub-agent a transcript started
    (cached by the file's stamp: a parent has many sub-agents)."""
    data = read_bytes(Path(path), [])
    if data is None:
        return None
    started: dict[str, str] = {}  # agent id -> tool call id
    for line in data.split(b"\n"):
        if b'"agentId"' in line:
            for agent, call in _started_by(line):
                started.setdefault(agent, call)
    wanted = set(started.values())
    inputs: dict[str, dict[str, Any]] = {}
    for line in data.split(b"\n"):
        if b'"tool_use"' in line and any(c.encode() in line for c in wanted):
            inputs.update(_tool_inputs(line, wanted))
    return {
        agent: TaskCall(call, one_line(inputs.get(call, {}).get("subagent_type")), one_line(inputs.get(call, {}).get("description")))
        for agent, call in started.items()
    }


def _started_by(line: bytes) -> list[tuple[str, str]]:
    """(agent id, tool call id) pairs a parent's record names."""
    record = _record(line)
    data, result = obj(record.get("data")), obj(record.get("toolUseResult"))
    if record.get("type") == "progress" and data.get("type") == "agent_progress":
        agent, call = one_line(data.get("agentId")), one_line(record.get("parentToolUseID"))
        return [(agent, call)] if agent and call else []
    agent = one_line(result.get("agentId"))
    content = obj(record.get("message")).get("content")
    calls = [one_line(b.get("tool_use_id")) for b in content if isinstance(b, dict) and b.get("type") == "tool_result"] if isinstance(content, list) else []
    return [(agent, calls[0])] if agent and len(calls) == 1 and calls[0] else []


def _tool_inputs(line: bytes, wanted: set[str]) -> dict[str, dict[str, Any]]:
    content = obj(_record(line).get("message")).get("content")
    if not isinstance(content, list):
        return {}
    return {
        b["id"]: obj(b.get("input"))
        for b in content
        if isinstance(b, dict) and b.get("type") == "tool_use" and b.get("id") in wanted
    }


def _record(line: bytes) -> dict[str, Any]:
    try:
        return obj(loads(line))
    except ValueError:
        return {}
