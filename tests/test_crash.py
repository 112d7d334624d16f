"""Crashes: a writer killed with SIGKILL at random moments never loses a
message whose append had returned, never leaves a session that does not
load, leaves at most one torn line behind, and `chit doctor --repair`
always brings the store back to clean (doctor then reports nothing).

The writer is a child process appending in a loop with fsync on (the
default durability), now and then tagging or compacting the session, and
writing each message's id to a pipe only after `append` returned: the
acknowledgement a caller of chit would act on. Most children are forked
from a warm process that holds chit (tests/kill_launcher.py); every tenth
round runs a freshly exec'd interpreter instead. Some messages are megabytes long, so
that a kill lands inside a write() and really tears a line.

A second crash test kills a child that moves the session to the trash and
back between appends: a kill between the link and the unlink of a move
leaves one file under both names, which `rm`/`restore` run again, or
doctor --repair, finishes; a kill between restore's event and its move
leaves a trashed file with no trash date, which `trash --empty
--older-than` must never take for old.

CHIT_LONG=1 runs 1,000 kills of each instead of 120 (docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from types import FrameType

import pytest

from chit.api import Chit, DoctorReport
from chit.service.facade import parts_of
from chit.store.files import TEMP_GRACE
from conftest import run_cli
from crash_writer import content_for
from kill_launcher import Launcher
from killpoints import killed_at

LONG = bool(os.environ.get("CHIT_LONG"))
KILLS = 1000 if LONG else 120
MAX_FILE = 6 * 1024 * 1024  # start a new session past this, to keep each check quick


EXEC_WRITER = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, sys.argv[6])
    from crash_writer import writer_loop
    print("ready", flush=True)
    writer_loop(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    """
)


def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def forked_round(launcher: Launcher, home: Path, cwd: Path, session_id: str, seed: int, delay: float) -> bytes:
    """Fork a writer (tests/kill_launcher.py), kill it after `delay` seconds; what it acknowledged."""
    read_fd, write_fd = os.pipe()
    try:
        pid = launcher.start(str(home), str(cwd), session_id, seed=seed, pass_fd=("out_fd", write_fd))
    finally:
        os.close(write_fd)
    try:
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        status = launcher.wait(pid)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "the writer stopped by itself"
        return read_all(read_fd)
    finally:
        os.close(read_fd)


