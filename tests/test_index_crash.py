"""The index never hides what the files hold, whatever a killed process
left behind. Each round forks a child that runs a random mix of appends,
compactions, rewinds, pops, listings and searches (each listing or search
refreshes the index) on three sessions, in runs on one session at a time, and kills it with SIGKILL after a
random delay. Then the listing and the search answers read from the index
(after the refresh any command makes) must equal a fresh brute-force scan
of the files. A round that differs is counted, and the index thrown away so
that the next round starts from a true one; the test wants none, and at
the end `doctor` finds nothing in the index unlike the files.

Compactions make the fault this guards against: ext4 hands a freed inode to
the next new file, so the second of two compactions often gives the session
its old inode number back, and an append then made it look like the file
had grown in place (the index read it from a stale offset). Before the
witness, 9 rounds of 500 differed in a run here (6 of 200 in another).

CHIT_LONG=1 runs 2,000 rounds instead of 500 (docs/reliability.md).
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

from chit.api import Chit
from chit.index import Stale
from chit.index.search import search, summaries
from chit.model import SearchHit, SessionSummary
from chit.service.facade import parts_of
from kill_launcher import Launcher
from scans import Kept, each_file_read_once

LONG = bool(os.environ.get("CHIT_LONG"))
ROUNDS = 2000 if LONG else 500
WORDS = ("harbour", "lantern", "quartz", "meadow", "falcon", "ember")


def child_loop(home: str, cwd: str, sids: list[str], seed: int) -> None:
    """Change and read the sessions at random until killed."""
    api = Chit(home, cwd=cwd, durable=False)  # fsync is not the point here
    rng = random.Random(seed)
    n = 0
    sid = rng.choice(sids)
    while True:
        if rng.random() < 0.2:  # runs of changes to one session, as a user makes them
            sid = rng.choice(sids)
        roll = rng.random()
        n += 1
        if roll < 0.45:
            words = " ".join(rng.choices(WORDS, k=rng.randint(1, 4)))
            api.append(sid, "user" if rng.random() < 0.5 else "assistant", f"{seed}-{n} {words} " + "z" * rng.choice((0, 300, 1500)))
        elif roll < 0.75:
            api.compact(sid)
        elif roll < 0.85:
            turns = api.get(sid).turns
            if turns:
                api.rewind(sid, rng.randrange(turns))
        elif roll < 0.90:
            if api.get(sid).messages:
                api.pop(sid)
        elif roll < 0.95:
            api.list()
        else:
            api.search(rng.choice(WORDS), limit=rng.choice((None, 3)))


def killed_round(launcher: Launcher, api: Chit, sids: list[str], seed: int, delay: float) -> int:
    """Run `launcher`'s function in a child killed after `delay` seconds; its wait status."""
    parts_of(api).ctx.index.close()  # the check after the kill opens the index afresh
    pid = launcher.start(str(api.layout.home), str(parts_of(api).ctx.cwd), sids, seed)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    return launcher.wait(pid)


def from_index(api: Chit) -> tuple[list[SessionSummary], dict[str, list[SearchHit]]] | str:
    """Listing and searches answered by the index alone (after a refresh);
    a string when a search found a row pointing at the wrong line."""
    scope = parts_of(api).ctx.projects.all()
    projects = {p.slug: p for p in scope}
    index = parts_of(api).ctx.index
    index.refresh([(slug, False) for slug in projects], text=True)
    listed = summaries(index, projects, False)
    try:
        return listed, {word: search(index, projects, word, limit=None) for word in WORDS}
    except Stale as stale:
        return f"stale row: {stale}"


def from_files(api: Chit, kept: Kept) -> tuple[list[SessionSummary], dict[str, list[SearchHit]]]:
    """The listing and searches of a scan of the files (one read of each,
    no fold of bytes an earlier round folded: tests/scans.py)."""
    scope = parts_of(api).ctx.projects.all()
    with each_file_read_once(api, kept):
        return parts_of(api).queries.scan_summaries(scope), {word: parts_of(api).queries.scan_search(scope, word) for word in WORDS}


