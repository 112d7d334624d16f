"""The index and a session file under two names: a move (to the trash, back,
or to another project) links the file at its new place before it unlinks
the old one, and a kill in between leaves both names. An append through
one name is journaled in that directory only; the other directory's row
must follow all the same.

Each test kills a real child with SIGKILL right before the unlink of the
move (a profile hook sends the signal), then appends through one name and
compares the index's listings with a scan of the files."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from killpoints import killed_at

from chit.api import Chit
from chit.service.facade import parts_of
from chit.store.projects import slug_for
from tests.conftest import run_cli

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def _age(home: Path) -> None:
    """Make every session directory old enough for the index to trust its mtime."""
    old = time.time() - 10
    for directory in [*home.glob("projects/*/sessions"), *home.glob("trash/*")]:
        os.utime(directory, (old, old))


def _killed_before_unlink(work: Callable[[], Any]) -> None:
    """Run `work` in a child killed (SIGKILL) as its move is about to unlink the old name."""
    killed_at(lambda frame, event, arg: event == "c_call" and arg is os.unlink and frame.f_code.co_name == "move", work)


def _check(api: Chit) -> None:
    scope = parts_of(api).ctx.projects.all()
    by_id = lambda s: (s.id, s.project_name)  # noqa: E731  (one id twice: a move cut short)
    assert sorted(api.list(all_projects=True), key=by_id) == sorted(parts_of(api).queries.scan_summaries(scope), key=by_id)
    assert sorted(parts_of(api).queries.summaries(scope, trash=True), key=by_id) == sorted(parts_of(api).queries.scan_summaries(scope, trash=True), key=by_id)


def _session(api: Chit) -> str:
    session = api.create(title="linked")
    api.append(session.id, "user", "first")
    return session.id


def test_a_trusted_source_directory_follows_an_append_through_the_new_name(home: Path, tmp_path: Path) -> None:
    for name in ("y", "x"):  # the target (x) comes first, so appends go through it
        (tmp_path / name / ".git").mkdir(parents=True)
    api = Chit(home, cwd=tmp_path / "y")
    sid = _session(api)
    _age(home)
    _check(api)  # the index trusts y's directory and journal from here on
    _killed_before_unlink(lambda: api.move_project(str(tmp_path / "y"), tmp_path / "x"))
    assert len(list(home.glob(f"projects/*/sessions/{sid}.jsonl"))) == 2
    api = Chit(home, cwd=tmp_path / "x")
    api.append(sid, "user", "through x")
    _check(api)
    api.move_project(str(tmp_path / "y"), tmp_path / "x")  # finished as a user would
    api.append(sid, "user", "after")
    _check(api)


def test_a_directory_checked_after_the_link_follows_an_append_through_the_old_name(home: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):  # the source (a) comes first, so appends go through it
        (tmp_path / name / ".git").mkdir(parents=True)
    api = Chit(home, cwd=tmp_path / "a")
    sid = _session(api)
    _killed_before_unlink(lambda: api.move_project(str(tmp_path / "a"), tmp_path / "b"))
    _age(home)
    _check(api)  # both directories trusted, the file under both names
    api.append(sid, "user", "through a")
    _check(api)


def test_the_trash_follows_an_append_to_a_session_whose_rm_was_cut_short(home: Path, tmp_path: Path) -> None:
    (tmp_path / "p" / ".git").mkdir(parents=True)
    api = Chit(home, cwd=tmp_path / "p")
    sid = _session(api)
    _age(home)
    _check(api)
    _killed_before_unlink(lambda: api.delete(sid))
    assert len(list(home.rglob(f"{sid}.jsonl"))) == 2
    api.append(sid, "user", "still live")
    _check(api)
    _age(home)
    _check(api)
    api.append(sid, "user", "again")
    _check(api)
    api.doctor(repair=True)
    _check(api)


def test_moving_back_and_forth_keeps_every_row_true(home: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name / ".git").mkdir(parents=True)
    here, there = tmp_path / "a", tmp_path / "b"
    api = Chit(home, cwd=here)
    sid = _session(api)
    gone = _session(api)
    api.delete(gone)
    for step in range(4):
        _age(home)
        _check(api)
        _killed_before_unlink(lambda: api.move_project(str(here), there))
        api.append(sid, "user", f"cut short {step}")
        _check(api)
        api.move_project(str(here), there)
        here, there = there, here
        api = Chit(home, cwd=here)
        api.append(sid, "user", f"moved {step}")
        _check(api)


def test_search_orders_the_hits_of_a_session_under_two_names_as_the_files_do(home: Path, tmp_path: Path) -> None:
    """Both copies of a session whose move was cut short have the same
    hits at the same times under the same key; only the project names
    tell them apart, and the index must order them as the scan does."""
    for name in ("a", "b"):
        (tmp_path / name / ".git").mkdir(parents=True)
    api = Chit(home, cwd=tmp_path / "a")
    sid = _session(api)
    api.append(sid, "assistant", "a soak reply")
    api.rename(sid, "soak title")
    api.search("soak", limit=None)  # the index holds a's copy, then b's comes newer
    _killed_before_unlink(lambda: api.move_project(str(tmp_path / "a"), tmp_path / "b"))
    for cwd in ("a", "b"):
        api = Chit(home, cwd=tmp_path / cwd)
        scope = parts_of(api).ctx.projects.all()
        found = api.search("soak", limit=None)
        assert [h.project_name for h in found] == ["a", "b", "a", "b"]  # the title, then the reply
        assert found == parts_of(api).queries.scan_search(scope, "soak")


def _same_name_projects(tmp_path: Path) -> tuple[Path, Path]:
    """Two work trees named `foo` (a repository moved to another parent
    directory), the first one's slug below the second's: the order in which
    the old code's index and file scan disagreed on the copies' hits.
    (Pairs are tried until one fits, each with even odds: a fixed target
    with a small digest left no source below it in 1 run of 65.)"""
    for n in range(256):
        source, target = tmp_path / f"old{n}" / "foo", tmp_path / f"moved{n}" / "foo"
        if slug_for("foo", str(source)) < slug_for("foo", str(target)):
            break
    else:
        raise AssertionError("no pair of work trees whose slugs are in order")
    for directory in (source, target):
        (directory / ".git").mkdir(parents=True)
    return source, target


def _split_copies(home: Path, tmp_path: Path) -> tuple[Chit, str, list[str], Path]:
    """A session in both projects named `foo` (a move killed before its
    unlink), the two names then made two files (the target's rewritten
    whole, as a copy or a sync leaves it) and the source's copy appended
    to: the copies' older hits have the same time, id, key and project
    name, only the project (its slug) tells them apart. Returns the API
    (in the source), the session id, the two slugs (source first) and the
    target's work tree."""
    source, target = _same_name_projects(tmp_path)
    api = Chit(home, cwd=source)
    sid = _session(api)
    api.append(sid, "assistant", "a soak reply")
    api.rename(sid, "soak title")
    api.search("soak", limit=None)  # the index holds the source's copy
    _killed_before_unlink(lambda: api.move_project(str(source), target))
    slugs = sorted(p.parent.parent.name for p in home.glob(f"projects/*/sessions/{sid}.jsonl"))
    assert slugs == [slug_for("foo", str(source)), slug_for("foo", str(target))]
    moved = home / "projects" / slugs[1] / "sessions" / f"{sid}.jsonl"
    fresh = moved.with_suffix(".tmp")
    fresh.write_bytes(moved.read_bytes())
    fresh.chmod(0o600)
    fresh.replace(moved)  # a file of its own now
    api.append(sid, "user", "soak again")  # through the first name: the source's copy
    return api, sid, slugs, target


