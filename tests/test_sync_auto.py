"""`[sync] auto = true`: a sync after a REPL session ends (and before
`chit resume`), never holding the user up longer than `[sync] timeout`."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import run_cli
from test_sync import Machine, bare_remote

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="chit sync needs git")


def _chat(machine: Machine, text: str) -> tuple[float, str]:
    """Run a REPL session; the moment it returned (on the clock of
    /proc/PID/stat's start times) and its stderr."""
    done = run_cli(["chat", "--new", "-m", "echo"], stdin=f"{text}\n".encode(), cwd=machine.cwd, env=machine.env)
    returned = time.clock_gettime(time.CLOCK_BOOTTIME)
    assert done.code == 0, done.err
    return returned, done.err


def _started(pid: int) -> float:
    """When process `pid` started, on the CLOCK_BOOTTIME clock."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _titles(machine: Machine) -> list[str]:
    return sorted(s["title"] for s in machine.ok("ls", "--json").json())  # type: ignore[union-attr]


def _refs(remote: Path) -> dict[str, bytes]:
    """The bare repository's refs as they are on disk (loose and packed)."""
    files = [*remote.joinpath("refs").rglob("*"), remote / "packed-refs"]
    return {str(f): f.read_bytes() for f in files if f.is_file()}


def test_a_repl_session_is_synced_when_it_ends(tmp_path: Path) -> None:
    a, b, remote = Machine(tmp_path, "a"), Machine(tmp_path, "b"), bare_remote(tmp_path)
    a.ok("new", "before auto")
    a.ok("sync", "init", str(remote))
    b.ok("sync", "clone", str(remote))
    (a.home / "config.toml").write_text("[sync]\nauto = true\ntimeout = 30\n")
    _chat(a, "said in the REPL on A")
    b.ok("sync")
    assert _titles(b) == ["before auto", "said in the REPL on A"]


def test_without_auto_nothing_is_synced(tmp_path: Path) -> None:
    a, b, remote = Machine(tmp_path, "a"), Machine(tmp_path, "b"), bare_remote(tmp_path)
    a.ok("new", "before")
    a.ok("sync", "init", str(remote))
    b.ok("sync", "clone", str(remote))
    _chat(a, "not synced")
    b.ok("sync")
    assert _titles(b) == ["before"]


def test_a_slow_sync_holds_the_user_up_no_longer_than_the_timeout(tmp_path: Path) -> None:
    """The push hangs until the test lets it go: the session must end
    while the sync still runs, at most the timeout (0.5 s, plus 2.5 s for
    a busy machine to end the process) after the sync started. Measured
    from the sync's own start, not the session's, so a loaded machine's
    slow start of the REPL is not counted against the timeout."""
    a, b, remote = Machine(tmp_path, "a"), Machine(tmp_path, "b"), bare_remote(tmp_path)
    a.ok("new", "before")
    a.ok("sync", "init", str(remote))
    b.ok("sync", "clone", str(remote))
    sync_pid, release = tmp_path / "sync.pid", tmp_path / "release"
    hook = a.home / "sync" / "repo" / ".git" / "hooks" / "pre-push"
    hook.write_text(  # its parent is `git push`, whose parent is the `chit sync` the session started
        f"#!/bin/sh\nawk '{{print $4}}' /proc/$PPID/stat > {sync_pid}.new && mv {sync_pid}.new {sync_pid}\n"
        f"n=0\nwhile [ ! -e {release} ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n + 1)); done\n"
    )
    hook.chmod(0o755)
    (a.home / "config.toml").write_text("[sync]\nauto = true\ntimeout = 0.5\n")
    pushed = _refs(remote)
    returned, err = _chat(a, "slow to sync")
    assert "still running in the background" in err
    deadline = time.monotonic() + 60
    while not sync_pid.exists():  # the sync may not have reached its push yet
        assert time.monotonic() < deadline, "the sync never pushed"
        time.sleep(0.05)
    pid = int(sync_pid.read_text())
    assert b"sync" in Path(f"/proc/{pid}/cmdline").read_bytes() and _refs(remote) == pushed  # still held at the push
    held = returned - _started(pid)
    assert held < 0.5 + 2.5, f"the session ended {held:.2f}s after its sync started"
    release.touch()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the sync finishes on its own
        if _refs(remote) == pushed:  # not pushed yet: nothing new for B
            time.sleep(0.1)
            continue
        b.ok("sync")
        if "slow to sync" in _titles(b):
            break
        time.sleep(0.5)
    assert _titles(b) == ["before", "slow to sync"]


def test_a_bad_sync_setting_is_a_config_problem(tmp_path: Path) -> None:
    a = Machine(tmp_path, "a")
    (a.home).mkdir()
    (a.home / "config.toml").write_text("[sync]\nauto = \"yes\"\ntimeout = -1\n")
    problems = a.ok("config", "--json").json()["problems"]  # type: ignore[index]
    assert problems == ["sync.auto must be true or false", "sync.timeout must be a positive number of seconds"]
