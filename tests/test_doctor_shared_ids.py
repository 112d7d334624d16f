"""A session id under two projects, as a store written before snapshot
imports took the store's lock could hold (two different files), or as a
`projects mv` killed between a file's link and its unlink leaves it (one
file under two names): `chit doctor` reports it with what resolves it;
`--repair` finishes only the move, and never removes a message."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import orjson

from chit.api import Chit
from chit.service.facade import parts_of
from conftest import run_cli, tree_digest


def two_projects(home: Path, tmp_path: Path) -> tuple[Chit, str, str, str]:
    """(api, session id, slug of a, slug of b): the session is in a."""
    api = Chit(home, cwd=tmp_path, project="a")
    session = api.create(title="kept", messages=[{"role": "user", "content": "hello"}])
    api.append(session.id, "assistant", "hi")
    other = Chit(home, cwd=tmp_path, project="b")
    other.create(title="b's own", messages=[{"role": "user", "content": "x"}])
    slugs = {p.name: p.slug for p in parts_of(api).ctx.projects.all()}
    return api, session.id, slugs["a"], slugs["b"]


def doctor(tmp_path: Path, *args: str) -> tuple[int, dict[str, object]]:
    result = run_cli(["doctor", "--json", *args], cwd=tmp_path)
    return result.code, orjson.loads(result.out)


def test_two_different_files_with_one_id_are_reported_and_left_alone(home: Path, tmp_path: Path) -> None:
    api, session_id, a, b = two_projects(home, tmp_path)
    store = parts_of(api).ctx.store
    shutil.copy(store.session_path(a, session_id), store.session_path(b, session_id))
    Chit(home, cwd=tmp_path, project="b").append(session_id, "user", "only in b's copy")
    before = tree_digest(home)
    code, report = doctor(tmp_path, "--repair")
    assert code == 5
    findings = report["findings"]
    assert isinstance(findings, list) and len(findings) == 1, findings
    assert findings[0]["path"] == f"projects/{b}/sessions/{session_id}.jsonl"
    assert findings[0]["problem"] == (
        f"also in project {a}, a different file with the same id (a command given the id acts on one copy only): "
        "compare the two files, then move the one you do not want out of the store; --repair leaves both"
    )
    assert findings[0]["repaired"] is False
    assert tree_digest(home) == before  # --repair removes no copy
    os.rename(store.session_path(b, session_id), tmp_path / "kept-aside.jsonl")  # what the finding says to do
    code, report = doctor(tmp_path)
    assert (code, report["findings"]) == (0, [])


def test_one_file_under_two_projects_after_a_move_cut_short_is_finished_by_repair(home: Path, tmp_path: Path) -> None:
    api, session_id, a, b = two_projects(home, tmp_path)
    ctx = parts_of(api).ctx
    record = ctx.projects.get(b)
    source = ctx.projects.get(a)
    assert record is not None and source is not None
    ctx.projects.write(parts_of(api).moves._merged_record(source, record))  # b's record names a: a move a -> b begun
    os.link(ctx.store.session_path(a, session_id), ctx.store.session_path(b, session_id))
    data = ctx.store.session_path(a, session_id).read_bytes()
    code, report = doctor(tmp_path)
    assert code == 5
    assert [f["problem"] for f in report["findings"]] == [  # type: ignore[union-attr]
        f"also in project {a}, the same file (a `projects mv` from {a} cut short; --repair finishes it)"
    ]
    code, report = doctor(tmp_path, "--repair")
    assert [f["repaired"] for f in report["findings"]] == [True]  # type: ignore[union-attr]
    assert not ctx.store.exists(a, session_id) and ctx.store.session_path(b, session_id).read_bytes() == data
    assert doctor(tmp_path) == (0, doctor(tmp_path)[1]) and doctor(tmp_path)[1]["findings"] == []
