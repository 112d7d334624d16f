"""The REPL's cost follows the new part of a session, not its length: the
conversation a chat turn sends is read whole once, then only as the
session grows (and whole again after anything but an append); the
toolbar, the check for other writers' messages and the run state come
from what was just written or from the index, which reads only the
appended lines. Counted by watching the store's whole-file reads while
real turns run against the echo model."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console

from chit.api import Chit
from chit.config import Config
from chit.repl import loop
from chit.repl.state import Repl
from chit.store.sessions import Store


@pytest.fixture(autouse=True)
def _fast_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIT_ECHO_DELAY", "0")
    for name in ("CHIT_MODEL", "OPENAI_API_KEY", "CHIT_API_KEY", "CHIT_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def make(api: Chit, tmp_path: Path, session_id: str) -> Repl:
    console = Console(file=io.StringIO(), width=120, highlight=False)
    return loop.make_repl(api, Config(path=tmp_path / "config.toml"), session_id, "echo", console=console)


def count_whole_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Session ids of every whole-file read of a session from now on."""
    seen: list[str] = []
    real = Store._read  # every whole read of a session file goes through it

    def read(self: Store, slug: str, session_id: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(session_id)
        return real(self, slug, session_id, *args, **kwargs)

    monkeypatch.setattr(Store, "_read", read)
    return seen


def long_session(api: Chit) -> str:
    session = api.create(title="long")
    api.append_many(session.id, [{"role": "user" if n % 2 == 0 else "assistant", "content": f"message {n} " * 20} for n in range(200)])
    return session.id


def test_chat_turns_read_a_long_session_once_then_only_its_new_lines(api: Chit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session_id = long_session(api)
    repl = make(api, tmp_path, session_id)
    reads = count_whole_reads(monkeypatch)
    loop.handle(repl, "hello there")
    assert reads == [session_id]
    loop.handle(repl, "and again")
    loop.handle(repl, "and a third time")
    assert reads == [session_id]
    assert [m.role for m in api.get(session_id).messages[-2:]] == ["user", "assistant"]
    assert repl.fields.turns == "103 turns" and repl.fields.state == "idle"
    assert repl.known == 206


def same(repl: Repl, api: Chit, session_id: str) -> bool:
    """The conversation the REPL would send is the session's messages as a full read gives them."""
    return repl.conversation(session_id) == list(api.get(session_id).messages)


def test_the_conversation_is_what_a_full_read_gives_after_every_kind_of_change(api: Chit, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session_id = long_session(api)
    repl = make(api, tmp_path, session_id)
    other = Chit(home, cwd=tmp_path)
    assert same(repl, api, session_id)
    reads = count_whole_reads(monkeypatch)
    other.append(session_id, "user", "from another process")
    other.append(session_id, "assistant", "a reply")
    other.rename(session_id, "renamed")
    other.tag(session_id, "work")
    other.set_state(session_id, "running", turn_id="t9")
    other.set_value(session_id, "k", 1)
    reads.clear()
    sent = repl.conversation(session_id)
    assert reads == []  # appends: only the new lines were read
    assert sent[-2].content == "from another process" and sent == list(api.get(session_id).messages)
    for change in (
        lambda: other.pop(session_id),
        lambda: other.undo(session_id),
        lambda: other.rewind(session_id, 50),
        lambda: other.compact(session_id),
    ):
        change()
        reads.clear()
        sent = repl.conversation(session_id)
        assert reads == [session_id]  # read whole again
        assert sent == list(other.get(session_id).messages)
    fresh = other.create(title="another")
    other.append(fresh.id, "user", "hello")
    assert repl.conversation(fresh.id) == list(other.get(fresh.id).messages)
    assert same(repl, api, session_id)


def test_a_merged_line_with_an_older_stamp_takes_its_place_in_the_conversation(api: Chit, tmp_path: Path) -> None:
    """Format 2: a union of copies appends another machine's older stamps
    after newer lines; the fold orders by stamp, and so does the REPL."""
    session_id = long_session(api)
    repl = make(api, tmp_path, session_id)
    assert same(repl, api, session_id)
    path = next(api.layout.home.glob(f"projects/*/sessions/{session_id}.jsonl"))
    lines = path.read_bytes().splitlines()
    early = orjson.loads(lines[5])
    merged = {**early, "by": "0" * 16, "id": str(uuid.uuid4()), "content": "from another copy"}  # sorts just before it
    with open(path, "ab") as handle:
        handle.write(orjson.dumps(merged) + b"\n" + lines[-1] + b"\n")  # and a line it already has
    sent = repl.conversation(session_id)
    assert [m.content for m in sent].index("from another copy") == 4
    assert sent == list(api.get(session_id).messages)


def test_other_writers_messages_are_still_noted(api: Chit, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session_id = long_session(api)
    repl = make(api, tmp_path, session_id)
    Chit(home, cwd=tmp_path).append(session_id, "user", "written by another process")
    reads = count_whole_reads(monkeypatch)
    loop.handle(repl, "and now me")
    shown = repl.console.file.getvalue()  # type: ignore[attr-defined]
    assert "1 message(s) were added to this session elsewhere" in shown and "written by another process" in shown
    assert reads == [session_id, session_id]  # the note's read, then the first turn's conversation
    assert repl.known == 203


def test_set_state_returns_the_state_the_session_then_has(api: Chit) -> None:
    session_id = long_session(api)
    running = api.set_state(session_id, "running", turn_id="t1")
    assert running == api.get(session_id).run and running.state == "running" and running.turn_id == "t1"
    failed = api.set_state(session_id, "error", turn_id="t1", error="model gone")
    assert failed == api.get(session_id).run and failed.error == "model gone"


def test_load_json_reads_the_session_once(api: Chit, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from chit.cli.main import run

    session_id = long_session(api)
    monkeypatch.setenv("CHIT_HOME", str(home))
    capsys.readouterr()
    reads = count_whole_reads(monkeypatch)
    assert run(["load", session_id, "--json"]) == 0
    assert reads == [session_id]
    assert '"message_count":200' in capsys.readouterr().out
