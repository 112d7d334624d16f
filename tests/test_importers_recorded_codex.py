"""Rollouts written by real Codex CLI versions, checked against a plain reading.

The files in tests/data/codex-<version>/ were written by Codex CLI itself
(`codex exec`, then `codex exec resume --last` and `codex exec resume ID`),
run against the loopback model server in tools/recorders/; Codex ran the
shell commands and wrote its own records, the replies' text and usage are
the server's. Each model call of the server's script writes exactly one
tool call or reply, so each call's usage belongs on that one message.

`read_rollout` below is a few lines of plain JSON reading written for these
tests, sharing nothing with chit's importer, so a fault in the importer
cannot hide in its own expectations.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chit.api import Chit
from chit.model import Session, derive_title
from chit.service.facade import parts_of
from conftest import tree_digest
from importer_sources import fixture

#: each version's rollout of three `codex exec` runs, with its size after
#: the first and the second run (as the recorder printed them)
VERSIONS = {
    "0.60.1": ("rollout-2026-12-06T13-20-15-01a24b83-262a-7c60-8dbc-ea5f43fda404.jsonl", (19666, 25662)),
    "0.98.0": ("rollout-2026-12-06T13-20-24-01a24b83-483b-7b42-a774-86b6584f7b63.jsonl", (77179, 97649)),
    "0.171.0": ("rollout-2026-12-06T13-20-33-01a24b83-697b-7862-b5ef-dd7977b2d209.jsonl", (89125, 103949)),
}
#: each version's rollout of two runs in which Codex compacted the conversation
COMPACTED = {
    "0.60.1": "rollout-2026-12-06T13-39-15-01a24b94-8b0f-7963-ae51-3adb8bbf9e68.jsonl",
    "0.98.0": "rollout-2026-12-06T13-39-25-01a24b94-b21c-7f03-9ed6-c243a205d288.jsonl",
    "0.171.0": "rollout-2026-12-06T13-39-32-01a24b94-cd2c-7911-8cd4-5cb1e604e8e2.jsonl",
}
PROMPTS = [
    "ZÄHLE bitte die Dateien hier (Straße, 日本語, русский, 🚀) und zeig eine lange Liste.",
    "ЗАПИШИ файл notes.txt с текстом «Straße» и японской заметкой, потом проверь его.",
    "Fasse zusammen — 要約してください 🙏",
]
LAST_REPLY = "Kurz gesagt: alles erledigt 👍 — 以上です。"


@dataclass
class Rollout:
    session_id: str = ""
    version: str = ""
    roles: Counter[str] = field(default_factory=Counter)
    prompts: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    calls: list[tuple[str, bool]] = field(default_factory=list)  # (tool name, failed), in file order
    usage: list[tuple[int, int]] = field(default_factory=list)  # each model call's (input, output)
    summaries: list[str] = field(default_factory=list)
    compactions: list[str] = field(default_factory=list)  # the summaries Codex carried on with


def exit_code(output: str) -> int:
    """A shell output's exit code: Codex wraps it in JSON (older) or writes
    it as a `Process exited with code N` line (newer)."""
    if output.startswith("{"):
        return int(json.loads(output).get("metadata", {}).get("exit_code", 0))
    for line in output.split("\nOutput:\n")[0].splitlines():
        if line.startswith("Process exited with code "):
            return int(line.rsplit(" ", 1)[1])
    return 0


def read_rollout(path: Path) -> Rollout:
    """A rollout read plainly: its `response_item`s, and each model call's
    usage (a `token_count` whose running total moved on)."""
    return read_lines(path.read_bytes().splitlines())


def read_lines(lines: list[bytes]) -> Rollout:
    """`read_rollout` of a rollout's lines."""
    found = Rollout()
    names: dict[str, str] = {}
    outputs: dict[str, int] = {}
    previous_total = None
    for line in lines:
        record = json.loads(line)
        kind, payload = record["type"], record["payload"]
        if kind == "session_meta":
            found.session_id, found.version = payload["id"], payload["cli_version"]
        elif kind == "compacted":
            found.roles["system"] += 1
            found.compactions.append(payload["message"])
        elif kind == "event_msg" and payload["type"] == "token_count" and payload["info"]:
            total = payload["info"]["total_token_usage"]
            if total != previous_total:
                last = payload["info"]["last_token_usage"]
                found.usage.append((last["input_tokens"], last["output_tokens"]))
            previous_total = total
        elif kind != "response_item" or record.get("metadata", {}).get("compaction_output"):
            continue  # Codex 0.171 also writes the summary as the compaction call's reply
        elif payload["type"] == "message":
            body = "\n".join(c["text"] for c in payload["content"] if c["type"].endswith("_text"))
            if payload["role"] == "assistant":
                found.roles["assistant"] += 1
                found.replies.append(body)
            elif payload["role"] == "developer" or body.startswith(("<", "# AGENTS.md")):
                found.roles["system"] += 1
            else:
                found.roles["user"] += 1
                found.prompts.append(body)
        elif payload["type"] in ("function_call", "custom_tool_call"):
            found.roles["tool"] += 1
            names[payload["call_id"]] = payload["name"]
        elif payload["type"] in ("function_call_output", "custom_tool_call_output"):
            found.roles["tool"] += 1
            outputs[payload["call_id"]] = exit_code(payload["output"])
        elif payload["type"] == "reasoning":
            found.summaries.append("\n\n".join(s["text"] for s in payload["summary"]))
    found.calls = [(name, outputs[call] != 0) for call, name in names.items()]
    return found


