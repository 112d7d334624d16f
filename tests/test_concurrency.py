"""Many processes on one session at once: 8 writers append 500 messages
each while 5 others rename, tag, fork, rewind (and pop), and undo (and
update) the same session, and this process lists and searches through the
index meanwhile. Each editor makes a fixed number of operations, and this
process a fixed number of reads, spread over the appends by the writers'
progress (tests/concurrency_worker.py's `Pace`), not by the clock: as many
on a busy machine as on an idle one, nearly all of them while the writers
write. Afterwards the file holds exactly 4,000 intact message
lines (besides the copies an update appends, under new ids), each writer's
in its order, none glued to another; the fold equals an independent replay
of the file (format 2: by stamps and ids); and the index agrees with
reading every file.

fsync is not what this tests, so every process runs with durability
relaxed (CHIT_DURABILITY=flush); the crash test covers fsync. The 13
workers are forked from this process (tests/concurrency_worker.py): chit
is imported once, not by 13 fresh interpreters.
Also here: a writer that cannot get the lock in time exits 6 with a clear
message, and a lock left by a killed process is recovered (the CLI).
CHIT_LONG=1 runs 16 writers × 1,000 appends, with twice the operations.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import orjson

from chit.api import Chit
from chit.model import derive_title
from chit.service.facade import parts_of
from concurrency_worker import LAG, Pace, forked_worker
from conftest import run_cli, tree_digest
from scans import each_file_read_once

LONG = bool(os.environ.get("CHIT_LONG"))
WRITERS, APPENDS = (16, 1000) if LONG else (8, 500)
# at least what each did in a run on an idle machine when they worked until the writers ended
EDITS = {mode: count * (2 if LONG else 1) for mode, count in {"rename": 45, "tag": 49, "fork": 92, "rewind": 67, "undo": 71}.items()}
READS = 98 * (2 if LONG else 1)


def read_to_end(fd: int, deadline: float) -> str:
    """What a worker wrote on its pipe, up to its end (or the deadline)."""
    chunks = []
    while time.monotonic() < deadline and select.select([fd], [], [], deadline - time.monotonic())[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def replay(lines: list[dict[str, Any]]) -> tuple[list[str], str | None, list[str]]:
    """An independent fold of a format-2 file: (visible message ids, manual
    title, tags). Events in (hlc, by, id) order; a rewind hides the shown
    messages it saw after the one it keeps, a pop the one it names, an undo
    brings back what the change it names hid (and hides what it added)."""
    messages: list[dict[str, Any]] = []
    hidden: dict[str, set[str]] = {}
    changes: dict[str, tuple[list[str], list[str]]] = {}
    title = lines[0].get("title")
    tags: list[str] = []
    for record in sorted(lines[1:], key=lambda r: (r["hlc"], r["by"], r["id"])):
        kind = record["type"]
        if kind == "message":
            messages.append(record)
            hidden[record["id"]] = set()
        elif kind == "rewind" and "undo" in record:
            brought, added = changes.pop(record["undo"], ([], []))
            for mid in brought:
                hidden[mid].discard(record["undo"])
            for mid in added:
                hidden[mid].add(record["id"])
        elif kind in ("rewind", "pop"):
            if kind == "pop":
                hides = [record["hides"]] if not hidden[record["hides"]] else []
            else:
                ids = [m["id"] for m in messages]
                start = ids.index(record["keep_id"]) + 1 if record["keep_id"] is not None else 0
                seen = record["seen"]
                hides = [m["id"] for m in messages[start:] if not hidden[m["id"]] and m["hlc"] <= seen.get(m["by"], "")]
            for mid in hides:
                hidden[mid].add(record["change"])
            changes[record["change"]] = (hides, record.get("adds") or [])
        elif kind == "rename":
            title = record["title"]
        elif kind == "tag":
            tags += [t for t in record["tags"] if t not in tags]
        elif kind == "untag":
            tags = [t for t in tags if t not in record["tags"]]
    return [m["id"] for m in messages if not hidden[m["id"]]], title or None, tags


def test_eight_writers_and_four_editors_on_one_session(api: Chit, home: Path, workdir: Path) -> None:
    session = api.create(title="contended", messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "start"}])
    sid = session.id
    go = os.pipe()
    parts_of(api).ctx.index.close()  # no SQLite connection crosses the fork
    pace, reader = Pace(WRITERS, APPENDS, [*EDITS.values(), READS]), len(EDITS)
    deadline = time.monotonic() + (1200 if LONG else 300)
    workers = [forked_worker(home, workdir, sid, "append", number, pace, number, go, deadline) for number in range(WRITERS)]
    workers += [forked_worker(home, workdir, sid, mode, 100 + slot, pace, slot, go, deadline) for slot, mode in enumerate(EDITS)]
    os.close(go[0])
    statuses: dict[int, int] = {}
    reads_during = 0
    try:
        for _, pipe in workers:
            assert os.read(pipe, 6) == b"ready\n", read_to_end(pipe, time.monotonic() + 10)
        started = time.monotonic()
        os.close(go[1])  # every worker starts
        for read in range(READS):  # meanwhile: listings and searches through the index
            pace.follow(reader, deadline)
            reads_during += pace.appended() < pace.total
            listed = {s.id: s for s in api.list()}
            assert sid in listed and listed[sid].messages >= 0
            for hit in api.search("w1-", limit=5):  # in the session, or in a fork made since the listing
                assert hit.id in listed or api.get(hit.id).parent.id == sid  # type: ignore[union-attr]
            pace.set_done(reader, read + 1)
        reports = []
        for pid, pipe in workers:
            out = read_to_end(pipe, deadline)
            assert time.monotonic() < deadline, f"a worker did not end in time: {out}"
            status = os.waitpid(pid, 0)[1]
            statuses[pid] = status
            assert os.waitstatus_to_exitcode(status) == 0, out
            reports.append(json.loads(out.splitlines()[-1]))
        elapsed = time.monotonic() - started
    finally:
        for pid, pipe in workers:
            if pid not in statuses:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(pipe)

    path = api.layout.session_file(api.project().slug, sid)
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    records = [orjson.loads(line) for line in raw.split(b"\n")[:-1]]  # every line is one whole JSON record
    first_copies = {r["content"]: r for r in reversed(records) if r["type"] == "message"}  # an update appends copies
    written = [r for r in records if r["type"] == "message" and r["content"].startswith("w") and first_copies[r["content"]] is r]
    assert len(written) == WRITERS * APPENDS
    assert len({r["id"] for r in written}) == WRITERS * APPENDS
    for w in range(WRITERS):
        mine = [r["content"].split()[0] for r in written if r["content"].startswith(f"w{w}-")]
        assert mine == [f"w{w}-{i:04d}" for i in range(APPENDS)], f"writer {w}: lost, doubled or reordered"
    assert all(r["content"].split()[0].count("-") == 1 for r in written)  # no two messages in one line

    folded = api.get(sid)
    assert folded.issues == ()
    ids, title, tags = replay(records)
    assert [m.id for m in folded.messages] == ids
    assert folded.manual_title == title and folded.tags == tuple(tags)
    assert folded.title == (title if title is not None else derive_title(next((m.content for m in folded.messages if m.role == "user"), None)))
    assert folded.dropped == sum(1 for r in records if r["type"] == "message") - len(ids)

    scope = parts_of(api).ctx.projects.all()
    listed, found = api.list(all_projects=True), {query: api.search(query, limit=None) for query in ("w3-0", "start", "title", "xxxx")}
    with each_file_read_once(api):  # the scans and the forks' checks share one read of each file (tests/scans.py)
        assert listed == parts_of(api).queries.scan_summaries(scope)
        for query, hits in found.items():
            assert hits == parts_of(api).queries.scan_search(scope, query.casefold())
        for child in api.list():
            if child.id != sid:
                forked = api.get(child.id)
                assert forked.parent is not None and forked.parent.id == sid and forked.issues == ()

    ops = {r["mode"]: r["ops"] for r in reports if r["mode"] != "append"}
    during = {r["mode"]: r["during"] for r in reports if r["mode"] != "append"}
    assert ops == EDITS, ops
    # a writer waits while a follower is more than LAG behind: the others began before the last append
    assert all(during[mode] >= count - LAG - 1 for mode, count in EDITS.items()), during
    assert reads_during >= READS - LAG - 1, reads_during
    print(f"\nconcurrency: {WRITERS} writers x {APPENDS} appends, editors {ops} ({during} during the appends), "
          f"{len(records)} lines, {folded.dropped} dropped by rewind/pop, {READS} index reads ({reads_during} during), {elapsed:.1f}s")


# -- locks through the real program ------------------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys, time
    from chit.api import Chit
    from chit.service.facade import parts_of
    home, cwd, sid = sys.argv[1:]
    api = Chit(home, cwd=cwd)
    project = parts_of(api).ctx.locate(sid)
    with parts_of(api).ctx.store.locked(project.slug, sid, project.key):
        print("held", flush=True)
        time.sleep(120)
    """
)


