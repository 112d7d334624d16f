"""`chit ls` on a store far ahead of its index answers from the index's
current rows and the files it is behind on, without building the rows
first (chit.service.list_fresh), and lists exactly what it lists once the
index is current: order, counts, titles, tags, sub-agents and forks. Real
`chit` subprocesses on a store written through the API."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import orjson
import pytest

from chit.api import Chit
from chit.service import catchup, list_fresh, ticker
from chit.service.facade import parts_of
from conftest import as_the_command_line, run_cli, store_behind_its_index

BIG = "lorem ipsum dolor sit amet " * 4_000  # about 108 KB a message
SESSIONS = 14  # each past 600 KB: the store is past FAR_BEHIND (8 MB) in more than FAR_FILES files


def _store(home: Path, work: Path) -> Chit:
    """Sessions written in an order that is not their time order (old
    transcripts imported last), with tags, titles, a rewind, a fork, a
    sub-agent, a state and a trashed session."""
    api = Chit(home, cwd=work, project="demo")
    for n in range(SESSIONS):
        day = f"2025-0{1 + n % 9}-{10 + n:02d}T08:00:00.000000Z"  # not the order the files are written in
        messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"{n}.{i} {BIG}", "ts": day} for i in range(6)]
        session = api.create(messages=messages, tags=["even"] if n % 2 == 0 else [], key=f"k{n}")
        if n % 3 == 0:
            api.rename(session.id, f"renamed {n}")
        if n % 4 == 1:
            api.rewind(session.id, 1)
    parent = api.list(limit=1)[0]
    api.fork(parent.id)
    api.create(key=f"{parent.key}/agent-1", messages=[{"role": "user", "content": "a sub-agent's task"}])
    doomed = api.create(messages=[{"role": "user", "content": "to the trash"}])
    api.delete(doomed.id)
    api.append(parent.id, "user", "the newest message")
    parts_of(api).ctx.index.close()
    return api


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The store behind its index, written once for the module."""
    return store_behind_its_index(tmp_path_factory.mktemp("behind"), _store)


