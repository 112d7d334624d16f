"""llm's logs.db, written by the `llm` package itself: an offline model
logs real conversations (threads and turns), and llm's own migrations lay
out the tables older versions filled (responses)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from chit.api import Chit
from chit.errors import InvalidData
from chit.importers import llm_logs
from chit.model import Session
from chit.service.facade import parts_of
from conftest import tree_digest
from importer_sources import llm_legacy_log, llm_log

# found, not imported: importing llm (pydantic, httpx, ...) is 0.2 s of CPU that
# every worker collecting this module paid; the tests that use it import it
pytestmark = pytest.mark.skipif(importlib.util.find_spec("llm") is None, reason="llm is not installed")


def sessions(api: Chit) -> list[Session]:
    return sorted((s for p in parts_of(api).ctx.projects.all() for s in parts_of(api).ctx.sessions_in(p)), key=lambda s: s.created_at)


def test_a_conversation_with_tools_logged_by_llm(api: Chit, tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    llm_log(db, ["hello", "look up chit"], system="be brief")
    report = api.import_from("llm", db)
    assert (report.imported, report.errors, report.messages) == (1, 0, 7)
    (session,) = sessions(api)
    assert parts_of(api).ctx.locate(session.id).name == "llm" and session.key.startswith("llm:")
    assert [(m.role, m.content) for m in session.messages] == [
        ("system", "be brief"),
        ("user", "hello"),
        ("assistant", "echo: hello"),
        ("user", "look up chit"),
        ("tool", '{"q":"chit"}'),
        ("tool", "chit is a word"),
        ("assistant", "tool said chit is a word"),
    ]
    reply, call, result = session.messages[2], session.messages[4], session.messages[5]
    assert (reply.model, reply.tokens and reply.tokens.as_dict()) == ("echo-test", {"input": 5, "output": 11})
    assert reply.invocation_id is not None and session.messages[1].invocation_id is None
    assert call.metadata.pop("source_id").startswith("b2:")  # the llm message hash
    assert call.metadata == {"tool_kind": "call", "tool_name": "lookup", "tool_call_id": "call-1", "thinking": "I should use the tool"}
    assert result.metadata.pop("source_id") != reply.metadata["source_id"]
    assert result.metadata == {"tool_kind": "result", "tool_name": "lookup", "tool_call_id": "call-1"}
    assert result.invocation_id == call.invocation_id  # a result belongs to the call that asked for it
    assert [m.ts for m in session.messages] == sorted(m.ts for m in session.messages)
    assert session.metadata["import"]["name"] == "hello" and session.metadata["import"]["model"] == "echo-test"


def test_separate_conversations_are_separate_sessions(api: Chit, tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    llm_log(db, ["one"])
    llm_log(db, ["two", "three"])
    report = api.import_from("llm", db)
    assert report.imported == 2
    assert [s.turns for s in sessions(api)] == [1, 2]


def test_a_continued_conversation_appends(api: Chit, home: Path, tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    conversation = llm_log(db, ["first"])
    api.import_from("llm", db)
    digest = tree_digest(home)
    assert api.import_from("llm", db).skipped_reasons == {"unchanged": 1}
    assert tree_digest(home) == digest
    llm_log(db, ["second"], conversation=conversation)
    report = api.import_from("llm", db)
    assert (report.updated, report.messages) == (1, 2)
    assert [m.content for m in sessions(api)[0].messages] == ["first", "echo: first", "second", "echo: second"]


def test_tables_older_llm_versions_wrote(api: Chit, tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    llm_legacy_log(db)
    report = api.import_from("llm", db)
    assert (report.imported, report.errors) == (1, 0)
    (session,) = sessions(api)
    assert session.key == "llm:01hlegacy" and session.created_at == "2024-05-01T10:00:00.250000Z"
    assert [(m.role, m.content) for m in session.messages] == [
        ("system", "answer in one line"), ("user", "what is a ULID?"), ("assistant", "A sortable unique id."),
        ("user", "and a UUID?"), ("assistant", "A 128-bit id."),
    ]
    assert session.messages[2].tokens is not None and session.messages[2].tokens.as_dict() == {"input": 12, "output": 6}
    assert session.messages[4].metadata["thinking"] == "compare them"
    assert session.messages[4].invocation_id == "01hlegacy-r2"


def test_the_database_is_only_read(api: Chit, tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    llm_log(db, ["hello"])
    before = db.read_bytes()
    api.import_from("llm", tmp_path)  # the folder works too
    assert db.read_bytes() == before


def test_not_an_llm_database(api: Chit, tmp_path: Path) -> None:
    (tmp_path / "logs.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises(InvalidData):
        api.import_from("llm", tmp_path / "logs.db")
    (tmp_path / "text.db").write_text("hello")
    with pytest.raises(InvalidData):
        api.import_from("llm", tmp_path / "text.db")


def test_default_location_as_llm_resolves_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import llm

    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm-home"))
    assert llm_logs.default_path() == tmp_path / "llm-home" / "logs.db"
    assert llm_logs.default_path() == llm.user_dir() / "logs.db"
    monkeypatch.delenv("LLM_USER_PATH")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert llm_logs.default_path() == llm.user_dir() / "logs.db"
