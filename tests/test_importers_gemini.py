"""Importing Gemini CLI sessions (tests/data/gemini: two real `.json`
sessions and a `.jsonl` log): what each holds, checked against a reading
of the file made here, and re-imports that write nothing or only what
is new."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from chit.service.facade import parts_of
from chit.api import Chit
from chit.model import Session, derive_title
from conftest import run_cli, tree_digest
from importer_sources import fixture

REAL = ["session-2025-10-21T20-04-0b23371a.json", "session-2026-03-26T04-28-1f244a80.json"]
LOG = "session-2026-10-05T21-32-7c2e9a41.jsonl"


def imported(api: Chit) -> dict[str, Session]:
    return {s.key: s for p in parts_of(api).ctx.projects.all() for s in parts_of(api).ctx.sessions_in(p) if s.key}


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def expected_from(path: Path) -> dict[str, Any]:
    """The facts of a `.json` session, read straight from the file."""
    document = json.loads(path.read_text(encoding="utf-8"))
    messages = document["messages"]
    replies = [m for m in messages if m["type"] == "gemini"]
    calls = [c for m in replies for c in m.get("toolCalls") or []]
    return {
        "key": f"gemini:{document['sessionId']}",
        "user": sum(1 for m in messages if m["type"] == "user" and text_of(m["content"]).strip()),
        "assistant": sum(1 for m in replies if text_of(m["content"]).strip()),
        "system": sum(1 for m in messages if m["type"] in ("info", "warning", "error")),
        "calls": len(calls),
        "results": sum(1 for c in calls if c.get("result")),
        "first_prompt": next(text_of(m["content"]) for m in messages if m["type"] == "user"),
        "last_reply": [text_of(m["content"]) for m in replies if text_of(m["content"]).strip()][-1],
        "input_tokens": sum((m.get("tokens") or {}).get("input", 0) for m in replies),
        "output_tokens": sum((m.get("tokens") or {}).get("output", 0) for m in replies),
        "models": {m["model"] for m in replies if m.get("model")},
        "call_names": [c["name"] for c in calls],
    }


@pytest.mark.parametrize("name", REAL)
def test_a_real_session_imports_as_the_file_reads(api: Chit, name: str) -> None:
    path = fixture("gemini", name)
    want = expected_from(path)
    report = api.import_from("gemini", path)
    assert (report.imported, report.errors) == (1, 0)
    session = imported(api)[want["key"]]
    roles = [m.role for m in session.messages]
    tools = [m for m in session.messages if m.role == "tool"]
    assert roles.count("user") == want["user"]
    assert roles.count("assistant") == want["assistant"]
    assert roles.count("system") == want["system"]
    assert [m.metadata["tool_name"] for m in tools if m.metadata["tool_kind"] == "call"] == want["call_names"]
    assert sum(1 for m in tools if m.metadata["tool_kind"] == "result") == want["results"]
    assert next(m.content for m in session.messages if m.role == "user") == want["first_prompt"]
    assert [m.content for m in session.messages if m.role == "assistant"][-1] == want["last_reply"]
    assert sum(m.tokens.input or 0 for m in session.messages if m.tokens) == want["input_tokens"]
    assert sum(m.tokens.output or 0 for m in session.messages if m.tokens) == want["output_tokens"]
    assert {m.model for m in session.messages if m.model} == want["models"]
    assert session.title == derive_title(want["first_prompt"])  # these sessions have no summary
    assert session.metadata["import"]["source"] == "gemini"
    assert session.metadata["import"]["path"] == str(path)
    # every result follows its call and carries its name
    seen: set[str] = set()
    for message in tools:
        if message.metadata["tool_kind"] == "call":
            seen.add(message.metadata["tool_call_id"])
        else:
            assert message.metadata["tool_call_id"] in seen


def test_thoughts_are_kept_out_of_the_content(api: Chit) -> None:
    api.import_from("gemini", fixture("gemini", REAL[0]))
    session = next(iter(imported(api).values()))
    first_reply = next(m for m in session.messages if m.role == "assistant")
    assert first_reply.metadata["thinking"].startswith("Beginning the Build")
    assert "Beginning the Build" not in "".join(m.content for m in session.messages)


def test_the_log_layout_replays_updates_rewinds_and_titles(api: Chit) -> None:
    path = fixture("gemini", LOG)
    report = api.import_from("gemini", path)
    assert (report.imported, report.errors) == (1, 0)
    session = imported(api)["gemini:7c2e9a41-5b3d-4e8f-9a10-2b4c6d8e0f12"]
    assert session.title == "Fix the missing config module"  # from a later $set
    prompts = [m.content for m in session.messages if m.role == "user"]
    assert prompts == ["Why does the build fail?", "Yes, create src/config.ts exporting loadConfig"]  # the rewound one is gone
    call = next(m for m in session.messages if m.metadata.get("tool_kind") == "call")
    # the reply was written three times; the last version (with tokens and the call) counts, once
    assert call.metadata["tool_name"] == "run_shell_command" and call.tokens is not None
    assert (call.tokens.input, call.tokens.output) == (10412, 38)
    assert sum(1 for m in session.messages if m.content == "I will run the build to see the error.") == 1
    failed = [m for m in session.messages if m.metadata.get("tool_error")]
    assert [m.content.splitlines()[-1] for m in failed] == ["Exit Code: 2", "Permission denied: /home/dev/shop/src/config.ts"]
    assert failed[0].metadata["exit_code"] == 2  # the build Gemini CLI called a success
    assert session.messages[-1].role == "system" and session.messages[-1].metadata["subtype"] == "info"


@pytest.mark.parametrize("name", [*REAL, LOG])
def test_reimporting_writes_nothing(api: Chit, home: Path, name: str) -> None:
    api.import_from("gemini", fixture("gemini", name))
    before = tree_digest(home)
    for _ in range(2):  # with the import cache, then comparing without it
        again = api.import_from("gemini", fixture("gemini", name))
        assert (again.imported, again.updated, again.errors, again.messages) == (0, 0, 0, 0)
        assert again.skipped_reasons == {"unchanged": 1}
        (home / "import-cache.json").unlink()
    api.import_from("gemini", fixture("gemini", name))
    assert tree_digest(home) == before


def gemini_home(tmp_path: Path, root: str = "/home/dev/shop") -> Path:
    """A ~/.gemini/tmp with one project folder that records its root."""
    folder = tmp_path / ".gemini" / "tmp" / "shop"
    (folder / "chats").mkdir(parents=True)
    (folder / ".project_root").write_text(root, encoding="utf-8")
    return folder


def test_a_log_that_grows_gets_only_the_new_messages(api: Chit, tmp_path: Path) -> None:
    folder = gemini_home(tmp_path)
    log = folder / "chats" / LOG
    shutil.copy(fixture("gemini", LOG), log)
    api.import_from("gemini", tmp_path / ".gemini" / "tmp")
    before = imported(api)["gemini:7c2e9a41-5b3d-4e8f-9a10-2b4c6d8e0f12"]
    with log.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "n1", "timestamp": "2026-10-05T21:35:00.000Z", "type": "user", "content": [{"text": "try again"}]}) + "\n")
        handle.write(json.dumps({"id": "n2", "timestamp": "2026-10-05T21:35:05.000Z", "type": "gemini", "content": "Done.",
                                 "tokens": {"input": 5, "output": 1}, "model": "gemini-2.5-pro"}) + "\n")
    report = api.import_from("gemini", tmp_path / ".gemini" / "tmp")
    assert (report.imported, report.updated, report.messages) == (0, 1, 2)
    after = imported(api)["gemini:7c2e9a41-5b3d-4e8f-9a10-2b4c6d8e0f12"]
    assert after.id == before.id
    assert [m.id for m in after.messages[: len(before.messages)]] == [m.id for m in before.messages]
    assert [m.content for m in after.messages[-2:]] == ["try again", "Done."]
    assert after.metadata["import"]["cwd"] == "/home/dev/shop"  # from the folder's .project_root


def test_a_message_set_again_after_a_rewind_is_read_as_set(api: Chit, tmp_path: Path) -> None:
    """A message already recorded keeps its record when the history is
    stated again, unless a rewind dropped it: then the new statement holds."""
    folder = gemini_home(tmp_path)
    records = [
        {"sessionId": "5e7a0c1d-0000-4000-8000-00000000000a", "projectHash": "h", "startTime": "2026-10-05T21:00:00.000Z"},
        {"id": "u1", "timestamp": "2026-10-05T21:00:01.000Z", "type": "user", "content": [{"text": "first wording"}]},
        {"$rewindTo": "u1"},
        {"$set": {"messages": [{"id": "u1", "timestamp": "2026-10-05T21:00:02.000Z", "type": "user",
                                "content": [{"text": "second wording"}]}]}},
    ]
    (folder / "chats" / "session-2026-10-05T21-00-5e7a0c1d.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    api.import_from("gemini", tmp_path / ".gemini" / "tmp")
    session = imported(api)["gemini:5e7a0c1d-0000-4000-8000-00000000000a"]
    assert [m.content for m in session.messages] == ["second wording"]


def test_rewinds_take_time_in_what_they_drop_not_in_the_whole_history(tmp_path: Path) -> None:
    """A log of 10,000 messages rewound to its last one and written again,
    10,000 times, reads in about the time of a log of as many messages
    (before: each rewind listed every message, 2.2 s of CPU against 0.35 s
    for a plain log of 30,000)."""
    import time

    from chit.importers import gemini

    head = {"sessionId": "5e7a0c1d-0000-4000-8000-00000000000b", "startTime": "2026-10-05T21:00:00.000Z"}
    count = 10_000

    def message(number: int, text: str = "x") -> dict[str, Any]:
        return {"id": f"m{number}", "type": "user", "content": text}

    rewound = [head, *map(message, range(count))]
    for _ in range(count):
        rewound += [{"$rewindTo": f"m{count - 1}"}, message(count - 1, "again")]
    plain = [head, *map(message, range(3 * count))]
    seconds = {}
    for name, records in (("plain", plain), ("rewound", rewound)):
        path = tmp_path / f"session-{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        started = time.process_time()
        batch = gemini.read_file(path)
        seconds[name] = time.process_time() - started
        assert len(batch.sessions[0].messages) == (count if name == "rewound" else 3 * count)
    assert batch.sessions[0].messages[-1].content == "again"
    assert seconds["rewound"] < 3 * seconds["plain"] + 0.2, seconds


def test_a_rewritten_json_session_that_grew_appends(api: Chit, tmp_path: Path) -> None:
    folder = gemini_home(tmp_path)
    target = folder / "chats" / REAL[0]
    document = json.loads(fixture("gemini", REAL[0]).read_text(encoding="utf-8"))
    last = document["messages"].pop()
    target.write_text(json.dumps(document, indent=2), encoding="utf-8")
    api.import_from("gemini", target)
    document["messages"].append(last)
    target.write_text(json.dumps(document, indent=2), encoding="utf-8")
    report = api.import_from("gemini", target)
    assert (report.imported, report.updated, report.messages) == (0, 1, 1)
    session = next(iter(imported(api).values()))
    assert session.messages[-1].content == last["content"]


def test_a_corrupt_line_costs_only_that_line(api: Chit, tmp_path: Path) -> None:
    lines = fixture("gemini", LOG).read_text(encoding="utf-8").splitlines(keepends=True)
    broken = tmp_path / LOG
    broken.write_text("".join(lines[:2]) + "{not json\n" + "".join(lines[2:]) + '{"id": "torn', encoding="utf-8")
    report = api.import_from("gemini", broken)
    assert report.imported == 1
    assert [(p.line, p.reason) for p in report.problems] == [(3, "not JSON"), (len(lines) + 2, "incomplete last line")]
    session = next(iter(imported(api).values()))
    assert len(session.messages) == 9  # as the intact file gives


def test_a_json_session_cut_short_is_one_problem(api: Chit, tmp_path: Path) -> None:
    folder = gemini_home(tmp_path)
    shutil.copy(fixture("gemini", REAL[0]), folder / "chats" / REAL[0])
    (folder / "chats" / "session-2026-01-01T00-00-deadbeef.json").write_text('{"sessionId": "x", "messa', encoding="utf-8")
    report = api.import_from("gemini", tmp_path / ".gemini" / "tmp")
    assert (report.imported, report.errors) == (1, 1)
    assert report.problems[0].reason.startswith("not JSON")


def test_a_json_and_its_log_twin_are_one_session_read_from_the_log(api: Chit, tmp_path: Path) -> None:
    folder = gemini_home(tmp_path)
    chats = folder / "chats"
    shutil.copy(fixture("gemini", REAL[0]), chats / REAL[0])
    document = json.loads(fixture("gemini", REAL[0]).read_text(encoding="utf-8"))
    head = {k: v for k, v in document.items() if k != "messages"}
    extra = {"id": "later", "timestamp": "2026-10-01T00:00:00.000Z", "type": "user", "content": "one more thing"}
    log = chats / (Path(REAL[0]).stem + ".jsonl")
    log.write_text("".join(json.dumps(r) + "\n" for r in [head, *document["messages"], extra]), encoding="utf-8")
    report = api.import_from("gemini", tmp_path / ".gemini" / "tmp")
    assert (report.imported, report.errors) == (1, 0)
    session = next(iter(imported(api).values()))
    assert session.messages[-1].content == "one more thing"
    assert session.metadata["import"]["path"] == str(log)


def test_a_sub_agent_session_is_skipped(api: Chit, tmp_path: Path) -> None:
    document = json.loads(fixture("gemini", REAL[0]).read_text(encoding="utf-8"))
    document["kind"] = "subagent"
    path = tmp_path / "session-2026-01-01T00-00-0b23371a.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    report = api.import_from("gemini", path)
    assert (report.imported, report.skipped_reasons) == (0, {"sub-agent transcript": 1})


def test_the_cli_imports_from_gemini(home: Path, workdir: Path, tmp_path: Path) -> None:
    folder = gemini_home(tmp_path)
    shutil.copy(fixture("gemini", LOG), folder / "chats" / LOG)
    result = run_cli(["import", "--from", "gemini", "--json"], env={"GEMINI_CLI_HOME": str(tmp_path)})
    assert result.code == 0, result.err
    report = result.json()
    assert isinstance(report, dict) and (report["imported"], report["errors"]) == (1, 0)
    assert report["path"] == str(tmp_path / ".gemini" / "tmp")


def test_a_fifo_for_the_project_root_is_never_waited_on(home: Path, workdir: Path, tmp_path: Path) -> None:
    folder = tmp_path / ".gemini" / "tmp" / "shop"
    (folder / "chats").mkdir(parents=True)
    os.mkfifo(folder / ".project_root")
    shutil.copy(fixture("gemini", LOG), folder / "chats" / LOG)
    result = run_cli(["import", "--from", "gemini", str(tmp_path / ".gemini" / "tmp"), "--json"])  # 60 s timeout
    assert result.code == 0, result.err
    report = result.json()
    assert isinstance(report, dict) and report["imported"] == 1


@pytest.mark.parametrize("notices", [["warning"], ["info", "warning", "error"]])
def test_a_session_of_notices_only_is_skipped_as_no_conversation(home: Path, workdir: Path, tmp_path: Path, notices: list[str]) -> None:
    """A session Gemini CLI wrote only its own notices into (a hook that
    failed before any prompt) holds no conversation: skipped, as the other
    importers skip such a source, never a session titled "new session"."""
    folder = gemini_home(tmp_path)
    lines = [{"sessionId": "5f0c2a6e-1111-4222-8333-444455556666", "projectHash": "ab", "startTime": "2026-10-05T21:32:00.000Z"}]
    lines += [{"id": f"m{n}", "timestamp": "2026-10-05T21:32:01.000Z", "type": kind, "content": f"Hook failed ({kind})"}
              for n, kind in enumerate(notices)]
    (folder / "chats" / "session-2026-10-05T21-32-5f0c2a6e.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run_cli(["import", "--from", "gemini", str(tmp_path / ".gemini" / "tmp"), "--json"])
    assert result.code == 0, result.err
    report = result.json()
    assert isinstance(report, dict)
    assert (report["imported"], report["skipped_reasons"]) == (0, {"no conversation": 1}), report
    listed = run_cli(["ls", "--all", "--json"])
    assert listed.code == 0 and listed.json() == [], listed.out
