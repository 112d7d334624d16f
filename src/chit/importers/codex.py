"""Codex CLI rollouts: `~/.codex/sessions/YYYY/MM/DD/rollout-<ts>-<id>.jsonl`.

One `{timestamp, type, payload}` record per line: `session_meta` (id, cwd,
git, cli version), `turn_context` (model, cwd per turn), `response_item`
(what the model saw and said) and `event_msg` (the UI's stream).

Invariants:
- `response_item`s are the conversation; `event_msg` user and agent
  messages repeat them for the UI and are skipped. A `user_message` event
  is a user message when no `response_item` prompt carries its turn (newer
  and Desktop rollouts write some prompts only as events); in a rollout
  without turn ids, when no `response_item` prompt has its text.
  A rollout with no `response_item` message at all (a UI-only log) is read
  from its `event_msg`s alone;
- `token_count` events give each model call's usage (`last_token_usage`;
  an event repeating the previous totals is the same call, counted once),
  put on the message the call wrote: the last one before the event, or,
  in a rollout whose first count comes before any such message (Codex 0.47
  to 0.60 write a call's count before its items), the next one after it;
- message roles: `user` → user, `assistant` → assistant (with the turn's
  model), `developer`/`system` → system. Context Codex injects as a user
  message (`<environment_context>`, `<user_instructions>`, AGENTS.md
  instructions…, and Desktop's IDE context before `## My request for
  Codex:`) becomes a system message with `metadata.injected`, split from
  the prompt when one message holds both; a rollout of system messages
  alone (that context, no exchange) is skipped (`no conversation`);
- `function_call`, `custom_tool_call`, `local_shell_call` and
  `web_search_call` → tool messages (`tool_kind: "call"`), their outputs →
  tool messages (`tool_kind: "result"`), joined by `tool_call_id`; a shell
  output's JSON wrapper is unwrapped to its text (exit code kept), and the
  plain-text form (`Process exited with code N` / `Exit code: N`, then
  `Output:`) gives its exit code; a non-zero code marks a failed call;
- a `compacted` record (Codex compacted the conversation) → a system
  message with `metadata.compact_summary`: the summary Codex went on
  from; the compaction call's own reply (a `response_item` Codex 0.171
  marks `compaction_output`) is that summary again, not a reply, and is
  skipped;
- an attached image is `[image]` (the `<image …>` / `</image>` text blocks
  Codex wraps it in are dropped), and a prompt is compared with its event
  by its text alone; a turn that ended in an error (`task_complete` with
  an `error`, Codex 0.171) → a system message with `metadata.subtype`
  `error`;
- `reasoning` is never content: its summary goes to `metadata.thinking` of
  the next assistant message or tool call; encrypted reasoning is dropped;
- rollouts have no record ids, so message ids derive from line numbers,
  which an append never changes; the turn id is the invocation id.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from chit.importers.base import (
    Batch,
    Problem,
    Scan,
    Source,
    SourceSession,
    Tail,
    Transcript,
    json_text,
    loads,
    tokens_of,
    obj,
    one_line,
    scan_files,
    text,
    ts_from_text,
)
from chit.importers.follow import Seen, answered_state, read_marked, read_new
from chit.model import Message, Tokens

NAME = "codex"
_ID_IN_NAME = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$", re.I)
INJECTED = ("<environment_context>", "<user_instructions>", "# AGENTS.md instructions", "<user_shell_command>", "<turn_aborted>")
_IDE_CONTEXT, _IDE_REQUEST = "# Context from my IDE setup:", "## My request for Codex:"
#: the text blocks Codex puts around an attached image (`<image name=[Image #1]>` … `</image>`)
_IMAGE_TAG = re.compile(r"(?:<image(?: [^>\n]*)?>|</image>)\s*")
_EXIT = re.compile(r"^(?:Process exited with code|Exit code:) (-?[0-9]+)$", re.M)
ITEM_TYPES = {"message", "reasoning", "function_call", "function_call_output", "custom_tool_call",
              "custom_tool_call_output", "local_shell_call", "web_search_call"}


def default_path() -> Path:
    home = os.environ.get("CODEX_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".codex") / "sessions"


def scan(path: Path) -> Scan:
    return scan_files(NAME, path, "rollout-*.jsonl", read_file, follow_file)


SOURCE = Source(NAME, default_path, scan, "Codex CLI rollouts (~/.codex/sessions)")


def read_file(path: Path) -> Batch:
    batch = Batch()
    records, mark = read_marked(path, batch.problems, _normalise)
    meta = obj(next((r["payload"] for _, r in records if r["type"] == "session_meta"), None))
    session_id = one_line(meta.get("id")) or _id_from_name(path)
    if session_id is None:
        batch.problems.append(Problem(str(path), None, "no session id (no session_meta line, none in the file name)"))
        return batch
    times = [t for _, r in records if (t := ts_from_text(r.get("timestamp")))]
    start = ts_from_text(meta.get("timestamp")) or (min(times) if times else "1970-01-01T00:00:00.000000Z")
    mapper = _Mapper(path, session_id, start, batch.problems)
    ui_only = not any(_is_message(r) for _, r in records)
    mapper.prompted_turns, mapper.prompts = _prompts(records)
    for number, record in records:
        mapper.record(number, record, ui_only)
    mapper.finish()
    if not mapper.out.messages:
        batch.skipped.append((str(path), "no messages"))
        return batch
    if all(m.role == "system" for m in mapper.out.messages):  # only what Codex writes before a first prompt
        batch.skipped.append((str(path), "no conversation"))
        return batch
    git = obj(meta.get("git"))
    metadata = {
        "path": str(path),
        "git_branch": one_line(git.get("branch")),
        "git_commit": one_line(git.get("commit_hash")),
        "git_repository": one_line(git.get("repository_url")),
        "version": one_line(meta.get("cli_version")),
        "originator": one_line(meta.get("originator")),
        "model_provider": one_line(meta.get("model_provider")),
    }
    cwd = meta.get("cwd") if isinstance(meta.get("cwd"), str) else mapper.cwd
    batch.sessions.append(SourceSession(
        NAME, session_id, start, mapper.out.messages, cwd=text(cwd) if cwd else None,
        metadata={k: v for k, v in metadata.items() if v},
    ))
    if mark is not None and not batch.problems and not mapper.turnless:
        fixed = {"start": start, "start_fixed": ts_from_text(meta.get("timestamp")) is not None, "cwd_fixed": cwd is not None}
        batch.resume = {"mark": mark, "ui_only": ui_only, **fixed, **mapper.state()}
    return batch


def follow_file(path: Path, state: dict[str, Any]) -> Tail | None:
    """The messages the lines added to a rollout since `state` hold, or
    None when they may change what was read before (a new `session_meta`,
    a first working directory, tokens for an earlier message, a prompt
    for a turn already given one from its event) or cannot be told apart
    without the whole file (a rollout without turn ids)."""
    got = read_new(path, state.get("mark"))
    if got is None:
        return None
    lines, mark, read = got
    if state.get("leftover", True):
        return None  # a count read before may belong to a new line's message
    records = [(n, _normalise(r)) for n, r in lines]
    if any(r["type"] == "session_meta" for _, r in records) or (state["ui_only"] and any(_is_message(r) for _, r in records)):
        return None
    if not state["start_fixed"] and any((t := ts_from_text(r.get("timestamp"))) and t < state["start"] for _, r in records):
        return None
    problems: list[Problem] = []
    mapper = _Mapper.resumed(path, state, problems)
    turns, texts = _prompts(records, mapper.turn)
    if texts or turns & mapper.event_turns:
        return None
    mapper.prompted_turns |= turns
    for number, record in records:
        mapper.record(number, record, state["ui_only"])
    mapper.finish()
    grown = {**state, "mark": mark, **mapper.state()}
    if problems or mapper.turnless or mapper.reached_back or (not state["cwd_fixed"] and mapper.cwd):
        return None
    if mapper.out.doubtful or grown["answered"] is None:
        return None  # a result for a call answered before, or too many answered since the whole read
    return Tail(mapper.out.messages, grown, read)


def _is_message(record: dict[str, Any]) -> bool:
    return bool(record["type"] == "response_item" and record["payload"].get("type") == "message")


def _id_from_name(path: Path) -> str | None:
    found = _ID_IN_NAME.search(path.name)
    return found.group(1).lower() if found else None


def _normalise(record: dict[str, Any]) -> dict[str, Any]:
    """Older rollouts put items on the line itself, without a wrapper."""
    kind = record.get("type")
    if isinstance(record.get("payload"), dict) and isinstance(kind, str):
        return record
    if isinstance(kind, str) and kind in ITEM_TYPES:
        return {"timestamp": record.get("timestamp"), "type": "response_item", "payload": record}
    if "id" in record and "timestamp" in record and "type" not in record:
        return {"timestamp": record.get("timestamp"), "type": "session_meta", "payload": record}
    return {"timestamp": record.get("timestamp"), "type": "unknown", "payload": {}}


class _Mapper:
    def __init__(self, path: Path, session_id: str, start: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        self.out = Transcript(NAME, session_id, start)
        self.model: str | None = None
        self.cwd: str | None = None
        self.turn: str | None = None
        #: the turns a `response_item` prompt carries, and (for rollouts
        #: without turn ids) the text of each such prompt, with its count
        self.prompted_turns: set[str] = set()
        self.prompts: Counter[str] = Counter()
        self.totals: Any = None  # the last token_count's running totals
        #: what following the file needs: turns given a prompt from their
        #: event, whether a prompt event came outside any turn, whether
        #: messages read before could take a token count, and whether one
        #: of the new lines gave them one
        self.event_turns: set[str] = set()
        self.turnless = False
        self.earlier_target = False
        self.reached_back = False
        #: whether this rollout writes a call's count before its items (None: no count yet)
        self.count_first: bool | None = None
        self.pending: Tokens | None = None  # usage counted before the message its call wrote
        self.leftover = False  # a count with no message after it went on the last one before it

    def state(self) -> dict[str, Any]:
        """What `resumed` needs to go on mapping after the last record."""
        out = self.out
        return {
            "session_id": out.session_id, "model": self.model, "cwd": self.cwd, "turn": self.turn, "totals": self.totals,
            "prompted_turns": sorted(self.prompted_turns), "event_turns": sorted(self.event_turns),
            "earlier_target": self.earlier_target or _target(out.messages) is not None,
            "last_ts": out.last_ts, "thinking": list(out.thinking), "calls": out.calls(), "answered": answered_state(out),
            "pending": [self.pending.input, self.pending.output] if self.pending is not None else None,
            "count_first": self.count_first, "leftover": self.leftover,
        }

    @classmethod
    def resumed(cls, path: Path, state: dict[str, Any], problems: list[Problem]) -> _Mapper:
        mapper = cls(path, state["session_id"], state["last_ts"], problems)
        mapper.model, mapper.cwd, mapper.turn, mapper.totals = state["model"], state["cwd"], state["turn"], state["totals"]
        mapper.prompted_turns = set(state["prompted_turns"])
        mapper.event_turns = set(state["event_turns"])
        mapper.earlier_target = bool(state["earlier_target"])
        mapper.pending = tokens_of(*state["pending"]) if state["pending"] is not None else None
        mapper.count_first = state["count_first"]
        mapper.out.resume(state["thinking"], state["calls"], Seen.load(state["answered"]))
        return mapper

    def record(self, number: int, record: dict[str, Any], ui_only: bool) -> None:
        kind, payload = record["type"], record["payload"]
        ts = ts_from_text(record.get("timestamp"))
        written = len(self.out.messages)
        try:
            if kind == "turn_context":
                self.model = one_line(payload.get("model")) or self.model
                self.cwd = self.cwd or (payload["cwd"] if isinstance(payload.get("cwd"), str) else None)
                self.turn = one_line(payload.get("turn_id")) or self.turn
            elif kind == "event_msg":
                self._event(number, payload, ts, ui_only)
            elif kind == "compacted":
                self.out.add("system", text(payload.get("message")), f"L{number}", ts, compact_summary=True)
            elif kind == "response_item" and not obj(record.get("metadata")).get("compaction_output"):
                self._item(number, payload, ts)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            self.problems.append(Problem(str(self.path), number, f"unusable {kind} record ({type(exc).__name__})"))
        if self.pending is not None and (index := _target(self.out.messages[written:])) is not None:
            self._add_tokens(written + index, self.pending)  # the message the counted call wrote
            self.pending = None

    def _event(self, number: int, payload: dict[str, Any], ts: str | None, ui_only: bool) -> None:
        kind = payload.get("type")
        if kind == "task_started":
            self.turn = one_line(payload.get("turn_id")) or self.turn
        elif kind == "token_count":
            self._tokens(obj(payload.get("info")))
        elif kind == "user_message":
            body = text(payload.get("message"))
            if self.turn is not None:
                if self.turn not in self.prompted_turns:
                    self.event_turns.add(self.turn)
                    self._message(number, "user", body, ts)
            else:
                self.turnless = True  # which prompts these events repeat, only the whole file tells
                if self.prompts[body.strip()] > 0:
                    self.prompts[body.strip()] -= 1  # a response_item has this prompt
                else:
                    self._message(number, "user", body, ts)
        elif kind == "task_complete" and isinstance(payload.get("error"), dict):
            self.out.add("system", text(payload["error"].get("message")), f"L{number}", ts, subtype="error")
        elif ui_only and kind == "agent_message":
            self._message(number, "assistant", text(payload.get("message")), ts)
        elif ui_only and kind == "agent_reasoning":
            self.out.think(text(payload.get("text")))

    def _tokens(self, info: dict[str, Any]) -> None:
        """A model call's usage, on the last message it wrote."""
        totals, last = info.get("total_token_usage"), obj(info.get("last_token_usage"))
        if not last or (totals is not None and totals == self.totals):
            return  # no usage yet, or the previous call's again
        self.totals = totals
        tokens = tokens_of(last.get("input_tokens"), last.get("output_tokens"))
        if tokens is None:
            return
        index = _target(self.out.messages)
        if self.count_first is None and index is None and self.earlier_target:
            self.reached_back = True  # a message read before the new lines may take them: only a whole read can say
            return
        if self.count_first is None:
            self.count_first = index is None  # the first count came before anything a call wrote
        if self.count_first:
            self.pending = _sum(self.pending, tokens)  # for the next message a call writes
        elif index is None:
            self.reached_back = self.reached_back or self.earlier_target
        else:
            self._add_tokens(index, tokens)

    def _add_tokens(self, index: int, tokens: Tokens) -> None:
        messages = self.out.messages
        messages[index] = replace(messages[index], tokens=_sum(messages[index].tokens, tokens))

    def finish(self) -> None:
        """A count no message followed (the rollout ends mid-call) goes on
        the last message a call wrote, so the session's totals are Codex's
        own; a grown file may give it a later one, which only a whole read
        can tell."""
        if self.pending is None:
            return
        index = _target(self.out.messages)
        if index is None:
            self.reached_back = True
            return
        self._add_tokens(index, self.pending)
        self.pending = None
        self.leftover = True

    def _item(self, number: int, item: dict[str, Any], ts: str | None) -> None:
        kind = item.get("type")
        local = f"L{number}"
        source_id = one_line(item.get("id"))
        if kind == "message" and item.get("role") == "user":
            context, prompt = _split_context(item.get("content"))
            if context and prompt.strip():  # context Codex added, then the prompt, in one message
                self.out.add("system", context, f"{local}#context", ts, source_id=source_id, injected=True)
                self.out.add("user", prompt, local, ts, source_id=source_id)
            else:
                self._message(number, "user", _content(item.get("content")), ts, source_id)
        elif kind == "message":
            self._message(number, text(item.get("role")), _content(item.get("content")), ts, source_id)
        elif kind == "reasoning":
            summary = item.get("summary")
            if isinstance(summary, list):
                self.out.think("\n\n".join(text(s.get("text")) for s in summary if isinstance(s, dict)))
        elif kind in ("function_call", "custom_tool_call", "local_shell_call", "web_search_call"):
            call_id = one_line(item.get("call_id") or item.get("id"))
            name = one_line(item.get("name")) or {"local_shell_call": "shell", "web_search_call": "web_search"}.get(kind)
            self.out.add("tool", _call_input(item), local, ts, model=self.model, invocation_id=self.turn,
                         source_id=source_id, tool_kind="call", tool_name=name, tool_call_id=call_id)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            call_id = one_line(item.get("call_id"))
            output, extra = _output(item.get("output"))
            self.out.add("tool", output, local, ts, invocation_id=self.turn, tool_kind="result",
                         tool_call_id=call_id, **extra)

    def _message(self, number: int, role: str, body: str, ts: str | None, source_id: str | None = None) -> None:
        local = f"L{number}"
        if role == "assistant":
            self.out.add("assistant", body, local, ts, model=self.model, invocation_id=self.turn, source_id=source_id)
        elif role == "user" and body.lstrip().startswith(INJECTED):
            self.out.add("system", body, local, ts, source_id=source_id, injected=True)
        elif role == "user":
            self.out.add("user", body, local, ts, source_id=source_id)
        elif role in ("developer", "system"):
            self.out.add("system", body, local, ts, source_id=source_id, source_role=role)


