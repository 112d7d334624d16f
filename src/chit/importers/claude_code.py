"""Claude Code transcripts: `~/.claude/projects/<dir>/<session uuid>.jsonl`.

One JSON record per line. `user`, `assistant` and `system` records are the
conversation; `progress`, `file-history-snapshot`, `queue-operation` and
other record types are the UI's and are skipped. Records form a tree by
`uuid` / `parentUuid`.

Invariants:
- only the live thread is imported: the `parentUuid` chain (across a
  compaction, `logicalParentUuid`) from the file's last main-thread record
  back to the root. A parent missing from the file (a compaction's logical
  parent Claude Code did not keep, a corrupt line) continues the chain
  with the conversation record before it in the file; only a record with
  no parent (not a compaction boundary) is a root. Sub-agent records
  (`isSidechain: true`) never join it; a file holding nothing else is a
  sub-agent's transcript, a child session (`claude_agents`). Off the
  chain, exactly two kinds of record are kept, because Claude Code hangs
  parallel tool use off the chain this way: pieces of an assistant message
  already on the thread (same `message.id`) and tool results answering a
  tool call already kept. An abandoned branch (an edited prompt) starts
  with a user prompt, so it is never kept;
- one chit message per piece of content, in file order: user text → user;
  assistant text → assistant (model, `message.id` as invocation id);
  each `tool_use` → a tool message (`tool_kind: "call"`, content the
  input as JSON) and each `tool_result` → a tool message
  (`tool_kind: "result"`), both with `tool_name` and `tool_call_id`;
  `system` records with text → system;
- thinking is never content: it goes to `metadata.thinking` of the next
  assistant message or tool call of the same model response;
- a reply of Claude Code's `<synthetic>` model (after `/compact` in
  print mode, an API error) was written by Claude Code, not a model: a
  system message (`synthetic`), its zero token counts not counted;
- text Claude Code injects rather than the person types becomes a system
  message: `isMeta` records, compaction summaries, interruption markers,
  local command output (`<local-command-stdout>`) and task notifications.
  A slash command the person typed is tidied to `/name args`: a user
  message when it prompts the model (its expanded prompt or a reply
  follows), else a system message;
- a tool result keeps Claude Code's structured `toolUseResult`;
- the header's facts (`version`, `git_branch`, `slug`) are the first
  record's: a session that grows (across a compaction too) is appended to.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from chit.importers import claude_agents, claude_code_follow
from chit.importers.follow import Seen, answered_state, read_marked
from chit.importers.base import (
    Batch,
    Problem,
    Scan,
    Source,
    SourceSession,
    Transcript,
    Unit,
    json_text,
    one_line,
    scan_files,
    strip_ansi,
    text,
    tokens_of,
    ts_from_text,
)
from chit.model import Tokens
from chit.store.sessions import UUID_RE

NAME = "claude-code"
CONVERSATION = ("user", "assistant", "system")
INPUT_TOKENS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")  # summed; a read keeps these and output_tokens
_COMMAND = re.compile(r"<command-(name|message|args)>(.*?)</command-\1>", re.S)
_OUTPUT = re.compile(r"^\s*<local-command-(stdout|stderr)>(.*?)</local-command-\1>\s*$", re.S)
_INTERRUPTED = re.compile(r"^\[Request interrupted by user[^\]]*\]$")
#: the model Claude Code names in a reply it wrote itself ("No response requested.", API errors)
SYNTHETIC_MODEL = "<synthetic>"
#: text Claude Code writes as a user record that the person did not type
_NOTIFICATION = re.compile(r"^\s*<task-notification>")


def default_path() -> Path:
    config = os.environ.get("CLAUDE_CONFIG_DIR")
    return (Path(config).expanduser() if config else Path.home() / ".claude") / "projects"


def scan(path: Path) -> Scan:
    found = scan_files(NAME, path, "*.jsonl", read_file, claude_code_follow.follow_file)
    # a sub-agent's link to its tool call is read in its parent's transcript
    units = [
        replace(unit, stamp=f"{unit.stamp}+{parent}", follow=None) if (parent := _parent_stamp(unit)) else unit
        for unit in found.units
    ]
    return Scan(units, found.problems)


def _parent_stamp(unit: Unit) -> str | None:
    if f"{os.sep}subagents{os.sep}" not in unit.key:
        return None  # most files: no path to build
    return claude_agents.parent_stamp(Path(unit.key[len(NAME) + 1 :]))


SOURCE = Source(NAME, default_path, scan, "Claude Code transcripts (~/.claude/projects)")


def read_file(path: Path) -> Batch:
    batch = Batch()
    records, mark = read_marked(path, batch.problems, claude_code_follow.slim)
    agent = claude_agents.agent_file(path, records)
    if agent is not None and agent.compaction:
        batch.skipped.append((str(path), "compaction transcript"))
        return batch
    if agent is not None and claude_agents.warm_up(records):
        batch.skipped.append((str(path), "warm-up transcript"))
        return batch
    # a sub-agent's transcript is all sidechain: its thread is made of those
    # (the same (number, record) pairs: a long transcript's are not copied)
    main = [item for item in records if (agent or item[1].get("isSidechain") is not True) and isinstance(item[1].get("uuid"), str)]
    conversation = [item for item in main if item[1].get("type") in CONVERSATION]
    if not conversation:
        sidechain = any(r.get("isSidechain") is True for _, r in records)
        batch.skipped.append((str(path), "sub-agent transcript" if sidechain else "no conversation"))
        return batch
    session_id = agent.source_id if agent else _session_id(path, conversation)
    kept = _live_thread(main, conversation[-1][1])
    live = [item for item in conversation if item[1]["uuid"] in kept]
    session, mapper = _session(path, session_id, live, records, batch.problems)
    if agent is not None:
        claude_agents.link(session, agent, NAME, batch.problems)
    if session.messages:
        batch.sessions.append(session)
    else:
        batch.skipped.append((str(path), "no messages"))
    if agent is None and mark is not None and session.messages and not batch.problems:
        batch.resume = claude_code_follow.whole_state(mark, main, kept, live, session, mapper.state())
    return batch


def _session_id(path: Path, records: list[tuple[int, dict[str, Any]]]) -> str:
    if UUID_RE.match(path.stem.lower()):
        return path.stem.lower()
    for _, record in records:
        value = one_line(record.get("sessionId"))
        if value:
            return value
    return one_line(path.stem) or "unnamed"


# -- the live thread ---------------------------------------------------------


def _live_thread(main: list[tuple[int, dict[str, Any]]], leaf: dict[str, Any]) -> set[str]:
    """uuids of the thread ending at `leaf` (the last conversation record:
    hook progress written after it hangs off the same thread)."""
    by_uuid = {r["uuid"]: r for _, r in main}
    before = _previous_records(main)
    kept: set[str] = set()
    current: dict[str, Any] | None = leaf
    while current is not None and current["uuid"] not in kept:
        kept.add(current["uuid"])
        parent = current.get("parentUuid") or current.get("logicalParentUuid")
        if not isinstance(parent, str) and current.get("subtype") != "compact_boundary":
            break  # a root: nothing came before it
        # A parent that is not in the file (a compaction's logical parent
        # Claude Code did not keep or name, a corrupt line) does not end the
        # thread: it continues with the conversation record before this one.
        current = (by_uuid.get(parent) if isinstance(parent, str) else None) or before.get(current["uuid"])
    # parallel tool use hangs off the chain: pull in the pieces that belong
    while True:
        message_ids = {_message_id(by_uuid[u]) for u in kept} - {None}
        call_ids = {c for u in kept for c in _tool_use_ids(by_uuid[u])}
        more = {
            u
            for u, r in by_uuid.items()
            if u not in kept
            and (
                (r.get("type") == "assistant" and _message_id(r) in message_ids)
                or (r.get("type") == "user" and _result_ids(r) and _result_ids(r) <= call_ids)
            )
        }
        if not more:
            return kept
        kept |= more


def _previous_records(main: list[tuple[int, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """uuid -> the main-thread conversation record before it in the file."""
    before: dict[str, dict[str, Any]] = {}
    last: dict[str, Any] | None = None
    for _, record in main:
        if last is not None:
            before[record["uuid"]] = last
        if record.get("type") in CONVERSATION:
            last = record
    return before


def _message(record: dict[str, Any]) -> dict[str, Any]:
    message = record.get("message")
    return message if isinstance(message, dict) else {}


def _blocks(record: dict[str, Any]) -> list[dict[str, Any]]:
    content = _message(record).get("content")
    if isinstance(content, list):
        return [b for b in content if isinstance(b, dict)]
    return []


def _message_id(record: dict[str, Any]) -> str | None:
    value = _message(record).get("id")
    return value if isinstance(value, str) else None


def _tool_use_ids(record: dict[str, Any]) -> Iterator[str]:
    for block in _blocks(record):
        if block.get("type") in ("tool_use", "server_tool_use") and isinstance(block.get("id"), str):
            yield block["id"]


def _result_ids(record: dict[str, Any]) -> set[str]:
    return {
        b["tool_use_id"] for b in _blocks(record) if b.get("type") == "tool_result" and isinstance(b.get("tool_use_id"), str)
    }


# -- mapping -----------------------------------------------------------------


def _session(
    path: Path,
    session_id: str,
    live: list[tuple[int, dict[str, Any]]],
    records: list[tuple[int, dict[str, Any]]],
    problems: list[Problem],
) -> tuple[SourceSession, _Mapper]:
    times = [t for _, r in live if (t := ts_from_text(r.get("timestamp")))]
    start = min(times) if times else ts_from_text(live[0][1].get("timestamp")) or "1970-01-01T00:00:00.000000Z"
    cwd = next((c for _, r in live if (c := r.get("cwd")) and isinstance(c, str)), None)
    mapper = _Mapper(path, session_id, start, cwd, live, problems)
    for number, record in live:
        mapper.record(number, record)
    mapper.finish()
    first = live[0][1]
    metadata = {  # the first record's: a slug given at a /compact must not change the header
        "path": str(path), "git_branch": one_line(first.get("gitBranch")),
        "version": one_line(first.get("version")),
        "slug": one_line(first.get("slug")),
    }
    return SourceSession(
        NAME,
        session_id,
        start,
        mapper.out.messages,
        title=_title(records, {r["uuid"] for _, r in live}),
        cwd=text(cwd) if cwd else None,
        metadata={k: v for k, v in metadata.items() if v},
    ), mapper


def _title(records: list[tuple[int, dict[str, Any]]], live: set[str]) -> str | None:
    """A title the person gave (`/rename`), else Claude Code's summary of
    this thread."""
    custom = [one_line(r.get("customTitle")) for _, r in records if r.get("type") == "custom-title"]
    if custom and custom[-1]:
        return custom[-1]
    summaries = [one_line(r.get("summary")) for _, r in records if r.get("type") == "summary" and r.get("leafUuid") in live]
    return summaries[-1] if summaries else None


class _Mapper:
    def __init__(
        self,
        path: Path,
        session_id: str,
        start: str,
        cwd: str | None,
        live: list[tuple[int, dict[str, Any]]],
        problems: list[Problem],
    ) -> None:
        self.path = path
        self.cwd = cwd
        self.problems = problems
        self.out = Transcript(NAME, session_id, start)
        self.commands: set[str] = set()  # slash commands typed since the last reply
        self.usage: dict[str, dict[str, Any]] = {}  # message.id -> its latest usage
        self.prompting = _prompting_commands(live)
        self.start = start

    def state(self) -> dict[str, Any]:
        """What `resume` needs to go on mapping after the last record."""
        out = self.out
        return {"session_id": out.session_id, "start": self.start, "cwd": self.cwd, "last_ts": out.last_ts,
                "commands": sorted(self.commands), "thinking": list(out.thinking), "calls": out.calls(),
                "answered": answered_state(out)}

    def resume(self, state: dict[str, Any]) -> None:
        """Go on from the end of an earlier read, for the lines it gained."""
        self.start = state["start"]
        self.commands = set(state["commands"])
        self.out.resume(state["thinking"], state["calls"], Seen.load(state["answered"]))

    def record(self, number: int, record: dict[str, Any]) -> None:
        kind = record["type"]
        try:
            if kind == "user":
                self._user(record)
            elif kind == "assistant":
                self._assistant(record)
            else:
                self._system(record)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            self.problems.append(Problem(str(self.path), number, f"unusable {kind} record ({type(exc).__name__})"))

    def _common(self, record: dict[str, Any]) -> dict[str, Any]:
        cwd = record.get("cwd")
        return {
            "source_id": record["uuid"],
            "cwd": text(cwd) if isinstance(cwd, str) and cwd != self.cwd else None,
        }

    def _user(self, record: dict[str, Any]) -> None:
        uid, ts = record["uuid"], ts_from_text(record.get("timestamp"))
        content = _message(record).get("content")
        pieces: list[tuple[int, dict[str, Any]]] = []
        if isinstance(content, str):
            pieces = [(0, {"type": "text", "text": content})]
        elif isinstance(content, list):
            pieces = [(i, b) for i, b in enumerate(content) if isinstance(b, dict)]
        texts: list[str] = []
        results = sum(1 for _, b in pieces if b.get("type") == "tool_result")
        # the tool's structured result, written beside the block it belongs to
        structured = record.get("toolUseResult") if results == 1 else None
        for index, block in pieces:
            kind = block.get("type")
            if kind == "tool_result":
                self._tool_result(record, index, block, ts, structured)
            elif kind == "text":
                texts.append(text(block.get("text")))
            elif kind in ("image", "document"):
                texts.append(f"[{kind}]")
        self._user_text(record, "\n\n".join(t for t in texts if t.strip()), uid, ts)

    def _user_text(self, record: dict[str, Any], body: str, uid: str, ts: str | None) -> None:
        common = self._common(record)
        if record.get("isCompactSummary"):
            self.out.add("system", body, uid, ts, compact_summary=True, **common)
        elif record.get("isMeta"):
            self.out.add("system", body, uid, ts, meta=True, **common)
        elif _INTERRUPTED.match(body.strip()):
            self.out.add("system", body.strip(), uid, ts, interrupted=True, **common)
        elif (output := _OUTPUT.match(body)) is not None:
            self.out.add("system", strip_ansi(output.group(2)).strip(), uid, ts, local_command=True, **common)
        elif _NOTIFICATION.match(body):
            self.out.add("system", body.strip(), uid, ts, task_notification=True, **common)
        elif (command := _command(body)) is not None:
            self.commands.add(command)
            if uid in self.prompting:
                self.out.add("user", command, uid, ts, **common)
            else:  # a command Claude Code runs itself (/clear, /model): no prompt to the model
                self.out.add("system", command, uid, ts, slash_command=True, **common)
        else:
            self.out.add("user", body, uid, ts, **common)

    def _tool_result(
        self, record: dict[str, Any], index: int, block: dict[str, Any], ts: str | None, structured: Any = None,
    ) -> None:
        call_id = block.get("tool_use_id") if isinstance(block.get("tool_use_id"), str) else None
        self.out.add(
            "tool",
            _result_text(block.get("content")),
            f"{record['uuid']}#{index}",
            ts,
            tool_kind="result",
            tool_call_id=call_id,
            tool_error=block.get("is_error") is True,
            tool_use_result=structured,
            **self._common(record),
        )

    def _assistant(self, record: dict[str, Any]) -> None:
        self.commands.clear()
        message = _message(record)
        uid, ts, mid = record["uuid"], ts_from_text(record.get("timestamp")), _message_id(record)
        model = one_line(message.get("model"))
        if model == SYNTHETIC_MODEL:
            self._synthetic(record)
            return
        if mid and isinstance(message.get("usage"), dict):
            self.usage[mid] = message["usage"]
        for index, block in enumerate(_blocks(record)):
            kind, local = block.get("type"), f"{uid}#{index}"
            common = self._common(record)
            if kind == "thinking":
                self.out.think(text(block.get("thinking")))
            elif kind == "text":
                self.out.add("assistant", text(block.get("text")), local, ts, model=model, invocation_id=mid, **common)
            elif kind in ("tool_use", "server_tool_use"):
                name = one_line(block.get("name"))
                call_id = block.get("id") if isinstance(block.get("id"), str) else None
                self.out.add(
                    "tool", json_text(block.get("input")), local, ts, model=model, invocation_id=mid,
                    tool_kind="call", tool_name=name, tool_call_id=call_id, **common,
                )
            elif kind == "web_search_tool_result":
                self.out.add(
                    "tool", _result_text(block.get("content")), local, ts, invocation_id=mid,
                    tool_kind="result", tool_name="web_search", tool_call_id=block.get("tool_use_id"), **common,
                )
        if isinstance(message.get("content"), str):
            self.out.add("assistant", message["content"], uid, ts, model=model, invocation_id=mid, **self._common(record))

    def _synthetic(self, record: dict[str, Any]) -> None:
        """A reply Claude Code wrote itself (no model did, no tokens were
        spent): its text is a system message."""
        if body := _user_body(record).strip():  # the same shape as a user record's text
            self.out.add("system", body, record["uuid"], ts_from_text(record.get("timestamp")), synthetic=True, **self._common(record))

    def finish(self) -> None:
        """Token counts of each model response go on its last message."""
        for index in range(len(self.out.messages) - 1, -1, -1):
            message = self.out.messages[index]
            if message.metadata.get("tool_kind") == "result":
                continue
            usage = self.usage.pop(message.invocation_id or "", None)
            if usage is not None:
                self.out.messages[index] = replace(message, tokens=_usage(usage))

    def _system(self, record: dict[str, Any]) -> None:
        content = record.get("content")
        if not isinstance(content, str) or not content.strip():
            return
        body = strip_ansi(text(content))
        output = _OUTPUT.match(body)
        command = _command(body)
        if command is not None and command in self.commands:
            return  # the same slash command, already kept from its user record
        shown = output.group(2).strip() if output else command or body
        subtype = one_line(record.get("subtype"))
        self.out.add("system", shown, record["uuid"], ts_from_text(record.get("timestamp")), subtype=subtype, **self._common(record))


def _prompting_commands(live: list[tuple[int, dict[str, Any]]]) -> set[str]:
    """uuids of the slash commands that prompt the model: those followed by
    the command's expanded prompt (an `isMeta` record) or by a reply."""
    found: set[str] = set()
    for (_, record), (_, after) in zip(live, live[1:]):
        if record.get("type") != "user" or _command(_user_body(record)) is None:
            continue
        expanded = after.get("type") == "user" and after.get("isMeta") is True
        if expanded or after.get("type") == "assistant":
            found.add(record["uuid"])
    return found