def test_search_orders_the_copies_of_a_session_in_two_projects_of_one_name(home: Path, tmp_path: Path) -> None:
    """Hits of equal time, id, key and project name are ordered by the
    project's slug: the index and the file scan agree whatever order the
    index read the copies in."""
    api, sid, slugs, _ = _split_copies(home, tmp_path)
    scope = parts_of(api).ctx.projects.all()
    found = api.search("soak", limit=None)
    assert found == parts_of(api).queries.scan_search(scope, "soak")
    tied = [h.project_slug for h in found if h.message_id is not None and h.role == "assistant"]
    assert tied == slugs  # the reply, in both copies at one time


def test_the_catch_up_search_orders_the_copies_of_a_session_as_the_index(home: Path, tmp_path: Path) -> None:
    """The search that answers from the files while the index is far
    behind (one copy from the index, the other from its file) gives the
    hits and order of the indexed search and of the file scan."""
    from chit.service.catchup import FAR_BEHIND, FAR_FILES, lag

    api, sid, slugs, _ = _split_copies(home, tmp_path)
    api.search("soak", limit=None)  # the index holds both copies
    api.append(sid, "user", "soak once more")  # the source's copy is behind
    filler = Chit(home, cwd=tmp_path)  # another project: files the index never saw
    other = filler.create(title="filler")
    filler.append(other.id, "user", "plain words " * (FAR_BEHIND // (FAR_FILES * 12)))
    original = next(home.glob(f"projects/*/sessions/{other.id}.jsonl"))
    for _ in range(FAR_FILES):
        new = str(uuid.uuid4())
        copy = original.parent / f"{new}.jsonl"
        copy.write_bytes(original.read_bytes().replace(other.id.encode(), new.encode(), 1))
        copy.chmod(0o600)
    ctx = parts_of(api).ctx
    scope = ctx.projects.all()
    behind = ctx.indexed(lambda index: lag(index, scope))
    assert behind is not None and behind.far and (slugs[0], sid) in behind.skip and (slugs[1], sid) not in behind.skip
    caught_up = api.search("soak", limit=None)
    assert caught_up == parts_of(api).queries.scan_search(scope, "soak")
    assert ctx.indexed(lambda index: index.refresh([(p.slug, False) for p in scope], text=True))
    assert caught_up == api.search("soak", limit=None)


def test_grouped_search_lists_a_session_once_per_project_as_ls_does(home: Path, tmp_path: Path) -> None:
    """`chit search` (one line per session) shows a session in two projects
    on two lines, each with its own copy's hits, as `chit ls --all`
    lists it twice; the hits in --json name their project's slug."""
    api, sid, slugs, cwd = _split_copies(home, tmp_path)
    listed = run_cli(["ls", "--all", "--json"], cwd=cwd)
    assert [s["id"] for s in listed.json()] == [sid, sid]
    grouped = run_cli(["search", "soak"], cwd=cwd)
    assert grouped.code == 0, grouped.err
    heads = [line for line in grouped.out.splitlines() if line.startswith(sid[:8])]
    assert len(heads) == 2 and "3 hits" in heads[0] and "2 hits" in heads[1], grouped.out
    hits = run_cli(["search", "soak", "--json"], cwd=cwd).json()
    assert sorted({(h["group"], h["project_slug"]) for h in hits}) == [(sid, slugs[0]), (sid, slugs[1])]
    assert len(hits) == 5


def test_ls_json_tells_the_copies_of_a_session_apart_by_project_slug(home: Path, tmp_path: Path) -> None:
    """Two copies of one session under two projects of one name: `ls --json`
    names each one's project directory (`project_slug`, as search --json
    does), from the index and from the files alike."""
    api, sid, slugs, cwd = _split_copies(home, tmp_path)
    listed = run_cli(["ls", "--all", "--json"], cwd=cwd).json()
    assert sorted((s["id"], s["project_name"], s["project_slug"]) for s in listed) == [(sid, "foo", slugs[0]), (sid, "foo", slugs[1])]
    scanned = parts_of(api).queries.scan_summaries(parts_of(api).ctx.projects.all())
    assert sorted((s.id, s.project_slug) for s in scanned) == [(sid, slugs[0]), (sid, slugs[1])]