def _sum(held: Tokens | None, more: Tokens) -> Tokens | None:
    """Two calls' usage together (two calls with no message between both count)."""
    if held is None:
        return more
    return tokens_of((held.input or 0) + (more.input or 0), (held.output or 0) + (more.output or 0))


def _target(messages: list[Message]) -> int | None:
    """The index of the message a token count goes on: the last one a model
    call wrote."""
    return next((i for i in range(len(messages) - 1, -1, -1) if messages[i].metadata.get("tool_kind") != "result"
                 and messages[i].role in ("assistant", "tool")), None)


def _prompts(records: list[tuple[int, dict[str, Any]]], turn: str | None = None) -> tuple[set[str], Counter[str]]:
    """The turn ids holding a `response_item` prompt, and the texts of the
    prompts outside any turn id (older rollouts have none); `turn`: the
    turn the records start in."""
    turns: set[str] = set()
    texts: Counter[str] = Counter()
    for _, record in records:
        kind, payload = record["type"], record["payload"]
        if kind == "turn_context" or (kind == "event_msg" and payload.get("type") == "task_started"):
            turn = one_line(payload.get("turn_id")) or turn
        elif kind == "response_item" and (prompt := _prompt_text(payload)):
            if turn is not None:
                turns.add(turn)
            else:
                texts[prompt] += 1
    return turns, texts


