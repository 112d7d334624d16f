"""Projects that move: `chit projects`, `chit projects mv`, and the note
when a repository turns up at a new path. Real git repositories, real
directories moved with os.rename, the real program."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

from chit.api import Chit
from chit.errors import ChitError, Conflict, InvalidInput, NotFound
from chit.service.facade import parts_of

from conftest import run_cli


def _git_repo(path: Path) -> str:
    path.mkdir(parents=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "root"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, check=True, capture_output=True, text=True).stdout.strip()


def _fill(chit: Chit, title: str, n: int = 2) -> str:
    s = chit.create(title=title)
    for i in range(n):
        chit.append(s.id, "user", f"{title} question {i}")
        chit.append(s.id, "assistant", f"{title} answer {i}")
    return s.id


def _digests(chit: Chit, ids: list[str]) -> dict[str, tuple[int, ...]]:
    return {i: tuple(hash((m.id, m.role, m.content)) for m in chit.get(i).messages) for i in ids}


def test_first_session_in_a_git_repo_records_its_root_commit(home: Path, tmp_path: Path) -> None:
    root = _git_repo(tmp_path / "repo")
    chit = Chit(home, cwd=tmp_path / "repo")
    chit.create(title="x")
    data = orjson.loads(chit.layout.project_file(chit.project().slug).read_bytes())
    assert data["git_root"] == root and data["path"] == str(tmp_path / "repo")
    plain = Chit(home, cwd=tmp_path)  # not a repository: nothing recorded
    plain.create(title="y")
    assert plain.project().git_root is None


def test_move_relinks_every_session_with_its_id(home: Path, tmp_path: Path) -> None:
    _git_repo(tmp_path / "repo")
    old = Chit(home, cwd=tmp_path / "repo")
    ids = [_fill(old, "alpha"), _fill(old, "beta")]
    gone = _fill(old, "trashed")
    old.delete(gone)
    old.set_current(ids[0])
    before = _digests(old, ids)
    headers = {i: parts_of(old).ctx.store.read_header(old.project().slug, i) for i in ids}
    os.rename(tmp_path / "repo", tmp_path / "moved")

    new = Chit(home, cwd=tmp_path / "moved")
    assert new.list() == []  # the history is not here yet...
    report = new.move_project(str(tmp_path / "repo"), tmp_path / "moved")
    assert (report.sessions, report.trashed, report.merged) == (2, 1, False)
    assert report.target.path == str(tmp_path / "moved") and report.target.key == str(tmp_path / "moved")
    assert set(report.target.aliases) == {str(tmp_path / "repo"), "repo"}
    assert sorted(s.id for s in new.list()) == sorted(ids)  # ...now it is, same ids
    assert _digests(new, ids) == before
    assert {i: parts_of(new).ctx.store.read_header(new.project().slug, i) for i in ids} == headers  # headers untouched
    assert new.current() is not None and new.current().id == ids[0]  # type: ignore[union-attr]
    assert [s.id for s in new.trash()] == [gone] and new.restore(gone[:8]).id == gone
    assert [p.name for p in parts_of(new).ctx.projects.all()] == ["moved"]
    assert sorted(os.listdir(home / "projects")) == [new.project().slug]
    assert not (home / "trash" / report.source.slug).exists()
    assert new.resolve(ids[1][:6]).id == ids[1]
    assert {s.id for s in Chit(home, cwd=tmp_path, project="repo").list()} == {*ids, gone}  # -p OLDNAME still works (alias)


def test_move_merges_into_an_existing_project(home: Path, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = Chit(home, cwd=tmp_path / "a"), Chit(home, cwd=tmp_path / "b")
    a_ids = [_fill(a, "a1"), _fill(a, "a2")]
    b_ids = [_fill(b, "b1")]
    before = _digests(a, a_ids) | _digests(b, b_ids)
    current_b = b.current()
    old_slug = a.project().slug
    assert a.layout.changes_file(old_slug).exists()  # the appends made its change journal
    report = a.move_project("a", str(tmp_path / "b"))
    assert report.merged and report.sessions == 2
    assert not a.layout.changes_file(old_slug).exists()  # gone with its directory
    assert sorted(s.id for s in b.list()) == sorted(a_ids + b_ids)
    assert _digests(b, a_ids + b_ids) == before
    assert b.current() == current_b  # the target keeps its own current session
    assert [p.name for p in parts_of(b).ctx.projects.all()] == ["b"]
    assert parts_of(b).ctx.projects.all()[0].aliases == (str(tmp_path / "a"), "a")
    with pytest.raises(NotFound):
        a.find_project("a-does-not-exist")


def test_move_into_a_named_project_and_back(home: Path, tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    named = Chit(home, cwd=tmp_path, project="notes")
    ids = [_fill(named, "n1")]
    report = named.move_project("notes", tmp_path / "dir")  # a name-only project gets a directory
    assert report.target.path == str(tmp_path / "dir") and "name:notes" in report.target.aliases
    assert [s.id for s in Chit(home, cwd=tmp_path / "dir").list()] == ids


def test_move_refuses_clashes_and_nonsense_without_moving_anything(home: Path, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = Chit(home, cwd=tmp_path / "a"), Chit(home, cwd=tmp_path / "b")
    sid = _fill(a, "same")
    _fill(b, "other")
    shutil.copy(parts_of(a).ctx.store.session_path(a.project().slug, sid), parts_of(b).ctx.store.session_path(b.project().slug, sid))  # one id, two projects
    from conftest import tree_digest

    before = tree_digest(home)
    with pytest.raises(Conflict):
        a.move_project("a", str(tmp_path / "b"))
    with pytest.raises(InvalidInput):
        a.move_project("a", str(tmp_path / "a"))
    with pytest.raises(NotFound):
        a.move_project("a", str(tmp_path / "missing-dir"))
    with pytest.raises(NotFound):
        a.move_project("a", "no-such-project")
    with pytest.raises(NotFound):
        a.move_project(str(tmp_path / "nowhere"), str(tmp_path / "b"))
    assert tree_digest(home) == before


def test_an_interrupted_move_finishes_when_run_again(home: Path, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Chit(home, cwd=tmp_path / "a")
    ids = [_fill(a, "x"), _fill(a, "y")]
    b_slug = Chit(home, cwd=tmp_path / "b").project().slug
    # the state a crash after the first file leaves: target record written, one file moved
    parts_of(a).ctx.projects.write(parts_of(a).moves._merged_record(a.project(), Chit(home, cwd=tmp_path / "b").project()))
    parts_of(a).ctx.store.move(parts_of(a).ctx.store.session_path(a.project().slug, ids[0]), parts_of(a).ctx.store.session_path(b_slug, ids[0]))
    assert len(a.list()) == 1
    report = a.move_project(str(tmp_path / "a"), str(tmp_path / "b"))
    assert report.sessions == 1 and report.merged
    assert sorted(s.id for s in Chit(home, cwd=tmp_path / "b").list()) == sorted(ids)


def test_cli_notes_a_moved_repository_and_the_suggested_command_works(home: Path, tmp_path: Path) -> None:
    _git_repo(tmp_path / "old place")
    created = run_cli(["new", "kept"], cwd=tmp_path / "old place")
    assert created.code == 0, created.err
    sid = created.out.strip()
    os.rename(tmp_path / "old place", tmp_path / "new place")

    listed = run_cli(["ls", "--json"], cwd=tmp_path / "new place")
    assert listed.code == 0 and orjson.loads(listed.out) == []
    note = [line for line in listed.err.splitlines() if "chit projects mv" in line]
    assert len(note) == 1, listed.err
    command = note[0].split("run: ", 1)[1]
    assert command == f"chit projects mv '{tmp_path / 'old place'}' '{tmp_path / 'new place'}'"
    import shlex

    moved = run_cli([*shlex.split(command)[1:], "--json"], cwd=tmp_path / "new place")
    assert moved.code == 0, moved.err
    assert "note" not in moved.err
    report = orjson.loads(moved.out)
    assert report["sessions"] == 1 and report["to"]["path"] == str(tmp_path / "new place")
    after = run_cli(["ls", "-q"], cwd=tmp_path / "new place")
    assert after.out.split() == [sid] and after.err == ""

    # a second clone of the same repository elsewhere is not a move: no note
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(tmp_path / "new place"), str(clone)], check=True, capture_output=True)
    assert run_cli(["ls"], cwd=clone).err.count("chit projects mv") == 0


def test_cli_projects_lists_and_moves(home: Path, tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    for _ in range(2):
        assert run_cli(["new"], cwd=tmp_path / "one").code == 0
    listed = run_cli(["projects", "--json"], cwd=tmp_path)
    rows = orjson.loads(listed.out)
    assert [(r["name"], r["sessions"], r["path"]) for r in rows] == [("one", 2, str(tmp_path / "one"))]
    lines = run_cli(["projects", "--jsonl"], cwd=tmp_path).out.splitlines()
    assert [orjson.loads(x) for x in lines] == rows
    human = run_cli(["projects"], cwd=tmp_path)
    assert "one" in human.out and str(tmp_path / "one") in human.out
    moved = run_cli(["projects", "mv", "one", str(tmp_path / "two")], cwd=tmp_path)
    assert moved.code == 0 and moved.out.strip() == f"one: 2 sessions moved to {tmp_path / 'two'}"
    again = run_cli(["projects", "mv", "one", str(tmp_path / "two")], cwd=tmp_path)  # "one" is now an alias of two
    assert again.code == 5 and "already at" in again.err
    assert run_cli(["projects", "mv", "nothing", str(tmp_path / "two")], cwd=tmp_path).code == 3
    assert run_cli(["projects", "mv", "two"], cwd=tmp_path).code == 2
    os.rmdir(tmp_path / "one")
    (tmp_path / "two").rename(tmp_path / "three")
    assert "(gone)" in run_cli(["projects"], cwd=tmp_path).out


def test_a_session_created_while_its_project_moves_is_refused_not_orphaned(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`chit new` waits for the project lock while `projects mv` holds it and
    removes the project: the new session must not land in the removed
    project's directory."""
    from chit.store import lock

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Chit(home, cwd=tmp_path / "a")
    kept = _fill(a, "a1")
    slug = a.project().slug
    real_acquire = lock.acquire
    moved: list[object] = []

    def acquire_after_a_move(fd: int, what: str, timeout: float) -> None:
        if what == f"project {slug}" and not moved:  # the writer has opened the lock file and is about to wait
            moved.append("moving")
            moved[0] = Chit(home, cwd=tmp_path).move_project(str(tmp_path / "a"), str(tmp_path / "b"))
        real_acquire(fd, what, timeout)

    monkeypatch.setattr(lock, "acquire", acquire_after_a_move)
    with pytest.raises(Conflict, match="was moved or removed while this session was being created"):
        a.create(title="late")
    monkeypatch.undo()
    assert getattr(moved[0], "sessions", None) == 1
    assert not a.layout.project_dir(slug).exists()  # nothing recreated where the project was
    b = Chit(home, cwd=tmp_path / "b")
    assert [s.id for s in b.list()] == [kept]
    assert b.doctor().findings == []


