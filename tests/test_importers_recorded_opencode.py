"""Sessions the real opencode wrote, checked against a plain reading of
its files.

tests/data/opencode-1.1.65 is the JSON storage opencode 1.1.65 wrote (the
last version before 1.2 keeps sessions there) and
tests/data/opencode-1.18.33/opencode.db the database opencode 1.18.33
wrote, each for the same three turns of `opencode run` in a git work tree
against a loopback model server (tools/recorders/opencode): bash
commands that succeed and fail, a 42,000-character output, a file write,
a failed read, reasoning, a `task` sub-agent, `--continue`, `--session`
with an attached file, German, Japanese, Russian and emoji.
tests/data/opencode-1.2.1-upgrade/opencode.db is the database opencode
1.2.1 made of that JSON storage, after a fourth turn. The expectations
come from `read_storage` and `read_database` below: a few lines of plain
JSON and SQL reading written for these tests, sharing nothing with
chit's importer.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from chit.api import Chit
from chit.model import Session
from chit.service.facade import parts_of
from conftest import tree_digest
from importer_sources import fixture

JSON_VERSION, DB_VERSION = "1.1.65", "1.18.33"


@dataclass
class Plain:
    """One opencode session as its files hold it."""

    title: str
    parent: str | None
    messages: list[tuple[dict[str, Any], list[dict[str, Any]]]] = field(default_factory=list)  # id order
    totals: tuple[int, int] | None = None  # opencode's own sums (tokens read, tokens written), where it keeps them


def read_storage(storage: Path) -> dict[str, Plain]:
    found = {}
    for session_file in storage.glob("session/*/*.json"):
        info = json.loads(session_file.read_bytes())
        plain = Plain(info["title"], info.get("parentID"))
        for message_file in sorted((storage / "message" / info["id"]).glob("*.json")):
            parts = [json.loads(p.read_bytes()) for p in sorted((storage / "part" / message_file.stem).glob("*.json"))]
            plain.messages.append((json.loads(message_file.read_bytes()), parts))
        found[info["id"]] = plain
    return found


def read_database(database: Path) -> dict[str, Plain]:
    db = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    found = {}
    summed = "tokens_input" in {column for (_, column, *_) in db.execute("pragma table_info(session)")}  # 1.18, not 1.2
    sums = "tokens_input + tokens_cache_read + tokens_cache_write, tokens_output + tokens_reasoning" if summed else "null, null"
    for sid, title, parent, read, written in db.execute(f"select id, title, parent_id, {sums} from session").fetchall():
        plain = Plain(title, parent, totals=(read, written) if summed else None)
        for mid, data in db.execute("select id, data from message where session_id = ? order by id", (sid,)).fetchall():
            parts = [json.loads(p) for (p,) in db.execute("select data from part where message_id = ? order by id", (mid,))]
            plain.messages.append(({**json.loads(data), "id": mid}, parts))
        found[sid] = plain
    db.close()
    return found


@dataclass
class Expected:
    roles: Counter[str]
    prompts: list[str]
    last_reply: str
    calls: list[str]
    failed: list[str]  # the calls opencode marked as errors, and commands that exited non-zero
    tokens: tuple[int, int]


def expect(plain: Plain) -> Expected:
    """What chit should make of a session: a user message per prompt (an
    attached file named in it, the text opencode read from it a system
    message), an assistant message per reply text, a call and a result
    per tool part, and token counts with cached input and reasoning
    included."""
    roles: Counter[str] = Counter()  # counts of 0 are dropped below
    prompts, replies, calls, failed = [], [], [], []
    read = written = 0
    for message, parts in plain.messages:
        if message["role"] == "user":
            roles["user"] += 1
            roles["system"] += sum(1 for p in parts if p["type"] == "text" and p.get("synthetic"))  # an attached file's text
            prompts.append("\n".join([p["text"] for p in parts if p["type"] == "text" and not p.get("synthetic")]
                                     + [f"[file: {p['filename']}]" for p in parts if p["type"] == "file"]))
        for part in parts if message["role"] == "assistant" else []:
            if part["type"] == "text":
                roles["assistant"] += 1
                replies.append(part["text"])
            elif part["type"] == "tool":
                roles["tool"] += 2
                calls.append(part["tool"])
                if part["state"]["status"] == "error" or (part["state"].get("metadata") or {}).get("exit", 0) != 0:
                    failed.append(part["tool"])
            elif part["type"] == "step-finish":
                tokens = part["tokens"]
                step_in = tokens["input"] + tokens["cache"]["read"] + tokens["cache"]["write"]
                read, written = read + step_in, written + tokens["total"] - step_in
    assert plain.totals in (None, (read, written))  # opencode's own sums say the same
    return Expected(+roles, prompts, replies[-1], calls, failed, (read, written))


def key_of(session_id: str, plain: Plain) -> str:
    """The key chit gives a session: a sub-agent's is its parent's
    followed by `/agent-<its session id>`."""
    return f"opencode:{plain.parent}/agent-{session_id}" if plain.parent else f"opencode:{session_id}"


def imported(api: Chit) -> dict[str, Session]:
    return {s.key: s for p in parts_of(api).ctx.projects.all() for s in parts_of(api).ctx.sessions_in(p) if s.key}


def check(session: Session, plain: Plain) -> None:
    expected = expect(plain)
    assert Counter(m.role for m in session.messages) == expected.roles
    assert [m.content for m in session.messages if m.role == "user"] == expected.prompts
    assert [m.content for m in session.messages if m.role == "assistant"][-1] == expected.last_reply
    calls = [m for m in session.messages if m.metadata.get("tool_kind") == "call"]
    assert [m.metadata["tool_name"] for m in calls] == expected.calls
    errors = [m.metadata["tool_name"] for m in session.messages if m.metadata.get("tool_error")]
    assert sorted(errors) == sorted(expected.failed)
    assert session.title == plain.title
    assert [m.ts for m in session.messages] == sorted(m.ts for m in session.messages)  # calls made at once, then their results
    position = {(m.metadata.get("tool_call_id"), m.metadata.get("tool_kind")): i for i, m in enumerate(session.messages)}
    assert all(position[(call, "call")] < i for (call, kind), i in position.items() if kind == "result")
    counted = [m.tokens for m in session.messages if m.tokens]
    assert (sum(t.input or 0 for t in counted), sum(t.output or 0 for t in counted)) == expected.tokens


def recorded(layout: str, tmp_path: Path) -> tuple[Path, dict[str, Plain]]:
    """A copy of a recorded data folder and its plain reading."""
    folder = tmp_path / "opencode"
    if layout == "json":
        shutil.copytree(fixture(f"opencode-{JSON_VERSION}", "storage"), folder / "storage")
        return folder, read_storage(folder / "storage")
    folder.mkdir()
    shutil.copy(fixture(f"opencode-{DB_VERSION}", "opencode.db"), folder / "opencode.db")
    return folder, read_database(folder / "opencode.db")


@pytest.mark.parametrize("layout", ["json", "db"])
def test_every_recorded_session_imports_as_its_files_read(api: Chit, tmp_path: Path, layout: str) -> None:
    folder, plain = recorded(layout, tmp_path)
    assert len(plain) == 2 and sum(1 for p in plain.values() if p.parent) == 1
    report = api.import_from("opencode", folder)
    assert (report.imported, report.errors) == (2, 0)
    sessions = imported(api)
    assert report.messages == sum(len(s.messages) for s in sessions.values()) == 24
    for session_id, one in plain.items():
        session = sessions[key_of(session_id, one)]
        check(session, one)
        assert session.metadata["import"]["version"] == (JSON_VERSION if layout == "json" else DB_VERSION)
        assert session.metadata["import"]["cwd"] == "/home/ocuser/shop"
        assert session.metadata["import"].get("parent_id") == one.parent


@pytest.mark.parametrize("layout", ["json", "db"])
def test_the_recorded_main_session_in_detail(api: Chit, tmp_path: Path, layout: str) -> None:
    folder, plain = recorded(layout, tmp_path)
    api.import_from("opencode", folder)
    session = imported(api)[f"opencode:{main_id(plain)}"]
    assert session.title == "Größe prüfen, 日本語 und Русский 🚀"
    assert "Straße: 日本語のテスト, Проверка связи, 🚀" in session.messages[0].content
    calls = [m for m in session.messages if m.metadata.get("tool_kind") == "call"]
    assert [m.metadata["tool_name"] for m in calls] == ["bash", "bash", "bash", "write", "read", "task"]
    long = next(m for m in session.messages if m.metadata.get("tool_kind") == "result" and "line 01400" in m.content)
    assert len(long.content) == 42000
    failed_read = next(m for m in session.messages if m.metadata.get("tool_name") == "read" and m.metadata["tool_kind"] == "result")
    assert failed_read.metadata["tool_error"] is True and "missing-file-ß.txt" in failed_read.content
    commands = {m.metadata["tool_call_id"]: json.loads(m.content)["command"] for m in calls if m.metadata["tool_name"] == "bash"}
    exits = {commands[m.metadata["tool_call_id"]].split()[0]: m.metadata["exit_code"]
             for m in session.messages if m.metadata.get("tool_call_id") in commands and m.metadata["tool_kind"] == "result"}
    assert exits == {"echo": 0, "ls": 2, "seq": 0}
    thinking = [m.metadata["thinking"] for m in session.messages if m.metadata.get("thinking")]
    assert thinking[0].startswith("Zuerst die Umgebung prüfen") and len(thinking) == 3
    assert session.messages[-1].content == "Auf Wiedersehen! さようなら。До свидания! 👋"
    attached = next(i for i, m in enumerate(session.messages) if m.role == "user" and m.content.endswith("[file: NOTES.md]"))
    read_for_it = session.messages[attached + 1:attached + 3]
    assert [m.role for m in read_for_it] == ["system", "system"] and all(m.metadata["injected"] for m in read_for_it)
    assert "Große Straße — 東京 — Москва 🚀" in read_for_it[1].content
    assert all(m.model == "scripted-1" for m in session.messages if m.role == "assistant")


@pytest.mark.parametrize("layout", ["json", "db"])
def test_a_recorded_folder_imported_again_writes_nothing(api: Chit, home: Path, tmp_path: Path, layout: str) -> None:
    folder, _ = recorded(layout, tmp_path)
    api.import_from("opencode", folder)
    before = tree_digest(home)
    again = api.import_from("opencode", folder)
    assert (again.imported, again.updated, again.messages) == (0, 0, 0)
    (home / "import-cache.json").unlink()
    again = api.import_from("opencode", folder)
    assert (again.imported, again.updated, again.messages) == (0, 0, 0)
    assert tree_digest(home) == before


@pytest.mark.parametrize("layout", ["json", "db"])
def test_the_recorded_task_sub_agent_is_a_child_session_of_its_parent(cli, tmp_path: Path, layout: str) -> None:  # type: ignore[no-untyped-def]
    """As a Claude Code sub-agent: hidden from `ls` but counted by its
    parent, named by `show`, linked to the `task` call that started it."""
    folder, plain = recorded(layout, tmp_path)
    parent, child = main_id(plain), next(sid for sid, p in plain.items() if p.parent)
    task = next(p for _, parts in plain[parent].messages for p in parts if p["type"] == "tool" and p["tool"] == "task")
    assert plain[child].parent == parent and task["state"]["metadata"]["sessionId"] == child
    assert cli("import", "--from", "opencode", str(folder)).code == 0
    listed = [orjson.loads(line) for line in cli("ls", "-a", "--jsonl").out.splitlines()]
    assert [(s["title"], s["agents"]) for s in listed] == [(plain[parent].title, 1)]
    every = [orjson.loads(line) for line in cli("ls", "-a", "--agents", "--jsonl").out.splitlines()]
    assert sorted((s["title"], s["agents"]) for s in every) == sorted([(plain[parent].title, 1), (plain[child].title, 0)])
    shown = orjson.loads(cli("show", listed[0]["id"], "--json").out)
    assert [a["title"] for a in shown["agents"]] == [plain[child].title] and shown["agent_of"] is None
    call = next(m for m in shown["messages"] if m["metadata"].get("tool_name") == "task" and m["metadata"]["tool_kind"] == "call")
    agent = orjson.loads(cli("show", shown["agents"][0]["id"], "--json").out)
    assert agent["agent_of"]["id"] == listed[0]["id"] and agent["key"] == f"opencode:{parent}/agent-{child}"
    facts = agent["metadata"]["import"]
    assert (facts["parent"], facts["agent_id"], facts["parent_id"]) == (f"opencode:{parent}", child, parent)
    assert (facts["tool_call_id"], facts["agent_type"]) == (call["metadata"]["tool_call_id"], task["state"]["input"]["subagent_type"])
    assert facts["tool_call_id"] == task["callID"]
    human = cli("show", shown["agents"][0]["id"], "--no-pager").out
    assert f"sub-agent of {listed[0]['id'][:8]}" in human
    printed = orjson.loads(cli("resume", "--print", "--json", shown["agents"][0]["id"]).out)
    assert printed["argv"] == ["opencode", "--session", child]  # opencode reopens the sub-agent's own session


def test_a_sub_agent_imported_before_its_task_call_is_linked_once_the_parent_records_it(api: Chit, tmp_path: Path) -> None:
    folder, plain = recorded("db", tmp_path)
    database = folder / "opencode.db"
    shutil.copy(database, tmp_path / "whole.db")
    parent, child = main_id(plain), next(sid for sid, p in plain.items() if p.parent)
    db = sqlite3.connect(database)
    db.execute("delete from part where session_id = ? and data like '%\"tool\":\"task\"%'", (parent,))
    db.commit()
    db.close()
    api.import_from("opencode", folder)
    facts = imported(api)[key_of(child, plain[child])].metadata["import"]
    assert (facts["parent"], "tool_call_id" in facts) == (f"opencode:{parent}", False)
    shutil.copy(tmp_path / "whole.db", database)  # the parent's task part written; the sub-agent's rows as they were
    api.import_from("opencode", folder)
    facts = imported(api)[key_of(child, plain[child])].metadata["import"]
    assert (facts["tool_call_id"], facts["agent_type"]) == next(
        (p["callID"], p["state"]["input"]["subagent_type"]) for _, parts in plain[parent].messages for p in parts if p.get("tool") == "task")


def test_a_sub_agent_an_earlier_import_keyed_as_a_session_of_its_own_becomes_the_child(
    api: Chit, home: Path, tmp_path: Path,
) -> None:
    """A store made before sub-agents were child sessions holds the
    sub-agent keyed `opencode:<its id>`: it is that session that is given
    the child's key, not a second copy."""
    folder, plain = recorded("db", tmp_path)
    child = next(sid for sid, p in plain.items() if p.parent)
    api.import_from("opencode", folder)
    stored = imported(api)[key_of(child, plain[child])]
    path = next(p for p in (home / "projects").glob("*/sessions/*.jsonl") if p.stem == stored.id)
    header, rest = path.read_bytes().split(b"\n", 1)
    earlier = json.loads(header)
    earlier["key"], earlier["metadata"]["import"]["id"] = f"opencode:{child}", child  # as an earlier import wrote it
    path.write_bytes(json.dumps(earlier).encode() + b"\n" + rest)
    (home / "import-cache.json").unlink()
    report = api.import_from("opencode", folder)
    assert (report.imported, report.updated) == (0, 1)
    sessions = imported(api)
    assert sorted(sessions) == sorted(key_of(sid, p) for sid, p in plain.items())
    assert sessions[key_of(child, plain[child])].id == stored.id
    check(sessions[key_of(child, plain[child])], plain[child])