def sessions(api: Chit) -> dict[str, Session]:
    ctx = parts_of(api).ctx
    return {s.key: s for p in ctx.projects.all() for s in ctx.sessions_in(p) if s.key}


def rollout_of(version: str) -> Path:
    return fixture(f"codex-{version}", VERSIONS[version][0])


@pytest.mark.parametrize("version", list(VERSIONS))
def test_a_real_codex_rollout_matches_a_plain_reading(version: str, api: Chit, home: Path) -> None:
    path = rollout_of(version)
    expected = read_rollout(path)
    assert expected.prompts == PROMPTS and expected.replies[-1] == LAST_REPLY  # the recording is what the script asked
    report = api.import_from("codex", path)
    assert (report.imported, report.errors) == (1, 0)
    session = sessions(api)[f"codex:{expected.session_id}"]
    messages = session.messages
    assert Counter(m.role for m in messages) == expected.roles
    assert [m.content for m in messages if m.role == "user"] == expected.prompts
    assert [m.content for m in messages if m.role == "assistant"] == expected.replies
    assert session.title == derive_title(PROMPTS[0])
    calls = [m for m in messages if m.metadata.get("tool_kind") == "call"]
    results = {m.metadata["tool_call_id"]: m for m in messages if m.metadata.get("tool_kind") == "result"}
    assert [(m.metadata["tool_name"], bool(results[m.metadata["tool_call_id"]].metadata.get("tool_error"))) for m in calls] == expected.calls
    assert session.tokens is not None
    assert (session.tokens.input, session.tokens.output) == tuple(map(sum, zip(*expected.usage)))
    assert session.metadata["import"]["version"] == version == expected.version
    assert all(m.model == "chit-recorder-model" for m in messages if m.role == "assistant")


@pytest.mark.parametrize("version", list(VERSIONS))
def test_each_model_call_s_usage_and_reasoning_are_on_the_message_it_wrote(version: str, api: Chit) -> None:
    """Codex 0.60 writes a call's `token_count` before the call's items,
    later versions after them: either way the usage is the call's own."""
    path = rollout_of(version)
    expected = read_rollout(path)
    api.import_from("codex", path)
    written = [m for m in sessions(api)[f"codex:{expected.session_id}"].messages
               if m.role == "assistant" or m.metadata.get("tool_kind") == "call"]
    assert [(m.tokens.input, m.tokens.output) if m.tokens else None for m in written] == expected.usage
    assert [m.metadata["thinking"] for m in written if m.metadata.get("thinking")] == expected.summaries


@pytest.mark.parametrize("version", list(VERSIONS))
def test_a_second_import_of_a_real_rollout_writes_nothing(version: str, api: Chit, home: Path) -> None:
    path = rollout_of(version)
    api.import_from("codex", path)
    before = tree_digest(home)
    again = api.import_from("codex", path)
    assert (again.imported, again.updated, again.errors) == (0, 0, 0) and tree_digest(home) == before