# -- a move cut short -------------------------------------------------------------

LONG = bool(os.environ.get("CHIT_LONG"))


def _relink_setup(home: Path, base: Path, live: int, trashed: int) -> tuple[Path, Path, set[str]]:
    """A project `repo` with sessions, then its directory moved (same
    name, new path): the case where old and new project share a name."""
    old_dir, new_dir = base / "old" / "repo", base / "new" / "repo"
    old_dir.mkdir(parents=True)
    new_dir.mkdir(parents=True)
    chit = Chit(home, cwd=old_dir, durable=False)
    ids = {chit.create(title=f"s{n}", messages=[{"role": "user", "content": f"q{n}"}]).id for n in range(live + trashed)}
    for session_id in sorted(ids)[:trashed]:
        chit.delete(session_id)
    return old_dir, new_dir, ids


def _assert_moved_whole(home: Path, new_dir: Path, ids: set[str]) -> None:
    chit = Chit(home, cwd=new_dir)
    found = {s.id for s in chit.list()} | {s.id for s in chit.trash()}
    assert found == ids, f"{len(ids - found)} session(s) not in the new project"
    assert [p.path for p in parts_of(chit).ctx.projects.all()] == [str(new_dir)], "the sessions are split between two projects"
    assert sorted(os.listdir(home / "projects")) == [chit.project().slug]
    assert sorted(os.listdir(home / "trash")) in ([], [chit.project().slug])
    # a kill inside an atomic write of project.json leaves its temp file,
    # which doctor --repair removes (tests/test_temp_files.py)
    findings = [f for f in chit.doctor().findings if f.problem != "leftover temporary file"]
    assert findings == [], [(f.path, f.problem) for f in findings]


