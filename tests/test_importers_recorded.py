"""Sessions written by the real Claude Code (2.0.77 and 2.1.332), checked
against an independent reading of the files.

The files were written by Claude Code itself against a loopback model
server (tools/recorders/): five turns of one session, `-p` then
`--resume`, with thinking, Bash calls (one failing), a file write and
edit, a sub-agent, `/compact` and a prompt after it. `read_transcript`
below reads them plainly (json.loads per line, Claude Code's documented
record layout) and shares nothing with chit's importer, so a fault in the
importer cannot hide in its own expectations.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chit.api import Chit
from chit.model import Session, derive_title
from chit.service.facade import parts_of
from conftest import run_cli, tree_digest
from importer_sources import fixture

#: the text Claude Code writes into a user record that the person did not type
INJECTED = ("<command-name>", "<local-command-", "<task-notification>", "[Request interrupted")
FIRST_PROMPT = "Bitte lege notes.txt an und grüße die Straße 🚀. Prüfe zuerst, wo wir sind."
LAST_REPLY = "Dort steht „Große Straße 7 🚀“. Tschüß!"
#: (tool, failed) in file order, the same in both versions but for the sub-agent tool's name
CALLS = [("Bash", False), ("Write", False), ("Edit", False), ("Bash", False), ("Bash", True), ("TASK", False), ("Read", False)]


@dataclass(frozen=True)
class Recording:
    version: str
    session: str
    agent: str
    agent_tool: str
    turn_ends: tuple[int, ...]  # the file's line count after each turn but the last


V2_0 = Recording("2.0.77", "36818003-4e20-4aca-9eb0-d78f62a52e7a", "af9b5e6", "Task", (11, 19, 24, 30))
V2_1 = Recording("2.1.332", "14b72c6f-6225-46c8-b80f-de1709187ea3", "a6b166b882229e18e", "Agent", (45, 68, 84, 100))
V2_1_BACKGROUND = Recording("2.1.332-background", "3459e8a4-fc21-4d8a-aeac-8cdcfc0c2a01", "a58b1d6d4907bcfb5", "Agent", (37,))
RECORDINGS = [pytest.param(V2_0, id="2.0.77"), pytest.param(V2_1, id="2.1.332")]


@dataclass
class Expected:
    roles: Counter[str] = field(default_factory=Counter)
    prompts: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    calls: list[tuple[str, bool]] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0


def read_transcript(path: Path) -> Expected:
    """What a transcript without branches holds: each user and assistant
    record's blocks, the compaction boundary, and the last usage of each
    API response (input counting cache reads and writes). Text Claude Code
    wrote itself is a system message: injected user text, and the replies
    of its `<synthetic>` model, which no model wrote."""
    found = Expected()
    usage: dict[str, dict[str, int]] = {}
    failed: set[str] = set()
    calls: list[tuple[str, str]] = []
    for line in path.read_bytes().splitlines():
        record = json.loads(line)
        if record.get("type") == "system" and record.get("subtype") == "compact_boundary":
            found.roles["system"] += 1
        if record.get("type") not in ("user", "assistant") or record.get("isSidechain") and "agentId" not in record:
            continue
        message = record["message"]
        content = message["content"]
        synthetic = message.get("model") == "<synthetic>"
        for block in [{"type": "text", "text": content}] if isinstance(content, str) else content:
            if block["type"] == "tool_use":
                found.roles["tool"] += 1
                calls.append((block["id"], block["name"]))
            elif block["type"] == "tool_result":
                found.roles["tool"] += 1
                if block.get("is_error"):
                    failed.add(block["tool_use_id"])
            elif block["type"] == "text" and block["text"].strip():
                if record["type"] == "assistant" and not synthetic:
                    found.roles["assistant"] += 1
                    found.replies.append(block["text"])
                elif synthetic or record.get("isMeta") or record.get("isCompactSummary") or block["text"].startswith(INJECTED):
                    found.roles["system"] += 1
                else:
                    found.roles["user"] += 1
                    found.prompts.append(block["text"])
        if record["type"] == "assistant" and not synthetic:
            usage[message["id"]] = message["usage"]
    for u in usage.values():
        found.tokens_in += u["input_tokens"] + u["cache_creation_input_tokens"] + u["cache_read_input_tokens"]
        found.tokens_out += u["output_tokens"]
    found.calls = [(name, call_id in failed) for call_id, name in calls]
    return found


def sessions_by_key(api: Chit) -> dict[str, Session]:
    ctx = parts_of(api).ctx
    return {s.key: s for p in ctx.projects.all() for s in ctx.sessions_in(p) if s.key}


def check(session: Session, expected: Expected) -> None:
    assert Counter(m.role for m in session.messages) == expected.roles
    assert [m.content for m in session.messages if m.role == "user"] == expected.prompts
    assert [m.content for m in session.messages if m.role == "assistant"] == expected.replies
    calls = {m.metadata["tool_call_id"]: m.metadata["tool_name"] for m in session.messages if m.metadata.get("tool_kind") == "call"}
    failed = {m.metadata["tool_call_id"] for m in session.messages if m.metadata.get("tool_error")}
    assert [(name, call in failed) for call, name in calls.items()] == expected.calls
    assert session.tokens is not None
    assert (session.tokens.input, session.tokens.output) == (expected.tokens_in, expected.tokens_out)


def copy_of(recording: Recording, tmp_path: Path) -> Path:
    """The recording's folder as Claude Code left it (the large files are
    kept compressed in tests/data)."""
    root = tmp_path / "projects" / "-home-dev-project"
    shutil.copytree(fixture(f"claude-code-{recording.version}"), root)
    for packed in root.rglob("*.gz"):
        packed.with_suffix("").write_bytes(gzip.decompress(packed.read_bytes()))
        packed.unlink()
    return root


def store_file(home: Path, key: str) -> Path:
    """The session file in the store whose header has `key`."""
    for path in (home / "projects").glob("*/sessions/*.jsonl"):
        with path.open("rb") as handle:
            if json.loads(handle.readline()).get("key") == key:
                return path
    raise AssertionError(f"no session keyed {key}")


def agent_path(recording: Recording, root: Path) -> Path:
    beside = root / f"agent-{recording.agent}.jsonl"
    return beside if beside.exists() else root / recording.session / "subagents" / f"agent-{recording.agent}.jsonl"


@pytest.mark.parametrize("recording", RECORDINGS)
def test_a_recorded_session_matches_an_independent_reading(recording: Recording, api: Chit, tmp_path: Path) -> None:
    root = copy_of(recording, tmp_path)
    expected = read_transcript(root / f"{recording.session}.jsonl")
    assert expected.prompts[0] == FIRST_PROMPT and expected.replies[-1] == LAST_REPLY
    assert expected.calls == [(recording.agent_tool if n == "TASK" else n, f) for n, f in CALLS]
    report = api.import_from("claude-code", root)
    assert (report.imported, report.errors) == (2, 0)
    session = sessions_by_key(api)[f"claude-code:{recording.session}"]
    check(session, expected)
    assert session.title == derive_title(FIRST_PROMPT)
    assert session.metadata["import"]["version"] == recording.version
    thinking = [m.metadata["thinking"] for m in session.messages if m.metadata.get("thinking")]
    assert thinking == ["Der Nutzer möchte eine Datei. Zuerst prüfe ich das Verzeichnis.", "長い出力と、失敗するコマンドを試します。"]
    long_output = next(m for m in session.messages if m.metadata.get("tool_kind") == "result" and m.content.startswith("1\n2\n"))
    assert long_output.content.splitlines()[-1] == "3000"
    summary = [m for m in session.messages if m.metadata.get("compact_summary")]
    assert len(summary) == 1 and summary[0].role == "system"


@pytest.mark.parametrize("recording", RECORDINGS)
def test_a_recorded_sub_agent_is_a_child_session_linked_to_its_call(recording: Recording, api: Chit, tmp_path: Path) -> None:
    root = copy_of(recording, tmp_path)
    path = agent_path(recording, root)
    expected = read_transcript(path)
    assert expected.prompts == ["Выведи рабочий каталог командой pwd."] and expected.calls == [("Bash", False)]
    api.import_from("claude-code", root)
    sessions = sessions_by_key(api)
    child = sessions[f"claude-code:{recording.session}/agent-{recording.agent}"]
    check(child, expected)
    call = next(
        json.loads(line)["message"]["content"][0]
        for line in (root / f"{recording.session}.jsonl").read_bytes().splitlines()
        if b'"name":"' + recording.agent_tool.encode() + b'"' in line and b'"tool_use"' in line
    )
    facts = child.metadata["import"]
    assert (facts["parent"], facts["agent_id"], facts["tool_call_id"], facts["agent_type"]) == (
        f"claude-code:{recording.session}", recording.agent, call["id"], "general-purpose")
    assert child.title == call["input"]["description"] == "Проверить каталог"
    assert [a.id for a in api.agents(sessions[f"claude-code:{recording.session}"])] == [child.id]


def test_the_warm_up_transcripts_and_empty_files_of_2_0_are_not_sessions(api: Chit, tmp_path: Path) -> None:
    """Claude Code 2.0.x warms each built-in agent up at every start and
    leaves an empty transcript at each resume: neither is a conversation."""
    root = copy_of(V2_0, tmp_path)
    report = api.import_from("claude-code", root)
    assert report.skipped_reasons == {"warm-up transcript": 2, "no conversation": 1}
    assert sorted(sessions_by_key(api)) == [f"claude-code:{V2_0.session}", f"claude-code:{V2_0.session}/agent-{V2_0.agent}"]


def test_a_background_sub_agent_and_its_notification_match_an_independent_reading(api: Chit, tmp_path: Path) -> None:
    """Claude Code 2.1 runs a sub-agent in the background: its launch is the
    tool's result, and its end comes back as a `<task-notification>`."""
    recording = V2_1_BACKGROUND
    root = copy_of(recording, tmp_path)
    expected = read_transcript(root / f"{recording.session}.jsonl")
    assert expected.calls == [("Agent", False)] and len(expected.prompts) == 2
    report = api.import_from("claude-code", root)
    assert (report.imported, report.errors) == (2, 0)
    sessions = sessions_by_key(api)
    session = sessions[f"claude-code:{recording.session}"]
    check(session, expected)
    notes = [m for m in session.messages if m.metadata.get("task_notification")]
    assert len(notes) == 1 and notes[0].role == "system" and recording.agent in notes[0].content
    child = sessions[f"claude-code:{recording.session}/agent-{recording.agent}"]
    check(child, read_transcript(agent_path(recording, root)))
    assert (child.title, child.metadata["import"]["tool_call_id"]) == ("Dateien zählen", session.messages[1].metadata["tool_call_id"])


