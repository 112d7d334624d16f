"""Codex rollouts the tests write: UI duplicates, injected context, older
layouts, bad lines, growth."""

from __future__ import annotations

from pathlib import Path

import pytest

from chit.api import Chit
from chit.importers import codex
from chit.model import Session
from chit.service.facade import parts_of
from conftest import tree_digest
from importer_sources import append_jsonl, codex_lines, codex_turn, write_jsonl

ROLLOUT = "2026/10/05/rollout-2026-10-05T09-00-00-019a0000-0000-7000-8000-000000000001.jsonl"


def only(api: Chit) -> Session:
    sessions = [s for p in parts_of(api).ctx.projects.all() for s in parts_of(api).ctx.sessions_in(p)]
    assert len(sessions) == 1
    return sessions[0]


def test_event_msg_duplicates_are_skipped(api: Chit, tmp_path: Path) -> None:
    write_jsonl(tmp_path / ROLLOUT, codex_lines())
    report = api.import_from("codex", tmp_path)
    session = only(api)
    assert (report.imported, report.messages) == (1, 4)
    assert [(m.role, m.content) for m in session.messages] == [
        ("user", "first question"), ("tool", '{"command":["ls"]}'), ("tool", "a.txt\n"), ("assistant", "first answer"),
    ]
    result = session.messages[2].metadata
    assert (result["exit_code"], result["tool_error"], result["tool_name"]) == (1, True, "shell")
    assert session.key == "codex:019a0000-0000-7000-8000-000000000001"
    assert session.messages[3].invocation_id == "t1" and session.messages[3].model == "gpt-test"


def test_a_ui_only_rollout_is_read_from_its_events(api: Chit, tmp_path: Path) -> None:
    lines = [r for r in codex_lines() if r["type"] != "response_item"]
    write_jsonl(tmp_path / ROLLOUT, lines)
    api.import_from("codex", tmp_path)
    assert [(m.role, m.content) for m in only(api).messages] == [("user", "first question"), ("assistant", "first answer")]


def test_injected_context_is_system_not_a_turn(api: Chit, tmp_path: Path) -> None:
    lines = codex_lines()
    for text in ("<user_instructions>be terse</user_instructions>", "# AGENTS.md instructions for /x\n\nuse tabs"):
        lines.insert(2, {"timestamp": "2026-10-05T09:00:01.000Z", "type": "response_item",
                         "payload": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}})
    write_jsonl(tmp_path / ROLLOUT, lines)
    api.import_from("codex", tmp_path)
    session = only(api)
    assert [m.role for m in session.messages[:2]] == ["system", "system"]
    assert session.turns == 1 and session.title == "first question"


def test_an_older_rollout_without_wrappers_imports(api: Chit, tmp_path: Path) -> None:
    lines = [
        {"id": "0199aaaa-0000-7000-8000-00000000000a", "timestamp": "2025-05-01T08:00:00.000Z", "instructions": None},
        {"record_type": "state"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "old style"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "still works"}]},
    ]
    write_jsonl(tmp_path / "rollout-2025-05-01T08-00-00-0199aaaa-0000-7000-8000-00000000000a.jsonl", lines)
    report = api.import_from("codex", tmp_path)
    session = only(api)
    assert report.errors == 0 and session.key == "codex:0199aaaa-0000-7000-8000-00000000000a"
    assert [m.content for m in session.messages] == ["old style", "still works"]
    assert session.created_at == "2025-05-01T08:00:00.000000Z"
    assert session.metadata["import"].get("cwd") is None and parts_of(api).ctx.locate(session.id).name == "codex"


def test_bad_lines_are_counted_and_the_rest_imported(api: Chit, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / ROLLOUT, codex_lines(), tail='{"timestamp": "2026-10-05T09:00:09.000Z", "ty')
    text = path.read_text().replace('"type": "turn_context"', '"type": "turn_context", "payload": 7, "x": ', 1)
    path.write_text(text.replace("first answer", "first \\ud800answer", 1))
    report = api.import_from("codex", tmp_path)
    assert report.imported == 1 and [p.reason for p in report.problems] == ["not JSON", "incomplete last line"]
    assert "first \ufffdanswer" in [m.content for m in only(api).messages]  # a lone surrogate is replaced


def test_a_file_with_no_session_id_is_a_problem(api: Chit, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "rollout-no-id.jsonl", codex_lines()[1:])
    report = api.import_from("codex", tmp_path)
    assert (report.imported, report.errors) == (0, 1)
    assert "no session id" in report.problems[0].reason


def test_growth_appends_and_a_second_run_writes_nothing(api: Chit, home: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / ROLLOUT, codex_lines())
    api.import_from("codex", tmp_path)
    append_jsonl(path, codex_turn(1) + codex_turn(2))
    report = api.import_from("codex", tmp_path)
    assert (report.updated, report.messages) == (1, 4)
    assert [m.content for m in only(api).messages][-4:] == ["question 1", "answer 1", "question 2", "answer 2"]
    digest = tree_digest(home)
    assert api.import_from("codex", tmp_path).skipped_reasons == {"unchanged": 1}
    assert tree_digest(home) == digest


def test_default_location_honours_codex_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path))
    assert codex.default_path() == tmp_path / "sessions"
