"""Conflict copies a file-sync tool leaves in the store (Syncthing, Dropbox):
every command that refreshes the index warns once on stderr (stdout stays
the result), `chit doctor` reports them and `--repair` merges each into
its file (the lines it lacks appended, a set union) and removes it.

The session is built from a real Claude Code transcript (tests/data) and
split into two diverging copies, as two machines would write them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import orjson
import pytest

from chit.api import Chit
from chit.service.conflicts import merge_project
from chit.store import conflicts

DATA = Path(__file__).parent / "data"
REAL = DATA / "claude-code" / "short.jsonl"
SYNCTHING = ".sync-conflict-20261206-101010-ABCD3FG"
WARNING = "chit: warning: {n} conflict {copies} from a file-sync tool in the store; run `chit doctor --repair` to merge them\n"


def _real_session(api: Chit, tmp_path: Path) -> str:
    """A chit session holding the messages of a real transcript."""
    imported = api.import_from("claude-code", str(REAL), project="imported")
    source = api.list("imported")[0]
    assert imported is not None and source.messages > 2
    real = api.get(source.id)
    s = api.create(title="real work")
    api.append_many(s.id, [{"role": m.role, "content": m.content} for m in real.messages if m.content])
    return s.id


@pytest.fixture
def diverged(api: Chit, home: Path, tmp_path: Path) -> tuple[str, Path, Path]:
    """A session file with one message only this machine wrote, and beside
    it a Syncthing conflict copy with two others only the other wrote."""
    sid = _real_session(api, tmp_path)
    path = next(home.glob(f"projects/*/sessions/{sid}.jsonl"))
    base = path.read_bytes()
    api.append(sid, "user", "written on machine B")
    api.append(sid, "assistant", "answered on machine B")
    theirs = path.read_bytes()
    path.write_bytes(base)
    # A writes after B: stamps count milliseconds, and A's append has not
    # seen B's lines, so within the same millisecond the two would be
    # concurrent (ordered by id, not by time)
    time.sleep(0.003)
    api.append(sid, "user", "written on machine A")
    copy = path.with_name(f"{sid}{SYNCTHING}.jsonl")
    copy.write_bytes(theirs)
    os.chmod(copy, 0o600)
    return sid, path, copy


def _contents(home: Path, sid: str) -> list[str]:
    return [m.content for m in Chit(home).get(sid).messages]


def test_names_of_conflict_copies() -> None:
    sid = "0b5d3c1e-8f2a-4c3b-9d1e-2f3a4b5c6d7e"
    assert conflicts.original(f"{sid}{SYNCTHING}.jsonl", sessions=True) == f"{sid}.jsonl"
    assert conflicts.original(f"{sid} (Ann's conflicted copy 2026-12-06).jsonl", sessions=True) == f"{sid}.jsonl"
    assert conflicts.original(f"{sid} (Ann's conflicted copy 2026-12-06 (1)).jsonl", sessions=True) == f"{sid}.jsonl"
    assert conflicts.original(f"{sid}_conflict-20261206-101010.jsonl", sessions=True) == f"{sid}.jsonl"
    assert conflicts.original("project (conflicted copy 2026-12-06 101010).json", sessions=False) == "project.json"
    assert conflicts.original(f"project{SYNCTHING}.json", sessions=False) == "project.json"
    # not a copy of a file chit keeps there: never a target
    assert conflicts.original(f"notes{SYNCTHING}.jsonl", sessions=True) is None
    assert conflicts.original(f"../x{SYNCTHING}.json", sessions=False) is None
    assert conflicts.original(f"project{SYNCTHING}.json", sessions=True) is None
    assert conflicts.original(f"{sid}.jsonl", sessions=True) is None


def test_every_command_warns_once_and_json_stays_valid(cli, home: Path, diverged: tuple[str, Path, Path]) -> None:  # type: ignore[no-untyped-def]
    sid, _, _ = diverged
    listed = cli("ls", "--json")
    assert listed.code == 0
    assert [s["id"] for s in listed.json() if s["id"] == sid] == [sid]  # stdout: exactly the JSON document
    assert listed.err == WARNING.format(n=1, copies="copy")
    again = cli("ls", "--json")  # from the change journal this time: the count is remembered
    assert again.err == WARNING.format(n=1, copies="copy")
    assert cli("search", "machine", "--json").err == WARNING.format(n=1, copies="copy")
    project_dir = diverged[1].parent.parent
    (project_dir / "project (Bob's conflicted copy 2026-12-06).json").write_bytes((project_dir / "project.json").read_bytes())
    (diverged[1].parent / "x").write_bytes(b"")  # the sessions directory changes: its next refresh lists it again
    assert cli("ls", "--json").err == WARNING.format(n=2, copies="copies")


def test_doctor_reports_and_repair_merges_the_union(cli, home: Path, diverged: tuple[str, Path, Path]) -> None:  # type: ignore[no-untyped-def]
    sid, path, copy = diverged
    mine_before = path.read_bytes()
    seen_here = _contents(home, sid)
    checked = cli("doctor", "--json")
    assert checked.code == 5
    found = [f for f in checked.json()["findings"] if "conflict copy" in f["problem"]]
    assert [(f["path"], f["repaired"]) for f in found] == [(str(copy.relative_to(home)), False)]
    assert checked.err == ""  # the report names it; no warning line besides
    assert copy.exists() and path.read_bytes() == mine_before  # a check changes nothing

    repaired = cli("doctor", "--repair", "--json")
    assert repaired.code == 0, repaired.out + repaired.err
    problem = next(f["problem"] for f in repaired.json()["findings"] if "conflict copy" in f["problem"])
    assert problem.endswith("2 line(s) it lacked appended, copy removed")  # format 2: a union is the session, no caveat
    assert not copy.exists()
    assert path.read_bytes().startswith(mine_before)  # only appended to
    assert seen_here[-1] == "written on machine A"
    # the shared lines once; format 2 orders by clock: B wrote before A
    assert _contents(home, sid) == [*seen_here[:-1], "written on machine B", "answered on machine B", "written on machine A"]
    assert cli("doctor", "--json").json()["ok"] is True
    assert cli("ls", "--json").err == ""


def test_a_merge_killed_before_the_copy_was_removed_is_finished(cli, home: Path, diverged: tuple[str, Path, Path]) -> None:  # type: ignore[no-untyped-def]
    sid, path, copy = diverged
    theirs = copy.read_bytes()
    assert cli("doctor", "--repair").code == 0
    merged = path.read_bytes()
    copy.write_bytes(theirs)  # as if killed after the append, before the unlink
    again = cli("doctor", "--repair", "--json")
    assert "0 line(s) it lacked appended, copy removed" in again.out
    assert path.read_bytes() == merged and not copy.exists()


def test_a_copy_of_a_session_not_here_is_left_alone(cli, home: Path, diverged: tuple[str, Path, Path]) -> None:  # type: ignore[no-untyped-def]
    _, path, copy = diverged
    stray = path.with_name(f"0b5d3c1e-8f2a-4c3b-9d1e-2f3a4b5c6d7e{SYNCTHING}.jsonl")
    copy.rename(stray)
    result = cli("doctor", "--repair", "--json")
    assert result.code == 5
    assert any("which is not here; left alone" in f["problem"] for f in result.json()["findings"])
    assert stray.exists()


def test_project_record_copies_are_merged_field_by_field(cli, home: Path, diverged: tuple[str, Path, Path]) -> None:  # type: ignore[no-untyped-def]
    project_dir = diverged[1].parent.parent
    record = orjson.loads((project_dir / "project.json").read_bytes())
    theirs = {**record, "name": "renamed-there", "created_at": "2020-01-01T00:00:00.000000Z", "aliases": ["older-name"]}
    copy = project_dir / f"project{SYNCTHING}.json"
    copy.write_bytes(orjson.dumps(theirs))
    current_copy = project_dir / "current (conflicted copy 2026-12-06 101010).json"
    current_copy.write_bytes(b'{"id": "nope"}')
    result = cli("doctor", "--repair", "--json")
    assert result.code == 0, result.out
    merged = orjson.loads((project_dir / "project.json").read_bytes())
    assert merged["name"] == record["name"] and merged["key"] == record["key"]
    assert merged["aliases"] == ["older-name", "renamed-there"]
    assert merged["created_at"] == "2020-01-01T00:00:00.000000Z"
    assert not copy.exists() and not current_copy.exists()
    assert cli("-p", "renamed-there", "ls", "--json").code == 0  # the other machine's name finds it


def test_merge_project_keeps_a_record_when_the_other_is_not_one() -> None:
    ours = {"key": "/a", "name": "a", "created_at": "2026-01-01T00:00:00Z"}
    assert merge_project(ours, None) == ours
    assert merge_project(None, ours) == ours
    assert merge_project("garbage", [1]) is None


def test_a_ref_by_prefix_warns_too(cli, home: Path, diverged: tuple[str, Path, Path]) -> None:  # type: ignore[no-untyped-def]
    sid, path, _ = diverged
    old = path.parent.stat().st_mtime - 10
    os.utime(path.parent, (old, old))  # old enough for the index to trust it unchanged, so no refresh lists it again
    assert cli("ls", "--json").code == 0  # the index has seen the directory
    tagged = cli("tag", sid[:8], "later", "--json")  # finds the prefix in the index, which it trusts current
    assert tagged.code == 0 and tagged.json()["id"] == sid
    assert tagged.err == WARNING.format(n=1, copies="copy")
