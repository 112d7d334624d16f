"""Snapshots: export (format, version, checksum) and import (verified,
nothing written on a bad snapshot, ids kept unless they collide)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

import forkserver
import orjson
import pytest
from conftest import tree_digest

from chit import exporters
from chit.api import Chit
from chit.errors import Conflict, InvalidData
from chit.service.facade import parts_of


def rich_session(api: Chit) -> str:
    s = api.create(title="Export me", key="exp-1", metadata={"agent": "a1"}, tags=["t1", "t2"])
    api.append(s.id, "system", "be nice")
    api.append(s.id, "user", "hello\nthere", invocation_id="inv-1")
    api.append(s.id, "assistant", "hi ß ✓", invocation_id="inv-1", model="m1", tokens=(3, 4), metadata={"x": 1})
    api.set_value(s.id, "cursor", [1, 2])
    return s.id


def resigned(doc: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of a snapshot with changed session fields and a valid checksum."""
    body = {**doc["session"], **changes}
    return {**doc, "session": body, "checksum": exporters.checksum(body)}


@pytest.fixture
def other(tmp_path: Path, workdir: Path) -> Chit:
    """A second, empty store (another machine)."""
    return Chit(tmp_path / "other-home", cwd=workdir)


def test_export_snapshot_document(api: Chit) -> None:
    sid = rich_session(api)
    doc = api.export_snapshot(sid[:8])
    assert doc["format"] == "chit-snapshot"
    assert doc["version"] == 1
    canonical = orjson.dumps(doc["session"], option=orjson.OPT_SORT_KEYS)
    assert doc["checksum"] == "sha256:" + hashlib.sha256(canonical).hexdigest()
    body = doc["session"]
    assert body["id"] == sid
    assert body["title"] == "Export me" and body["key"] == "exp-1"
    assert body["tags"] == ["t1", "t2"] and body["metadata"] == {"agent": "a1"}
    assert body["values"] == {"cursor": [1, 2]}
    assert [(m["role"], m["content"]) for m in body["messages"]] == [
        ("system", "be nice"), ("user", "hello\nthere"), ("assistant", "hi ß ✓"),
    ]
    assert body["messages"][2]["tokens"] == {"input": 3, "output": 4}


def test_import_into_another_store_keeps_everything(api: Chit, other: Chit) -> None:
    sid = rich_session(api)
    original = api.get(sid)
    data = api.export_bytes(sid, "json")[1]
    result = other.import_snapshot(data)
    assert result.id_changed is False
    imported = result.session
    assert imported.id == sid
    assert imported.messages == original.messages
    for name in ("title", "manual_title", "key", "tags", "metadata", "values", "created_at", "parent"):
        assert getattr(imported, name) == getattr(original, name), name
    assert [s.id for s in other.list()] == [sid]
    assert other.current().id == sid  # type: ignore[union-attr]


def test_reimporting_identical_snapshot_is_a_conflict(api: Chit, home: Path) -> None:
    sid = rich_session(api)
    doc = api.export_snapshot(sid)
    before = tree_digest(home)
    with pytest.raises(Conflict):
        api.import_snapshot(doc)
    assert tree_digest(home) == before


def test_new_id_always(api: Chit) -> None:
    sid = rich_session(api)
    result = api.import_snapshot(api.export_snapshot(sid), new_id_always=True)
    assert result.id_changed is True
    assert result.session.id != sid
    assert [m.content for m in result.session.messages] == [m.content for m in api.get(sid).messages]
    assert result.session.key is None  # the key stays with the original
    assert api.get(sid).key == "exp-1"
    assert len(api.list()) == 2


def test_colliding_id_with_other_content_gets_new_id(api: Chit) -> None:
    sid = rich_session(api)
    doc = api.export_snapshot(sid)
    changed = resigned(doc, key=None, messages=[{**doc["session"]["messages"][0], "content": "different"}])
    result = api.import_snapshot(changed)
    assert result.id_changed is True and result.session.id != sid
    assert [m.content for m in result.session.messages] == ["different"]


def test_a_colliding_snapshot_is_checksummed_once(api: Chit) -> None:
    """The checksum that verified the snapshot derives the new id of one
    whose id is taken (before: computed again for the id)."""
    import sys

    doc = api.export_snapshot(rich_session(api))
    changed = resigned(doc, key=None, messages=[{**doc["session"]["messages"][0], "content": "different"}])
    code = exporters.checksum.__code__
    calls = []
    sys.setprofile(lambda frame, event, arg: calls.append(1) if event == "call" and frame.f_code is code else None)
    try:
        result = api.import_snapshot(changed)
    finally:
        sys.setprofile(None)
    assert result.id_changed and len(calls) == 1