def _user_body(record: dict[str, Any]) -> str:
    content = _message(record).get("content")
    if isinstance(content, str):
        return content
    return "\n\n".join(text(b.get("text")) for b in _blocks(record) if b.get("type") == "text")


def _command(body: str) -> str | None:
    """`/name args` from Claude Code's slash-command markup, else None."""
    if "<command-name>" not in body:
        return None
    parts = {m.group(1): m.group(2).strip() for m in _COMMAND.finditer(body)}
    name = parts.get("name", "")
    if not name:
        return None
    if not name.startswith("/"):
        name = "/" + name
    return f"{name} {parts['args']}" if parts.get("args") else name


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return text(content)
    if isinstance(content, list):
        pieces = []
        for block in content:
            if isinstance(block, dict):
                if isinstance(block.get("text"), str):
                    pieces.append(text(block["text"]))
                elif block.get("type"):
                    pieces.append(f"[{text(block['type'])}]")
            elif isinstance(block, str):
                pieces.append(text(block))
        return "\n".join(pieces)
    return "" if content is None else json_text(content)


def _usage(usage: dict[str, Any]) -> Tokens | None:
    parts = [usage.get(k) for k in INPUT_TOKENS]
    counts = [p for p in parts if isinstance(p, int) and not isinstance(p, bool) and p >= 0]
    return tokens_of(sum(counts) if counts else None, usage.get("output_tokens"))
