"""The store on a real file system: modes, damaged logs, format versions,
symlinks, concurrent writers, locks, and project names that try to escape."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import orjson
import pytest
from conftest import tree_digest

from chit.api import Chit
from chit.errors import InvalidData, InvalidInput, Locked, NotFound, ReadOnly
from chit.model import LogIssue
from chit.store.paths import Layout
from chit.service.facade import parts_of
from chit.store.codec import FORMAT_VERSION
from chit.store.sessions import Store, parse_log


def session_path(api: Chit, session_id: str) -> Path:
    return api.layout.session_file(api.project().slug, session_id)


def two_messages(api: Chit) -> tuple[str, Path]:
    s = api.create(title="t")
    api.append(s.id, "user", "first")
    api.append(s.id, "assistant", "second")
    return s.id, session_path(api, s.id)


# -- modes ---------------------------------------------------------------


def test_files_0600_dirs_0700_even_with_umask_zero(home: Path, workdir: Path, tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        api = Chit(home, cwd=workdir)
        a = api.create(title="a", messages=[{"role": "user", "content": "secret"}])
        b = api.create("named", title="b")
        api.append(a.id, "assistant", "more")
        api.set_value(a.id, "k", 1)
        api.compact(a.id)
        api.delete(b.id)
        api.export_to_file(a.id, "json", tmp_path / "export.json")
    finally:
        os.umask(old)
    paths = [home, *home.rglob("*")]
    files = [p for p in paths if p.is_file()]
    dirs = [p for p in paths if p.is_dir()]
    assert {p.name for p in files} >= {f"{a.id}.jsonl", f"{b.id}.jsonl", "project.json", "current.json"}
    assert {p.name for p in dirs} >= {"home", "projects", "sessions", "trash"}
    assert {str(p.relative_to(home)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {
        str(p.relative_to(home)): "0o600" for p in files
    }
    assert {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in dirs} == {str(p): "0o700" for p in dirs}
    assert stat.S_IMODE((tmp_path / "export.json").stat().st_mode) == 0o600


# -- damaged logs ----------------------------------------------------------


def test_corrupt_middle_lines_are_skipped_and_counted(api: Chit) -> None:
    sid, path = two_messages(api)
    lines = path.read_bytes().splitlines(keepends=True)
    bad = [b"{not json at all\n", b'{"type": "message", "role": "wizard"}\n', b"\xff\xfe binary\n"]
    path.write_bytes(b"".join([lines[0], lines[1], *bad, lines[2]]))
    session = api.get(sid)
    assert [m.content for m in session.messages] == ["first", "second"]
    assert [i.line for i in session.issues] == [3, 4, 5]
    assert not any(i.torn for i in session.issues)
    assert session.header_dict()["corrupt_lines"] == 3
    assert [s.id for s in api.list()] == [sid]
    api.append(sid, "user", "third")
    assert [m.content for m in api.get(sid).messages] == ["first", "second", "third"]


def test_torn_last_line_is_set_aside_and_not_glued_onto(api: Chit) -> None:
    sid, path = two_messages(api)
    torn = b'{"type": "message", "id": "x", "role": "user", "content": "half a li'
    with open(path, "ab") as handle:
        handle.write(torn)
    session = api.get(sid)
    assert [m.content for m in session.messages] == ["first", "second"]
    assert session.issues == (LogIssue(4, "incomplete last line", torn=True),)
    api.append(sid, "user", "after the tear")
    data = path.read_bytes()
    assert data.endswith(b"\n")
    lines = data.splitlines()
    assert lines[3] == torn
    assert orjson.loads(lines[4])["content"] == "after the tear"
    again = api.get(sid)
    assert [m.content for m in again.messages] == ["first", "second", "after the tear"]
    assert [(i.line, i.torn) for i in again.issues] == [(4, False)]


def test_bad_header_still_loads_with_id_from_file_name(api: Chit, workdir: Path) -> None:
    sid, path = two_messages(api)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"#@! garbage header\n" + b"".join(lines[1:]))
    session = api.get(sid)
    assert session.id == sid
    assert session.project == str(workdir)
    assert [m.content for m in session.messages] == ["first", "second"]
    assert session.issues[0].line == 1 and session.issues[0].reason.startswith("bad header")
    assert session.title == "first"
    assert api.resolve(sid[:8]).id == sid
    api.append(sid, "user", "still writable")
    assert len(api.get(sid).messages) == 3


def test_header_with_another_id_loads_under_the_file_name(api: Chit) -> None:
    sid, path = two_messages(api)
    lines = path.read_bytes().splitlines(keepends=True)
    header = orjson.loads(lines[0])
    header["id"] = "11111111-1111-4111-8111-111111111111"
    path.write_bytes(orjson.dumps(header) + b"\n" + b"".join(lines[1:]))
    session = api.get(sid)
    assert session.id == sid
    assert [i.reason for i in session.issues] == ["header id does not match the file name"]


def test_parse_log_never_raises_on_garbage() -> None:
    sid = "11111111-1111-4111-8111-111111111111"
    for data in (b"", b"\n\n", b"\x00\x01\x02", b'{"type":"session"}\n{', b"[]\n[]\n", b'"x"\n' * 3):
        log = parse_log(sid, data, "/p", 0)
        assert log.header["id"] == sid
        assert log.events == []


def newer_version(api: Chit) -> tuple[str, Path]:
    sid, path = two_messages(api)
    lines = path.read_bytes().splitlines(keepends=True)
    header = orjson.loads(lines[0])
    header["version"] = FORMAT_VERSION + 1
    future_event = b'{"type": "reaction", "emoji": "+1", "ts": "2030-01-01T00:00:00.000000Z"}\n'
    path.write_bytes(orjson.dumps(header) + b"\n" + b"".join(lines[1:]) + future_event)
    return sid, path


def test_newer_version_loads_read_only(api: Chit) -> None:
    sid, _ = newer_version(api)
    session = api.get(sid)
    assert session.read_only is True
    assert session.version == FORMAT_VERSION + 1
    assert [m.content for m in session.messages] == ["first", "second"]
    assert session.issues == ()
    assert [s.id for s in api.list()] == [sid]
    assert [h.id for h in api.search("second")] == [sid]


@pytest.mark.parametrize(
    "change",
    [
        lambda api, sid: api.append(sid, "user", "no"),
        lambda api, sid: api.pop(sid),
        lambda api, sid: api.rewind(sid, 0),
        lambda api, sid: api.rename(sid, "no"),
        lambda api, sid: api.tag(sid, "no"),
        lambda api, sid: api.set_state(sid, "running"),
        lambda api, sid: api.set_value(sid, "k", 1),
        lambda api, sid: api.compact(sid),
    ],
    ids=["append", "pop", "rewind", "rename", "tag", "set_state", "set_value", "compact"],
)
def test_newer_version_refuses_writes_file_unchanged(api: Chit, home: Path, change) -> None:  # type: ignore[no-untyped-def]
    sid, path = newer_version(api)
    data = path.read_bytes()
    before = tree_digest(home)
    with pytest.raises(ReadOnly):
        change(api, sid)
    assert path.read_bytes() == data
    assert tree_digest(home) == before


def test_symlinked_session_file_is_refused(api: Chit, tmp_path: Path) -> None:
    real = api.create(title="real", messages=[{"role": "user", "content": "outside"}])
    real_path = session_path(api, real.id)
    outside = tmp_path / "outside.jsonl"
    outside.write_bytes(real_path.read_bytes().replace(real.id.encode(), b"22222222-2222-4222-8222-222222222222"))
    link_id = "22222222-2222-4222-8222-222222222222"
    link = real_path.with_name(f"{link_id}.jsonl")
    link.symlink_to(outside)
    data = outside.read_bytes()
    assert [s.id for s in api.list()] == [real.id]
    with pytest.raises(InvalidData, match="symbolic link"):
        api.get(link_id)
    with pytest.raises(InvalidData):
        api.append(link_id, "user", "through the link")
    with pytest.raises(NotFound):
        api.resolve("2222")
    assert outside.read_bytes() == data
    assert link.is_symlink()


# -- concurrency and locks -----------------------------------------------

WORKER = textwrap.dedent(
    """
    import os, sys, time
    from chit.api import Chit
    home, cwd, sid, worker, go = sys.argv[1:]
    api = Chit(home, cwd=cwd)
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.001)
    for i in range(50):
        api.append(sid, "user" if i % 2 else "assistant", f"w{worker}-{i:02d}")
    """
)


def test_concurrent_appends_from_processes_lose_nothing(api: Chit, home: Path, workdir: Path, tmp_path: Path) -> None:
    sid = api.create(title="busy").id
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(home), str(workdir), sid, str(w), str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for w in range(4)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        go.touch()
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err.decode()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    lines = session_path(api, sid).read_bytes().split(b"\n")
    assert lines.pop() == b""
    records = [orjson.loads(line) for line in lines]
    assert len(records) == 1 + 200
    session = api.get(sid)
    assert session.issues == ()
    contents = [m.content for m in session.messages]
    assert len(contents) == 200 and len(set(contents)) == 200
    for w in range(4):
        mine = [c for c in contents if c.startswith(f"w{w}-")]
        assert mine == [f"w{w}-{i:02d}" for i in range(50)]  # each writer's order kept


def test_compaction_during_concurrent_appends_loses_nothing(
    api: Chit, home: Path, workdir: Path, tmp_path: Path
) -> None:
    sid = api.create(title="busy").id
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, str(script), str(home), str(workdir), sid, str(w), str(go)], stdout=subprocess.PIPE)
        for w in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        go.touch()
        compactions = 0
        while any(proc.poll() is None for proc in procs) or compactions < 3:
            api.compact(sid)
            compactions += 1
        for proc in procs:
            assert proc.wait(timeout=60) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    session = api.get(sid)
    assert session.issues == ()
    assert sorted(m.content for m in session.messages) == sorted(f"w{w}-{i:02d}" for w in range(2) for i in range(50))
    assert not [p.name for p in session_path(api, sid).parent.iterdir() if p.name.endswith(".tmp")]


HOLDER = textwrap.dedent(
    """
    import sys, time
    from chit.api import Chit
    from chit.service.facade import parts_of
    home, cwd, sid, what = sys.argv[1:]
    api = Chit(home, cwd=cwd)
    project = parts_of(api).ctx.locate(sid)
    if what == "session":
        held = parts_of(api).ctx.store.locked(project.slug, sid, project.key)
    else:
        held = parts_of(api).ctx.store.project_lock(project.slug)
    with held:
        print("held", flush=True)
        time.sleep(120)
    """
)


def hold_lock(tmp_path: Path, home: Path, workdir: Path, sid: str, what: str) -> subprocess.Popen[bytes]:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(home), str(workdir), sid, what], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line == b"held\n", proc.stderr.read() if proc.stderr else b""
    return proc


def test_waiting_writer_gets_locked_then_recovers_after_holder_is_killed(
    api: Chit, home: Path, workdir: Path, tmp_path: Path
) -> None:
    sid, path = two_messages(api)
    proc = hold_lock(tmp_path, home, workdir, sid, "session")
    try:
        impatient = Chit(home, cwd=workdir, lock_timeout=0.2)
        before = tree_digest(home)
        started = time.monotonic()
        with pytest.raises(Locked) as caught:
            impatient.append(sid, "user", "blocked")
        waited = time.monotonic() - started
        assert 0.2 <= waited < 3
        assert caught.value.code == "LOCKED"
        assert tree_digest(home) == before
        with pytest.raises(Locked):
            impatient.rename(sid, "blocked too")
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode == -9
    Chit(home, cwd=workdir, lock_timeout=0.2).append(sid, "user", "after the crash")
    assert [m.content for m in api.get(sid).messages][-1] == "after the crash"


def test_project_lock_of_killed_process_is_recovered(api: Chit, home: Path, workdir: Path, tmp_path: Path) -> None:
    sid = api.create(title="first").id
    proc = hold_lock(tmp_path, home, workdir, sid, "project")
    impatient = Chit(home, cwd=workdir, lock_timeout=0.2)
    try:
        with pytest.raises(Locked):
            impatient.create(title="second")
    finally:
        proc.kill()
        proc.wait(timeout=10)
    made = impatient.create(title="second")
    assert sorted(s.title for s in api.list()) == ["first", "second"]
    assert made.id != sid


# -- project names -------------------------------------------------------

BAD_NAMES = ["../x", "..", "a/b", "/abs", "a\\b", "nul\x00name", "", "   ", ".", ".hidden", "tab\tname"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_project_names_rejected_nothing_created(home: Path, workdir: Path, tmp_path: Path, name: str) -> None:
    outside = tree_digest(tmp_path)
    api = Chit(home, cwd=workdir)
    with pytest.raises(InvalidInput):
        api.create(name, title="escape")
    with pytest.raises(InvalidInput):
        Chit(home, cwd=workdir, project=name).create(title="escape")
    with pytest.raises(InvalidInput):
        api.list(name)
    assert tree_digest(home) == "absent"
    assert tree_digest(tmp_path) == outside


def test_bad_project_name_from_environment(home: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIT_PROJECT", "../../etc")
    with pytest.raises(InvalidInput):
        Chit(home, cwd=workdir).create(title="escape")
    assert tree_digest(home) == "absent"


def test_project_slugs_stay_inside_the_store(api: Chit, home: Path) -> None:
    for name in ("Weird Name!", "ünïcode", "..dots-inside..x"[2:], "a" * 100):
        api.create(name)
    slugs = sorted(p.name for p in (home / "projects").iterdir())
    assert len(slugs) == 4
    for slug in slugs:
        assert set(slug) <= set("abcdefghijklmnopqrstuvwxyz0123456789._-")
        assert not slug.startswith(".")
    assert {p.name for p in home.iterdir()} == {"projects", "machine-id"}


def test_no_links_refuses_a_link_at_every_level_below_the_home(tmp_path: Path) -> None:
    real_home = tmp_path / "real-home"
    (real_home / "projects" / "p-1" / "sessions").mkdir(parents=True)
    (tmp_path / "home").symlink_to(real_home)  # the home itself may be a link
    store = Store(Layout(tmp_path / "home"))
    target = store.layout.session_file("p-1", "0" * 8 + "-0000-4000-8000-" + "0" * 12)
    store.no_links(target)  # no link below the home
    store.no_links(store.layout.session_file("p-2", "x"))  # a directory not made yet
    store.no_links(tmp_path / "elsewhere" / "a" / "b")  # outside the store: not its business
    outside = tmp_path / "outside"
    outside.mkdir()
    for level in (real_home / "projects" / "p-1" / "sessions", real_home / "projects" / "p-1", real_home / "projects"):
        moved = level.with_name(level.name + ".real")
        level.rename(moved)
        level.symlink_to(outside)
        with pytest.raises(InvalidData, match="symbolic link"):
            store.no_links(target)
        level.unlink()
        moved.rename(level)
    store.no_links(target)