def tamperings(doc: dict[str, Any]) -> list[bytes]:
    data = orjson.dumps(doc)
    body = doc["session"]
    return [
        data.replace(b"hello", b"HELLO"),                                   # content altered
        data[: len(data) // 2],                                             # truncated
        orjson.dumps({**doc, "checksum": "sha256:" + "0" * 64}),            # wrong checksum
        orjson.dumps({**doc, "format": "other"}),                          # not a snapshot
        orjson.dumps({**doc, "version": 99}),                              # from the future
        orjson.dumps({k: v for k, v in doc.items() if k != "checksum"}),    # no checksum
        orjson.dumps(resigned(doc, id="not-a-uuid")),                      # bad id, valid checksum
        orjson.dumps(resigned(doc, messages=[{**body["messages"][0], "role": "wizard"}])),
        orjson.dumps(resigned(doc, messages="nope")),
        orjson.dumps(resigned(doc, values={"": 1})),                       # bad value key
        orjson.dumps(resigned(doc, values={"bad\x00key": 1})),
        b"[]",
        b"",
    ]


def test_tampered_or_invalid_snapshot_writes_nothing(api: Chit, other: Chit) -> None:
    doc = api.export_snapshot(rich_session(api))
    home = other.layout.home
    other.create(title="pre-existing")
    for n, data in enumerate(tamperings(doc)):
        before = tree_digest(home)
        with pytest.raises(InvalidData):
            other.import_snapshot(data)
        assert tree_digest(home) == before, n
    assert len(other.list()) == 1


def test_import_key_collision(api: Chit, other: Chit) -> None:
    doc = api.export_snapshot(rich_session(api))
    other.create(key="exp-1")
    before = tree_digest(other.layout.home)
    with pytest.raises(Conflict):
        other.import_snapshot(doc)
    assert tree_digest(other.layout.home) == before


def test_export_to_file_refuses_overwrite(api: Chit, tmp_path: Path) -> None:
    sid = rich_session(api)
    target = tmp_path / "out.json"
    api.export_to_file(sid, "json", target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    first = target.read_bytes()
    assert orjson.loads(first)["session"]["id"] == sid
    with pytest.raises(Conflict):
        api.export_to_file(sid, "md", target)
    assert target.read_bytes() == first
    api.export_to_file(sid, "md", target, force=True)
    assert target.read_bytes().startswith(b"# Export me")


# -- an import cut short ------------------------------------------------------

LIMITED_IMPORT = """
import resource, sys
from chit.cli.main import main
limit = int(sys.argv.pop(1))
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
main()
"""


def _valued_snapshot(api: Chit, values: int, value_size: int) -> dict[str, Any]:
    s = api.create(title="valued", messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}])
    for n in range(values):
        api.set_value(s.id, f"v{n}", "x" * value_size)
    return api.export_snapshot(s.id)


def test_an_import_that_fails_part_way_writes_nothing(api: Chit, other: Chit, workdir: Path, tmp_path: Path) -> None:
    """A snapshot whose messages fit under a file-size limit and whose state
    values do not: the import must fail whole (exit 1, store unchanged),
    not leave the messages without the values; then, without the limit, it
    imports everything."""
    import subprocess
    import sys

    doc = _valued_snapshot(api, 3, 20_000)
    snapshot = tmp_path / "valued.json"
    snapshot.write_bytes(orjson.dumps(doc))
    other.create(title="pre-existing")
    home = other.layout.home
    before = tree_digest(home)
    env = {**__import__("os").environ, "CHIT_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-c", LIMITED_IMPORT, "30000", "import", str(snapshot)],
                          capture_output=True, cwd=workdir, env=env, timeout=60)
    assert proc.returncode == 1 and b"file too large" in proc.stderr.lower(), proc.stderr
    assert tree_digest(home) == before
    result = other.import_snapshot(doc)
    assert result.id_changed is False and set(result.session.values) == {"v0", "v1", "v2"}


def test_imports_killed_at_random_leave_all_or_nothing(api: Chit, other: Chit, home: Path) -> None:
    """A child importing a snapshot with many state values is killed with
    SIGKILL at a random moment: the session is then absent, or there with
    every value; importing again gives the whole session, and doctor finds
    nothing."""
    import os
    import random
    import signal
    import time

    doc = _valued_snapshot(api, 40, 100)
    sid = doc["session"]["id"]
    want = api.get(sid).values
    target = other.layout.home
    rng = random.Random(99)
    rounds = 150 if os.environ.get("CHIT_LONG") else 20
    started = time.perf_counter()
    Chit(target, cwd=parts_of(other).ctx.cwd).import_snapshot(doc)
    window = time.perf_counter() - started
    stats = {"killed": 0, "absent": 0, "whole": 0, "partial": 0}
    for round_no in range(rounds):
        parts_of(other).ctx.store.unlink(parts_of(other).ctx.store.session_path(other.project().slug, sid))
        pid = os.fork()
        if pid == 0:
            try:
                Chit(target, cwd=parts_of(other).ctx.cwd).import_snapshot(doc)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, window))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        stats["killed"] += os.WIFSIGNALED(status)
        if not parts_of(other).ctx.store.exists(other.project().slug, sid):
            stats["absent"] += 1
            other.import_snapshot(doc)
        elif other.get(sid).values == want:
            stats["whole"] += 1
        else:
            stats["partial"] += 1
            continue
        assert other.get(sid).values == want
        assert [f for f in other.doctor().findings if f.problem != "leftover temporary file"] == []
    print(f"\nsnapshot import kills: {stats}")  # docs/reliability.md
    assert stats["partial"] == 0, stats


