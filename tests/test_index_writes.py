"""Every command that writes leaves the index as current as it found it,
but for the one session file it wrote: after each one, `chit index` reads
at most that file (observable as its `files_read`, which counts the files
it read whole or from where it had read to). Real `chit` subprocesses on
a store made through the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chit.api import Chit
from chit.model import SessionSummary
from chit.service.facade import parts_of
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


def message_rows(home: Path, session_id: str, columns: str = "m.rowid, m.mid") -> list[tuple[Any, ...]]:
    """The index's message rows of a session, in order (by default row id
    and message id: rows read again get new ones, and their text is
    indexed again)."""
    import sqlite3

    db = sqlite3.connect(f"{(home / 'index.sqlite').as_uri()}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in db.execute(
            f"SELECT {columns} FROM messages m JOIN sessions s ON s.sid = m.sid WHERE s.id = ? ORDER BY m.pos", (session_id,)
        )]
    finally:
        db.close()


def _dates(summaries: list[SessionSummary]) -> dict[str, tuple[str, str | None, int]]:
    return {s.id: (s.updated_at, s.deleted_at, s.messages) for s in summaries}


def test_trash_and_restore_move_the_row_and_read_no_text_again(store: tuple[Path, Path, list[str]]) -> None:
    """`rm` and `restore` move the file between the project and its trash,
    appending an event that hides no message: the row moves with the file
    and keeps its messages and their text, so the trash listing and the
    next `chit index` read no file (before: the trash listing read the
    trashed file whole, and the `chit index` after `restore` read it and
    indexed its text again)."""
    home, work, ids = store
    moving = ids[1]
    assert _files_read(home, work) == SESSIONS
    rows = message_rows(home, moving)
    assert len(rows) == 6
    _chit(home, work, "rm", moving[:8])
    assert _files_read(home, work) == 0
    api = Chit(home, cwd=work, project="demo")
    trashed = api.trash()
    assert [s.id for s in trashed] == [moving] and trashed[0].deleted_at is not None
    assert _dates(trashed) == _dates(parts_of(api).queries.scan_summaries([api.project()], trash=True))
    assert parts_of(api).ctx.index.files_read == 0
    _chit(home, work, "restore", moving[:8])
    assert _files_read(home, work) == 0
    assert message_rows(home, moving) == rows
    assert api.trash() == [] and parts_of(api).ctx.index.files_read == 0
    found = run_cli(["search", "answer 1.2", "--json"], cwd=work, env={"CHIT_HOME": str(home), "CHIT_PROJECT": "demo"})
    assert found.code == 0 and [h["id"] for h in found.json()] == [moving]  # type: ignore[union-attr, index]
    assert _dates(api.list()) == _dates(parts_of(api).queries.scan_summaries([api.project()]))
    audit = api.doctor()
    assert audit.index_checked == SESSIONS and audit.findings == []
