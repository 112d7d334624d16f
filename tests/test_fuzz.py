"""Fuzzing: the log reader, the snapshot importer and every importer, fed
random and half-valid input, never let anything but chit's own errors
(`ChitError`) escape.

- The log reader: random bytes into `parse_log`; then whole session files
  built from half-valid records (wrong types, unknown kinds, odd
  timestamps, huge numbers, a second header, a newer version, bad UTF-8,
  NUL bytes, deep nesting, a torn last line) put into a real store and
  read every way chit reads a session: the fold, listing and search
  through the index (which must equal reading every file), every export
  format, compaction (which must keep what the fold shows) and the doctor
  (after a repair it must find nothing).
- The snapshot importer: valid snapshots with values swapped for others of
  any type and the checksum recomputed, so the check goes past it, and
  snapshots altered without recomputing it (always refused).
- The importers: tests/test_importers_fuzz.py mutates each source's real
  fixtures; this adds documents generated from scratch out of each
  source's own field names, for claude-code, codex and chatgpt (the llm
  database is scrambled there).

Short runs by default (a few seconds, derandomized so CI is stable);
CHIT_LONG=1 runs 50 times the examples with a fresh random seed each time
(docs/reliability.md gives the counts).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chit import exporters
from chit.api import Chit
from chit.errors import ChitError, InvalidData
from chit.store.fold import fold
from chit.service.facade import parts_of
from chit.store.log import parse_log
from conftest import fresh_home
from test_importers_fuzz import json_values, paths_in, replaced, run_import

LONG = bool(os.environ.get("CHIT_LONG"))
SCALE = 50 if LONG else 1


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples * SCALE,
        derandomize=not LONG,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )


SID = "0f0f0f0f-1111-4222-8333-444444444444"
OTHER_ID = "5eed5eed-0000-4000-8000-000000000000"

# -- the log reader ------------------------------------------------------------


@fuzz(300)
@given(data=st.binary(max_size=2000))
def test_parse_log_takes_any_bytes(data: bytes) -> None:
    log = parse_log(SID, data, "/p", 0)
    assert log.header["id"] == SID
    session = fold(log.header, log.events, log.issues, log.read_only)
    assert session.id == SID


timestamps = st.sampled_from(
    ["2024-01-01T00:00:00.000000Z", "2024-06-01T12:30:00.123456Z", "2030-01-01T00:00:00Z", "2024-01-01", "yesterday", "",
     "9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00.000000Z", "2024-01-01T00:00:00+05:00", "\u0662\u0660\u0662\u0664", "z" * 300]
)
words = st.sampled_from(["hello", "Straße", "STRASSE", "ǅ", "İstanbul", "x" * 50, "", "a\nb", "\x00nul", "tab\there", "💥", "\u2028", "ﬀ"])
anything = st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats(allow_nan=False) | words | st.lists(words, max_size=3) | st.dictionaries(words, words, max_size=2)


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a valid value, sometimes anything at all."""
    return st.one_of(valid, valid, valid, anything)


