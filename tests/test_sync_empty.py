"""`chit trash --empty --everywhere`: emptying the trash on every machine
that syncs, through a real bare git repository, with real `chit`
subprocesses (two homes, "machine A" and "machine B")."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from test_sync import Machine, bare_remote

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="chit sync needs git")


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Machine, Machine, Path]:
    return Machine(tmp_path, "a"), Machine(tmp_path, "b"), bare_remote(tmp_path)


def _files(home: Path, session: str) -> list[Path]:
    return list(home.glob(f"projects/*/sessions/{session}.jsonl")) + list(home.glob(f"trash/*/{session}.jsonl"))


def _in_remote(remote: Path, session: str) -> bool:
    listed = subprocess.run(["git", "--git-dir", str(remote), "ls-tree", "-r", "--name-only", "main"], capture_output=True, text=True, check=True)
    return any(name.endswith(f"/sessions/{session}.jsonl") for name in listed.stdout.splitlines())


def _trashed_on_both(a: Machine, b: Machine, remote: Path, title: str) -> str:
    session = a.ok("new", title).out.strip()
    a.ok("append", session, "--role", "user", "written on A")
    a.ok("sync", "init", str(remote))
    b.ok("sync", "clone", str(remote))
    a.ok("rm", session)
    a.ok("sync")
    b.ok("sync")
    assert len(_files(b.home, session)) == 1
    return session


def test_emptied_everywhere_disappears_on_b_after_its_sync(pair: tuple[Machine, Machine, Path]) -> None:
    a, b, remote = pair
    session = _trashed_on_both(a, b, remote, "emptied everywhere")
    a.ok("trash", "--empty", "--everywhere", "--yes")
    assert _files(a.home, session) == []
    a.ok("sync")
    assert not _in_remote(remote, session)
    report = b.ok("sync", "--json").json()
    assert isinstance(report, dict) and [s["id"] for s in report["emptied"]] == [session]
    assert _files(b.home, session) == []
    assert b.ok("trash", "--json").json() == []
    a.ok("sync")
    assert _files(a.home, session) == []  # nothing brings it back


def test_a_session_b_appended_to_meanwhile_survives_on_both_and_both_are_told(pair: tuple[Machine, Machine, Path]) -> None:
    a, b, remote = pair
    session = _trashed_on_both(a, b, remote, "emptied here, written there")
    b.ok("restore", session)
    b.ok("append", session, "--role", "user", "written on B after A's last sync")
    a.ok("trash", "--empty", "--everywhere", "--yes")
    a.ok("sync")
    told_b = b.ok("sync", "--json").json()
    told_a = a.ok("sync", "--json").json()
    for told in (told_a, told_b):
        assert isinstance(told, dict) and [s["id"] for s in told["kept"]] == [session]
    for machine in (a, b):
        assert machine.messages(session) == ["written on A", "written on B after A's last sync"]
    assert _in_remote(remote, session)


def test_b_syncing_its_append_first_still_keeps_it_on_both(pair: tuple[Machine, Machine, Path]) -> None:
    a, b, remote = pair
    session = _trashed_on_both(a, b, remote, "written there first")
    b.ok("restore", session)
    b.ok("append", session, "--role", "user", "written on B, synced first")
    b.ok("sync")
    a.ok("trash", "--empty", "--everywhere", "--yes")
    told_a = a.ok("sync", "--json").json()
    told_b = b.ok("sync", "--json").json()
    for told in (told_a, told_b):
        assert isinstance(told, dict) and [s["id"] for s in told["kept"]] == [session]
    assert len(_files(a.home, session)) == len(_files(b.home, session)) == 1


def test_a_plain_empty_leaves_b_copy_alone(pair: tuple[Machine, Machine, Path]) -> None:
    a, b, remote = pair
    session = _trashed_on_both(a, b, remote, "emptied here only")
    a.ok("trash", "--empty", "--yes")
    a.ok("sync")
    b.ok("sync")
    assert len(_files(b.home, session)) == 1
    assert [s["id"] for s in b.ok("trash", "--json").json()] == [session]  # type: ignore[union-attr]
    assert _in_remote(remote, session)


def test_everywhere_on_a_store_that_does_not_sync_changes_nothing(pair: tuple[Machine, Machine, Path]) -> None:
    a, _b, _remote = pair
    session = a.ok("new", "no sync here").out.strip()
    a.ok("rm", session)
    done = a("trash", "--empty", "--everywhere", "--yes")
    assert done.code == 3 and done.err.startswith("chit: error:") and "sync" in done.err
    assert len(_files(a.home, session)) == 1


def test_a_copy_that_never_saw_the_trash_but_nothing_newer_goes_too(pair: tuple[Machine, Machine, Path]) -> None:
    a, b, remote = pair
    session = a.ok("new", "trashed and emptied between two syncs").out.strip()
    a.ok("append", session, "--role", "user", "written on A")
    a.ok("sync", "init", str(remote))
    b.ok("sync", "clone", str(remote))
    a.ok("rm", session)
    a.ok("trash", "--empty", "--everywhere", "--yes")
    a.ok("sync")
    report = b.ok("sync", "--json").json()
    assert isinstance(report, dict) and [s["id"] for s in report["emptied"]] == [session] and report["kept"] == []
    assert _files(b.home, session) == []