@pytest.mark.parametrize("spec", ["path", "name"])
def test_a_move_cut_short_anywhere_is_finished_by_the_same_command(home: Path, tmp_path: Path, spec: str) -> None:
    """The state a kill leaves part way through a relink: the new record
    written (naming the old path and name as aliases), some sessions moved,
    one of them linked under both projects (killed between link and
    unlink). `chit projects mv OLD NEW` run again must finish the move."""
    old_dir, new_dir, ids = _relink_setup(home, tmp_path, 4, 1)
    chit = Chit(home, cwd=old_dir)
    source, target = chit.project(), parts_of(chit).moves._move_target(new_dir)
    parts_of(chit).ctx.projects.write(parts_of(chit).moves._merged_record(source, target))
    live = sorted(parts_of(chit).ctx.store.session_ids(source.slug))
    parts_of(chit).ctx.store.move(parts_of(chit).ctx.store.session_path(source.slug, live[0]), parts_of(chit).ctx.store.session_path(target.slug, live[0]))
    os.link(parts_of(chit).ctx.store.session_path(source.slug, live[1]), parts_of(chit).ctx.store.session_path(target.slug, live[1]))
    old = str(old_dir) if spec == "path" else "repo"
    again = run_cli(["projects", "mv", old, str(new_dir)], cwd=tmp_path)
    assert again.code == 0, again.err
    _assert_moved_whole(home, new_dir, ids)


