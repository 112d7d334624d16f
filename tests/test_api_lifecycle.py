"""Sessions over time: run state, running/stuck, trash/restore/empty,
cleanup by TTL, compaction."""

from __future__ import annotations

import os
import stat
import time
from dataclasses import replace
from pathlib import Path

import uuid

import orjson
import pytest
from conftest import tree_digest

from chit.api import Chit
from chit.errors import InvalidInput, NotFound
from chit.model import Session

OLD = "2001-01-01T00:00:00.000000Z"


def session_file(api: Chit, session_id: str, trash: bool = False) -> Path:
    slug = api.project().slug
    return api.layout.trash_file(slug, session_id) if trash else api.layout.session_file(slug, session_id)


def age_session(api: Chit, session_id: str) -> None:
    """Rewrite every timestamp of a session file to long ago (as if old)."""
    path = session_file(api, session_id)
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    for record in records:
        for name in ("ts", "created_at"):
            if name in record:
                record[name] = OLD
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


# -- run state -----------------------------------------------------------


def test_running_lists_running_sessions_everywhere(api: Chit) -> None:
    a = api.create(title="a")
    b = api.create("other", title="b")
    api.create(title="idle one")
    api.set_state(a.id, "running", turn_id="ta")
    api.set_state(b.id, "running", turn_id="tb")
    running = api.running()
    assert sorted((s.id, s.run.turn_id) for s in running) == sorted([(a.id, "ta"), (b.id, "tb")])
    assert all(s.run.since for s in running)
    api.set_state(a.id, "idle")
    assert [s.id for s in api.running()] == [b.id]
    api.set_state(b.id, "error", error="crashed")
    assert api.running() == []
    assert api.get(b.id).run.error == "crashed"


def test_stuck_uses_the_threshold(api: Chit) -> None:
    old = api.create(title="old")
    fresh = api.create(title="fresh")
    api.set_state(old.id, "running", turn_id="t-old")
    age_session(api, old.id)
    api.set_state(fresh.id, "running", turn_id="t-new")
    assert api.get(old.id).run.since == OLD
    assert [s.id for s in api.stuck(3600)] == [old.id]
    assert sorted(s.id for s in api.stuck(0)) == sorted([old.id, fresh.id])
    with pytest.raises(InvalidInput):
        api.stuck(-1)


# -- trash ---------------------------------------------------------------


def test_delete_moves_to_trash_and_restore_brings_back(api: Chit) -> None:
    s = api.create(title="doomed", messages=[{"role": "user", "content": "keep me"}])
    deleted = api.delete(s.short_id)
    assert deleted.id == s.id and deleted.deleted_at is not None
    assert not session_file(api, s.id).exists()
    assert session_file(api, s.id, trash=True).is_file()
    assert api.list() == []
    assert api.current() is None
    with pytest.raises(NotFound):
        api.get(s.id)
    assert [t.id for t in api.trash()] == [s.id]
    restored = api.restore(s.id[:6].upper())
    assert restored.id == s.id and restored.deleted_at is None
    assert [m.content for m in restored.messages] == ["keep me"]
    assert restored.title == "doomed"
    assert [x.id for x in api.list()] == [s.id]
    assert api.trash() == []


def test_restore_unknown_is_not_found(api: Chit) -> None:
    api.create()
    with pytest.raises(NotFound):
        api.restore("abcdef")


def test_empty_trash(api: Chit, home: Path) -> None:
    keep = api.create(title="keep")
    gone = api.create(title="gone")
    api.delete(gone.id)
    before = tree_digest(home)
    assert [s.id for s in api.empty_trash(dry_run=True)] == [gone.id]
    assert tree_digest(home) == before
    assert api.empty_trash(older_than=3600) == []  # trashed just now
    assert [s.id for s in api.empty_trash()] == [gone.id]
    assert not session_file(api, gone.id, trash=True).exists()
    assert api.trash() == []
    with pytest.raises(NotFound):
        api.restore(gone.id)
    assert [s.id for s in api.list()] == [keep.id]


# -- cleanup -------------------------------------------------------------


def test_cleanup_trashes_only_stale_idle_sessions(api: Chit, home: Path) -> None:
    stale = api.create(title="stale", messages=[{"role": "user", "content": "x"}])
    busy = api.create(title="busy")
    api.set_state(busy.id, "running")
    fresh = api.create(title="fresh")
    age_session(api, stale.id)
    age_session(api, busy.id)
    before = tree_digest(home)
    assert [s.id for s in api.cleanup(3600, dry_run=True)] == [stale.id]
    assert tree_digest(home) == before
    assert [s.id for s in api.cleanup(3600)] == [stale.id]
    assert sorted(s.id for s in api.list()) == sorted([busy.id, fresh.id])
    assert [s.id for s in api.trash()] == [stale.id]
    assert api.cleanup(3600) == []
    with pytest.raises(InvalidInput):
        api.cleanup(-5)


# -- compact -------------------------------------------------------------


