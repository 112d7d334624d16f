"""A FIFO put where chit keeps a small file of its own: the index
catch-up's `index.catchup`, sync's `state.json`, the REPL's line history
(and a session file the REPL loads). Opening a FIFO waits for its other
end: each is opened without waiting, and refused in one line (or passed
over where it only says whether a catch-up runs, or only keeps history),
never waited on.

Real `chit` processes, the REPL in a real terminal (tmux), each with a
timeout: a hang fails."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import forkserver
import pytest

from chit.api import Chit
from conftest import tree_digest

TIMEOUT = 10


def chit(args: list[str], home: Path, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "CHIT_HOME": str(home), "CHIT_PROJECT": "demo"}
    env.pop("CHIT_DEBUG", None)
    try:
        return forkserver.run_chit(args, stdin=None, cwd=cwd, env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`chit {' '.join(args)}` hung")


def one_line(done: subprocess.CompletedProcess[bytes], code: int, *words: str) -> None:
    err = done.stderr.decode()
    assert done.returncode == code, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("chit: error: "), err
    assert all(w in err for w in words), err


def test_a_fifo_index_catchup_is_refused_by_index_and_passed_over_by_a_listing(tmp_path: Path) -> None:
    """Before: a listing far behind the index (which asks whether a
    catch-up runs) hung on it."""
    from test_list_lagging import _store

    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    _store(home, work)
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (home / name).unlink(missing_ok=True)
    os.mkfifo(home / "index.catchup")
    before = tree_digest(home)
    listed = chit(["ls", "--json"], home, work)
    assert listed.returncode == 0, listed.stderr
    one_line(chit(["index"], home, work), 5, "index.catchup", "not a regular file (a FIFO)")
    assert tree_digest(home) == before


@pytest.mark.parametrize("args", [["sync", "status"], ["sync"], ["sync", "init", "elsewhere"]])
def test_a_fifo_sync_state_is_refused_in_one_line(tmp_path: Path, args: list[str]) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    Chit(home, cwd=work, project="demo").create(messages=[{"role": "user", "content": "kept"}])
    (home / "sync").mkdir()
    os.mkfifo(home / "sync" / "state.json")
    (home / "sync" / "lock").touch()  # what any sync takes first
    before = tree_digest(home)
    one_line(chit(args, home, work), 5, "sync state", "not a regular file (a FIFO)")
    assert tree_digest(home) == before


def test_the_repl_starts_past_a_fifo_history_and_loads_past_a_fifo_session(home: Path, workdir: Path) -> None:
    """The REPL's line history (`history` in the store) a FIFO: it starts
    with a history kept in memory (before: it waited for a reader for
    ever); `/load` of a session whose file is a FIFO says so in one line
    and the REPL goes on."""
    import shutil
    import uuid

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    from test_repl_tmux import _start, close_tmux

    api = Chit(home, cwd=workdir)
    kept = api.create(title="kept", messages=[{"role": "user", "content": "hello"}])
    fifo = api.create(title="a fifo", messages=[{"role": "user", "content": "gone"}])
    path = api.layout.session_file(api.project().slug, fifo.id)
    path.unlink()
    os.mkfifo(path)
    home.mkdir(exist_ok=True)
    os.mkfifo(home / "history")
    name = f"chit-{uuid.uuid4().hex[:8]}"
    terminal = _start(name, home, workdir)
    try:
        terminal.wait_for("/help for commands", timeout=TIMEOUT)
        terminal.type(f"/load {fifo.id[:8]}")
        terminal.wait_for("error", timeout=TIMEOUT)
        terminal.type(f"/load {kept.id[:8]}")
        terminal.wait_for("loaded " + kept.id[:8], timeout=TIMEOUT)
        assert terminal.alive()
    finally:
        close_tmux(name)


def test_a_fifo_list_of_the_trash_to_empty_everywhere_is_refused_in_one_line(tmp_path: Path) -> None:
    """sync/emptied.jsonl (the requests the next sync sends) a FIFO: `trash
    --empty --everywhere` says so and removes nothing (before: it hung)."""
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    api = Chit(home, cwd=work, project="demo")
    doomed = api.create(messages=[{"role": "user", "content": "to the trash"}])
    api.delete(doomed.id)
    (home / "sync" / "repo" / ".git").mkdir(parents=True)  # a store that syncs, as `chit sync init` leaves it
    (home / "sync" / "state.json").write_text('{"remote": "elsewhere"}')
    (home / "sync" / "lock").touch()
    os.mkfifo(home / "sync" / "emptied.jsonl")
    before = tree_digest(home)
    one_line(chit(["trash", "--empty", "--everywhere", "--yes"], home, work), 5, "emptied.jsonl", "not a regular file (a FIFO)")
    assert tree_digest(home) == before