def test_a_snapshot_whose_original_is_in_the_trash_imports_once_in_turn_or_at_once(api: Chit, home: Path, workdir: Path, tmp_path: Path) -> None:
    """Imported twice, one after the other or by two `chit import` processes
    at once, a snapshot whose original is in the trash ends the same way:
    one session (under an id derived from the snapshot, with its key) and
    one "already imported" (exit 6). Before: in turn, two copies; at once,
    two copies or a refusal of the key, as the race fell."""
    import shutil
    import subprocess
    import sys

    sid = rich_session(api)
    snapshot = tmp_path / "snap.json"
    snapshot.write_bytes(orjson.dumps(api.export_snapshot(sid)))
    api.delete(sid)
    parts_of(api).ctx.index.close()
    base = tmp_path / "base"
    shutil.copytree(home, base)

    def live() -> list[tuple[str, str | None]]:
        return sorted((s.id, s.key) for s in Chit(home, cwd=workdir).list())

    command = [sys.executable, "-m", "chit", "import", str(snapshot)]
    first = forkserver.run_chit(command[3:], stdin=None, cwd=workdir)
    second = forkserver.run_chit(command[3:], stdin=None, cwd=workdir)
    assert (first.returncode, second.returncode) == (0, 6), (first.stderr, second.stderr)
    assert b"already imported" in second.stderr
    in_turn = live()
    assert len(in_turn) == 1 and in_turn[0][0] != sid and in_turn[0][1] == "exp-1"
    for _ in range(4):
        shutil.rmtree(home)
        shutil.copytree(base, home)
        runs = [subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
        outcomes = sorted((run.wait(timeout=60), run.stderr.read()) for run in runs if run.stderr is not None)
        codes = [code for code, _ in outcomes]
        assert codes == [0, 6], outcomes
        assert b"already imported" in outcomes[1][1], outcomes
        assert live() == in_turn


def _reading_stdin(pid: int) -> bool:
    """Whether process `pid` is blocked in a read of its standard input."""
    try:
        call = Path(f"/proc/{pid}/syscall").read_text().split()
    except OSError:
        return False
    return call[:2] == ["0", "0x0"]


def _syscalls_visible() -> bool:
    try:
        return bool(Path("/proc/self/syscall").read_text().split())
    except OSError:
        return False


@pytest.mark.skipif(not _syscalls_visible(), reason="needs /proc/PID/syscall to line the two processes up")
def test_a_snapshot_imported_at_once_into_two_projects_gets_one_id(api: Chit, tmp_path: Path, workdir: Path) -> None:
    """Session ids are unique in the whole store (`chit load ID` finds one
    session whatever the project). Imported in turn into two projects, a
    snapshot is one session and one "already imported" (exit 6); two
    `chit import - -p NAME` processes given it at the same moment (both
    waiting on their standard input) end the same way. Before: both
    imported it, one id in two projects."""
    import subprocess
    import sys
    import time

    snapshot = orjson.dumps(api.export_snapshot(rich_session(api)))
    env = {**os.environ, "CHIT_LOCK_TIMEOUT": "30"}

    def sessions(home: Path) -> list[str]:
        return sorted(p.relative_to(home).parts[1] for p in home.glob("projects/*/sessions/*.jsonl"))

    def importing(home: Path, project: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "chit", "import", "-", "-p", project]
        return subprocess.Popen(command, cwd=workdir, env={**env, "CHIT_HOME": str(home)},
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    in_turn = tmp_path / "in-turn"
    outcomes = [forkserver.run_chit(["import", "-", "-p", name], stdin=snapshot, cwd=workdir, env={**env, "CHIT_HOME": str(in_turn)})
                for name in ("a", "b")]
    assert b"already imported" in outcomes[1].stderr
    assert len(sessions(in_turn)) == 1 and len(list(in_turn.glob("projects/*"))) == 1
    for round_ in range(4):
        home = tmp_path / f"at-once-{round_}"
        runs = [importing(home, name) for name in ("a", "b")]
        deadline = time.monotonic() + 20  # started, however loaded the machine
        while not all(_reading_stdin(run.pid) for run in runs) and time.monotonic() < deadline:
            time.sleep(0.005)
        for run in runs:
            assert run.stdin is not None
            run.stdin.write(snapshot)
        for run in runs:
            assert run.stdin is not None
            run.stdin.close()
        ended = sorted((run.wait(timeout=60), run.stderr.read() if run.stderr else b"") for run in runs)
        assert [code for code, _ in ended] == [0, 6], (round_, ended, sessions(home))
        assert b"already imported" in ended[1][1]
        assert len(sessions(home)) == 1 and len(list(home.glob("projects/*"))) == 1  # the refused one's project never made