@pytest.mark.parametrize("recording", [*RECORDINGS, pytest.param(V2_1_BACKGROUND, id="2.1.332-background")])
def test_each_resumed_turn_appends_only_its_messages_and_a_re_import_writes_nothing(
    recording: Recording, api: Chit, home: Path, tmp_path: Path,
) -> None:
    """Every turn, `/compact` among them, is an append to the session's
    file in the store: followers of the store only ever read lines added."""
    root = copy_of(recording, tmp_path)
    source = root / f"{recording.session}.jsonl"
    lines = source.read_bytes().splitlines(keepends=True)
    before: list[str] = []
    mirror: tuple[int, bytes] | None = None  # the store file's inode and content after the turn before
    for end in [*recording.turn_ends, len(lines)]:
        source.write_bytes(b"".join(lines[:end]))  # the file as it was after that turn
        api.import_from("claude-code", root)
        session = sessions_by_key(api)[f"claude-code:{recording.session}"]
        check(session, read_transcript(source))
        ids = [m.id for m in session.messages]
        assert ids[: len(before)] == before  # the messages already imported stay as they were
        before = ids
        stored = store_file(home, f"claude-code:{recording.session}")
        if mirror is not None:
            assert (stored.stat().st_ino, stored.read_bytes()[: len(mirror[1])]) == mirror, f"turn ending at line {end} rewrote the store file"
        mirror = (stored.stat().st_ino, stored.read_bytes())
        digest = tree_digest(home)
        again = api.import_from("claude-code", root)
        assert (again.imported, again.updated, again.messages) == (0, 0, 0) and tree_digest(home) == digest