@pytest.mark.parametrize("version", list(VERSIONS))
@pytest.mark.parametrize("run", [0, 1])
def test_a_rollout_grown_by_a_resumed_run_adds_only_the_new_messages(version: str, run: int, api: Chit, tmp_path: Path) -> None:
    """The file as it was after an earlier `codex exec` run, then as Codex
    grew it: what was imported before stays as it was."""
    path = rollout_of(version)
    folder = tmp_path / "sessions"
    folder.mkdir()
    grown = folder / path.name
    grown.write_bytes(path.read_bytes()[: VERSIONS[version][1][run]])
    api.import_from("codex", folder)
    key = f"codex:{read_rollout(path).session_id}"
    earlier = [(m.id, m.role, m.content, m.tokens, m.metadata.get("thinking")) for m in sessions(api)[key].messages]
    shutil.copyfile(path, grown)
    report = api.import_from("codex", folder)
    assert (report.imported, report.updated, report.errors) == (0, 1, 0)
    later = [(m.id, m.role, m.content, m.tokens, m.metadata.get("thinking")) for m in sessions(api)[key].messages]
    assert later[: len(earlier)] == earlier
    assert Counter(m[1] for m in later) == read_rollout(path).roles


def test_a_0_60_rollout_cut_between_a_count_and_its_call_then_grown_reads_as_the_whole(tmp_path: Path, home: Path) -> None:
    """Codex 0.60 writes a call's count before the call's items: a read
    that ends between them must not keep the count on the message before."""
    path = rollout_of("0.60.1")
    data = path.read_bytes()
    whole = Chit(tmp_path / "whole")
    whole.import_from("codex", path)
    key = f"codex:{read_rollout(path).session_id}"
    expected = [(m.id, m.content, m.tokens) for m in sessions(whole)[key].messages]
    ends = [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
    counted = [end for end, line in zip(ends, data.splitlines()) if b'"token_count","info":{' in line]
    assert len(counted) > 10
    for n, end in enumerate(counted):
        folder = tmp_path / f"cut{n}"
        folder.mkdir()
        (folder / path.name).write_bytes(data[:end])
        api = Chit(tmp_path / f"home{n}")
        api.import_from("codex", folder)
        (folder / path.name).write_bytes(data)
        assert api.import_from("codex", folder).errors == 0
        assert [(m.id, m.content, m.tokens) for m in sessions(api)[key].messages] == expected, f"cut after byte {end}"


@pytest.mark.parametrize("version", list(COMPACTED))
def test_a_compacted_rollout_keeps_codex_s_summary_as_a_system_message_not_a_reply(version: str, api: Chit, home: Path) -> None:
    path = fixture(f"codex-{version}", COMPACTED[version])
    expected = read_rollout(path)
    assert len(expected.compactions) == 1 and expected.prompts == [PROMPTS[0], PROMPTS[2]]
    report = api.import_from("codex", path)
    assert (report.imported, report.errors) == (1, 0)
    session = sessions(api)[f"codex:{expected.session_id}"]
    assert Counter(m.role for m in session.messages) == expected.roles
    assert [m.content for m in session.messages if m.role == "assistant"] == expected.replies
    assert [m.content for m in session.messages if m.metadata.get("compact_summary")] == expected.compactions
    assert session.tokens is not None
    assert (session.tokens.input, session.tokens.output) == tuple(map(sum, zip(*expected.usage)))
    before = tree_digest(home)
    again = api.import_from("codex", path)
    assert (again.imported, again.updated) == (0, 0) and tree_digest(home) == before


#: each version's rollout of two runs: a prompt with a PNG attached (`-i`),
#: then one whose model call fails
WITH_IMAGE = {
    "0.60.1": "rollout-2026-12-06T13-43-48-01a24b98-b56d-73a0-9b82-348d5acc077e.jsonl",
    "0.98.0": "rollout-2026-12-06T13-43-56-01a24b98-d4a8-7d62-983e-c0de6a601fe8.jsonl",
    "0.171.0": "rollout-2026-12-06T13-44-02-01a24b98-ea1c-7e60-acbe-a8cf102333ee.jsonl",
}
IMAGE_PROMPT = "Was siehst du auf dem Bild? 画像を説明して 🖼️"
FAILING_PROMPT = "FEHLER: dieser Aufruf scheitert — ошибка"


def read_prompts_and_errors(path: Path) -> tuple[list[tuple[int, str]], list[str]]:
    """Each prompt as (images attached, its typed text: text blocks other
    than Codex's `<image …>` / `</image>` wrapper), and the errors a turn
    ended with (`task_complete` with an `error`)."""
    prompts, errors = [], []
    for line in path.read_bytes().splitlines():
        record = json.loads(line)
        payload = record["payload"]
        if record["type"] == "event_msg" and payload["type"] == "task_complete" and payload.get("error"):
            errors.append(payload["error"]["message"])
        if record["type"] != "response_item" or payload["type"] != "message" or payload["role"] != "user":
            continue
        blocks = payload["content"]
        typed = [b["text"] for b in blocks if b["type"] == "input_text"
                 and not b["text"].startswith("<image name=") and b["text"] != "</image>"]
        if not typed[0].startswith(("<", "# AGENTS.md")):
            prompts.append((sum(1 for b in blocks if b["type"] == "input_image"), "\n".join(typed)))
    return prompts, errors


@pytest.mark.parametrize("version", list(WITH_IMAGE))
def test_a_prompt_with_an_image_is_one_user_message_titled_by_its_text(version: str, api: Chit) -> None:
    path = fixture(f"codex-{version}", WITH_IMAGE[version])
    prompts, _ = read_prompts_and_errors(path)
    assert prompts == [(1, IMAGE_PROMPT), (0, FAILING_PROMPT)]
    assert api.import_from("codex", path).errors == 0
    session = sessions(api)[f"codex:{read_rollout(path).session_id}"]
    assert [m.content for m in session.messages if m.role == "user"] == ["[image]\n" + IMAGE_PROMPT, FAILING_PROMPT]
    assert session.title == derive_title("[image]\n" + IMAGE_PROMPT)


@pytest.mark.parametrize("version", list(WITH_IMAGE))
def test_a_turn_that_ended_in_an_error_shows_the_error(version: str, api: Chit) -> None:
    """Codex 0.171 keeps a failed turn's error (`task_complete.error`);
    0.60 and 0.98 write nothing for it."""
    path = fixture(f"codex-{version}", WITH_IMAGE[version])
    _, errors = read_prompts_and_errors(path)
    assert len(errors) == (1 if version == "0.171.0" else 0)
    api.import_from("codex", path)
    messages = sessions(api)[f"codex:{read_rollout(path).session_id}"].messages
    assert [m.content for m in messages if m.metadata.get("subtype") == "error"] == errors
    if errors:
        assert messages[-1].role == "system" and messages[-2].content == FAILING_PROMPT


@pytest.mark.parametrize("path", [*(rollout_of(v) for v in VERSIONS), fixture(
    "ai-sessions", "rollout-2025-10-21T20-02-50-019a085e-04c1-7f81-a09e-9555f6a1fb40.jsonl")], ids=[*VERSIONS, "0.47.0"])
def test_a_rollout_of_the_context_codex_writes_before_a_first_prompt_is_skipped_until_one_comes(path: Path, api: Chit, tmp_path: Path) -> None:
    """Each real rollout cut before its first prompt (Codex writes its
    instructions and the environment context when a session starts: the
    public 0.47 one held them alone for 87 seconds, by its times) holds no conversation:
    skipped (`no conversation`), as a Gemini session of notices is. Before:
    imported as a session of system messages. Grown, it is imported whole."""
    lines = path.read_bytes().splitlines(keepends=True)
    first_prompt = next(i for i, line in enumerate(lines) if read_lines([line]).prompts)
    folder = tmp_path / "sessions"
    folder.mkdir()
    (folder / path.name).write_bytes(b"".join(lines[:first_prompt]))
    report = api.import_from("codex", folder)
    assert (report.imported, report.errors, dict(report.skipped_reasons)) == (0, 0, {"no conversation": 1})
    assert sessions(api) == {}
    shutil.copyfile(path, folder / path.name)
    report = api.import_from("codex", folder)
    assert (report.imported, report.errors) == (1, 0)
    assert [s.title for s in sessions(api).values()] == [derive_title(read_rollout(path).prompts[0])]