def record(kind: str, fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A record of `kind` with each field present (valid or not) or absent."""
    return st.fixed_dictionaries({"type": st.just(kind)}, optional={name: maybe(value) for name, value in fields.items()})


ids = st.uuids(version=4).map(str) | st.sampled_from([SID, "not-an-id"])
tag_lists = st.lists(st.sampled_from(["work", "x", "ü", ""]), max_size=3)
events = st.one_of(
    record("message", {"id": ids, "role": st.sampled_from(["user", "assistant", "system", "tool", "wizard"]), "content": words,
                       "ts": timestamps, "invocation_id": words, "model": words,
                       "tokens": st.fixed_dictionaries({}, optional={"input": st.integers(-5, 2**63), "output": st.integers(0, 9)}),
                       "metadata": st.dictionaries(words, words, max_size=2)}),
    record("message", {"id": ids, "role": st.sampled_from(["user", "assistant"]), "content": words, "ts": timestamps}),
    record("rename", {"title": words, "ts": timestamps}),
    record("tag", {"tags": tag_lists, "ts": timestamps}),
    record("untag", {"tags": tag_lists, "ts": timestamps}),
    record("rewind", {"keep": st.integers(-3, 2**63 - 1) | st.integers(0, 6), "turn": st.integers(-1, 5), "ts": timestamps}),
    record("pop", {"id": ids, "ts": timestamps}),
    record("state", {"state": st.sampled_from(["idle", "running", "error", "asleep"]), "turn_id": words, "error": words, "ts": timestamps}),
    record("set", {"key": words, "value": anything, "ts": timestamps}),
    record("unset", {"key": words, "ts": timestamps}),
    record("trash", {"ts": timestamps}),
    record("restore", {"ts": timestamps}),
    record("reaction", {"emoji": words, "ts": timestamps}),
    record("session", {"id": ids, "version": st.just(1)}),
)
headers = st.fixed_dictionaries(
    {"type": st.just("session"), "id": st.sampled_from([SID, SID, OTHER_ID]), "version": st.sampled_from([1, 1, 1, 0, 2])},
    optional={
        "project": maybe(st.just("/p")),
        "created_at": maybe(timestamps),
        "parent": maybe(st.none() | st.fixed_dictionaries({"id": ids}, optional={"turn": st.integers(-1, 9) | st.none()})),
        "key": maybe(st.none() | words),
        "title": maybe(st.none() | words),
        "metadata": maybe(st.dictionaries(words, words, max_size=2)),
    },
)


@st.composite
def session_files(draw: st.DrawFn) -> bytes:
    """A session file: a header (or not), events, and a few kinds of damage."""
    lines = [json.dumps(r).encode() for r in [draw(headers), *draw(st.lists(events, max_size=12))]]
    for _ in range(draw(st.integers(0, 3))):
        damage = draw(st.sampled_from(["drop_header", "garbage", "utf8", "nul", "deep", "blank", "duplicate", "big_int"]))
        at = draw(st.integers(0, len(lines)))
        if damage == "drop_header" and lines:
            lines.pop(0)
        elif damage == "garbage":
            lines.insert(at, draw(st.binary(max_size=40)).replace(b"\n", b" "))
        elif damage == "utf8":
            lines.insert(at, b'{"type": "message", "id": "x", "role": "user", "content": "\xff\xfe", "ts": "2024-01-01T00:00:00Z"}')
        elif damage == "nul":
            lines.insert(at, b'{"type": "rename", "title": "a\x00b"}')
        elif damage == "deep":
            depth = draw(st.sampled_from([10, 600, 5000]))
            lines.insert(at, b'{"type": "set", "key": "k", "value": ' + b"[" * depth + b"]" * depth + b"}")
        elif damage == "blank":
            lines.insert(at, b"   ")
        elif damage == "duplicate" and lines:
            lines.insert(at, lines[draw(st.integers(0, len(lines) - 1))])
        elif damage == "big_int":
            lines.insert(at, b'{"type": "rewind", "keep": 123456789012345678901234567890}')
    data = b"\n".join(lines) + b"\n"
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]  # torn anywhere
    return data


def checked(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run `call`; a ChitError is an acceptable answer, anything else fails."""
    try:
        return call(*args, **kwargs)
    except ChitError:
        return None


@fuzz(120)
@given(data=session_files())
def test_damaged_session_files_are_read_every_way_without_a_crash(empty_home: Path, data: bytes) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="chit-fuzz-"))
    try:
        api = fresh_home(empty_home, scratch / "store", scratch, project="fuzz")
        project = parts_of(api).ctx.projects.ensure(parts_of(api).ctx.project("fuzz", create=True))
        path = api.layout.session_file(project.slug, SID)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_bytes(data)

        session = api.get(SID)  # the fold never fails
        assert session.id == SID
        scope = parts_of(api).ctx.projects.all()
        assert api.list(all_projects=True) == parts_of(api).queries.scan_summaries(scope)  # the index agrees with the file
        for query in ("hello", "straße", "x", "ǆ", "i̇"):
            assert api.search(query, limit=None) == parts_of(api).queries.scan_search(scope, query.casefold())
        assert api.resolve(SID[:6]).id == SID
        for fmt in exporters.FORMATS:
            checked(api.export_bytes, SID, fmt)
        checked(api.export_snapshot, SID)

        before = api.doctor()
        assert before.sessions_checked == 1
        if session.read_only:
            assert checked(api.compact, SID) is None  # a newer format is never rewritten
            assert path.read_bytes() == data
            return
        report = api.compact(SID)
        assert report.lines_dropped == len(session.issues)
        after = api.get(SID)
        assert [(m.id, m.role, m.content, m.turn) for m in after.messages] == [(m.id, m.role, m.content, m.turn) for m in session.messages]
        assert (after.title, after.tags, after.values, after.run, after.key, after.parent) == (
            session.title, session.tags, session.values, session.run, session.key, session.parent)
        assert after.issues == () and after.dropped == 0
        assert api.doctor(repair=True).ok and api.doctor().findings == []
        assert api.list(all_projects=True) == parts_of(api).queries.scan_summaries(scope)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- the snapshot importer ------------------------------------------------------