# -- Gemini CLI 0.61.0 ---------------------------------------------------------

GEMINI_FILE = "session-2026-12-06T13-38-471e51f1.jsonl"
GEMINI_SESSION = "471e51f1-294e-4237-b374-3194c1704a40"
GEMINI_TURN_ENDS = (26,)  # the file's line count after the first turn


def read_gemini(path: Path) -> Expected:
    """A Gemini CLI log read plainly: the message records as they were
    written while the chat ran (the last write of each id, in the order
    first written: a reply is written again as it gains tokens and tool
    calls), each tool call with its result; and the session context the
    CLI set as its first message, which no one typed."""
    found = Expected()
    written: dict[str, dict[str, object]] = {}
    context: set[str] = set()
    for line in path.read_bytes().splitlines():
        record = json.loads(line)
        if "id" in record:
            written[record["id"]] = record
        for listed in record.get("$set", {}).get("messages", []):
            if listed["type"] == "user" and listed["content"][0].get("text", "").startswith("<session_context>"):
                context.add(listed["id"])
    found.roles["system"] = len(context)
    for record in written.values():
        content = record["content"]
        texts = [content] if isinstance(content, str) else [p["text"] for p in content if "text" in p]  # type: ignore[union-attr]
        said = "".join(texts)
        if record["type"] == "user" and said.strip():
            found.roles["user"] += 1
            found.prompts.append(said)
        elif record["type"] == "gemini":
            if said.strip():
                found.roles["assistant"] += 1
                found.replies.append(said)
            for call in record.get("toolCalls", []):  # type: ignore[attr-defined]
                found.roles["tool"] += 2
                found.calls.append((call["name"], call["status"] == "error" or shell_exit(call) not in (None, 0)))
            found.tokens_in += record["tokens"]["input"]  # type: ignore[index]
            found.tokens_out += record["tokens"]["output"]  # type: ignore[index]
    return found


