"""Real transcripts, checked against an independent reading of the source.

The expected counts, prompts, replies, titles, tokens and tool calls come
from `read_claude` below: a few lines of plain JSON reading written for
these tests, sharing nothing with chit's importers, so a fault in an
importer cannot hide in its own expectations. The files are in
tests/data/claude-code-compacted (a Claude Code 2.1.39 session with a
compaction whose logical parent is not in the file, a corrupt line, a
Task sub-agent, a compaction agent and task notifications).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from chit.service.facade import parts_of
from chit.api import Chit
from chit.model import Session, derive_title
from conftest import tree_digest
from importer_sources import fixture

PARENT = "4d5611e5-241a-462a-8d15-5122611a9569"
AGENT = "a2898e3"
INJECTED = ("<task-notification>", "<command-name>", "<local-command-", "[Request interrupted")


@dataclass
class Expected:
    roles: Counter[str] = field(default_factory=Counter)
    prompts: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # tool names, in file order
    tokens_in: int = 0
    tokens_out: int = 0
    bad_lines: int = 0


def read_claude(path: Path) -> Expected:
    """What a Claude Code transcript holds, read plainly: every user and
    assistant record of its thread (the file has no edited-away branch),
    prompts without the text Claude Code injects, and each API response's
    last usage (input counting cache reads and writes)."""
    found = Expected()
    records = []
    for line in path.read_bytes().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            found.bad_lines += 1
    usage: dict[str, dict[str, int]] = {}
    for r in records:
        if r.get("type") == "system" and r.get("subtype") == "compact_boundary":
            found.roles["system"] += 1
        if r.get("type") not in ("user", "assistant"):
            continue
        content = r["message"]["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks:
            if block["type"] == "tool_use":
                found.roles["tool"] += 1
                found.calls.append(block["name"])
            elif block["type"] == "tool_result":
                found.roles["tool"] += 1
            elif block["type"] == "text" and block["text"].strip():
                if r["type"] == "assistant":
                    found.roles["assistant"] += 1
                    found.replies.append(block["text"])
                elif r.get("isMeta") or r.get("isCompactSummary") or block["text"].lstrip().startswith(INJECTED):
                    found.roles["system"] += 1
                else:
                    found.roles["user"] += 1
                    found.prompts.append(block["text"])
        if r["type"] == "assistant" and "usage" in r["message"]:
            usage[r["message"]["id"]] = r["message"]["usage"]
    for u in usage.values():
        found.tokens_in += u["input_tokens"] + u.get("cache_creation_input_tokens", 0) + u.get("cache_read_input_tokens", 0)
        found.tokens_out += u["output_tokens"]
    return found


def imported(api: Chit) -> dict[str, Session]:
    return {s.key: s for p in parts_of(api).ctx.projects.all() for s in parts_of(api).ctx.sessions_in(p) if s.key}


def check(session: Session, expected: Expected) -> None:
    assert Counter(m.role for m in session.messages) == expected.roles
    users = [m.content for m in session.messages if m.role == "user"]
    assert users == expected.prompts
    assert [m.content for m in session.messages if m.role == "assistant"][-1] == expected.replies[-1]
    calls = [m.metadata["tool_name"] for m in session.messages if m.metadata.get("tool_kind") == "call"]
    assert calls == expected.calls
    assert session.tokens is not None
    assert (session.tokens.input, session.tokens.output) == (expected.tokens_in, expected.tokens_out)
    assert session.created_at <= session.messages[0].ts


def test_a_compacted_session_with_a_corrupt_line_imports_whole(api: Chit) -> None:
    root = fixture("claude-code-compacted")
    expected = read_claude(root / f"{PARENT}.jsonl")
    report = api.import_from("claude-code", root)
    assert (report.imported, report.errors, report.skipped_reasons) == (2, expected.bad_lines, {"compaction transcript": 1})
    session = imported(api)[f"claude-code:{PARENT}"]
    check(session, expected)
    assert session.title == derive_title(expected.prompts[0])
    assert session.title.startswith("Work on bead spotter-dov")
    summary = [m for m in session.messages if m.metadata.get("compact_summary")]
    assert len(summary) == 1 and summary[0].role == "system"
    notes = [m for m in session.messages if m.metadata.get("task_notification")]
    assert len(notes) == 1 and notes[0].role == "system"
    task = next(m for m in session.messages if m.metadata.get("tool_kind") == "result" and m.metadata.get("tool_name") == "Task")
    assert task.metadata["tool_use_result"]["agentId"] == AGENT


def test_the_sub_agent_is_a_child_session_matching_its_transcript(api: Chit) -> None:
    root = fixture("claude-code-compacted")
    expected = read_claude(root / PARENT / "subagents" / f"agent-{AGENT}.jsonl")
    api.import_from("claude-code", root)
    sessions = imported(api)
    child = sessions[f"claude-code:{PARENT}/agent-{AGENT}"]
    check(child, expected)
    facts = child.metadata["import"]
    assert (facts["parent"], facts["agent_id"], facts["agent_type"], facts["tool_call_id"]) == (
        f"claude-code:{PARENT}", AGENT, "Explore", "toolu_017pLRuPHYTX5t99EnLyV53m")
    assert child.title == "Explore transcript rendering codebase"
    parent = sessions[f"claude-code:{PARENT}"]
    assert [a.id for a in api.agents(parent)] == [child.id]


def test_re_import_writes_nothing_and_growth_appends(api: Chit, home: Path, tmp_path: Path) -> None:
    copy = tmp_path / "projects"
    shutil.copytree(fixture("claude-code-compacted"), copy)
    source = copy / f"{PARENT}.jsonl"
    lines = source.read_bytes().splitlines(keepends=True)
    source.write_bytes(b"".join(lines[:-13]))  # the session as it was before its last lines
    api.import_from("claude-code", copy)
    before = tree_digest(home)
    again = api.import_from("claude-code", copy)
    assert (again.imported, again.updated, again.messages) == (0, 0, 0) and tree_digest(home) == before
    source.write_bytes(b"".join(lines))
    grown = api.import_from("claude-code", copy)
    assert (grown.imported, grown.updated) == (0, 1)
    check(imported(api)[f"claude-code:{PARENT}"], read_claude(source))


def test_ls_lists_the_sub_agent_under_its_parent_and_show_names_it(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("import", "--from", "claude-code", str(fixture("claude-code-compacted"))).code == 0
    listed = [orjson.loads(line) for line in cli("ls", "-a", "--jsonl").out.splitlines()]
    assert [(s["title"][:24], s["agents"]) for s in listed] == [("Work on bead spotter-dov", 1)]
    every = [orjson.loads(line) for line in cli("ls", "-a", "--agents", "--jsonl").out.splitlines()]
    assert sorted(s["agents"] for s in every) == [0, 1] and len(every) == 2
    human = cli("ls", "-a").out
    assert "agents" in human.splitlines()[0]
    parent = listed[0]["id"]
    shown = cli("show", parent, "--no-pager")
    assert shown.code == 0
    assert "sub-agents (1):" in shown.out and "Explore transcript rendering codebase" in shown.out
    assert "tool · Task · call" in shown.out and "tool · Task · result" in shown.out
    data = orjson.loads(cli("show", parent, "--json").out)
    assert [a["title"] for a in data["agents"]] == ["Explore transcript rendering codebase"] and data["agent_of"] is None
    child = data["agents"][0]["id"]
    assert f"sub-agent of {parent[:8]}  Work on bead spotter-dov" in cli("show", child, "--no-pager").out
    assert orjson.loads(cli("show", child, "--json").out)["agent_of"]["id"] == parent


# -- Codex -------------------------------------------------------------------


@dataclass
class CodexExpected:
    session_id: str = ""
    calls: list[str] = field(default_factory=list)
    results: int = 0
    replies: list[str] = field(default_factory=list)
    event_only_turns: int = 0
    prompts: int = 0  # response_item user messages
    tokens: tuple[int, int] = (0, 0)  # the last running totals Codex wrote


def read_codex(path: Path) -> CodexExpected:
    """A rollout read plainly: its items, and the usage totals of its last
    `token_count` event (Codex's own running sum)."""
    found = CodexExpected()
    turn, prompted, asked = None, set(), []
    for line in path.read_bytes().splitlines():
        record = json.loads(line)
        kind, payload = record["type"], record["payload"]
        if kind == "session_meta":
            found.session_id = payload["id"]
        elif kind == "event_msg" and payload["type"] == "task_started":
            turn = payload["turn_id"]
        elif kind == "event_msg" and payload["type"] == "user_message":
            asked.append(turn)
        elif kind == "event_msg" and payload["type"] == "token_count" and payload.get("info"):
            totals = payload["info"]["total_token_usage"]
            found.tokens = (totals["input_tokens"], totals["output_tokens"])
        elif kind == "response_item" and payload["type"] == "message" and payload["role"] == "user":
            found.prompts += 1
            prompted.add(turn)
        elif kind == "response_item" and payload["type"] == "message" and payload["role"] == "assistant":
            found.replies.append(payload["content"][0]["text"])
        elif kind == "response_item" and payload["type"] in ("function_call", "custom_tool_call", "web_search_call"):
            found.calls.append(payload.get("name", "web_search"))
        elif kind == "response_item" and payload["type"].endswith("_output"):
            found.results += 1
    found.event_only_turns = sum(1 for t in asked if t not in prompted)
    return found


def test_real_codex_desktop_rollouts_match_an_independent_reading(api: Chit, home: Path) -> None:
    root = fixture("codex-desktop")
    report = api.import_from("codex", root)
    files = sorted(root.glob("rollout-*.jsonl"))
    assert (report.imported, report.errors) == (len(files), 0)
    sessions = imported(api)
    for path in files:
        expected = read_codex(path)
        session = sessions[f"codex:{expected.session_id}"]
        tools = [m for m in session.messages if m.role == "tool"]
        assert [m.metadata["tool_name"] for m in tools if m.metadata["tool_kind"] == "call"] == expected.calls
        assert sum(1 for m in tools if m.metadata["tool_kind"] == "result") == expected.results
        assert [m.content for m in session.messages if m.role == "assistant"] == expected.replies
        # the redacted text hides which user items are injected context: count them all
        users = sum(1 for m in session.messages if m.role in ("user", "system") and m.metadata.get("source_role") is None)
        assert users == expected.prompts + expected.event_only_turns
        assert session.tokens is not None and (session.tokens.input, session.tokens.output) == expected.tokens
        assert session.created_at <= session.messages[0].ts
    before = tree_digest(home)
    again = api.import_from("codex", root)
    assert (again.imported, again.updated) == (0, 0) and tree_digest(home) == before


# -- other versions: Claude Code 2.0.24 and Codex CLI 0.47 (yoavf/ai-sessions) ------

AI_SESSIONS_CLAUDE = "36d9e1bc-63bf-4e97-8a3e-2b20ba8583f2"
AI_SESSIONS_CODEX = "rollout-2025-10-21T20-02-50-019a085e-04c1-7f81-a09e-9555f6a1fb40.jsonl"


def test_a_claude_code_2_0_session_matches_an_independent_reading(api: Chit, home: Path) -> None:
    root = fixture("ai-sessions")
    path = root / f"{AI_SESSIONS_CLAUDE}.jsonl"
    expected = read_claude(path)
    report = api.import_from("claude-code", root)
    assert (report.imported, report.errors) == (1, expected.bad_lines)
    session = imported(api)[f"claude-code:{AI_SESSIONS_CLAUDE}"]
    check(session, expected)
    assert session.title == derive_title(expected.prompts[0])
    assert session.metadata["import"]["version"] == "2.0.24"
    before = tree_digest(home)
    again = api.import_from("claude-code", root)
    assert (again.imported, again.updated) == (0, 0) and tree_digest(home) == before


def test_a_codex_0_47_rollout_matches_an_independent_reading_its_tokens_counted_before_its_items(api: Chit, home: Path) -> None:
    root = fixture("ai-sessions")
    expected = read_codex(root / AI_SESSIONS_CODEX)
    report = api.import_from("codex", root)
    assert (report.imported, report.errors) == (1, 0)
    session = imported(api)[f"codex:{expected.session_id}"]
    tools = [m for m in session.messages if m.role == "tool"]
    assert [m.metadata["tool_name"] for m in tools if m.metadata["tool_kind"] == "call"] == expected.calls
    assert sum(1 for m in tools if m.metadata["tool_kind"] == "result") == expected.results
    assert [m.content for m in session.messages if m.role == "assistant"] == expected.replies
    users = [m for m in session.messages if m.role == "user"]
    injected = [m for m in session.messages if m.role == "system" and m.metadata.get("injected")]
    assert len(users) + len(injected) == expected.prompts + expected.event_only_turns
    assert users[0].content.startswith("Build a simple Pomodoro timer web app") and session.title.startswith("Build a simple Pomodoro")
    # Codex 0.47 writes each call's token_count before the call's items: none is lost
    assert session.tokens is not None and (session.tokens.input, session.tokens.output) == expected.tokens
    assert session.metadata["import"]["version"] == "0.47.0" and session.created_at <= session.messages[0].ts
    before = tree_digest(home)
    again = api.import_from("codex", root)
    assert (again.imported, again.updated) == (0, 0) and tree_digest(home) == before