@pytest.fixture
def behind(built: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the module's store for this test (its listings may build an index)."""
    home, work = tmp_path / "home", tmp_path / "work"
    shutil.copytree(built[0], home)
    work.mkdir()
    return home, work


LISTINGS = [
    ["ls", "--json"],
    ["ls", "--json", "-n", "3"],
    ["ls", "--json", "-n", "1"],
    ["ls", "--json", "--tag", "even", "-n", "2"],
    ["ls", "--json", "--agents", "-n", "0"],
    ["ls", "--json", "--sort", "created"],
    ["ls", "--all", "-n", "5"],
    ["ls", "-q", "-n", "4"],
]


def _ls(home: Path, work: Path, args: list[str]) -> tuple[str, str]:
    """stdout (a human table's ages, which move with the clock, and its
    padding left out) and stderr."""
    done = run_cli(args, cwd=work, env={"CHIT_HOME": str(home), "CHIT_PROJECT": "demo", "COLUMNS": "200"})
    assert done.code == 0, (args, done.err)
    return re.sub(r" +", " ", re.sub(r"\d+[smhd] ago|just now", "AGE", done.out)), done.err


def test_ls_far_behind_lists_what_it_lists_with_the_index_current(behind: tuple[Path, Path]) -> None:
    home, work = behind
    from_files = {}
    for args in LISTINGS:
        from_files[tuple(args)], said = _ls(home, work, args)
        assert "the index is behind on" in said and "reading them directly" in said, said
    rows = run_cli(["index", "--json"], cwd=work, env={"CHIT_HOME": str(home), "CHIT_PROJECT": "demo"})
    assert rows.code == 0 and orjson.loads(rows.out)["files_read"] > SESSIONS  # it had built no rows
    for args in LISTINGS:
        indexed, said = _ls(home, work, args)
        assert "behind" not in said
        assert from_files[tuple(args)] == indexed, args
    listed = orjson.loads(from_files[("ls", "--json", "-n", "3")])
    assert listed[0]["agents"] == 1 and listed[0]["forks"] == 1


def test_a_listing_far_behind_reports_its_reading(behind: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Past PROGRESS_AFTER, the files read are reported, then "done"; the
    listing writes no index."""
    home, work = behind
    reports: list[tuple[str, int, int]] = []
    monkeypatch.setattr(ticker, "PROGRESS_AFTER", 0.0)
    monkeypatch.setattr(ticker, "PROGRESS_EVERY", 0.0)
    monkeypatch.setattr(list_fresh, "report_progress", lambda what, done, total: reports.append((what, done, total)))
    fresh = as_the_command_line(Chit(home, cwd=work, project="demo"))
    assert len(fresh.list(limit=3)) == 3
    files = SESSIONS + 2
    assert reports[:2] == [("session files not indexed yet read", 0, files), ("session files not indexed yet read", 1, files)]
    assert reports[-1] == ("done", 0, 0)
    index = parts_of(fresh).ctx.index
    assert not index.exists()  # a listing makes no index: the catch-up does
    behind = catchup.lag(index, [fresh.project()], text=False)
    assert behind is not None and behind.far


def test_sub_agents_far_behind_are_counted_once_per_file(behind: tuple[Path, Path]) -> None:
    """Each behind file's key is looked at once for the sub-agent counts,
    not once per listed session (quadratic: 25 million key tests for
    5,000 imported sessions)."""
    from calls import calls_of
    from chit import model

    home, work = behind
    api = as_the_command_line(Chit(home, cwd=work, project="demo"))
    with calls_of(model.agent_of) as tested:
        listed = api.list(limit=None)
    assert len(listed) == SESSIONS + 1 and max(s.agents for s in listed) == 1
    assert tested[0] <= SESSIONS + 3


def test_tree_far_behind_folds_only_the_trees_sessions(behind: tuple[Path, Path]) -> None:
    """`tree` reads every header for the parents and folds only the fork
    trees' sessions (every session of the project before), answering as
    the index does."""
    from calls import calls_of
    from chit.service.base import Context

    home, work = behind
    api = as_the_command_line(Chit(home, cwd=work, project="demo"))
    fork = next(s for s in api.list(limit=None) if s.parent_id is not None)
    with calls_of(Context.read_session) as folded:
        every = api.tree(all_trees=True).as_dict()
        one = api.tree(fork.id).as_dict()
    assert len(every["nodes"]) == 2 and folded[0] <= 2 * 2 + 2  # each tree's two sessions, and REF resolved
    parts_of(api).ctx.index.close()
    assert run_cli(["index"], cwd=work, env={"CHIT_HOME": str(home), "CHIT_PROJECT": "demo"}).code == 0
    indexed = Chit(home, cwd=work, project="demo")
    assert indexed.tree(all_trees=True).as_dict() == every and indexed.tree(fork.id).as_dict() == one


def _files_behind(api: Chit) -> int:
    """Session files of the project the index has not caught up with (rows and text)."""
    behind = catchup.lag(parts_of(api).ctx.index, [api.project()])
    return 0 if behind is None else len(behind.files)


def test_the_api_far_behind_brings_the_index_up_to_date_once(behind: tuple[Path, Path]) -> None:
    """A program using the API gets no background catch-up: its first
    listing far behind brings the index up to date in-process (as `chit
    index` does) and answers what the files answer; the next listing and
    search fold no file, and the index is no longer behind."""
    from calls import calls_of
    from chit.service.base import Context

    home, work = behind
    from_files = as_the_command_line(Chit(home, cwd=work, project="demo"))
    want, want_hits = from_files.list(limit=None), from_files.search("dolor", limit=None)
    api = Chit(home, cwd=work, project="demo")
    assert api.list(limit=None) == want
    assert _files_behind(api) == 0
    with calls_of(Context.read_session) as folded:
        assert api.list(limit=None) == want
        assert api.search("dolor", limit=None) == want_hits
    assert folded[0] == 0


def test_an_api_search_far_behind_waits_for_no_catch_up_then_brings_the_index_up_to_date(behind: tuple[Path, Path]) -> None:
    """A catch-up already running (one a command started in the
    background) is not waited for: the listing and the search answer from
    the files. Once it is gone, the next search brings the index up to
    date and answers what the files answer; the one after folds no file."""
    import fcntl

    from calls import calls_of
    from chit.service.base import Context

    home, work = behind
    from_files = as_the_command_line(Chit(home, cwd=work, project="demo"))
    want, want_hits = from_files.list(limit=None), from_files.search("dolor", limit=None)
    api = Chit(home, cwd=work, project="demo")
    fd = os.open(home / "index.catchup", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert api.list(limit=None) == want and api.search("dolor", limit=None) == want_hits
        behind_now = catchup.lag(parts_of(api).ctx.index, [api.project()], text=False)
        assert behind_now is not None and behind_now.far
    finally:
        os.close(fd)
    assert api.search("dolor", limit=None) == want_hits
    assert _files_behind(api) == 0
    with calls_of(Context.read_session) as folded:
        assert api.search("dolor", limit=None) == want_hits
    assert folded[0] == 0