def comparable(session: Session) -> Session:
    return replace(session, dropped=0, issues=(), changes=(), seen={})  # compaction forgets what undo could bring back (and stamps that)


def test_compact_drops_dropped_messages_and_corrupt_lines(api: Chit) -> None:
    s = api.create(title="t", key="k1", metadata={"m": 1}, tags=["x"])
    for n in range(3):
        api.append(s.id, "user", f"q{n}", invocation_id=f"i{n}")
        api.append(s.id, "assistant", f"a{n}", model="mod", tokens=(1, 2), metadata={"n": n})
    path = session_file(api, s.id)
    with open(path, "ab") as handle:
        handle.write(b"{this is not json}\n")
    api.append(s.id, "user", "q3")
    api.rewind(s.id, 1)
    api.pop(s.id)
    api.rename(s.id, "Renamed")
    api.tag(s.id, "y")
    api.set_value(s.id, "cursor", {"at": 2})
    api.set_state(s.id, "error", turn_id="tt", error="bad")
    with open(path, "ab") as handle:
        handle.write(b'{"type": "message", "id": "torn')  # a torn last line
    before = api.get(s.id)
    assert before.dropped == 4 and len(before.issues) == 2
    assert b'"q2"' in path.read_bytes()  # dropped, but recoverable until compaction
    old_inode = path.stat().st_ino
    report = api.compact(s.id)
    assert (report.id, report.messages_dropped, report.lines_dropped) == (s.id, 4, 2)
    assert report.bytes_after < report.bytes_before
    after = api.get(s.id)
    assert comparable(after) == comparable(before)
    assert after.dropped == 0 and after.issues == () and after.changes == () and before.hidden == 4
    assert [m.content for m in after.messages] == ["q0", "a0", "q1"]
    lines = path.read_bytes().splitlines()
    assert all(isinstance(orjson.loads(line), dict) for line in lines)
    kinds = [orjson.loads(line).get("type") for line in lines]
    assert "pop" in kinds and "rewind" in kinds and kinds[-1] == "compact"  # format 2 keeps the tombstones
    assert b"q2" not in path.read_bytes() and b"not json" not in path.read_bytes()
    assert path.stat().st_ino != old_inode  # replaced, not rewritten in place
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    # appending after compaction still works and the fold goes on
    api.append(s.id, "assistant", "after")
    assert [m.content for m in api.get(s.id).messages][-1] == "after"


