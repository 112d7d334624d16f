"""A session id is made by one writer at a time, whatever the project
(`Store.ids_lock`): a snapshot import, a `save` of a new session and a
session a `chit sync` brings each look for the id and create its file
under the lock, so two of them racing never leave one id under two
projects. Each race here is lined up in real processes: one holds the
lock as an import does between choosing an id and creating its file, the
other starts, and the holder creates the session only once the other
waits for the lock (or has finished without it: the fault)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from chit.api import Chit
from chit.errors import Locked
from chit.service.sessions import make_message
from chit.service.facade import parts_of


def _holds_open(pid: int, directory: Path) -> bool:
    """Whether process `pid` has `directory` open (the ids lock is the home's own)."""
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for name in names:
        try:
            if os.readlink(f"/proc/{pid}/fd/{name}") == str(directory):
                return True
        except OSError:
            continue
    return False


def _child(work: Callable[[], object]) -> int:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            work()
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    return pid


def raced(home: Path, make: Callable[[], object], other: Callable[[], object]) -> None:
    """`make()` in a process holding the ids lock from before `other()`
    starts, in a process of its own, until `other` waits for the lock or
    has ended; both must succeed."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()

    def holder() -> None:
        with parts_of(Chit(home, cwd=home.parent)).ctx.store.ids_lock():
            os.write(ready_w, b"x")
            os.read(go_r, 1)
            make()

    first = _child(holder)
    assert os.read(ready_r, 1) == b"x"
    second = _child(other)
    status = None  # the second's, when it ended without waiting for the lock
    deadline = time.monotonic() + 30
    while status is None and not _holds_open(second, home) and time.monotonic() < deadline:
        pid, code = os.waitpid(second, os.WNOHANG)
        if pid:
            status = code
        else:
            time.sleep(0.002)
    os.write(go_w, b"x")
    first_status = os.waitpid(first, 0)[1]
    if status is None:
        status = os.waitpid(second, 0)[1]
    assert [os.waitstatus_to_exitcode(s) for s in (first_status, status)] == [0, 0]
    for fd in (ready_r, ready_w, go_r, go_w):
        os.close(fd)


needs_proc = pytest.mark.skipif(not os.path.isdir(f"/proc/{os.getpid()}/fd"), reason="needs /proc/PID/fd to line the processes up")


@needs_proc
def test_a_save_of_a_new_session_and_a_writer_of_its_id_make_one_file(home: Path, tmp_path: Path) -> None:
    """Before: `save` looked for the id and created the session without the
    lock, so with the id made meanwhile in another project the store held
    it under both. Now it waits, finds it, and updates that session."""
    a, b = Chit(home, cwd=tmp_path, project="a"), Chit(home, cwd=tmp_path, project="b")
    a.create(title="a's own")
    held = b.create(title="saved", messages=[{"role": "user", "content": "from the save"}], make_current=False)
    new_id = str(uuid.uuid4())
    saving = dataclasses.replace(held, id=new_id)

    def make() -> None:
        ctx = parts_of(a).ctx
        parts_of(a).sessions.write_new(ctx.project("a"), "made first", None, {}, [make_message("user", "from the writer")], [], None, False, new_id)

    raced(home, make, lambda: Chit(home, cwd=tmp_path, project="b").save(saving))
    store = parts_of(a).ctx.store
    slugs = {p.name: p.slug for p in parts_of(a).ctx.projects.all()}
    assert store.holders(new_id) == [slugs["a"]]
    assert [m.content for m in a.get(new_id).messages] == ["from the save"]  # the save came second: an update


@needs_proc
@pytest.mark.skipif(shutil.which("git") is None, reason="chit sync needs git")
def test_a_session_a_sync_brings_and_a_writer_of_its_id_make_one_file(tmp_path: Path) -> None:
    """Before: a session new to this store was created where its mirror
    folder says without the lock, so the same id made meanwhile in another
    project (a snapshot import) left it under both. Now the sync waits,
    finds it, and continues it where it is."""
    from chit.sync.run import Sync

    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True, env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull})
    there = Chit(tmp_path / "there", cwd=tmp_path, project="demo")
    sent = there.create(title="synced", messages=[{"role": "user", "content": "from the remote"}])
    Sync(parts_of(there).ctx).init(str(remote))
    home = tmp_path / "here"
    here = Chit(home, cwd=tmp_path, project="a")
    here.create(title="a's own")

    def make() -> None:
        ctx = parts_of(here).ctx
        parts_of(here).sessions.write_new(ctx.project("a"), "imported here", None, {}, [make_message("user", "made here")], [], None, False, sent.id)

    raced(home, make, lambda: Sync(parts_of(Chit(home, cwd=tmp_path, project="a")).ctx).clone(str(remote)))
    ctx = parts_of(here).ctx
    slugs = {p.name: p.slug for p in ctx.projects.all()}
    assert ctx.store.holders(sent.id) == [slugs["a"]] and ctx.store.holders(sent.id, trash=True) == []
    assert sorted(m.content for m in here.get(sent.id).messages) == ["from the remote", "made here"]
    # continued, not concatenated: the remote's header is not a second one (doctor: "a second header")
    lines = ctx.store.session_path(slugs["a"], sent.id).read_bytes().splitlines()
    assert [orjson.loads(line)["type"] for line in lines].count("session") == 1
    assert orjson.loads(lines[0])["title"] == "imported here"


def test_a_save_of_an_existing_session_does_not_wait_for_the_ids_lock(home: Path, tmp_path: Path) -> None:
    """Only a new session's id needs the lock: an update never waits for an
    import or a sync making another id (a large snapshot holds the lock
    while it writes its file). Before: every save took it, and one held
    past the lock timeout made an update fail (LOCKED)."""
    api = Chit(home, cwd=tmp_path, project="a", lock_timeout=0.05)
    session = api.create(title="kept", messages=[{"role": "user", "content": "one"}])
    grown = dataclasses.replace(session, messages=[*session.messages, make_message("assistant", "two")])
    other_writer = parts_of(Chit(home, cwd=tmp_path)).ctx.store  # its own open of the home: a lock of its own
    with other_writer.ids_lock():
        api.save(grown)
        with pytest.raises(Locked):
            api.save(dataclasses.replace(session, id=str(uuid.uuid4())))  # a new id still waits for it
    assert [m.content for m in api.get(session.id).messages] == ["one", "two"]
