"""Every command that writes leaves the index as current as it found it,
but for the one session file it wrote: after each one, `chit index` reads
at most that file (observable as its `files_read`, which counts the files
it read whole or from where it had read to). Real `chit` subprocesses on
a store made through the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from chit.api import Chit
from conftest import run_cli

SESSIONS = 6


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    api = Chit(home, cwd=work, project="demo")
    ids = []
    for n in range(SESSIONS):
        session = api.create(title=f"session {n}")
        for turn in range(3):
            api.append(session.id, "user", f"question {n}.{turn}")
            api.append(session.id, "assistant", f"answer {n}.{turn}")
        ids.append(session.id)
    return home, work, ids


def _chit(home: Path, work: Path, *args: str) -> str:
    done = run_cli(list(args), cwd=work, env={"CHIT_HOME": str(home), "CHIT_PROJECT": "demo"})
    assert done.code == 0, (args, done.err)
    return done.out


def _files_read(home: Path, work: Path) -> int:
    import orjson

    data = orjson.loads(_chit(home, work, "index", "--json"))
    assert isinstance(data, dict) and isinstance(data["files_read"], int)
    return data["files_read"]


def test_each_write_leaves_only_the_files_it_made_for_the_index(store: tuple[Path, Path, list[str]]) -> None:
    home, work, ids = store
    assert _files_read(home, work) == SESSIONS  # the first build
    first, second = ids[0][:8], ids[1][:8]
    writes = [
        ("append", first, "--role", "user", "one more"),
        ("rename", first, "renamed"),
        ("tag", first, "kept"),
        ("untag", first, "kept"),
        ("rewind", first, "1"),
        ("undo", first),
        ("pop", first),
        ("rm", second),
        ("restore", second),
        ("fork", first),
        ("compact", first),
        ("projects", "rename", "demo", "renamed-demo"),
    ]
    for args in writes:
        _chit(home, work, *args)
        assert _files_read(home, work) <= 1, args


def test_a_project_move_keeps_its_sessions_indexed(store: tuple[Path, Path, list[str]], tmp_path: Path) -> None:
    """`projects mv` moves every file of a project: the index's rows follow
    them, so nothing is read again (they were all read before)."""
    home, work, ids = store
    assert _files_read(home, work) == SESSIONS
    _chit(home, work, "rm", ids[0][:8])
    assert _files_read(home, work) <= 1
    moved = tmp_path / "moved"
    moved.mkdir()
    _chit(home, work, "projects", "mv", "demo", str(moved))
    assert _files_read(home, work) == 0
    listed = run_cli(["ls", "--json"], cwd=moved, env={"CHIT_HOME": str(home)})
    assert listed.code == 0 and len(listed.json()) == SESSIONS - 1  # type: ignore[arg-type]
    found = run_cli(["search", "answer", "--json", "-n", "0"], cwd=moved, env={"CHIT_HOME": str(home)})
    assert found.code == 0 and {h["id"] for h in found.json()} == set(ids[1:])  # type: ignore[union-attr, index]