def test_compact_keeps_fork_parent_and_is_idempotent(api: Chit) -> None:
    src = api.create(messages=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    fork = api.fork(src.id, at=0)
    api.set_state(fork.id, "running", turn_id="t9")
    before = api.get(fork.id)
    api.compact(fork.id)
    once = api.get(fork.id)
    assert once == before
    data = session_file(api, fork.id).read_bytes()
    report = api.compact(fork.id)
    assert (report.messages_dropped, report.lines_dropped) == (0, 0)
    assert api.get(fork.id) == before
    assert session_file(api, fork.id).read_bytes() == data
    assert os.path.exists(session_file(api, src.id))


def test_doctor_finds_temporary_files_left_beside_project_records_and_journals(api: Chit) -> None:
    s = api.create(title="kept")
    api.append(s.id, "user", "journaled")  # makes the change journal
    slug = api.project().slug
    old = time.time() - 3600
    left = [
        api.layout.project_dir(slug) / ".current.json.0a1b2c.tmp",  # a killed write of current.json
        api.layout.changes / f".{slug}.sessions.0a1b2c.tmp",  # a killed rotation of the journal
    ]
    for path in left:
        path.write_bytes(b"{")
        os.utime(path, (old, old))
    fresh = api.layout.project_dir(slug) / ".project.json.ffffff.tmp"  # its writer may still be at work
    fresh.write_bytes(b"{")
    def rel(path: Path) -> str:
        return os.path.relpath(path, api.layout.home)

    report = api.doctor()
    assert {f.path: f.repaired for f in report.findings} == {rel(p): False for p in [*left, fresh]}
    assert not report.ok and all(p.exists() for p in [*left, fresh])
    repaired = api.doctor(repair=True)
    assert {f.path: f.repaired for f in repaired.findings} == {rel(p): True for p in left} | {rel(fresh): False}
    assert not any(p.exists() for p in left) and fresh.exists()
    assert api.get(s.id).messages[-1].content == "journaled"


# -- a restore cut short, and the doctor in the trash ------------------------------


def restore_event(api: Chit, sid: str, ts: str) -> dict[str, object]:
    """The restore event chit writes for a trashed session (format 2: it
    names the trash event, stamped after it)."""
    trash = orjson.loads(session_file(api, sid, trash=True).read_bytes().splitlines()[-1])
    return {
        "type": "restore", "hlc": trash["hlc"][:-6] + "999999", "by": trash["by"], "id": str(uuid.uuid4()),
        "trash": trash["id"], "seen": {trash["by"]: trash["hlc"]}, "ts": ts,
    }


def _trashed_long_ago(api: Chit, title: str) -> str:
    """A session put in the trash in 2001 (its trash event says so)."""
    sid = api.create(title=title, messages=[{"role": "user", "content": f"{title} text"}]).id
    api.delete(sid)
    path = session_file(api, sid, trash=True)
    lines = path.read_bytes().splitlines()
    trash = orjson.loads(lines[-1])
    assert trash["type"] == "trash"
    path.write_bytes(b"".join(line + b"\n" for line in lines[:-1]) + orjson.dumps({**trash, "ts": OLD}) + b"\n")
    return sid


def test_a_restore_cut_short_is_never_emptied_as_old_and_doctor_finishes_it(api: Chit, cli) -> None:  # type: ignore[no-untyped-def]
    """`restore` appends its event, then moves the file: a kill between the
    two leaves a trashed file whose last event is a restore. Its age in the
    trash is the file's, not "infinitely old"; doctor --repair finishes the
    restore. A session really trashed long ago is still emptied."""
    old = _trashed_long_ago(api, "old")
    cut = _trashed_long_ago(api, "cut")
    with open(session_file(api, cut, trash=True), "ab") as handle:  # the restore's event, then the kill
        handle.write(orjson.dumps(restore_event(api, cut, "2030-01-01T00:00:00.000000Z")) + b"\n")
    listed = {s.id: s.deleted_at for s in api.trash()}
    assert listed[old] == OLD and listed[cut] is not None and listed[cut] > OLD
    emptied = cli("trash", "--empty", "--older-than", "30d", "--yes", "--json")
    assert emptied.code == 0, emptied.err
    assert [s["id"] for s in orjson.loads(emptied.out)] == [old]
    assert session_file(api, cut, trash=True).exists()
    report = api.doctor()
    assert [(f.path, f.problem) for f in report.findings] == [
        (os.path.relpath(session_file(api, cut, trash=True), api.layout.home), "in the trash after a restore event (a restore cut short)")]
    assert api.doctor(repair=True).findings[0].repaired
    assert api.doctor().findings == []
    assert [m.content for m in api.get(cut).messages] == ["cut text"] and api.get(cut).deleted_at is None


def test_doctor_checks_and_repairs_the_trash(api: Chit) -> None:
    """A trashed session with a corrupt line and loose permissions is found
    by doctor before `restore`, repaired in the trash, and stays trashed."""
    sid = api.create(title="damaged", messages=[{"role": "user", "content": "kept"}]).id
    api.delete(sid)
    path = session_file(api, sid, trash=True)
    with open(path, "ab") as handle:
        handle.write(b"{not json\n")
    os.chmod(path, 0o644)
    report = api.doctor()
    assert {(f.line, f.problem) for f in report.findings} == {(4, "not JSON"), (None, "permissions 644, expected 600")}
    assert {f.path for f in report.findings} == {os.path.relpath(path, api.layout.home)}
    assert not report.ok
    assert api.doctor(repair=True).ok
    assert api.doctor().findings == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    trashed = api.trash()
    assert [s.id for s in trashed] == [sid] and trashed[0].deleted_at is not None  # still dated by its trash event
    assert [m.content for m in api.restore(sid).messages] == ["kept"]


def test_doctor_finishes_an_rm_cut_short_and_dates_a_trashed_file_without_event(api: Chit) -> None:
    """The other half-done moves: a live file whose last event is a trash
    (rm killed before its move) goes to the trash; a trashed file with no
    trash or restore event at all gets one, so it has an age."""
    live = api.create(title="rm cut short").id
    with open(session_file(api, live), "ab") as handle:
        handle.write(orjson.dumps({"type": "trash", "ts": "2030-01-01T00:00:00.000000Z"}) + b"\n")
    bare = api.create(title="bare").id
    api.delete(bare)
    path = session_file(api, bare, trash=True)
    path.write_bytes(b"".join(line + b"\n" for line in path.read_bytes().splitlines() if b'"trash"' not in line))
    assert sorted(f.problem for f in api.doctor().findings) == [
        "in the trash without a trash event", "still in its project after a trash event (an rm cut short)"]
    assert api.doctor(repair=True).ok and api.doctor().findings == []
    assert sorted(s.id for s in api.trash()) == sorted([live, bare]) and api.list() == []
    assert all(s.deleted_at is not None for s in api.trash())


def test_doctor_leaves_live_a_session_whose_trash_a_later_message_overrode(api: Chit) -> None:
    """An rm cut short before its move, then a message the trash did not
    see (appended here, or brought by a sync): the fold, the listing and a
    sync's placement say live. Before: doctor called it "an rm cut short"
    and its repair moved the live session into the trash."""
    sid = api.create(title="kept", messages=[{"role": "user", "content": "one"}]).id
    api.delete(sid)
    os.rename(session_file(api, sid, trash=True), session_file(api, sid))  # the move not done
    api.append(sid, "user", "written after the rm")
    assert api.get(sid).deleted_at is None
    assert api.doctor(repair=True).findings == [] and api.trash() == []
    assert [s.id for s in api.list()] == [sid] and api.get(sid).messages[-1].content == "written after the rm"