def _prompt_text(item: dict[str, Any]) -> str:
    """The text of the prompt a `response_item` user message carries ("" for
    others), without its images, as its `user_message` event has it."""
    if item.get("type") != "message" or item.get("role") != "user":
        return ""
    return _split_context(item.get("content"), images=False)[1].strip()


def _split_context(content: Any, images: bool = True) -> tuple[str, str]:
    """(injected context, prompt) of a user message: Codex may send its
    context and the person's prompt as blocks of one message, and Desktop
    puts the IDE's context before the request in one block."""
    context: list[str] = []
    prompt: list[str] = []
    for piece in _pieces(content, images):
        if piece.lstrip().startswith(INJECTED):
            context.append(piece)
        elif piece.lstrip().startswith(_IDE_CONTEXT) and _IDE_REQUEST in piece:
            ide, request = piece.split(_IDE_REQUEST, 1)
            context.append(ide.rstrip())
            prompt.append(request.strip())
        else:
            prompt.append(piece)
    return "\n".join(context), "\n".join(prompt)


def _content(content: Any) -> str:
    return "\n".join(_pieces(content))


def _pieces(content: Any, images: bool = True) -> list[str]:
    """A message's text blocks, an image as `[image]` (or left out)."""
    if isinstance(content, str):
        return [text(content)]
    if not isinstance(content, list):
        return []
    pieces = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str) and not _IMAGE_TAG.fullmatch(block["text"]):
            pieces.append(text(block["text"]))
        elif images and str(block.get("type", "")).endswith("image"):
            pieces.append("[image]")
    return pieces