def main_id(plain: dict[str, Plain]) -> str:
    return next(sid for sid, p in plain.items() if p.parent is None)


def last_turn(session: Plain) -> tuple[list[str], int]:
    """The ids of the messages of a session's last turn (its last prompt
    and what followed), and how many messages chit should make of them."""
    last_prompt = max(i for i, (m, _) in enumerate(session.messages) if m["role"] == "user")
    earlier = Plain(session.title, session.parent, session.messages[:last_prompt])
    added = sum(expect(session).roles.values()) - sum(expect(earlier).roles.values())
    return [m["id"] for m, _ in session.messages[last_prompt:]], added


def test_the_json_storage_grown_by_a_resumed_turn_adds_only_that_turn(api: Chit, tmp_path: Path) -> None:
    folder, plain = recorded("json", tmp_path)
    storage, main = folder / "storage", main_id(plain)
    turn, added = last_turn(plain[main])
    shutil.copytree(storage, tmp_path / "whole")
    # the storage as opencode 1.1.65 left it after the second turn: without the
    # third turn's message and part files, with that time's session and project files
    for message_id in turn:
        (storage / "message" / main / f"{message_id}.json").unlink()
        shutil.rmtree(storage / "part" / message_id)
    shutil.copytree(fixture(f"opencode-{JSON_VERSION}", "after-turn-2"), storage, dirs_exist_ok=True)
    api.import_from("opencode", folder)
    before = imported(api)[f"opencode:{main}"]
    shutil.rmtree(storage)
    shutil.copytree(tmp_path / "whole", storage)
    grown = api.import_from("opencode", folder)
    assert (grown.imported, grown.updated, grown.messages) == (0, 1, added)
    after = imported(api)[f"opencode:{main}"]
    assert after.id == before.id and [m.id for m in after.messages[:-added]] == [m.id for m in before.messages]
    check(after, plain[main])


