"""`chit sync` brings the index up to date for what it wrote, as `chit
import` does: after a pull, `chit index` finds nothing left to read. Two
homes and a real bare git repository, real `chit` subprocesses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_sync import Machine, bare_remote

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="chit sync needs git")


def _left_to_read(machine: Machine) -> int:
    """Session files `chit index` had to read to catch up: 0 when the index was current."""
    done = machine.ok("index", "--json").json()
    assert isinstance(done, dict)
    read = done["files_read"]
    assert isinstance(read, int)
    return read


def test_a_clone_leaves_the_index_current_for_every_session_it_pulled(tmp_path: Path) -> None:
    a, b, remote = Machine(tmp_path, "a"), Machine(tmp_path, "b"), bare_remote(tmp_path)
    sessions = [a.ok("new", f"pulled {n}").out.strip() for n in range(4)]
    for n, session in enumerate(sessions):
        a.ok("append", session, "--role", "user", f"marigold question {n}")
    a.ok("sync", "init", str(remote))

    cloned = b.ok("sync", "clone", str(remote), "--json").json()
    assert isinstance(cloned, dict) and len(cloned["new"]) == 4
    assert _left_to_read(b) == 0
    hits = b.ok("search", "marigold", "--json").json()
    assert isinstance(hits, list) and {h["id"] for h in hits} == set(sessions)


def test_a_pull_into_an_indexed_store_leaves_its_index_current(tmp_path: Path) -> None:
    """New sessions, grown ones and a session trashed elsewhere: the next
    `chit index` reads nothing, and `ls` lists what came in."""
    a, b, remote = Machine(tmp_path, "a"), Machine(tmp_path, "b"), bare_remote(tmp_path)
    first = a.ok("new", "first").out.strip()
    doomed = a.ok("new", "doomed").out.strip()
    a.ok("sync", "init", str(remote))
    b.ok("sync", "clone", str(remote))
    assert _left_to_read(b) == 0

    a.ok("append", first, "--role", "user", "a later question")
    later = [a.ok("new", f"later {n}").out.strip() for n in range(3)]
    a.ok("rm", doomed)
    a.ok("sync")
    report = b.ok("sync", "--json").json()
    assert isinstance(report, dict) and len(report["new"]) == 3 and [s["id"] for s in report["trashed"]] == [doomed]

    assert _left_to_read(b) == 0
    listed = b.ok("ls", "--json").json()
    assert isinstance(listed, list) and {s["id"] for s in listed} == {first, *later}
    trashed = b.ok("trash", "--json").json()
    assert isinstance(trashed, list) and [s["id"] for s in trashed] == [doomed]


def test_the_index_of_a_pull_reports_its_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index brought up to date by a sync reports its progress as any
    long refresh does (past PROGRESS_AFTER; the command line prints it)."""
    from chit.api import Chit
    from chit.index import db
    from chit.service.facade import parts_of
    from chit.sync.run import Sync

    remote = bare_remote(tmp_path)
    a = Chit(tmp_path / "a", cwd=tmp_path, project="demo")
    for n in range(3):
        a.create(messages=[{"role": "user", "content": f"pulled {n}"}])
    Sync(parts_of(a).ctx).init(str(remote))
    reports: list[tuple[str, int, int]] = []
    monkeypatch.setattr(db, "PROGRESS_AFTER", 0.0)
    monkeypatch.setattr(db, "PROGRESS_EVERY", 0.0)
    monkeypatch.setattr(db, "report_progress", lambda what, done, total: reports.append((what, done, total)))
    b = Chit(tmp_path / "b", cwd=tmp_path, project="demo")
    Sync(parts_of(b).ctx).clone(str(remote))
    assert ("session files read", 3, 3) in reports and ("session files read, 3 messages indexed", 3, 3) in reports
    assert reports[-1] == ("done", 0, 0)