def exec_round(home: Path, cwd: Path, session_id: str, seed: int, delay: float) -> bytes:
    """The same with a fresh interpreter (no state shared with pytest)."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-c", EXEC_WRITER, str(home), str(cwd), session_id, str(write_fd), str(seed), str(Path(__file__).parent)],
        stdout=subprocess.PIPE, pass_fds=(write_fd,),
    )
    os.close(write_fd)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready and proc.stdout.readline() == b"ready\n"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        return read_all(read_fd)
    finally:
        os.close(read_fd)
        proc.stdout.close()  # type: ignore[union-attr]


def test_sigkill_never_loses_an_acknowledged_message(home: Path, workdir: Path) -> None:
    api = Chit(home, cwd=workdir)
    rng = random.Random(20240607)
    session_id = api.create(title="crash target").id
    acked: dict[str, dict[str, tuple[int, int]]] = {session_id: {}}
    stats = {"kills": 0, "torn": 0, "acked": 0, "tmp_left": 0, "cli_repairs": 0}
    with Launcher("crash_writer", "writer_loop") as launcher:
        for round_no in range(KILLS):
            path = api.layout.session_file(api.project().slug, session_id)
            if path.stat().st_size > MAX_FILE:  # checked: out of doctor's way (which checks the trash too)
                api.delete(session_id)
                api.empty_trash()
                session_id = api.create(title=f"crash target {round_no}").id
                acked[session_id] = {}
                path = api.layout.session_file(api.project().slug, session_id)
            delay = rng.choice((0.0, 0.001, rng.uniform(0, 0.02), rng.uniform(0, 0.08)))
            if round_no % 10 == 9:
                raw = exec_round(home, workdir, session_id, round_no + 1, delay + 0.05)
            else:
                raw = forked_round(launcher, home, workdir, session_id, round_no + 1, delay)
            stats["kills"] += 1
            for line in raw.decode().splitlines():
                message_id, seq, size = line.split()
                acked[session_id][message_id] = (int(seq), int(size))
                stats["acked"] += 1
            stats["tmp_left"] += sum(p.name.endswith(".tmp") for p in path.parent.iterdir())

            session = api.get(session_id)  # it loads...
            present = {m.id: m.content for m in session.messages}
            missing = [i for i in acked[session_id] if i not in present]
            assert not missing, f"round {round_no}: {len(missing)} acknowledged message(s) lost"
            for message_id, (seq, size) in acked[session_id].items():
                assert present[message_id] == content_for(seq, size), f"round {round_no}: message {seq} altered"
            assert len(session.issues) <= 1, f"round {round_no}: {session.issues}"  # ...with at most one line set aside
            if session.issues:
                assert session.issues[0].torn, session.issues
                stats["torn"] += 1

            if round_no % 30 == 29:  # now and then through the real program
                repaired = run_cli(["doctor", "--repair"], cwd=workdir)
                assert repaired.code == 0, repaired.err
                checked = run_cli(["doctor", "--json"], cwd=workdir)
                assert checked.code == 0 and '"findings":[]' in checked.out.replace(" ", ""), checked.out
                stats["cli_repairs"] += 1
            else:
                repaired = repair_after_kill(api)
                assert repaired.ok
                if not repaired.findings:  # that run was itself a doctor reporting nothing, and changed no file
                    assert session.issues == ()
                    continue
                report = api.doctor()
                assert report.findings == [], report.findings
            after = api.get(session_id)
            assert after.issues == ()
            assert {m.id for m in after.messages} >= set(acked[session_id])
    print(f"\ncrash: {stats}")  # docs/reliability.md quotes these
    assert stats["kills"] == KILLS




def repair_after_kill(api: Chit) -> DoctorReport:
    """`doctor --repair` right after a kill. A writer killed while putting a
    change journal in place leaves its temp file, which doctor leaves alone
    while it is younger than TEMP_GRACE (it may be a live writer's) and
    removes once older: then it is asked again, also when the same kill
    left something it did repair (an `rm` killed while making the trash's
    journal: a trash event, and the file still in its project)."""
    repaired = api.doctor(repair=True)
    if not repaired.ok and all(f.problem == "leftover temporary file" for f in repaired.findings if not f.repaired):
        time.sleep(TEMP_GRACE)
        repaired = api.doctor(repair=True)
    return repaired


def test_an_rm_killed_while_making_the_trash_journal_is_repaired(home: Path, workdir: Path) -> None:
    """The first `rm` of a project puts its trash's change journal in place
    (a temp file linked to its name). Killed there, it leaves its trash
    event appended, the file still in its project and the journal's temp
    file: doctor --repair finishes the move at once and removes the temp
    file once it is older than TEMP_GRACE; then doctor finds nothing and
    the session is whole, in the trash only."""
    api = Chit(home, cwd=workdir)
    sid = api.create(title="first rm", messages=[{"role": "user", "content": "keep me"}]).id
    slug = api.project().slug
    live, trashed = api.layout.session_file(slug, sid), api.layout.trash_file(slug, sid)

    def making_the_trash_journal(frame: FrameType, event: str, arg: object) -> bool:
        return event == "c_call" and getattr(arg, "__name__", "") == "link" and frame.f_code.co_name == "_put_new" \
            and frame.f_locals["path"] == api.layout.changes_file(slug, trash=True)

    killed_at(making_the_trash_journal, lambda: Chit(home, cwd=workdir).delete(sid))
    assert live.exists() and not trashed.exists()
    assert [p.name for p in api.layout.changes.iterdir() if p.name.endswith(".tmp")]
    assert repair_after_kill(api).ok and api.doctor().findings == []
    assert trashed.exists() and not live.exists()
    session = parts_of(api).ctx.read_session(parts_of(api).ctx.project_by_slug(slug), sid, trash=True)
    assert [m.content for m in session.messages] == ["keep me"] and session.deleted_at is not None


def test_sigkill_during_trash_and_restore_loses_nothing(home: Path, workdir: Path) -> None:
    """A kill while a session moves to the trash or back (a link, then an
    unlink) leaves it findable, with every acknowledged message, and doctor
    --repair puts it in exactly one place."""
    api = Chit(home, cwd=workdir)
    rng = random.Random(7)
    session_id = api.create(title="moving target").id
    slug = api.project().slug
    live, trashed = api.layout.session_file(slug, session_id), api.layout.trash_file(slug, session_id)
    acked: dict[str, tuple[int, int]] = {}
    both = restore_cut = 0
    with Launcher("crash_writer", "trash_loop") as launcher:
        for round_no in range(KILLS):
            read_fd, write_fd = os.pipe()
            try:
                pid = launcher.start(str(home), str(workdir), session_id, seed=round_no + 1, pass_fd=("out_fd", write_fd))
            finally:
                os.close(write_fd)
            time.sleep(rng.uniform(0, 0.03))
            os.kill(pid, signal.SIGKILL)
            launcher.wait(pid)
            for line in read_all(read_fd).decode().splitlines():
                message_id, seq, size = line.split()
                acked[message_id] = (int(seq), int(size))
            os.close(read_fd)
            both += live.exists() and trashed.exists()
            assert live.exists() or trashed.exists(), f"round {round_no}: the session is gone"
            if trashed.exists() and not live.exists():
                restore_cut += parts_of(api).ctx.read_session(parts_of(api).ctx.project_by_slug(slug), session_id, trash=True).deleted_at is None
            # trashed a moment ago, whatever the kill cut short: never "older than 30 days"
            assert api.empty_trash(older_than=30 * 86400, dry_run=True) == [], f"round {round_no}: taken for old trash"
            found = api.get(session_id) if live.exists() else parts_of(api).ctx.read_session(parts_of(api).ctx.project_by_slug(slug), session_id, trash=True)
            present = {m.id for m in found.messages}
            lost = sorted(seq for message_id, (seq, _) in acked.items() if message_id not in present)
            assert not lost, f"round {round_no}: acknowledged messages {lost} lost; {_places(live, trashed)}"
            repaired = repair_after_kill(api)
            left = api.doctor().findings if repaired.findings else []  # a run that found nothing changed nothing
            assert repaired.ok and left == [], f"round {round_no}: doctor --repair {repaired.findings}, then {left}; {_places(live, trashed)}"
            assert live.exists() != trashed.exists(), f"round {round_no}: in both places after repair"
            if trashed.exists():
                api.restore(session_id)
    print(f"\ntrash crash: {KILLS} kills, {len(acked)} acknowledged, {both} left in both places, "
          f"{restore_cut} restores cut short after their event, all repaired")


def _places(*paths: Path) -> str:
    """What a failed check shows of a session's names: each one's inode,
    size and last lines."""
    shown = []
    for path in paths:
        if not path.exists():
            shown.append(f"{path.parent.name}/{path.name}: none")
            continue
        st = path.stat()
        tail = b"".join(path.read_bytes().splitlines(keepends=True)[-4:]).decode(errors="replace")
        shown.append(f"{path.parent.name}/{path.name}: inode {st.st_ino}, {st.st_nlink} links, {st.st_size} bytes, ending\n{tail}")
    return "\n".join(shown)


def _restore_line(trashed: Path) -> bytes:
    """The restore event chit appends to a trashed file: stamped after its
    trash event, naming it."""
    trash = json.loads(trashed.read_bytes().splitlines()[-1])
    return json.dumps({
        "type": "restore", "hlc": trash["hlc"][:-6] + "999999", "by": trash["by"], "id": str(uuid.uuid4()),
        "trash": trash["id"], "seen": {trash["by"]: trash["hlc"]}, "ts": "2030-01-01T00:00:00.000000Z",
    }).encode() + b"\n"


@pytest.mark.parametrize("moving", ["to the trash", "back from the trash"])
@pytest.mark.parametrize("then", ["doctor --repair", "the same command again"])
def test_a_move_cut_short_by_a_crash_is_finished(api: Chit, moving: str, then: str) -> None:
    """What a kill between the link and the unlink of a move leaves: one
    file under both names, its last event saying where it was going."""
    sid = api.create(title="moving", messages=[{"role": "user", "content": "keep me"}]).id
    slug = api.project().slug
    live, trashed = api.layout.session_file(slug, sid), api.layout.trash_file(slug, sid)
    if moving == "back from the trash":
        api.delete(sid)
        with open(trashed, "ab") as handle:
            handle.write(_restore_line(trashed))
        os.link(trashed, live)
    else:
        with open(live, "ab") as handle:
            handle.write(b'{"type": "trash", "ts": "2030-01-01T00:00:00.000000Z"}\n')
        trashed.parent.mkdir(parents=True, exist_ok=True)
        os.link(live, trashed)
    report = api.doctor()
    assert [f.problem for f in report.findings] == ["both in the project and in the trash (a move cut short)"] and not report.ok
    if then == "doctor --repair":
        assert api.doctor(repair=True).ok
    elif moving == "to the trash":
        api.delete(sid)
    else:
        api.restore(sid)
    assert api.doctor().findings == []
    assert live.exists() == (moving == "back from the trash") and trashed.exists() == (moving == "to the trash")
    session = api.get(sid) if live.exists() else parts_of(api).ctx.read_session(parts_of(api).ctx.project_by_slug(slug), sid, trash=True)
    assert [m.content for m in session.messages] == ["keep me"]

def test_appends_are_fsynced_unless_durability_is_relaxed(home: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def counting(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting)
    durable = Chit(home, cwd=workdir)
    sid = durable.create(title="fsync").id
    synced.clear()
    durable.append(sid, "user", "on disk before append returns")
    assert len(synced) == 1
    synced.clear()
    durable.append_many(sid, [{"role": "user", "content": f"batch {n}"} for n in range(50)])
    assert len(synced) == 1  # a batch waits for the disk once
    assert [m.content for m in durable.get(sid).messages][-50:] == [f"batch {n}" for n in range(50)]
    monkeypatch.setenv("CHIT_DURABILITY", "flush")
    relaxed = Chit(home, cwd=workdir)
    synced.clear()
    relaxed.append(sid, "user", "in the page cache when append returns")
    assert synced == []
    assert parts_of(Chit(home, cwd=workdir, durable=True)).ctx.store.durable is True  # the argument wins over the variable

    monkeypatch.setattr(os, "fsync", real_fsync)
    costs = {}
    for name, api in (("fsync", Chit(home, cwd=workdir, durable=True)), ("flush", Chit(home, cwd=workdir, durable=False))):
        started = time.perf_counter()
        for _ in range(200):
            api.append(sid, "user", "x" * 200)
        costs[name] = (time.perf_counter() - started) / 200 * 1000
    print(f"\nappend cost: fsync {costs['fsync']:.3f} ms, flush {costs['flush']:.3f} ms")  # docs/reliability.md
