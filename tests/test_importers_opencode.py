"""Importing opencode sessions: the JSON storage of tests/data/opencode, and
the same records in an `opencode.db` built here as opencode 1.2 builds it
from that storage (its tables as opencode declares them, its rows as its
JSON migration writes them). Every fact checked comes from reading the
files here, not from the importer."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from chit.service.facade import parts_of
from chit.api import Chit
from chit.model import Session
from conftest import run_cli, tree_digest
from importer_sources import fixture

PARENT = "ses_6aade4081ffe216ygZUgcUQdR1"
CHILD = "ses_6aade2f44ffeQk3LmN8pR2sT4v"
#: the task's sub-agent session is keyed under its parent
KEYS = {PARENT: f"opencode:{PARENT}", CHILD: f"opencode:{PARENT}/agent-{CHILD}"}

SCHEMA = """
create table project (id text primary key, worktree text not null, vcs text, name text, icon_url text,
    icon_color text, time_created integer not null, time_updated integer not null, time_initialized integer,
    sandboxes text not null);
create table session (id text primary key, project_id text not null references project(id) on delete cascade,
    workspace_id text, parent_id text, slug text not null, directory text not null, path text, title text not null,
    version text not null, share_url text, summary_additions integer, summary_deletions integer, summary_files integer,
    summary_diffs text, revert text, permission text, time_created integer not null, time_updated integer not null,
    time_compacting integer, time_archived integer);
create table message (id text primary key, session_id text not null references session(id) on delete cascade,
    time_created integer not null, time_updated integer not null, data text not null);
create table part (id text primary key, message_id text not null references message(id) on delete cascade,
    session_id text not null, time_created integer not null, time_updated integer not null, data text not null);
"""


def storage() -> Path:
    return fixture("opencode", "storage")


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def build_database(target: Path, source: Path) -> Path:
    """`opencode.db` holding what the JSON storage at `source` holds, one row per file."""
    db = sqlite3.connect(target)
    db.execute("pragma journal_mode = wal")  # as opencode opens it
    db.executescript(SCHEMA)
    for f in sorted(source.glob("project/*.json")):
        p = read(f)
        db.execute("insert into project values (?,?,?,?,?,?,?,?,?,?)", (f.stem, p["worktree"], p.get("vcs"), None, None, None,
                   p["time"]["created"], p["time"]["updated"], None, "[]"))
    for f in sorted(source.glob("session/*/*.json")):
        s = read(f)
        db.execute("insert into session (id, project_id, parent_id, slug, directory, title, version, revert, time_created,"
                   " time_updated) values (?,?,?,?,?,?,?,?,?,?)",
                   (f.stem, f.parent.name, s.get("parentID"), s.get("slug", ""), s.get("directory", ""), s.get("title", ""),
                    s.get("version", ""), json.dumps(s["revert"]) if s.get("revert") else None,
                    s["time"]["created"], s["time"]["updated"]))
    for f in sorted(source.glob("message/*/*.json")):
        m = read(f)
        created = m["time"]["created"]
        data = {k: v for k, v in m.items() if k not in ("id", "sessionID")}
        db.execute("insert into message values (?,?,?,?,?)", (f.stem, f.parent.name, created, created, json.dumps(data)))
        for pf in sorted((source / "part" / f.stem).glob("*.json")):
            part = read(pf)
            data = {k: v for k, v in part.items() if k not in ("id", "messageID", "sessionID")}
            db.execute("insert into part values (?,?,?,?,?,?)", (pf.stem, f.stem, f.parent.name, created, created, json.dumps(data)))
    db.commit()
    db.close()
    return target


def expected(session_id: str) -> dict[str, Any]:
    """A session's facts read from the JSON storage."""
    messages = [read(f) for f in sorted((storage() / "message" / session_id).glob("*.json"))]
    parts = {m["id"]: [read(f) for f in sorted((storage() / "part" / m["id"]).glob("*.json"))] for m in messages}
    users = [m for m in messages if m["role"] == "user"]
    every = [p for m in messages for p in parts[m["id"]]]
    tools = [p for p in every if p["type"] == "tool"]
    replies = [p["text"] for m in messages if m["role"] == "assistant" for p in parts[m["id"]] if p["type"] == "text"]
    steps = [p["tokens"] for p in every if p["type"] == "step-finish"]
    return {
        "user": len(users),
        "assistant": len(replies),
        "system": sum(1 for p in every if p["type"] == "text" and p.get("synthetic")) + sum(1 for m in messages if m.get("error")),
        "calls": [p["tool"] for p in tools],
        "results": sum(1 for p in tools if p["state"]["status"] in ("completed", "error")),
        "errors": sum(1 for p in tools if p["state"]["status"] == "error" or p["state"].get("metadata", {}).get("exit", 0) != 0),
        "first_prompt": next(p["text"] for p in parts[users[0]["id"]] if p["type"] == "text"),
        "last_reply": replies[-1],
        "tokens": (sum(t["input"] + t["cache"]["read"] + t["cache"]["write"] for t in steps), sum(t["output"] for t in steps)),
        "title": read(next(storage().glob(f"session/*/{session_id}.json")))["title"],
    }