def test_a_writer_that_cannot_get_the_lock_exits_6_then_a_dead_holder_is_recovered(
    api: Chit, home: Path, workdir: Path, tmp_path: Path
) -> None:
    sid = api.create(title="held", messages=[{"role": "user", "content": "hello"}]).id
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    holder = subprocess.Popen([sys.executable, str(script), str(home), str(workdir), sid], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        before = tree_digest(home)
        for args in (["append", sid, "blocked"], ["rename", sid, "blocked"], ["tag", sid, "blocked"], ["rewind", sid, "0"]):
            started = time.monotonic()
            refused = run_cli(args, cwd=workdir, env={"CHIT_LOCK_TIMEOUT": "0.3"})
            assert refused.code == 6, refused.err
            assert refused.err.startswith("chit: error: session ") and "is locked by another chit process (waited 0.3s)" in refused.err
            assert refused.out == "" and "Traceback" not in refused.err
            assert time.monotonic() - started < 10
        as_json = run_cli(["append", sid, "blocked", "--json"], cwd=workdir, env={"CHIT_LOCK_TIMEOUT": "0.3"})
        assert as_json.code == 6 and orjson.loads(as_json.err)["error"]["code"] == "LOCKED"
        assert tree_digest(home) == before
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert holder.returncode == -9  # killed while holding the lock: the kernel drops it
    after = run_cli(["append", sid, "after the holder died"], cwd=workdir, env={"CHIT_LOCK_TIMEOUT": "0.3"})
    assert after.code == 0, after.err
    assert [m.content for m in api.get(sid).messages] == ["hello", "after the holder died"]