def shell_exit(call: dict[str, Any]) -> int | None:
    """The exit status Gemini CLI's shell tool put in its output (`Exit
    Code: N` before the process group line; left out for 0): it reports
    the call itself as a success whatever the status."""
    if call["name"] != "run_shell_command":
        return None
    output = call["result"][0]["functionResponse"]["response"]["output"]
    found = re.search(r"^Exit Code: (\d+)\nProcess Group PGID: ", output, re.M)
    return int(found.group(1)) if found else None


def gemini_copy(tmp_path: Path) -> Path:
    root = tmp_path / "tmp"
    shutil.copytree(fixture("gemini-0.61.0"), root)
    return root


def gemini_check(session: Session, expected: Expected) -> None:
    assert Counter(m.role for m in session.messages) == expected.roles
    assert [m.content for m in session.messages if m.role == "user"] == expected.prompts
    assert [m.content for m in session.messages if m.role == "assistant"] == expected.replies
    calls = [m for m in session.messages if m.metadata.get("tool_kind") == "call"]
    failed = {m.metadata["tool_call_id"] for m in session.messages if m.metadata.get("tool_error")}
    assert [(m.metadata["tool_name"], m.metadata["tool_call_id"] in failed) for m in calls] == expected.calls
    results = {m.metadata["tool_call_id"] for m in session.messages if m.metadata.get("tool_kind") == "result"}
    assert results == {m.metadata["tool_call_id"] for m in calls}
    assert session.tokens is not None
    assert (session.tokens.input, session.tokens.output) == (expected.tokens_in, expected.tokens_out)