@pytest.mark.parametrize("spec", ["path", "name"])
def test_a_move_cut_short_after_the_old_record_is_finished_by_the_same_command(home: Path, tmp_path: Path, spec: str) -> None:
    """A kill between removing the old project's record and its directory
    leaves that directory empty. The move run again finds itself done
    ("already at") and removes it."""
    old_dir, new_dir, ids = _relink_setup(home, tmp_path, 2, 1)
    old_slug = Chit(home, cwd=old_dir).project().slug
    Chit(home, cwd=tmp_path).move_project(str(old_dir), new_dir)
    (home / "projects" / old_slug).mkdir()  # what the kill leaves
    old = str(old_dir) if spec == "path" else "repo"
    again = run_cli(["projects", "mv", old, str(new_dir)], cwd=tmp_path)
    assert again.code == 5 and "already at" in again.err, again.err
    _assert_moved_whole(home, new_dir, ids)


def _move_in_child(home: Path, cwd: Path, old: str, new: Path, delay: float) -> bool:
    """Fork a child that runs the move, SIGKILL it after `delay` seconds;
    whether it was killed (not finished first)."""
    pid = os.fork()
    if pid == 0:
        try:
            Chit(home, cwd=cwd).move_project(old, new)
        finally:
            os._exit(0)
    import signal
    import time

    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status)


def test_moves_killed_at_random_are_finished_by_running_them_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child running `projects mv` is killed with SIGKILL at a random
    moment; the same move run again (through the real program every fourth
    round) must leave every session, live and trashed, in the new project
    and nothing of the old one."""
    import random
    import time

    rng = random.Random(1207)
    rounds = 200 if LONG else 16
    monkeypatch.setenv("CHIT_LOCK_TIMEOUT", "5")
    window = 1.0
    for warm in range(2):  # how long a whole move takes here (the second, warm)
        timed_home = tmp_path / f"timed{warm}"
        old_dir, new_dir, _ = _relink_setup(timed_home, tmp_path / f"timed-dirs{warm}", 8, 2)
        started = time.perf_counter()
        Chit(timed_home, cwd=tmp_path).move_project(str(old_dir), new_dir)
        window = min(window, time.perf_counter() - started)
    stats = {"killed": 0, "finished by the rerun": 0}
    failed: list[str] = []
    for round_no in range(rounds):
        home = tmp_path / f"home{round_no}"
        monkeypatch.setenv("CHIT_HOME", str(home))
        old_dir, new_dir, ids = _relink_setup(home, tmp_path / f"dirs{round_no}", 8, 2)
        old = str(old_dir) if round_no % 2 else "repo"
        stats["killed"] += _move_in_child(home, tmp_path, old, new_dir, rng.uniform(0, window))
        try:
            _move_again(home, tmp_path, old, new_dir, through_cli=round_no % 4 == 0)
            _assert_moved_whole(home, new_dir, ids)
        except (AssertionError, ChitError) as exc:
            failed.append(f"round {round_no}: {exc}".splitlines()[0])
        else:
            stats["finished by the rerun"] += 1
    print(f"\nprojects mv kills: {stats}, window {window * 1000:.0f} ms")  # docs/reliability.md
    assert not failed, f"{len(failed)} of {rounds} moves not finished: {failed[:3]}"


def _move_again(home: Path, cwd: Path, old: str, new: Path, through_cli: bool) -> None:
    """Run the move again; "already at" is the answer when the killed
    child had finished it."""
    if through_cli:
        again = run_cli(["projects", "mv", old, str(new)], cwd=cwd)
        assert again.code == 0 or (again.code == 5 and "already at" in again.err), again.err
        return
    try:
        Chit(home, cwd=cwd).move_project(old, new)
    except InvalidInput as exc:
        assert "already at" in exc.message, exc.message
