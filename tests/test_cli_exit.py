"""How a `chit` process ends (`chit.cli.main._leave`): its output whole,
then at once, without Python's shutdown freeing every module and object,
when that shutdown has nothing else to do; through it when an exit
handler is registered or another thread runs. Real processes, each
started with a bootstrap that leaves a mark of the shutdown if it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from chit.api import Chit

MESSAGES = 1_500  # about 1.5 MB of JSON: more than any pipe holds
SHUTDOWN_MARK = "shut down through the interpreter"

BOOTSTRAP = """
import os, sys
class Marker:
    def __del__(self, write=os.write):
        write(2, b"{mark}\\n")
sys.shutdown_marker = Marker()  # freed only by the interpreter's shutdown (which clears sys last)
{before}
from chit.cli.main import main
main()
"""


@pytest.fixture
def long_session(tmp_path: Path) -> tuple[Path, str]:
    home = tmp_path / "home"
    api = Chit(home, cwd=tmp_path, project="demo", durable=False)
    messages = [{"role": "user" if n % 2 == 0 else "assistant", "content": f"message {n} " + "x" * 1000} for n in range(MESSAGES)]
    return home, api.create(title="long", messages=messages).id


def chit(home: Path, args: list[str], before: str = "") -> subprocess.CompletedProcess[bytes]:
    code = BOOTSTRAP.format(mark=SHUTDOWN_MARK, before=before)
    env = {"CHIT_HOME": str(home), "CHIT_PROJECT": "demo", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, cwd=home.parent, env=env, timeout=60)


def test_load_json_ends_at_once_with_its_whole_output(long_session: tuple[Path, str]) -> None:
    home, session_id = long_session
    done = chit(home, ["load", session_id[:8], "--json"])
    assert done.returncode == 0, done.stderr
    assert len(orjson.loads(done.stdout)["messages"]) == MESSAGES
    assert done.stderr == b""  # the marker was never freed: no shutdown ran


def test_an_error_is_written_whole_before_the_process_ends(long_session: tuple[Path, str]) -> None:
    home, _ = long_session
    done = chit(home, ["load", "ffffffff", "--json"])
    assert done.returncode == 3
    assert orjson.loads(done.stderr)["error"]["code"] == "NOT_FOUND"


def test_an_exit_handler_runs_and_the_shutdown_with_it(long_session: tuple[Path, str]) -> None:
    home, session_id = long_session
    done = chit(home, ["load", session_id, "--json"], before="import atexit\natexit.register(lambda: print('handler ran', file=sys.stderr))")
    assert done.returncode == 0
    assert len(orjson.loads(done.stdout)["messages"]) == MESSAGES
    assert done.stderr.decode().splitlines() == ["handler ran", SHUTDOWN_MARK]


def test_a_thread_still_running_is_waited_for(long_session: tuple[Path, str]) -> None:
    home, _ = long_session
    thread = "import threading, time\nthreading.Thread(target=lambda: (time.sleep(2), print('thread done', file=sys.stderr))).start()"
    done = chit(home, ["load", "ffffffff"], before=thread)  # a command that takes well under 2 s
    assert done.returncode == 3
    assert done.stderr.decode().splitlines()[1:] == ["thread done", SHUTDOWN_MARK]


def test_a_reader_that_stops_early_gets_no_traceback(long_session: tuple[Path, str]) -> None:
    home, session_id = long_session
    code = BOOTSTRAP.format(mark="", before="")
    env = {"CHIT_HOME": str(home), "CHIT_PROJECT": "demo", "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([sys.executable, "-c", code, "load", session_id, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=home.parent, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10) == b'{"id":"' + session_id[:3].encode()
    proc.stdout.close()
    errors = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert b"Traceback" not in errors and b"Exception ignored" not in errors


def test_an_index_build_leaves_no_write_ahead_log(long_session: tuple[Path, str]) -> None:
    """The early exit closes the index first, as freeing it did: SQLite
    folds the log of the whole build into the file and removes it."""
    home, _ = long_session
    done = chit(home, ["index", "--json"])
    assert done.returncode == 0, done.stderr
    said = done.stderr.decode().splitlines()
    assert SHUTDOWN_MARK not in said  # the early exit was taken
    assert all(line.startswith("chit: indexing: ") for line in said), said  # (progress, when a busy machine makes the build last past a second)
    assert (home / "index.sqlite").stat().st_size > 0
    assert not (home / "index.sqlite-wal").exists()


def test_the_registry_of_open_indexes_keeps_none_alive(long_session: tuple[Path, str]) -> None:
    """An index freed by its owner closes its connection, as before the
    registry: a long-lived process (the REPL, a program using the API)
    opening many never piles up connections and their descriptors."""
    import gc
    import os

    home, session_id = long_session
    Chit(home, cwd=home.parent, project="demo").list()  # the index built once

    def descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = descriptors()
    for _ in range(40):
        Chit(home, cwd=home.parent, project="demo").list()
    gc.collect()
    assert descriptors() - before < 10