def _call_input(item: dict[str, Any]) -> str:
    if isinstance(item.get("arguments"), str):
        return text(item["arguments"])
    if isinstance(item.get("input"), str):
        return text(item["input"])
    action = item.get("action")
    if isinstance(action, dict):
        command = action.get("command")
        if isinstance(command, list):
            return " ".join(text(c) for c in command)
        if isinstance(action.get("query"), str):
            return text(action["query"])
        return json_text(action)
    return json_text(item.get("arguments") or item.get("input") or "")


def _output(output: Any) -> tuple[str, dict[str, Any]]:
    """A tool output's text; a shell output's JSON wrapper is unwrapped."""
    if isinstance(output, dict):
        output = output.get("content", json_text(output))
    if not isinstance(output, str):
        return json_text(output), {}
    head = output.split("\nOutput:\n", 1)[0] if "\nOutput:\n" in output else ""
    if (found := _EXIT.search(head)) is not None:  # newer exec output: plain text
        exit_code = int(found.group(1))
        return text(output), {"exit_code": exit_code, "tool_error": exit_code != 0}
    if output.startswith("{") and '"output"' in output:
        try:
            wrapper = loads(output)
        except ValueError:
            return text(output), {}
        if isinstance(wrapper, dict) and isinstance(wrapper.get("output"), str):
            meta = obj(wrapper.get("metadata"))
            code = meta.get("exit_code")
            extra = {"exit_code": code} if isinstance(code, int) and not isinstance(code, bool) else {}
            if extra and code != 0:
                extra["tool_error"] = True
            return text(wrapper["output"]), extra
    return text(output), {}