@pytest.fixture(scope="module")
def snapshot_doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("snap")
    api = Chit(home / "store", cwd=home, project="src", durable=False)
    s = api.create(title="Snap", key="k-1", tags=["a", "b"], metadata={"m": [1, {"n": None}]},
                   messages=[{"role": "system", "content": "sys"}])
    api.append(s.id, "user", "question", invocation_id="i1", metadata={"x": 1})
    api.append(s.id, "assistant", "answer", model="m", tokens=(3, 4))
    api.set_value(s.id, "phase", {"n": 2})
    fork = api.fork(s.id, at=0)
    return api.export_snapshot(fork.id)


def try_import(empty_home: Path, doc: Any, raw: bytes | None = None) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="chit-snap-"))
    try:
        api = fresh_home(empty_home, scratch / "store", scratch, project="dst")
        try:
            result = api.import_snapshot(raw if raw is not None else json.dumps(doc).encode())
        except ChitError:
            return
        session = api.get(result.session.id)  # what was imported reads back, exports, and re-exports identically
        assert session.issues == ()
        for fmt in exporters.FORMATS:
            api.export_bytes(session.id, fmt)
        again = api.export_snapshot(session.id)["session"]
        assert [m["content"] for m in again["messages"]] == [m.content for m in session.messages]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@fuzz(150)
@given(data=st.data())
def test_snapshots_with_any_values_import_or_are_refused_cleanly(
    snapshot_doc: dict[str, Any], empty_home: Path, data: st.DataObject
) -> None:
    body = snapshot_doc["session"]
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.sampled_from(paths_in(body)[1:]))
        body = replaced(body, where, data.draw(json_values | anything))
    try:
        digest = exporters.checksum(body)
    except TypeError:  # a number orjson cannot write (> 64 bits): the import must refuse it anyway
        digest = "sha256:unknown"
    try_import(empty_home, {**snapshot_doc, "session": body, "checksum": digest})


