"""`chit sync` killed with SIGKILL at random points: the next sync completes
and no acknowledged message is lost on either machine. 20 kills by
default; `CHIT_LONG=1` makes it 100 (docs/reliability.md).

The killed syncs are forked by the fork server that runs every other
`chit` of the tests (tests/forkserver.py's run_chit, which kills its child
when its timeout expires), as the sync whose duration sets the kill window
is. Exec'd, each spent much of the window starting an interpreter:
of 100 kills (5 seeds), 79 landed before the sync's first git command,
against 10 forked, the others spread over its status, commit, fetch,
merge, push and import."""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from forkserver import run_chit
from test_sync import Machine, bare_remote

KILLS = 100 if os.environ.get("CHIT_LONG") else 20


def _sync_killed_after(machine: Machine, delay: float) -> bool:
    """`chit sync` on `machine`, killed with SIGKILL `delay` seconds after
    it was started unless it had ended by then; whether the kill ended it."""
    try:
        run_chit(["sync"], stdin=None, cwd=machine.cwd, env={**os.environ, **machine.env}, timeout=delay)
    except subprocess.TimeoutExpired:  # run_chit kills the child on expiry, as subprocess.run does
        return True
    return False


def _timed_sync(machine: Machine) -> float:
    started = time.monotonic()
    machine.ok("sync")
    return time.monotonic() - started


def test_sigkill_at_random_points_of_a_sync_loses_nothing(tmp_path: Path) -> None:
    pytest.importorskip("orjson")
    rng = random.Random(int(os.environ.get("CHIT_SEED", "16")))
    a, b, remote = Machine(tmp_path, "a"), Machine(tmp_path, "b"), bare_remote(tmp_path)
    session = a.ok("new", "killed syncs").out.strip()
    a.ok("sync", "init", str(remote))
    b.ok("sync", "clone", str(remote))
    took = max(_timed_sync(a), _timed_sync(b))
    written: list[str] = []
    killed = 0
    for n in range(KILLS):
        machine = (a, b)[n % 2]
        text = f"message {n} from {'ab'[n % 2]}"
        machine.ok("append", session, "--role", "user", text)  # acknowledged from here on
        written.append(text)
        if n % 3 == 0:
            machine.ok("new", f"new session {n}")
        killed += _sync_killed_after(machine, rng.uniform(0.0, took * 1.2))
        if n % 4 == 3:
            machine.ok("sync")  # the next sync after a kill completes
    for machine in (a, b, a):
        machine.ok("sync")
    print(f"\n{KILLS} syncs started, {killed} killed while running, {len(written)} messages acknowledged")
    assert killed >= KILLS // 2, f"only {killed} of {KILLS} syncs were killed while running"
    for machine in (a, b):
        assert sorted(machine.messages(session)) == sorted(written)
        titles = sorted(s["title"] for s in machine.ok("ls", "--json").json())  # type: ignore[union-attr]
        assert titles == sorted(["killed syncs", *(f"new session {n}" for n in range(0, KILLS, 3))])
        fsck = subprocess.run(["git", "fsck", "--no-dangling"], cwd=machine.home / "sync" / "repo", capture_output=True, text=True, env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull})
        assert fsck.returncode == 0, fsck.stderr


def test_a_git_left_running_by_a_killed_sync_holds_the_sync_lock_until_it_ends(tmp_path: Path) -> None:
    """SIGKILL stops `chit sync`, not the git it runs: that git holds the
    sync lock until it ends, so the next sync waits for it, rather than
    removing its lock files as stale and fetching beside it."""
    pytest.importorskip("orjson")
    git = shutil.which("git")
    assert git is not None
    a, remote = Machine(tmp_path, "a"), bare_remote(tmp_path)
    a.ok("sync", "init", str(remote))
    shims = tmp_path / "shims"
    shims.mkdir()
    fetching = tmp_path / "fetching"
    (shims / "git").write_text(f'#!/bin/sh\ncase " $* " in *" fetch "*) : > "{fetching}"; sleep 1;; esac\nexec "{git}" "$@"\n')
    (shims / "git").chmod(0o755)
    env = {**os.environ, **a.env, "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}"}
    sync = subprocess.Popen([sys.executable, "-m", "chit", "sync"], cwd=a.cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not fetching.exists():
        assert sync.poll() is None and time.monotonic() < deadline, "the sync ended before its fetch"
        time.sleep(0.01)
    sync.send_signal(signal.SIGKILL)
    assert sync.wait(timeout=30) == -signal.SIGKILL
    with open(a.home / "sync" / "lock", "rb") as lock_file:
        with pytest.raises(BlockingIOError):  # the fetch, still running, holds it
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    a.ok("sync")  # waits for that fetch, then completes
