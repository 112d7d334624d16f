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
from chit.store.sessions import same_file
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


def test_an_id_in_one_project_and_another_projects_trash_or_in_two_trashes_is_reported(home: Path, tmp_path: Path) -> None:
    """Before, only live copies were compared: an id live in a and in b's
    trash, or in both trashes, was missed. Different files are reported
    and left alone; one trashed file under both trashes after a move cut
    short is finished by --repair, as live files are."""
    a, b = Chit(home, cwd=tmp_path, project="a"), Chit(home, cwd=tmp_path, project="b")
    store = parts_of(a).ctx.store
    live_and_trashed, trashed_twice, moved = (a.create(title=t, messages=[{"role": "user", "content": t}]).id for t in ("one", "two", "three"))
    b.create(title="b's own")
    slugs = {p.name: p.slug for p in parts_of(a).ctx.projects.all()}
    for session_id in (live_and_trashed, trashed_twice):
        shutil.copy(store.session_path(slugs["a"], session_id), store.session_path(slugs["b"], session_id))
        b.delete(session_id)  # b's copy, with its trash event
    a.delete(trashed_twice)
    a.delete(moved)
    os.makedirs(store.session_path(slugs["b"], moved, trash=True).parent, exist_ok=True)
    os.link(store.session_path(slugs["a"], moved, trash=True), store.session_path(slugs["b"], moved, trash=True))
    ctx = parts_of(a).ctx
    source, record = ctx.projects.get(slugs["a"]), ctx.projects.get(slugs["b"])
    assert source is not None and record is not None
    ctx.projects.write(parts_of(a).moves._merged_record(source, record))  # b's record names a: a move a -> b begun
    different = "a different file with the same id (restore and the commands given the id act on one copy only): " \
        "compare the two files, then move the one you do not want out of the store; --repair leaves both"
    expected = sorted([
        (f"trash/{slugs['b']}/{live_and_trashed}.jsonl", f"also in project {slugs['a']}, {different}"),
        (f"trash/{slugs['b']}/{trashed_twice}.jsonl", f"also in the trash of project {slugs['a']}, {different}"),
        (f"trash/{slugs['b']}/{moved}.jsonl",
         f"also in the trash of project {slugs['a']}, the same file (a `projects mv` from {slugs['a']} cut short; --repair finishes it)"),
    ])
    code, report = doctor(tmp_path, "--repair")
    findings = report["findings"]
    assert isinstance(findings, list) and code == 5
    assert sorted((f["path"], f["problem"]) for f in findings) == expected, findings
    assert [f["repaired"] for f in findings if f["path"].endswith(f"{moved}.jsonl")] == [True]
    assert not store.exists(slugs["a"], moved, trash=True) and store.exists(slugs["b"], moved, trash=True)
    code, report = doctor(tmp_path)
    left = sorted((f["path"], f["problem"]) for f in report["findings"])  # type: ignore[union-attr]
    assert (code, left) == (5, [e for e in expected if moved not in e[0]])


def test_a_link_a_fifo_or_a_directory_named_as_an_id_is_not_a_second_copy(home: Path, tmp_path: Path) -> None:
    """chit never reads a session through a symbolic link, a FIFO or a
    directory (doctor reports each as such): named as a session of another
    project, none is a copy of it. Before: each was also reported as "a
    different file with the same id" that a command could act on."""
    api = Chit(home, cwd=tmp_path, project="a")
    ids = [api.create(title=t, messages=[{"role": "user", "content": t}]).id for t in ("linked", "fifo", "directory")]
    Chit(home, cwd=tmp_path, project="b").create(title="b's own")
    store = parts_of(api).ctx.store
    slugs = {p.name: p.slug for p in parts_of(api).ctx.projects.all()}
    named = [store.session_path(slugs["b"], i) for i in ids]
    os.symlink(store.session_path(slugs["a"], ids[0]), named[0])
    os.mkfifo(named[1])
    os.mkdir(named[2])
    code, report = doctor(tmp_path)
    found = sorted((f["path"], f["problem"]) for f in report["findings"])  # type: ignore[union-attr]
    assert code == 5 and found == sorted([
        (f"projects/{slugs['b']}/sessions/{ids[0]}.jsonl", "symbolic link in the store (never followed)"),
        (f"projects/{slugs['b']}/sessions/{ids[1]}.jsonl", "not a regular file (a FIFO); chit ignores it"),
        (f"projects/{slugs['b']}/sessions/{ids[2]}.jsonl", "not a regular file (a directory); chit ignores it"),
    ]), found


def test_one_file_live_in_a_project_and_in_another_projects_trash_is_left_as_it_is(home: Path, tmp_path: Path) -> None:
    """Only reported, as documented: a repair of either name's place (a
    trash event for the trashed name, a move for the live one) would change
    the other too. Before: the first --repair dated the file with a trash
    event, so the live session of a read as deleted, and the second moved
    it into a's trash."""
    api, session_id, a, b = two_projects(home, tmp_path)
    store = parts_of(api).ctx.store
    live, trashed = store.session_path(a, session_id), store.session_path(b, session_id, trash=True)
    os.makedirs(trashed.parent, exist_ok=True)
    os.link(live, trashed)
    data = live.read_bytes()
    for _ in range(2):
        code, report = doctor(tmp_path, "--repair")
        assert code == 5 and [f["repaired"] for f in report["findings"]] == [False, False], report  # type: ignore[union-attr]
    assert store.holders(session_id) == [a] and live.read_bytes() == data and same_file(live, trashed)
    assert api.get(session_id).deleted_at is None
