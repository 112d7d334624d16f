"""Builders for the source files the importer tests make: Claude Code
transcripts, Codex rollouts, ChatGPT exports and llm log databases (the
last written by the `llm` package itself)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

# session files of other tools, kept in the project (tests/data/README.md gives each one's source)
FIXTURES = Path(__file__).resolve().parent / "data"


def fixture(*parts: str) -> Path:
    """A file or folder of tests/data (it is part of every clone)."""
    path = FIXTURES.joinpath(*parts)
    assert path.exists(), f"{path} is missing from tests/data"
    return path


def write_jsonl(path: Path, records: list[dict[str, Any]], tail: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail, encoding="utf-8")
    return path


def append_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in records))


# -- Claude Code -----------------------------------------------------------------


class Claude:
    """A Claude Code transcript written record by record."""

    def __init__(self, session_id: str | None = None, cwd: str = "/home/dev/proj") -> None:
        self.session_id = session_id or str(uuid.uuid4())
        self.cwd = cwd
        self.records: list[dict[str, Any]] = []
        self.last: str | None = None
        self.second = 0

    def _ts(self) -> str:
        self.second += 1
        return f"2026-03-01T10:{self.second // 60:02d}:{self.second % 60:02d}.000Z"

    def add(self, kind: str, message: dict[str, Any] | None = None, parent: str | None = "last", **extra: Any) -> str:
        uid = str(uuid.uuid4())
        record: dict[str, Any] = {
            "parentUuid": self.last if parent == "last" else parent,
            "isSidechain": False,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.session_id,
            "version": "2.1.0",
            "gitBranch": "main",
            "type": kind,
            "uuid": uid,
            "timestamp": self._ts(),
        }
        if message is not None:
            record["message"] = message
        record.update(extra)
        self.records.append(record)
        if not record["isSidechain"]:
            self.last = uid
        return uid

    def user(self, text: str, parent: str | None = "last", **extra: Any) -> str:
        return self.add("user", {"role": "user", "content": text}, parent, **extra)

    def assistant(self, blocks: list[dict[str, Any]], mid: str, parent: str | None = "last", **extra: Any) -> str:
        message = {"model": "claude-test", "id": mid, "type": "message", "role": "assistant", "content": blocks,
                   "usage": {"input_tokens": 5, "cache_read_input_tokens": 100, "output_tokens": 7}}
        return self.add("assistant", message, parent, **extra)

    def say(self, text: str, mid: str, parent: str | None = "last") -> str:
        return self.assistant([{"type": "text", "text": text}], mid, parent)

    def tool_use(self, name: str, call_id: str, mid: str, parent: str | None = "last") -> str:
        return self.assistant([{"type": "tool_use", "id": call_id, "name": name, "input": {"arg": name}}], mid, parent)

    def tool_result(self, call_id: str, output: str, parent: str | None = "last") -> str:
        content = [{"type": "tool_result", "tool_use_id": call_id, "content": output}]
        return self.add("user", {"role": "user", "content": content}, parent)

    def progress(self) -> str:
        return self.add("progress", None, data={"type": "hook_progress"})

    def write(self, path: Path, tail: str = "") -> Path:
        return write_jsonl(path, self.records, tail)


# -- Codex -------------------------------------------------------------------------


def codex_lines(session_id: str = "019a0000-0000-7000-8000-000000000001", cwd: str = "/home/dev/ledger") -> list[dict[str, Any]]:
    def line(ts: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"timestamp": f"2026-10-05T09:00:{ts:02d}.000Z", "type": kind, "payload": payload}

    def msg(role: str, text: str) -> dict[str, Any]:
        block = "output_text" if role == "assistant" else "input_text"
        return {"type": "message", "role": role, "content": [{"type": block, "text": text}]}

    return [
        line(0, "session_meta", {"id": session_id, "timestamp": "2026-10-05T09:00:00.000Z", "cwd": cwd, "cli_version": "0.1"}),
        line(1, "turn_context", {"turn_id": "t1", "cwd": cwd, "model": "gpt-test"}),
        line(2, "response_item", msg("user", "first question")),
        line(2, "event_msg", {"type": "user_message", "message": "first question"}),
        line(3, "response_item", {"type": "function_call", "name": "shell", "arguments": '{"command":["ls"]}', "call_id": "c1"}),
        line(4, "response_item", {"type": "function_call_output", "call_id": "c1", "output": '{"output":"a.txt\\n","metadata":{"exit_code":1}}'}),
        line(5, "response_item", msg("assistant", "first answer")),
        line(5, "event_msg", {"type": "agent_message", "message": "first answer"}),
    ]


def codex_turn(n: int) -> list[dict[str, Any]]:
    return [
        {"timestamp": f"2026-10-05T09:1{n}:00.000Z", "type": "response_item",
         "payload": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"question {n}"}]}},
        {"timestamp": f"2026-10-05T09:1{n}:00.000Z", "type": "event_msg", "payload": {"type": "user_message", "message": f"question {n}"}},
        {"timestamp": f"2026-10-05T09:1{n}:05.000Z", "type": "response_item",
         "payload": {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": f"answer {n}"}]}},
    ]


# -- ChatGPT -------------------------------------------------------------------------


def chatgpt_conversation(cid: str, nodes: list[tuple[str, str | None, str, str]], current: str | None, title: str = "A chat") -> dict[str, Any]:
    """A conversation from (node id, parent id, role, text) rows; the first
    row is the root. Children lists are derived from the parents."""
    mapping: dict[str, Any] = {}
    for index, (node, parent, role, text) in enumerate(nodes):
        message = None
        if role != "root":
            message = {
                "id": node,
                "author": {"role": role, "name": None, "metadata": {}},
                "create_time": 1700000000.0 + index,
                "content": {"content_type": "text", "parts": [text]},
                "status": "finished_successfully",
                "metadata": {"model_slug": "gpt-test"} if role == "assistant" else {},
                "recipient": "all",
            }
        mapping[node] = {"id": node, "message": message, "parent": parent, "children": []}
    for node, parent, _, _ in nodes:
        if parent is not None:
            mapping[parent]["children"].append(node)
    return {"title": title, "create_time": 1700000000.0, "update_time": 1700000100.0, "mapping": mapping,
            "current_node": current, "conversation_id": cid, "id": cid, "default_model_slug": "gpt-test"}


def write_export(path: Path, conversations: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(conversations), encoding="utf-8")
    return path


# -- llm ------------------------------------------------------------------------------


def fake_llm_model() -> Any:
    """An offline llm model: echoes prompts, calls the `lookup` tool when
    asked to, and reasons first; usage is reported like a real plugin's."""
    import llm
    from llm.parts import StreamEvent

    class Echo(llm.Model):  # type: ignore[misc]
        model_id = "echo-test"
        can_stream = True
        supports_tools = True

        def execute(self, prompt: Any, stream: bool, response: Any, conversation: Any) -> Any:
            text = prompt.prompt or ""
            if prompt.tool_results:
                yield "tool said " + prompt.tool_results[0].output
                return
            if text.startswith("look up "):
                yield StreamEvent(type="reasoning", chunk="I should use the tool")
                response.add_tool_call(llm.ToolCall(name="lookup", arguments={"q": text[8:]}, tool_call_id="call-1"))
                yield StreamEvent(type="tool_call_name", chunk="lookup", tool_call_id="call-1")
                yield StreamEvent(type="tool_call_args", chunk=json.dumps({"q": text[8:]}), tool_call_id="call-1")
                return
            yield "echo: " + text
            response.set_usage(input=len(text), output=len(text) + 6)

    return Echo()


