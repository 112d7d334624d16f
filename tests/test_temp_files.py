"""A temp file left by a writer killed inside an atomic replace is removed
by `doctor --repair` as soon as its writer is gone, and never while its
writer lives: the writer holds a lock on the temp file until the rename."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from chit.api import Chit
from chit.store.files import create_temp


def _age(path: Path, seconds: float) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_doctor_removes_a_dead_writers_temp_file_and_keeps_a_live_ones(api: Chit, home: Path) -> None:
    api.create(title="kept")
    target = api.layout.project_file(api.project().slug)
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # a writer inside an atomic replace of project.json, stopped there
        try:
            tmp, _fd = create_temp(target)
            os.write(ready_w, str(tmp).encode())
            time.sleep(60)
        finally:
            os._exit(0)
    os.close(ready_w)
    tmp = Path(os.read(ready_r, 4096).decode())
    os.close(ready_r)
    try:
        _age(tmp, 600)  # old enough: only the lock says the writer lives
        assert [f.problem for f in api.doctor(repair=True).findings] == ["leftover temporary file"]
        assert tmp.exists(), "a live writer's temp file was removed"
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    report = api.doctor(repair=True)
    assert [(f.problem, f.repaired) for f in report.findings] == [("leftover temporary file", True)]
    assert not tmp.exists()
    assert api.doctor().findings == []


def test_a_young_temp_file_is_left_to_its_writer(api: Chit, home: Path) -> None:
    """Between its creation and its writer's lock a temp file looks
    abandoned; one younger than two seconds is never removed."""
    api.create(title="kept")
    target = api.layout.project_file(api.project().slug)
    tmp = target.parent / f".{target.name}.0123456789ab.tmp"
    tmp.write_bytes(b"{")
    assert [f.repaired for f in api.doctor(repair=True).findings] == [False]
    _age(tmp, 10)
    assert [f.repaired for f in api.doctor(repair=True).findings] == [True]
    assert not tmp.exists()


def test_a_project_directory_left_with_only_its_plumbing_is_removed(api: Chit, home: Path) -> None:
    """A move cut short after the record went, or a lock taken on the
    removed project, leaves a directory holding only a lock, current.json,
    an empty sessions/ or temp files: doctor --repair removes it once it is
    not new; anything else in it keeps it (and is reported)."""
    api.create(title="kept")
    leftover = home / "projects" / "gone-0123456789"
    (leftover / "sessions").mkdir(parents=True)
    for name in (".lock", "current.json", ".project.json.0123456789ab.tmp"):
        (leftover / name).write_bytes(b"")
    assert [(f.problem, f.repaired) for f in api.doctor(repair=True).findings] == [
        ("empty project directory (left by an interrupted move)", False)
    ]  # too young: it may be a project being created
    _age(leftover, 10)
    assert [(f.problem, f.repaired) for f in api.doctor(repair=True).findings] == [
        ("empty project directory (left by an interrupted move)", True)
    ]
    assert not leftover.exists() and api.doctor().findings == []

    (leftover / "sessions").mkdir(parents=True)
    (leftover / "notes.txt").write_text("mine")
    _age(leftover, 10)
    assert [f.problem for f in api.doctor(repair=True).findings] == ["missing or unreadable project.json"]
    assert (leftover / "notes.txt").read_text() == "mine"
