"""Every listing that finds the index's rows far behind starts the index's
catch-up in the background as `chit ls` does: `chit tree`, the picker
(`chit pick`) and the REPL's `/list`; the index is then current with no
further command, and `[index] background = false` starts none. Real
`chit` subprocesses; the picker and the REPL in a real terminal (tmux on
its own socket)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from chit.index.db import Index
from chit.service.catchup import FAR_FILES, lag, running
from chit.store.paths import Layout
from conftest import run_cli
from test_list_lagging import BIG, _store

CATCH_UP_DEADLINE = 120.0  # seconds: a loaded machine builds this store's index in a few


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store far ahead of its (deleted) index; the catch-up left on.
    Written once for the module."""
    root = tmp_path_factory.mktemp("behind")
    home, work = root / "home", root / "work"
    work.mkdir()
    _store(home, work)
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (home / name).unlink(missing_ok=True)
    return home


@pytest.fixture
def behind(built: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the module's store for this test (its catch-up builds an index)."""
    home, work = tmp_path / "home", tmp_path / "work"
    shutil.copytree(built, home)
    work.mkdir()
    return home, work


def _caught_up(home: Path) -> bool:
    """Whether no catch-up runs and the index's rows are current."""
    from chit.api import Chit
    from chit.service.facade import parts_of

    index = Index(Layout(home))
    try:
        if running(index) or not index.exists():
            return False
        projects = parts_of(Chit(home, project="demo")).ctx.projects.all()
        behind = lag(index, projects, text=False)
        return behind is None or not behind.files
    finally:
        index.close()


def _wait_caught_up(home: Path) -> None:
    deadline = time.monotonic() + CATCH_UP_DEADLINE
    while not _caught_up(home):
        assert time.monotonic() < deadline, "no catch-up brought the index up to date"
        time.sleep(0.2)


def _env(home: Path) -> dict[str, str]:
    return {"CHIT_HOME": str(home), "CHIT_PROJECT": "demo"}


@pytest.mark.parametrize("listing", [["ls", "--json"], ["tree", "--all", "--json"]])
def test_a_listing_far_behind_starts_the_catch_up(behind: tuple[Path, Path], listing: list[str]) -> None:
    home, work = behind
    far = run_cli(listing, cwd=work, env=_env(home))
    assert far.code == 0 and "reading them directly; catching up in the background" in far.err, far.err
    _wait_caught_up(home)
    current = run_cli(listing, cwd=work, env=_env(home))
    assert current.code == 0 and "behind" not in current.err
    assert current.out == far.out


def test_tree_far_behind_with_the_catch_up_off_starts_none(behind: tuple[Path, Path]) -> None:
    home, work = behind
    (home / "config.toml").write_text("[index]\nbackground = false\n")
    far = run_cli(["tree", "--all"], cwd=work, env=_env(home))
    assert far.code == 0 and "run `chit index` to catch up" in far.err, far.err
    time.sleep(1.0)  # a catch-up started would hold its lock by now, or have made the index
    assert not (home / "index.sqlite").exists() and not running(Index(Layout(home)))


class Terminal:
    """One tmux server of our own (`-L`) running one command."""

    def __init__(self, home: Path, work: Path, *args: str) -> None:
        self.name = f"chit-behind-{uuid.uuid4().hex[:8]}"
        env = {**_env(home), "TERM": "xterm-256color", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home.parent)}
        command = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), sys.executable, "-m", "chit", *args]
        subprocess.run(["tmux", "-L", self.name, "new-session", "-d", "-s", "t", "-x", "120", "-y", "40", "-c", str(work), *command], check=True)

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.name, *args], capture_output=True, text=True).stdout

    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.tmux("capture-pane", "-p", "-t", "t", "-S", "-200"):
            assert time.monotonic() < deadline, f"{text!r} never appeared:\n" + self.tmux("capture-pane", "-p", "-t", "t")
            time.sleep(0.05)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        terminal.close()


def test_the_picker_far_behind_starts_the_catch_up(behind: tuple[Path, Path], terminals: list[Terminal]) -> None:
    home, work = behind
    terminal = Terminal(home, work, "pick")
    terminals.append(terminal)
    terminal.wait_for("renamed")  # the picker lists the sessions
    _wait_caught_up(home)
    terminal.tmux("send-keys", "-t", "t", "Escape")


def _write_behind(home: Path, work: Path) -> None:
    """Sessions enough for the index to be far behind again."""
    from chit.api import Chit

    api = Chit(home, cwd=work, project="demo")
    for n in range(FAR_FILES + 2):
        api.create(messages=[{"role": "user", "content": f"{n} {BIG}"} for _ in range(8)])


def test_the_repl_list_far_behind_starts_the_catch_up(behind: tuple[Path, Path], terminals: list[Terminal]) -> None:
    home, work = behind
    terminal = Terminal(home, work)
    terminals.append(terminal)
    terminal.wait_for("›")
    _write_behind(home, work)  # as an import in another terminal would, while the REPL is open
    terminal.tmux("send-keys", "-t", "t", "-l", "/list")
    terminal.tmux("send-keys", "-t", "t", "Enter")
    terminal.wait_for("/load N")
    terminal.wait_for("catching up in the background")
    _wait_caught_up(home)