@fuzz(100)
@given(data=st.data())
def test_snapshots_altered_after_export_are_refused(snapshot_doc: dict[str, Any], data: st.DataObject) -> None:
    raw = bytearray(orjson.dumps(snapshot_doc))
    start = raw.index(b'"session"')
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(start + 12, len(raw) - 2))] = data.draw(st.sampled_from(b"ab0{}[]\",: \\\x00\xff"))
    if bytes(raw) == orjson.dumps(snapshot_doc):
        return
    scratch = Path(tempfile.mkdtemp(prefix="chit-snap-"))
    try:
        api = Chit(scratch / "store", cwd=scratch, project="dst", durable=False)
        with pytest.raises(InvalidData):
            api.import_snapshot(bytes(raw))
        assert not (scratch / "store" / "projects").exists() or not any((scratch / "store" / "projects").rglob("*.jsonl"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- the importers: documents generated from their own field names ---------------

text_or_junk = st.one_of(words, anything)
claude_records = st.fixed_dictionaries(
    {"type": st.sampled_from(["user", "assistant", "system", "summary", "progress", "file-history-snapshot", 3])},
    optional={
        "uuid": st.sampled_from(["u1", "u2", "u3", "u4", None, 5]),
        "parentUuid": st.sampled_from(["u1", "u2", "u3", None, 7]),
        "logicalParentUuid": st.sampled_from(["u1", None]),
        "sessionId": st.sampled_from(["s1", "0f0f0f0f-1111-4222-8333-444444444444", "", None, 9]),
        "isSidechain": st.sampled_from([True, False, None, "yes"]),
        "timestamp": timestamps | anything,
        "cwd": st.sampled_from(["/home/dev/p", "", "relative", None, 1]),
        "gitBranch": text_or_junk,
        "isMeta": st.booleans(),
        "toolUseResult": anything,
        "message": st.fixed_dictionaries({}, optional={
            "role": st.sampled_from(["user", "assistant", "system", None]),
            "id": st.sampled_from(["m1", "m2", None]),
            "model": text_or_junk,
            "usage": st.dictionaries(st.sampled_from(["input_tokens", "output_tokens", "cache_read_input_tokens"]), anything, max_size=3) | anything,
            "content": text_or_junk | st.lists(st.fixed_dictionaries(
                {"type": st.sampled_from(["text", "tool_use", "tool_result", "thinking", "image", "redacted_thinking", 0])},
                optional={"text": text_or_junk, "thinking": text_or_junk, "id": st.sampled_from(["c1", "c2", None]),
                          "tool_use_id": st.sampled_from(["c1", "c2", None]), "name": text_or_junk, "input": anything,
                          "content": text_or_junk | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": text_or_junk}), max_size=2),
                          "is_error": anything}), max_size=4),
        }) | anything,
    },
)
codex_payloads = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "reasoning", "function_call", "function_call_output", "custom_tool_call",
                              "custom_tool_call_output", "local_shell_call", "web_search_call", "user_message", "agent_message",
                              "token_count", "turn_context", "session_meta", 4])},
    optional={
        "id": st.sampled_from(["0f0f0f0f-1111-4222-8333-444444444444", "x", None]),
        "role": st.sampled_from(["user", "assistant", "developer", "system", None]),
        "content": text_or_junk | st.lists(st.fixed_dictionaries({"type": st.sampled_from(["input_text", "output_text", "text", 1])},
                                                                  optional={"text": text_or_junk}), max_size=3),
        "message": text_or_junk, "name": text_or_junk, "arguments": text_or_junk | anything, "call_id": st.sampled_from(["c1", "c2", None]),
        "output": text_or_junk | anything, "input": text_or_junk, "summary": anything, "cwd": text_or_junk, "model": text_or_junk,
        "timestamp": timestamps, "info": anything, "git": anything, "action": anything, "status": text_or_junk,
    },
)
codex_records = st.fixed_dictionaries(
    {"type": st.sampled_from(["session_meta", "response_item", "event_msg", "turn_context", "compacted", None]),
     "payload": codex_payloads | anything},
    optional={"timestamp": timestamps | anything},
)
chatgpt_nodes = st.fixed_dictionaries({}, optional={
    "id": st.sampled_from(["n1", "n2", "n3"]),
    "parent": st.sampled_from(["n1", "n2", "n3", None, 4]),
    "children": st.lists(st.sampled_from(["n1", "n2", "n3", 5]), max_size=3) | anything,
    "message": st.fixed_dictionaries({}, optional={
        "id": st.sampled_from(["m1", "m2", None]),
        "author": st.fixed_dictionaries({}, optional={"role": st.sampled_from(["user", "assistant", "system", "tool", None]), "name": text_or_junk}) | anything,
        "create_time": st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**70), 2**70) | anything,
        "content": st.fixed_dictionaries({}, optional={
            "content_type": st.sampled_from(["text", "code", "multimodal_text", "execution_output", "thoughts", "user_editable_context", 7]),
            "parts": st.lists(text_or_junk | st.fixed_dictionaries({"content_type": st.just("image_asset_pointer")}), max_size=3) | anything,
            "text": text_or_junk, "thoughts": anything, "language": text_or_junk}) | anything,
        "metadata": st.dictionaries(st.sampled_from(["model_slug", "is_visually_hidden_from_conversation", "request_id"]), anything, max_size=2) | anything,
        "recipient": text_or_junk,
    }) | anything,
})
chatgpt_conversations = st.fixed_dictionaries({}, optional={
    "id": text_or_junk, "conversation_id": text_or_junk, "title": text_or_junk,
    "create_time": anything, "update_time": anything, "current_node": st.sampled_from(["n1", "n2", "n3", None, 2]),
    "mapping": st.dictionaries(st.sampled_from(["n1", "n2", "n3"]), chatgpt_nodes | anything, max_size=3) | anything,
    "default_model_slug": text_or_junk,
})


def import_generated(source: str, name: str, data: bytes) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="chit-imp-"))
    try:
        target = scratch / "src" / name
        target.parent.mkdir()
        target.write_bytes(data)
        run_import(source, target, scratch / "home")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def jsonl(records: list[Any]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


@fuzz(80)
@given(records=st.lists(claude_records, min_size=1, max_size=8))
def test_generated_claude_code_transcripts(records: list[dict[str, Any]]) -> None:
    import_generated("claude-code", "0f0f0f0f-1111-4222-8333-444444444444.jsonl", jsonl(records))


@fuzz(80)
@given(records=st.lists(codex_records, min_size=1, max_size=8))
def test_generated_codex_rollouts(records: list[dict[str, Any]]) -> None:
    import_generated("codex", "rollout-2026-01-01T00-00-00-0f0f0f0f-1111-4222-8333-444444444444.jsonl", jsonl(records))


@fuzz(80)
@given(conversations=st.lists(chatgpt_conversations | anything, max_size=3), wrapped=st.booleans())
def test_generated_chatgpt_exports(conversations: list[Any], wrapped: bool) -> None:
    doc: Any = {"conversations": conversations} if wrapped else conversations
    import_generated("chatgpt", "conversations.json", json.dumps(doc).encode())