def test_the_database_grown_by_a_resumed_turn_adds_only_that_turn(api: Chit, tmp_path: Path) -> None:
    folder, plain = recorded("db", tmp_path)
    database = folder / "opencode.db"
    shutil.copy(database, tmp_path / "whole.db")
    main = main_id(plain)
    turn, added = last_turn(plain[main])
    # the database as it was before the third turn (but for the session row's times): its rows removed
    db = sqlite3.connect(database)
    db.executemany("delete from part where message_id = ?", [(m,) for m in turn])
    db.executemany("delete from message where id = ?", [(m,) for m in turn])
    db.commit()
    db.close()
    api.import_from("opencode", folder)
    before = imported(api)[f"opencode:{main}"]
    shutil.copy(tmp_path / "whole.db", database)
    grown = api.import_from("opencode", folder)
    assert (grown.imported, grown.updated, grown.messages) == (0, 1, added)
    after = imported(api)[f"opencode:{main}"]
    assert after.id == before.id and [m.id for m in after.messages[:-added]] == [m.id for m in before.messages]
    check(after, plain[main])


def test_the_database_opencode_made_of_the_json_storage_on_upgrading_adds_only_the_new_turn(api: Chit, tmp_path: Path) -> None:
    """opencode 1.2.1, run on the 1.1.65 data folder, copied the JSON
    storage into a new opencode.db, left the files, and took a fourth turn
    there: the sessions chit imported from the files are the same sessions."""
    folder, plain = recorded("json", tmp_path)
    assert api.import_from("opencode", folder).imported == 2
    before = imported(api)
    shutil.copy(fixture("opencode-1.2.1-upgrade", "opencode.db"), folder / "opencode.db")
    upgraded = read_database(folder / "opencode.db")
    assert upgraded.keys() == plain.keys()
    main = main_id(upgraded)
    added = sum(expect(upgraded[main]).roles.values()) - sum(expect(plain[main]).roles.values())
    report = api.import_from("opencode", folder)
    assert (report.imported, report.updated, report.messages) == (0, 1, added) and added == 2
    after = imported(api)
    assert after.keys() == before.keys()
    assert [m.id for m in after[f"opencode:{main}"].messages[:-added]] == [m.id for m in before[f"opencode:{main}"].messages]
    for session_id, one in upgraded.items():
        check(after[key_of(session_id, one)], one)