def lookup(q: str) -> str:
    """Look a word up."""
    return f"{q} is a word"


def llm_log(path: Path, prompts: list[str], system: str | None = None, conversation: Any = None) -> Any:
    """Run `prompts` as one llm conversation and log every response to the
    database at `path` with llm's own code; returns the conversation."""
    import sqlite_utils

    db = sqlite_utils.Database(path)
    conversation = conversation or fake_llm_model().conversation()
    for index, prompt in enumerate(prompts):
        kwargs: dict[str, Any] = {"system": system} if system and index == 0 else {}
        if prompt.startswith("look up "):
            for response in conversation.chain(prompt, tools=[lookup], **kwargs).responses():
                response.text()
                response.log_to_db(db)
        else:
            response = conversation.prompt(prompt, **kwargs)
            response.text()
            response.log_to_db(db)
    db.close()
    return conversation


def llm_legacy_log(path: Path) -> None:
    """A database laid out by llm's own migrations, holding rows in the
    tables older llm versions wrote (responses, conversations, tool calls)."""
    import sqlite_utils
    from llm.migrations import migrate

    db = sqlite_utils.Database(path)
    migrate(db)
    db["conversations"].insert({"id": "01hlegacy", "name": "legacy chat", "model": "gpt-old"})
    db["responses"].insert({
        "id": "01hlegacy-r1", "model": "gpt-old", "prompt": "what is a ULID?", "system": "answer in one line",
        "response": "A sortable unique id.", "conversation_id": "01hlegacy", "datetime_utc": "2024-05-01T10:00:00.250000",
        "input_tokens": 12, "output_tokens": 6, "duration_ms": 40,
    }, alter=False)
    db["responses"].insert({
        "id": "01hlegacy-r2", "model": "gpt-old", "prompt": "and a UUID?", "system": "answer in one line",
        "response": "A 128-bit id.", "conversation_id": "01hlegacy", "datetime_utc": "2024-05-01T10:01:00",
        "reasoning": "compare them",
    }, alter=False)
    db.close()
