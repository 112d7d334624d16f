"""Importing the fixtures in tests/data (real Claude Code transcripts, a Codex
rollout, a ChatGPT export): exact counts, the fields that matter, and
re-imports that write nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from chit.api import Chit
from chit.model import Session
from chit.service.facade import parts_of
from importer_sources import fixture
from conftest import tree_digest

# what each fixture imports: sessions, and messages per session key
EXPECTED = {
    "claude-code": {
        "claude-code:55604662-cf2a-4331-851a-ec234028f8ca": 9,   # short.jsonl
        "claude-code:491e126e-1e71-469c-ade2-fcc8af567c74": 43,  # subagent.jsonl
        "claude-code:d6e0bada-1959-4eec-a9d2-0bfade768d8f": 21,  # tool_heavy.jsonl
    },
    "codex": {"codex:019a1b2c-3d4e-7f00-8a00-0000000c0de5": 10},
    "chatgpt": {
        "chatgpt:6f1c2a3b-0000-4000-8000-00000000c0a1": 7,
        "chatgpt:6f1c2a3b-0000-4000-8000-00000000c0a2": 2,
    },
}
PATHS = {"claude-code": ("claude-code",), "codex": ("codex",), "chatgpt": ("chatgpt", "conversations.json")}


def imported(api: Chit) -> dict[str, Session]:
    return {s.key: s for p in parts_of(api).ctx.projects.all() for s in parts_of(api).ctx.sessions_in(p) if s.key}


def by_content(session: Session, text: str) -> list[int]:
    return [i for i, m in enumerate(session.messages) if text in m.content]


@pytest.mark.parametrize("source", sorted(EXPECTED))
def test_each_fixture_imports_exact_sessions_and_messages(api: Chit, source: str) -> None:
    report = api.import_from(source, fixture(*PATHS[source]))
    expected = EXPECTED[source]
    assert (report.imported, report.updated, report.skipped, report.errors) == (len(expected), 0, 0, 0)
    assert report.messages == sum(expected.values())
    sessions = imported(api)
    assert {k: len(s.messages) for k, s in sessions.items()} == expected
    for session in sessions.values():
        assert session.metadata["import"]["source"] == source
        assert all(m.ts.endswith("Z") and len(m.ts) == 27 for m in session.messages)
        assert session.created_at <= session.messages[0].ts
        assert session.updated_at == max(m.ts for m in session.messages)
    assert api.current() is None  # importing never changes the current session


@pytest.mark.parametrize("source", sorted(EXPECTED))
def test_reimporting_a_fixture_writes_nothing(api: Chit, home: Path, source: str) -> None:
    api.import_from(source, fixture(*PATHS[source]))
    before = tree_digest(home)
    again = api.import_from(source, fixture(*PATHS[source]))
    assert (again.imported, again.updated, again.errors, again.messages) == (0, 0, 0, 0)
    assert again.skipped == len(EXPECTED[source]) and again.skipped_reasons == {"unchanged": again.skipped}
    assert tree_digest(home) == before


@pytest.mark.parametrize("source", sorted(EXPECTED))
def test_reimport_without_the_cache_compares_and_still_writes_nothing(api: Chit, home: Path, source: str) -> None:
    api.import_from(source, fixture(*PATHS[source]))
    (home / "import-cache.json").unlink()
    before = tree_digest(home)
    again = api.import_from(source, fixture(*PATHS[source]))
    assert (again.imported, again.updated, again.skipped_reasons) == (0, 0, {"unchanged": len(EXPECTED[source])})
    (home / "import-cache.json").unlink()  # the one file a full compare writes back
    assert tree_digest(home) == before


def test_claude_code_short_transcript(api: Chit) -> None:
    api.import_from("claude-code", fixture("claude-code", "short.jsonl"))
    session = imported(api)["claude-code:55604662-cf2a-4331-851a-ec234028f8ca"]
    project = parts_of(api).ctx.locate(session.id)
    assert (project.key, project.name) == ("/home/marco/projects/spotter", "spotter")
    assert session.metadata["import"] == {
        "source": "claude-code", "id": "55604662-cf2a-4331-851a-ec234028f8ca", "cwd": "/home/marco/projects/spotter",
        "path": str(fixture("claude-code", "short.jsonl")), "git_branch": "master", "version": "2.1.38",
    }
    roles = [m.role for m in session.messages]
    assert roles == ["user", "assistant", "tool", "tool", "tool", "tool", "system", "system", "system"]
    first = session.messages[0]
    assert (first.content, first.ts, first.metadata["source_id"]) == (
        "mix phx.server doesnt seem to start", "2026-02-10T21:11:56.846000Z", "7d48cbd2-6615-4dd8-87f6-38f12b8167d6")
    reply = session.messages[1]
    assert reply.model == "claude-opus-4-6" and reply.invocation_id == "msg_01MKH1ccEGrZGNPvu8pYiiQa"
    assert reply.content.startswith("Let me check the project structure")
    assert reply.metadata["thinking"].startswith("The user is having trouble starting their Phoenix server")
    assert not any("trouble starting their Phoenix" in m.content for m in session.messages)  # thinking is not content
    calls = [m for m in session.messages if m.metadata.get("tool_kind") == "call"]
    results = [m for m in session.messages if m.metadata.get("tool_kind") == "result"]
    assert [c.metadata["tool_name"] for c in calls] == ["Bash", "Glob"]
    assert [r.metadata["tool_name"] for r in results] == ["Bash", "Glob"]  # the off-chain result is kept
    assert [r.metadata["tool_call_id"] for r in results] == [c.metadata["tool_call_id"] for c in calls]
    assert all(r.metadata["tool_error"] is True for r in results)
    assert calls[-1].tokens is not None and calls[-1].tokens.output == 13  # the response's usage, on its last message
    assert session.messages[6].metadata == {"source_id": "c06a9fe4-ba05-44f2-b619-a057c18101e5", "interrupted": True}
    assert [m.content for m in session.messages[7:]] == ["/model", "Kept model as Default (recommended)"]  # no ANSI codes


def test_claude_code_subagent_transcript_keeps_only_the_main_thread(api: Chit) -> None:
    api.import_from("claude-code", fixture("claude-code", "subagent.jsonl"))
    session = imported(api)["claude-code:491e126e-1e71-469c-ade2-fcc8af567c74"]
    assert session.turns == 2 and session.title.startswith("/handgemacht:create-beads websearch")
    assert session.metadata["import"]["slug"] == "humble-seeking-umbrella"
    assert {m.model for m in session.messages} == {None, "claude-opus-4-6"}  # the sub-agent's haiku never shows
    task = [m for m in session.messages if m.metadata.get("tool_name") == "Task"]
    assert [m.metadata["tool_kind"] for m in task] == ["call", "result"]
    assert task[1].content.startswith("Excellent! Now I have all the information")
    assert not by_content(session, "EISDIR")  # from the sub-agent's progress records
    assert session.messages[1].role == "system" and session.messages[1].metadata["meta"] is True
    kinds = [m.metadata.get("tool_kind") for m in session.messages]
    assert kinds.count("call") == kinds.count("result") == 16  # every result, on the chain or beside it


def test_claude_code_parallel_tool_results_off_the_chain_are_kept(api: Chit) -> None:
    api.import_from("claude-code", fixture("claude-code", "tool_heavy.jsonl"))
    session = imported(api)["claude-code:d6e0bada-1959-4eec-a9d2-0bfade768d8f"]
    ids = [m.metadata.get("tool_call_id") for m in session.messages if m.metadata.get("tool_kind") == "result"]
    assert "toolu_01JJds55jYrYwd9TktNGndRY" in ids  # Glob: its call and result hang off the chain
    assert len(ids) == len(set(ids)) == 6
    prompts = [m.content for m in session.messages if m.role == "user"]
    assert prompts[0] == "start phoenix in background" and len(prompts) == session.turns == 2
    assert prompts[1].startswith("scrolling back in xterm.js still does not work")
    mcp = by_content(session, "/mcp")  # the system echo of the typed command is a duplicate
    assert len(mcp) == 1 and session.messages[mcp[0]].metadata["slash_command"] is True  # not a prompt


def test_codex_rollout(api: Chit) -> None:
    api.import_from("codex", fixture("codex"))
    session = imported(api)["codex:019a1b2c-3d4e-7f00-8a00-0000000c0de5"]
    assert parts_of(api).ctx.locate(session.id).key == "/home/dev/projects/ledger"
    facts = session.metadata["import"]
    assert (facts["cwd"], facts["git_branch"], facts["version"]) == ("/home/dev/projects/ledger", "main", "0.104.0")
    assert [m.role for m in session.messages] == ["system", "system", "user", "tool", "tool", "tool", "tool", "assistant", "user", "assistant"]
    assert session.messages[0].metadata["source_role"] == "developer"
    assert session.messages[1].metadata["injected"] is True  # <environment_context> is not a prompt
    assert len(by_content(session, "Add a --since flag")) == 1  # the event_msg copy is not imported
    assert len(by_content(session, "Added `--since YYYY-MM-DD`")) == 1
    call, output = session.messages[3], session.messages[4]
    assert call.metadata == {"tool_kind": "call", "tool_name": "shell", "tool_call_id": "call_001",
                             "thinking": "**Looking at the report command**"}
    assert (output.content, output.metadata["exit_code"], output.metadata["tool_name"]) == (
        "src/ledger/cli.py:41:def report(args):\n", 0, "shell")
    assert session.messages[5].metadata["tool_name"] == "apply_patch"
    assert {m.model for m in session.messages if m.role == "assistant"} == {"gpt-5-codex"}
    assert session.messages[-1].invocation_id == "019a1b2c-4000-7000-8000-000000000002"
    assert session.created_at == "2026-10-05T09:00:00.000000Z"


def test_chatgpt_export(api: Chit) -> None:
    api.import_from("chatgpt", fixture("chatgpt", "conversations.json"))
    sessions = imported(api)
    first = sessions["chatgpt:6f1c2a3b-0000-4000-8000-00000000c0a1"]
    project = parts_of(api).ctx.locate(first.id)
    assert (project.name, project.key, project.path) == ("chatgpt", "name:chatgpt", None)
    assert (first.title, first.manual_title) == ("SQLite locked on CI", "SQLite locked on CI")
    assert first.created_at == "2024-11-12T08:26:40.000000Z"
    assert [m.role for m in first.messages] == ["user", "assistant", "tool", "tool", "assistant", "user", "assistant"]
    assert not by_content(first, "why does my pytest suite fail only on CI?")  # the abandoned branch
    assert not by_content(first, "Answer briefly")  # custom instructions are hidden
    assert first.messages[0].ts == "2024-11-12T08:27:40.000000Z"
    call, output = first.messages[2], first.messages[3]
    assert (call.metadata["tool_kind"], call.metadata["tool_name"], call.content) == (
        "call", "python", "import sqlite3\nprint(sqlite3.sqlite_version)")
    assert (output.metadata["tool_kind"], output.metadata["tool_name"], output.content) == ("result", "python", "3.40.1")
    assert first.messages[5].content.startswith("[image: file-service://file-AbC123]\n")
    assert first.messages[1].model == "gpt-4o"
    second = sessions["chatgpt:6f1c2a3b-0000-4000-8000-00000000c0a2"]
    assert "naïve café" in second.messages[1].content


def test_fixtures_resolve_from_the_repository() -> None:
    assert fixture("claude-code").is_dir()
