"""A search far behind the index forks a child that reads every other
file (chit.service.scan_split); when the search itself is killed
(SIGTERM or SIGKILL, so it cannot end the child), the child stops before
its next file instead of reading the rest of its share for nobody.

Through the real `chit` program, on a store of sparse session files
(zeros: no disk space, yet each takes the scan a while to read).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from chit.api import Chit

FILES = 200
SIZE = 16 * 1024 * 1024  # each file's bytes: about 7 s of CPU in all for the child, under a second a file
STOPPED_WITHIN = 3.0  # seconds for the orphaned child to end

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists() or len(os.sched_getaffinity(0)) < 2,
    reason="reads processes from /proc; the scan forks only with two CPUs",
)


def _store(home: Path, workdir: Path) -> None:
    """A session holding the word, and FILES sparse session files beside
    it, with no index and no catch-up in the background."""
    api = Chit(home, cwd=workdir, durable=False)
    seed = api.create(title="seed")
    api.append(seed.id, "user", "the harbour")
    folder = next(home.glob("projects/*/sessions"))
    for _ in range(FILES):
        path = folder / f"{uuid.uuid4()}.jsonl"
        with open(path, "wb") as f:
            f.truncate(SIZE)
        path.chmod(0o600)
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (home / name).unlink(missing_ok=True)
    (home / "config.toml").write_text("[index]\nbackground = false\n")


def _state(pid: int) -> str | None:
    """The process's state letter (Z: exited, not yet reaped), None when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _poll(until: float, check: Callable[[], object]) -> bool:
    """Whether `check()` came true before the monotonic time `until`."""
    while time.monotonic() < until:
        if check():
            return True
        time.sleep(0.02)
    return bool(check())


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_the_scan_child_stops_when_the_search_is_killed(tmp_path: Path, workdir: Path, how: signal.Signals) -> None:
    home = tmp_path / "home"
    _store(home, workdir)
    env = {**os.environ, "CHIT_HOME": str(home)}
    env.pop("CHIT_DEBUG", None)
    search = subprocess.Popen([sys.executable, "-m", "chit", "search", "harbour"], cwd=workdir, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    child: list[int] = []
    try:
        assert _poll(time.monotonic() + 60, lambda: child.extend(_children(search.pid)) or child), "the scan never forked"
        time.sleep(0.3)  # both well into their files
        assert _state(child[0]) not in (None, "Z"), "the child ended before the test could kill its parent"
        search.send_signal(how)
        search.wait(timeout=10)
        killed = time.monotonic()
        stopped = _poll(killed + STOPPED_WITHIN, lambda: _state(child[0]) in (None, "Z"))
        assert stopped, f"the child still reads {STOPPED_WITHIN} s after its parent was killed"
    finally:
        if search.poll() is None:
            search.kill()
            search.wait()
        for pid in child:
            if _state(pid) not in (None, "Z"):
                os.kill(pid, signal.SIGKILL)
