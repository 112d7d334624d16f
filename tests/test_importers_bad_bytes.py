"""A byte that is not UTF-8 in another tool's session (a corrupt byte, a
Latin-1 word in a tool's output) costs one character, never the record,
the conversation or the file: it is imported as U+FFFD, as a lone
surrogate escape is (importers.base: text is valid Unicode). An editor's
byte order mark before a snapshot or a `replace` file is read past.

Before, the record holding it was "not JSON" and dropped: a Claude Code
session lost its first prompt and with it its working directory (it went
to the project `claude-code`), a Codex rollout its prompt, a Gemini
session file, a ChatGPT export and an llm conversation (SQLite's "Could not
decode to UTF-8") were not imported at all. Every import runs as a real
`chit` process."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import orjson

from importer_sources import llm_legacy_log

BAD = b"caf\xe9 \xff"  # Latin-1 "café", then a byte no encoding of text has
SHOWN = "caf\ufffd \ufffd"


def _write(path: Path, records: list[dict[str, object]], lines: bool) -> None:
    """`records` as JSON Lines (`lines`) or one JSON document, with every
    "BAD" replaced by the raw bytes of BAD."""
    path.parent.mkdir(parents=True, exist_ok=True)
    texts = [json.dumps(r) for r in records] if lines else [json.dumps(records[0])]
    path.write_bytes(b"".join(t.encode().replace(b"BAD", BAD) + b"\n" for t in texts))


def _messages(cli, project: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    shown = cli("show", "-p", project, "--json")
    assert shown.code == 0, shown.err
    return [(m["role"], m["content"]) for m in orjson.loads(shown.out)["messages"]]


def _imported(cli, tool: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("import", "--from", tool, str(path))
    assert r.code == 0 and r.err.endswith(f"{tool}: imported 1, updated 0, skipped 0, errors 0\n"), r.err


def test_claude_code_keeps_the_record_and_its_working_directory(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    user = "11111111-1111-4111-8111-111111111111"
    _write(tmp_path / "src" / "-p" / "44444444-4444-4444-8444-444444444444.jsonl", [
        {"parentUuid": None, "isSidechain": False, "type": "user", "uuid": user, "sessionId": "s",
         "cwd": "/nowhere/bytes", "timestamp": "2026-01-01T00:00:00Z", "message": {"role": "user", "content": "first BAD prompt"}},
        {"parentUuid": user, "isSidechain": False, "type": "assistant", "uuid": "22222222-2222-4222-8222-222222222222",
         "sessionId": "s", "timestamp": "2026-01-01T00:00:01Z",
         "message": {"id": "m1", "model": "claude", "role": "assistant", "content": [{"type": "text", "text": "the reply"}]}},
    ], lines=True)
    _imported(cli, "claude-code", tmp_path / "src")
    assert _messages(cli, "bytes") == [("user", f"first {SHOWN} prompt"), ("assistant", "the reply")]


def test_codex_keeps_the_prompt(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _write(tmp_path / "rollout-2026-01-01T00-00-00-01a24b83-262a-7c60-8dbc-ea5f43fda404.jsonl", [
        {"timestamp": "2026-01-01T00:00:00Z", "type": "session_meta", "payload": {
            "id": "01a24b83-262a-7c60-8dbc-ea5f43fda404", "timestamp": "2026-01-01T00:00:00Z", "cwd": "/nowhere/rollout",
            "originator": "codex_exec", "cli_version": "0.98.0"}},
        {"timestamp": "2026-01-01T00:00:01Z", "type": "response_item", "payload": {
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "first BAD prompt"}]}},
        {"timestamp": "2026-01-01T00:00:02Z", "type": "response_item", "payload": {
            "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "the reply"}]}},
    ], lines=True)
    _imported(cli, "codex", tmp_path)
    assert _messages(cli, "rollout") == [("user", f"first {SHOWN} prompt"), ("assistant", "the reply")]


def test_a_gemini_session_file_is_imported(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _write(tmp_path / "h" / "chats" / "session-2026-01-01T00-00-29eb990e.json", [{
        "sessionId": "29eb990e-c773-4302-a4e7-317f0af0001f", "projectHash": "h", "startTime": "2026-01-01T00:00:00Z",
        "lastUpdated": "2026-01-01T00:00:01Z", "messages": [
            {"id": "a", "timestamp": "2026-01-01T00:00:00Z", "type": "user", "content": "first BAD prompt"},
            {"id": "b", "timestamp": "2026-01-01T00:00:01Z", "type": "gemini", "content": "the reply"}]}], lines=False)
    _imported(cli, "gemini", tmp_path)
    assert _messages(cli, "gemini") == [("user", f"first {SHOWN} prompt"), ("assistant", "the reply")]


def test_a_chatgpt_export_is_imported(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    nodes = {"root": {"id": "root", "parent": None, "children": ["q"], "message": None}}
    for node, parent, role, text in (("q", "root", "user", "first BAD prompt"), ("a", "q", "assistant", "the reply")):
        nodes[node] = {"id": node, "parent": parent, "children": ["a"] if node == "q" else [], "message": {
            "id": node, "author": {"role": role}, "create_time": 1700000000, "status": "finished_successfully",
            "content": {"content_type": "text", "parts": [text]}, "metadata": {}}}
    conversation = {"id": "c1", "conversation_id": "c1", "title": "t", "create_time": 1700000000,
                    "update_time": 1700000001, "mapping": nodes, "current_node": "a"}
    path = tmp_path / "conversations.json"
    path.write_bytes(json.dumps([conversation]).encode().replace(b"BAD", BAD))
    _imported(cli, "chatgpt", path)
    assert _messages(cli, "chatgpt") == [("user", f"first {SHOWN} prompt"), ("assistant", "the reply")]


def test_an_llm_conversation_is_imported(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    database = tmp_path / "logs.db"
    llm_legacy_log(database)
    with sqlite3.connect(database) as db:  # stored as TEXT, as a tool writing another encoding leaves it
        db.execute("update responses set prompt = cast(? as text) where id = '01hlegacy-r1'", (b"first " + BAD + b" prompt",))
    db.close()
    _imported(cli, "llm", database)
    assert ("user", f"first {SHOWN} prompt") in _messages(cli, "llm")


def test_a_snapshot_and_a_replace_file_saved_with_a_byte_order_mark_are_read(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An editor that saves UTF-8 with a byte order mark (Windows Notepad)
    leaves the file valid JSON to the person (before: "snapshot is not
    valid JSON", "line 1 is not JSON"); from stdin alike."""
    assert cli("new", "kept").code == 0 and cli("append", "hello").code == 0
    snapshot = tmp_path / "snapshot.json"
    assert cli("export", "-f", "json", "-o", str(snapshot)).code == 0
    marked = tmp_path / "marked.json"
    marked.write_bytes(b"\xef\xbb\xbf" + snapshot.read_bytes())
    r = cli("import", str(marked), "--new-id")
    assert r.code == 0, r.err
    assert cli("import", "-", "--new-id", stdin=marked.read_bytes()).code == 0
    session = orjson.loads(cli("ls", "--json").out)[0]["id"]
    lines = tmp_path / "messages.jsonl"
    lines.write_bytes(b'\xef\xbb\xbf{"role": "user", "content": "hello"}\n{"role": "assistant", "content": "replaced"}\n')
    r = cli("replace", session, str(lines))
    assert r.code == 0, r.err
    shown = orjson.loads(cli("show", session, "--json").out)
    assert [(m["role"], m["content"]) for m in shown["messages"]] == [("user", "hello"), ("assistant", "replaced")]
