"""Codex rollouts the tests write: UI duplicates, injected context, older
layouts, bad lines, growth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chit.api import Chit
from chit.importers import codex
from chit.model import Session, Tokens
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


def newer_rollout() -> list[dict[str, Any]]:
    """A rollout as newer and Desktop versions write it: the prompt only as
    an event, plain-text exec output, token counts (one repeated)."""
    def line(ts: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"timestamp": f"2026-10-05T09:00:{ts:02d}.000Z", "type": kind, "payload": payload}

    def usage(total_in: int, total_out: int, last_in: int, last_out: int) -> dict[str, Any]:
        return {"type": "token_count", "info": {
            "total_token_usage": {"input_tokens": total_in, "cached_input_tokens": 0, "output_tokens": total_out},
            "last_token_usage": {"input_tokens": last_in, "cached_input_tokens": 0, "output_tokens": last_out}}}

    return [
        line(1, "session_meta", {"id": "019b0000-0000-7000-8000-00000000000b", "timestamp": "2026-10-05T09:00:05.000Z",
                                 "cwd": "/home/dev/ledger", "originator": "Codex Desktop", "cli_version": "0.128.0"}),
        line(2, "event_msg", {"type": "task_started", "turn_id": "t1"}),
        line(2, "turn_context", {"turn_id": "t1", "cwd": "/home/dev/ledger", "model": "gpt-test"}),
        line(3, "response_item", {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "<environment_context>x</environment_context>"}]}),
        line(3, "event_msg", {"type": "user_message", "message": "run the tests", "images": []}),
        line(3, "event_msg", {"type": "token_count", "info": None, "rate_limits": {}}),
        line(4, "response_item", {"type": "function_call", "name": "exec_command", "arguments": '{"cmd":"pytest"}', "call_id": "c1"}),
        line(5, "event_msg", usage(100, 10, 100, 10)),
        line(5, "event_msg", usage(100, 10, 100, 10)),  # the same call, reported twice
        line(6, "response_item", {"type": "function_call_output", "call_id": "c1",
                                  "output": "Chunk ID: 1\nProcess exited with code 1\nOutput:\nFAILED test_x\n"}),
        line(7, "response_item", {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "One test fails."}]}),
        line(8, "event_msg", usage(250, 30, 150, 20)),
    ]


def test_a_prompt_only_in_an_event_is_a_user_message_and_token_counts_are_kept(api: Chit, tmp_path: Path) -> None:
    write_jsonl(tmp_path / ROLLOUT, newer_rollout())
    api.import_from("codex", tmp_path)
    session = only(api)
    assert [(m.role, m.content[:20]) for m in session.messages] == [
        ("system", "<environment_context"), ("user", "run the tests"), ("tool", '{"cmd":"pytest"}'),
        ("tool", "Chunk ID: 1\nProcess "), ("assistant", "One test fails."),
    ]
    assert (session.turns, session.title) == (1, "run the tests")
    result = session.messages[3].metadata
    assert (result["exit_code"], result["tool_error"]) == (1, True)
    assert [m.tokens for m in session.messages if m.tokens] == [Tokens(100, 10), Tokens(150, 20)]
    assert session.tokens == Tokens(250, 30)  # the last event's running totals
    assert session.created_at == "2026-10-05T09:00:03.000000Z"  # not after its first message


def test_context_and_prompt_in_one_message_are_split(api: Chit, tmp_path: Path) -> None:
    lines = newer_rollout()
    lines[3]["payload"]["content"].append({"type": "input_text", "text": "run the tests"})
    write_jsonl(tmp_path / ROLLOUT, lines)
    api.import_from("codex", tmp_path)
    session = only(api)
    assert [m.role for m in session.messages[:2]] == ["system", "user"]
    assert session.messages[1].content == "run the tests" and session.turns == 1  # the event repeats it: not twice


def test_a_zero_exit_code_in_plain_text_is_no_error(api: Chit, tmp_path: Path) -> None:
    lines = newer_rollout()
    lines[9]["payload"]["output"] = "Exit code: 0\nWall time: 1.2 seconds\nOutput:\nok\n"
    write_jsonl(tmp_path / ROLLOUT, lines)
    api.import_from("codex", tmp_path)
    result = only(api).messages[3].metadata
    assert result["exit_code"] == 0 and "tool_error" not in result


def test_an_event_repeating_a_prompt_in_other_words_is_not_a_second_prompt(api: Chit, tmp_path: Path) -> None:
    lines = newer_rollout()
    ide = "# Context from my IDE setup:\n\n## Open tabs:\n- test_x.py\n\n## My request for Codex:\nrun the tests"
    lines[3]["payload"]["content"].append({"type": "input_text", "text": ide})  # what the model saw, in turn t1
    again = [
        {"timestamp": "2026-10-05T09:01:00.000Z", "type": "event_msg", "payload": {"type": "task_started", "turn_id": "t2"}},
        {"timestamp": "2026-10-05T09:01:00.000Z", "type": "event_msg", "payload": {"type": "user_message", "message": "again"}},
        {"timestamp": "2026-10-05T09:01:05.000Z", "type": "response_item", "payload": {
            "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Still failing."}]}},
    ]
    write_jsonl(tmp_path / ROLLOUT, lines + again)
    api.import_from("codex", tmp_path)
    session = only(api)
    assert [m.content for m in session.messages if m.role == "user"] == ["run the tests", "again"]  # t1's event: no turn
    context = session.messages[0]
    assert context.content.endswith("\n# Context from my IDE setup:\n\n## Open tabs:\n- test_x.py")
    assert (context.role, context.metadata["injected"]) == ("system", True)
    assert session.turns == 2 and session.title == "run the tests" and session.messages[-1].invocation_id == "t2"