def imported(api: Chit) -> dict[str, Session]:
    return {s.key: s for p in parts_of(api).ctx.projects.all() for s in parts_of(api).ctx.sessions_in(p) if s.key}


@pytest.fixture(params=["json", "db"])
def data(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """An opencode data folder in either layout."""
    folder = tmp_path / "opencode"
    if request.param == "json":
        shutil.copytree(storage(), folder / "storage")
    else:
        folder.mkdir()
        build_database(folder / "opencode.db", storage())
    return folder


@pytest.mark.parametrize("session_id", [PARENT, CHILD])
def test_each_session_imports_as_the_files_read(api: Chit, data: Path, session_id: str) -> None:
    report = api.import_from("opencode", data)
    assert (report.imported, report.errors) == (2, 0)
    want = expected(session_id)
    session = imported(api)[KEYS[session_id]]
    roles = [m.role for m in session.messages]
    tools = [m for m in session.messages if m.role == "tool"]
    assert (roles.count("user"), roles.count("assistant"), roles.count("system")) == (want["user"], want["assistant"], want["system"])
    assert [m.metadata["tool_name"] for m in tools if m.metadata["tool_kind"] == "call"] == want["calls"]
    assert sum(1 for m in tools if m.metadata["tool_kind"] == "result") == want["results"]
    assert sum(1 for m in tools if m.metadata.get("tool_error")) == want["errors"]
    assert next(m.content for m in session.messages if m.role == "user").startswith(want["first_prompt"])
    assert [m.content for m in session.messages if m.role == "assistant"][-1] == want["last_reply"]
    tokens = [m.tokens for m in session.messages if m.tokens]
    assert (sum(t.input or 0 for t in tokens), sum(t.output or 0 for t in tokens)) == want["tokens"]
    assert session.title == want["title"]
    assert session.metadata["import"]["cwd"] == "/home/dev/shop"
    assert [m.ts for m in session.messages] == sorted(m.ts for m in session.messages)


def test_the_parent_session_in_detail(api: Chit, data: Path) -> None:
    api.import_from("opencode", data)
    session = imported(api)[f"opencode:{PARENT}"]
    first = session.messages[0]
    assert first.content == "Why does `npm run build` fail?\n[file: package.json]"
    assert session.messages[1].role == "system" and session.messages[1].metadata["injected"] is True
    reply = session.messages[2]
    assert reply.metadata["thinking"] == "I should run the build and read the error."
    assert reply.model == "claude-sonnet-4-5" and reply.invocation_id and reply.invocation_id.startswith("msg_")
    assert session.messages[-1].content == "MessageAbortedError: The operation was aborted."
    child = imported(api)[KEYS[CHILD]]
    assert child.metadata["import"]["parent_id"] == PARENT
    task = next(m for m in session.messages if m.metadata.get("tool_name") == "task")
    assert {k: child.metadata["import"][k] for k in ("parent", "agent_id", "tool_call_id", "agent_type")} == {
        "parent": KEYS[PARENT], "agent_id": CHILD, "tool_call_id": task.metadata["tool_call_id"], "agent_type": "explore"}


def test_reimporting_writes_nothing(api: Chit, home: Path, data: Path) -> None:
    api.import_from("opencode", data)
    before = tree_digest(home)
    again = api.import_from("opencode", data)
    assert (again.imported, again.updated, again.messages, again.skipped_reasons) == (0, 0, 0, {"unchanged": 2})
    (home / "import-cache.json").unlink()
    again = api.import_from("opencode", data)
    assert (again.imported, again.updated, again.messages) == (0, 0, 0)
    assert tree_digest(home) == before


def test_a_session_that_grows_in_the_database_gets_only_the_new_messages(api: Chit, tmp_path: Path) -> None:
    database = build_database(tmp_path / "opencode.db", storage())
    api.import_from("opencode", database)
    before = imported(api)[KEYS[CHILD]]
    db = sqlite3.connect(database)
    db.execute("insert into message values ('msg_ffffffffffffNewUserMsg0001', ?, 9, 9, ?)",
               (CHILD, json.dumps({"role": "user", "time": {"created": 1790000090000}, "agent": "explore"})))
    db.execute("insert into part values ('prt_ffffffffffffNewUserPart001', 'msg_ffffffffffffNewUserMsg0001', ?, 9, 9, ?)",
               (CHILD, json.dumps({"type": "text", "text": "and in the tests?"})))
    db.commit()
    db.close()
    report = api.import_from("opencode", database)
    assert (report.imported, report.updated, report.messages) == (0, 1, 1)
    after = imported(api)[KEYS[CHILD]]
    assert after.id == before.id
    assert [m.id for m in after.messages[:-1]] == [m.id for m in before.messages]
    assert after.messages[-1].content == "and in the tests?"


def test_a_session_that_grows_in_the_json_storage_gets_only_the_new_messages(api: Chit, tmp_path: Path) -> None:
    shutil.copytree(storage(), tmp_path / "storage")
    api.import_from("opencode", tmp_path)
    message = tmp_path / "storage" / "message" / CHILD / "msg_ffffffffffffNewUserMsg0001.json"
    message.write_text(json.dumps({"id": message.stem, "sessionID": CHILD, "role": "user", "time": {"created": 1790000090000}}))
    part = tmp_path / "storage" / "part" / message.stem / "prt_ffffffffffffNewUserPart001.json"
    part.parent.mkdir()
    part.write_text(json.dumps({"id": part.stem, "type": "text", "text": "and in the tests?"}))
    report = api.import_from("opencode", tmp_path)
    assert (report.imported, report.updated, report.messages) == (0, 1, 1)


def test_a_pending_undo_hides_what_opencode_hides(api: Chit, tmp_path: Path) -> None:
    shutil.copytree(storage(), tmp_path / "storage")
    session_file = next((tmp_path / "storage").glob(f"session/*/{PARENT}.json"))
    users = sorted(f.stem for f in (tmp_path / "storage" / "message" / PARENT).glob("*.json")
                   if read(f)["role"] == "user")
    session = read(session_file)
    session["revert"] = {"messageID": users[1]}
    session_file.write_text(json.dumps(session))
    api.import_from("opencode", tmp_path)
    prompts = [m.content for m in imported(api)[f"opencode:{PARENT}"].messages if m.role == "user"]
    assert len(prompts) == 1 and prompts[0].startswith("Why does")


def test_a_broken_record_costs_only_itself(api: Chit, tmp_path: Path) -> None:
    shutil.copytree(storage(), tmp_path / "storage")
    child_messages = {f.stem for f in (tmp_path / "storage" / "message" / CHILD).glob("*.json")}
    victim = next(f for f in sorted((tmp_path / "storage" / "part").glob("*/*.json"))
                  if f.parent.name in child_messages and read(f)["type"] == "text" and "src/main.ts" in read(f)["text"])
    victim.write_text("{not json")
    report = api.import_from("opencode", tmp_path)
    assert report.imported == 2
    assert [(p.path, p.reason) for p in report.problems] == [(str(victim), "not JSON")]
    child = imported(api)[KEYS[CHILD]]
    assert [m.role for m in child.messages] == ["user", "tool", "tool"]


def test_a_session_in_both_layouts_is_read_from_the_database(api: Chit, tmp_path: Path) -> None:
    shutil.copytree(storage(), tmp_path / "storage")
    database = build_database(tmp_path / "opencode.db", storage())
    report = api.import_from("opencode", tmp_path)
    assert (report.imported, report.errors) == (2, 0)
    assert all(s.metadata["import"]["path"].startswith(str(database)) for s in imported(api).values())


def test_a_file_that_is_not_an_opencode_database_is_one_error(api: Chit, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table t (x)").connection.close()
    result = run_cli(["import", "--from", "opencode", str(other)])
    assert result.code == 5 and result.err.strip().count("\n") == 0
    assert "not an opencode database" in result.err


def test_the_cli_imports_from_opencode_where_it_keeps_its_data(home: Path, workdir: Path, tmp_path: Path) -> None:
    build_database((tmp_path / "data" / "opencode").mkdir(parents=True) or tmp_path / "data" / "opencode" / "opencode.db", storage())
    result = run_cli(["import", "--from", "opencode", "--json"], env={"XDG_DATA_HOME": str(tmp_path / "data")})
    assert result.code == 0, result.err
    report = result.json()
    assert isinstance(report, dict) and (report["imported"], report["errors"]) == (2, 0)


def test_a_folder_without_opencode_data_is_one_error_and_changes_nothing(home: Path, workdir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli(["import", "--from", "opencode", str(empty)])
    assert (result.code, result.out) == (5, "")
    assert result.err == f"chit: error: {empty} holds no opencode data (no opencode.db, no storage folder)\n"
    assert not home.exists()


def test_scrambled_opencode_databases_never_raise(tmp_path: Path) -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    from test_importers_fuzz import FUZZ, run_import

    pristine = build_database(tmp_path / "pristine.db", storage())
    cells = st.none() | st.integers(-5, 5) | st.text(max_size=12) | st.binary(max_size=8) | st.sampled_from(
        ["{}", "[]", "not json", '{"type": "tool", "state": 1}', '{"role": "assistant", "tokens": "x"}',
         '{"messageID": 5}', '{"type": "text", "text": null, "time": {"start": "x"}}'])

    @FUZZ
    @given(edits=st.lists(st.tuples(st.sampled_from(["session", "message", "part"]), st.integers(0, 40), st.integers(0, 20), cells),
                          min_size=1, max_size=6))
    def check(edits: list[tuple[str, int, int, Any]]) -> None:
        scratch = tmp_path / "scratch"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        database = scratch / "opencode.db"
        shutil.copy(pristine, database)
        db = sqlite3.connect(database)
        for table, row, column, value in edits:
            names = [r[1] for r in db.execute(f"pragma table_info({table})")]
            rowids = [r[0] for r in db.execute(f"select rowid from {table}")]
            if rowids:
                try:
                    db.execute(f'update {table} set "{names[column % len(names)]}" = ? where rowid = ?', [value, rowids[row % len(rowids)]])
                except sqlite3.Error:
                    pass  # a constraint refused it: it stays a valid database
        db.commit()
        db.close()
        run_import("opencode", database, scratch / "home")

    check()