def test_a_resumed_gemini_cli_session_matches_an_independent_reading(api: Chit, tmp_path: Path) -> None:
    """Gemini CLI 0.61.0 states the whole history again when it resumes
    (in the API's form, without tokens or tool calls): nothing of the first
    turn is lost to it, and its session context is no prompt."""
    root = gemini_copy(tmp_path)
    expected = read_gemini(root / "project" / "chats" / GEMINI_FILE)
    assert expected.prompts[0].startswith("Bitte prüfe, wo wir sind") and expected.replies[-1] == "一覧は2000行でした。Готово! 👍"
    assert expected.calls == [("run_shell_command", False), ("run_shell_command", True), ("read_file", True),
                              ("write_file", False), ("run_shell_command", False)]
    report = api.import_from("gemini", root)
    assert (report.imported, report.errors) == (1, 0)
    session = sessions_by_key(api)[f"gemini:{GEMINI_SESSION}"]
    gemini_check(session, expected)
    assert session.title == derive_title(expected.prompts[0])
    assert session.metadata["import"]["cwd"] == (root / "project" / ".project_root").read_text().strip()
    assert [m.metadata.get("thinking") for m in session.messages if m.metadata.get("thinking")] == [
        "Erst das Verzeichnis prüfen, dann die Datei schreiben."]
    assert session.messages[0].role == "system" and session.messages[0].metadata["injected"] is True
    assert [m.metadata.get("exit_code") for m in session.messages if m.metadata.get("tool_kind") == "result"] == [
        None, 2, None, None, None]  # `ls` of a missing directory, which Gemini CLI calls a success


def test_a_resumed_gemini_cli_turn_appends_only_its_messages(api: Chit, home: Path, tmp_path: Path) -> None:
    root = gemini_copy(tmp_path)
    source = root / "project" / "chats" / GEMINI_FILE
    lines = source.read_bytes().splitlines(keepends=True)
    before: list[str] = []
    for end in [*GEMINI_TURN_ENDS, len(lines)]:
        source.write_bytes(b"".join(lines[:end]))
        report = api.import_from("gemini", root)
        session = sessions_by_key(api)[f"gemini:{GEMINI_SESSION}"]
        gemini_check(session, read_gemini(source))
        ids = [m.id for m in session.messages]
        assert ids[: len(before)] == before
        assert report.messages == len(ids) - len(before)  # only the new messages are written
        before = ids
        digest = tree_digest(home)
        again = api.import_from("gemini", root)
        assert (again.imported, again.updated, again.messages) == (0, 0, 0) and tree_digest(home) == digest


def test_resuming_a_recorded_sub_agent_reopens_its_parent_conversation(home: Path, tmp_path: Path) -> None:
    """Claude Code has no way to reopen a sub-agent's transcript alone: the
    conversation that started it is what `claude --resume` takes."""
    root = copy_of(V2_1, tmp_path)
    assert run_cli(["import", "--from", "claude-code", str(root), "-p", "recorded"]).code == 0
    listed = json.loads(run_cli(["ls", "--agents", "--json", "-p", "recorded"]).out)
    child = next(s for s in listed if s["title"] == "Проверить каталог")
    printed = run_cli(["resume", "--print", "--json", child["id"]])
    assert printed.code == 0, printed.err
    assert json.loads(printed.out)["argv"] == ["claude", "--resume", V2_1.session]