def test_killed_writers_and_readers_never_leave_the_index_unlike_the_files(api: Chit) -> None:
    sids = [api.create(title=None, messages=[{"role": "user", "content": f"start {w}"}]).id for w in WORDS[:3]]
    rng = random.Random(20261206)
    differed: list[int] = []
    kept = Kept()
    started = time.monotonic()
    with Launcher("test_index_crash", "child_loop") as launcher:
        for number in range(ROUNDS):
            status = killed_round(launcher, api, sids, rng.randrange(1 << 30), rng.uniform(0.0, 0.04))
            assert os.WIFSIGNALED(status), "the child stopped by itself"
            indexed, scanned = from_index(api), from_files(api, kept)
            if indexed != scanned:
                differed.append(number)
                parts_of(api).ctx.index.close()
                for suffix in ("", "-wal", "-shm"):  # start the next round from a true index
                    Path(f"{api.layout.index_file}{suffix}").unlink(missing_ok=True)
    elapsed = time.monotonic() - started
    messages = sum(s.messages for s in api.list())
    print(f"\nindex under SIGKILL: {ROUNDS} rounds, {len(differed)} with index != files {differed[:20]}, "
          f"{messages} live messages at the end, {elapsed:.1f}s")
    assert differed == []
    audit = api.doctor()  # and the doctor, comparing the index with every file, agrees
    assert audit.index_checked == 3 and [f for f in audit.findings if "index" in f.problem] == []


TRASH_ROUNDS = 1000 if LONG else 120


def trash_loop(home: str, cwd: str, sids: list[str], seed: int) -> None:
    """Append, move sessions to the trash and back, list and search, until killed."""
    api = Chit(home, cwd=cwd, durable=False)
    rng = random.Random(seed)
    n = 0
    while True:
        sid = rng.choice(sids)
        roll = rng.random()
        n += 1
        trashed = parts_of(api).ctx.store.exists(api.project().slug, sid, True)
        if roll < 0.4 and not trashed:
            api.append(sid, "user", f"{seed}-{n} {rng.choice(WORDS)}")
        elif roll < 0.8:
            if trashed:
                api.restore(sid)
            else:
                api.delete(sid)
        elif roll < 0.9:
            api.trash()
        else:
            api.search(rng.choice(WORDS))


def test_killed_trash_and_restore_never_leave_the_index_unlike_the_files(api: Chit) -> None:
    """A kill anywhere in `rm` or `restore` (between the event and the
    move, inside the move, between the move and the index's row following
    it) leaves an index whose listing, trash listing and searches equal a
    scan of the files: no session hidden, none brought back."""
    sids = [api.create(title=None, messages=[{"role": "user", "content": f"start {w}"}]).id for w in WORDS[:3]]
    scope = parts_of(api).ctx.projects.all()
    projects = {p.slug: p for p in scope}
    rng = random.Random(20261207)
    differed: list[int] = []
    kept = Kept()
    with Launcher("test_index_crash", "trash_loop") as launcher:
        for number in range(TRASH_ROUNDS):
            drawn = random.Random()
            drawn.setstate(rng.getstate())  # the seed drawn from a copy of `rng`, as when the child was forked from here
            killed_round(launcher, api, sids, drawn.randrange(1 << 30), rng.uniform(0.0, 0.05))
            indexed = from_index(api)
            index = parts_of(api).ctx.index
            index.refresh([(slug, True) for slug in projects])
            in_trash = summaries(index, projects, True)
            with each_file_read_once(api, kept):
                trash_scanned = parts_of(api).queries.scan_summaries(scope, trash=True)
            if indexed != from_files(api, kept) or in_trash != trash_scanned:
                differed.append(number)
                index.close()
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{api.layout.index_file}{suffix}").unlink(missing_ok=True)
            if any(f.problem.startswith("both in the project and in the trash") for f in api.doctor().findings):
                api.doctor(repair=True)  # a move cut short: finished, as a user would
    print(f"\ntrash and restore under SIGKILL: {TRASH_ROUNDS} rounds, {len(differed)} with index != files {differed[:20]}")
    assert differed == []
    audit = api.doctor()
    assert [f for f in audit.findings if "index" in f.problem] == []
