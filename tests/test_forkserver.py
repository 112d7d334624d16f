"""The tests' `chit` processes forked from a warm server (tests/forkserver.py)
behave as exec'd ones: for each command here, the exit code, stdout and
stderr of `python -m chit` run both ways are the same bytes. And the server
has imported no module that the commands the tests run most would not
import anyway, nor any that a read command must not import."""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import forkserver
import pytest

from chit.api import Chit
from chit.exporters import SNAPSHOT_FORMAT, SNAPSHOT_VERSION, checksum

Run = tuple[int, bytes, bytes]


def exec_chit(args: list[str], stdin: bytes | None, cwd: Path, env: dict[str, str], timeout: float = 60) -> Run:
    done = subprocess.run([sys.executable, "-m", "chit", *args], input=stdin, stdin=subprocess.DEVNULL if stdin is None else None,
                          capture_output=True, cwd=cwd, env=env, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def fork_chit(args: list[str], stdin: bytes | None, cwd: Path, env: dict[str, str], timeout: float = 60) -> Run:
    assert forkserver.forkable(args, stdin, cwd, env), "this call would not be forked"
    done = forkserver.run_chit(args, stdin=stdin, cwd=cwd, env=env, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def environment(**variables: str) -> dict[str, str]:
    """This process's environment with `variables`, for both ways: without
    CHIT_DEBUG (tracebacks) nor CHIT_TEST_EXEC (which would exec the fork)."""
    env = {**os.environ, **variables}
    env.pop("CHIT_DEBUG", None)
    env.pop("CHIT_TEST_EXEC", None)
    return env


def both(args: list[str], cwd: Path, stdin: bytes | None = b"", **variables: str) -> Run:
    """The run of `chit ARGS`, the same forked as exec'd (asserted); stdin
    None is /dev/null."""
    env = environment(**variables)
    forked = fork_chit(args, stdin, cwd, env)
    assert forked == exec_chit(args, stdin, cwd, env)
    return forked


def old_session(api: Chit, title: str, *contents: str) -> str:
    """A session of March 2025 (its times shown as dates, not "1s ago")."""
    start = datetime(2025, 3, 1, tzinfo=timezone.utc)
    messages = [
        {"id": str(uuid.uuid4()), "role": ("user", "assistant")[k % 2], "content": text, "ts": (start + timedelta(minutes=k)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        for k, text in enumerate(contents)
    ]
    body = {"id": str(uuid.uuid4()), "created_at": messages[0]["ts"], "messages": messages, "tags": [], "metadata": {}, "title": title}
    doc = {"format": SNAPSHOT_FORMAT, "version": SNAPSHOT_VERSION, "exported_at": body["created_at"], "checksum": checksum(body), "session": body}
    return api.import_snapshot(doc).session.id


@pytest.fixture
def store(api: Chit) -> dict[str, str]:
    """A project with three sessions: plain, with terminal escapes and
    other control characters, and with a message of 1.5 MB."""
    return {
        "plain": old_session(api, "plain", "hello there", "hi"),
        "hostile": old_session(api, "hostile", "red \x1b[31mtext\x1b[0m \x07 \u202e \x00 end \x1b]0;owned\x07"),
        "big": old_session(api, "big", ("word " * 30 + "\n") * 10_000),
    }


@contextmanager
def session_locked(home: Path, session_id: str) -> Iterator[None]:
    """The session's file held under its exclusive lock, as a writer holds it."""
    with next(home.glob(f"projects/*/sessions/{session_id}.jsonl")).open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield


def test_success_and_json_match(store: dict[str, str], workdir: Path) -> None:
    code, out, _ = both(["ls", "--json"], workdir)
    assert code == 0 and store["plain"].encode() in out
    assert both(["show", store["plain"][:8]], workdir)[0] == 0
    assert both(["--help"], workdir)[0] == 0


def test_usage_not_found_and_locked_errors_match(store: dict[str, str], home: Path, workdir: Path) -> None:
    assert both(["nope"], workdir)[0] == 2
    assert both(["ls", "--bogus"], workdir)[0] == 2
    assert both(["show", "zzzzzz"], workdir)[0] == 3
    assert both(["--json", "show", "zzzzzz"], workdir)[0] == 3
    with session_locked(home, store["plain"]):
        assert both(["append", store["plain"][:8], "more"], workdir, CHIT_LOCK_TIMEOUT="0.2")[0] == 6


def test_stdin_is_read(store: dict[str, str], workdir: Path) -> None:
    assert both(["append", store["plain"][:8], "-"], workdir, stdin=b"ok \xff\xfe bad")[0] == 5
    assert both(["import", "-"], workdir, stdin=b"not json")[0] == 5
    env = environment()
    for run in (fork_chit, exec_chit):
        code, out, err = run(["append", store["plain"][:8], "-"], f"piped by {run.__name__}".encode(), workdir, env)
        assert (code, err) == (0, b"") and re.fullmatch(rb"[0-9a-f-]{36}\n", out)
    shown = both(["show", store["plain"][:8], "--json"], workdir)[1]
    assert b"piped by fork_chit" in shown and b"piped by exec_chit" in shown
    assert both(["import", "-"], workdir, stdin=None)[0] == 5  # /dev/null: nothing to import
    assert both(["ls", "--json"], workdir, stdin=None)[0] == 0


def test_large_and_hostile_output_match(store: dict[str, str], workdir: Path) -> None:
    code, out, _ = both(["show", store["big"][:8]], workdir)
    assert code == 0 and len(out) > 1_000_000
    assert len(both(["show", store["big"][:8], "--json"], workdir)[1]) > 1_000_000
    assert both(["show", store["hostile"][:8]], workdir)[0] == 0
    assert both(["ls"], workdir, COLUMNS="50")[0] == 0


def test_environment_and_cwd_decide_as_for_an_exec(store: dict[str, str], home: Path, workdir: Path, tmp_path: Path) -> None:
    assert both(["ls", "--json"], workdir, NO_COLOR="1")[0] == 0
    assert both(["ls"], workdir, COLUMNS="200", FORCE_COLOR="1")[0] == 0
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert both(["ls", "--json"], other)[1] == b"[]\n"
    assert both(["ls", "--json"], workdir, CHIT_HOME=str(tmp_path / "empty"))[1] == b"[]\n"
    assert both(["--json", "-p", "nowhere", "ls"], workdir, CHIT_PROJECT="x")[0] in (0, 3)


def test_a_chat_and_a_config_file_past_its_limit_match(home: Path, workdir: Path) -> None:
    """The REPL on a pipe (it imports what no preloaded command does: the
    REPL, the provider) and every command's read of the config file."""
    assert both(["chat", "--new"], workdir, stdin=b"hello there\n", CHIT_MODEL="echo")[0] == 0
    (home / "config.toml").write_bytes(b"#" * (3 * 2**20))
    code, out, _ = both(["config", "--json"], workdir, stdin=None)
    assert code == 0 and b"cannot read" in out


def test_a_child_past_its_timeout_is_killed(store: dict[str, str], home: Path, workdir: Path) -> None:
    env = environment(CHIT_LOCK_TIMEOUT="60")
    with session_locked(home, store["plain"]):
        for run in (fork_chit, exec_chit):
            with pytest.raises(subprocess.TimeoutExpired):
                run(["append", store["plain"][:8], "late"], b"", workdir, env, timeout=1.0)
    assert fork_chit(["append", store["plain"][:8], "after"], b"", workdir, environment())[0] == 0  # the killed ones hold no lock


def test_a_forked_child_cpu_is_counted_until_its_server_is_waited_for(store: dict[str, str], workdir: Path) -> None:
    """The server reports each child's CPU: this process's rusage cannot see
    it (the server is the parent) until the server itself is waited for."""
    before = forkserver.unreaped_children_cpu()
    fork_chit(["show", store["big"][:8], "--json"], b"", workdir, environment())
    assert forkserver.unreaped_children_cpu() - before > 0.01  # a 1.5 MB message read, decoded and written


def test_a_server_gone_before_a_request_is_started_again(store: dict[str, str], workdir: Path) -> None:
    """A server that ended (killed here) never saw the next request: the
    call runs in a new server, once, with a warning that says why."""
    env = environment()
    assert fork_chit(["ls", "--json"], b"", workdir, env)[0] == 0
    gone = forkserver._servers["pipe"]
    gone.process.kill()
    gone.process.wait()
    with pytest.warns(UserWarning, match=r"the fork server went away \(\w+; the server ended with status -9\)"):
        code, out, _ = fork_chit(["ls", "--json"], b"", workdir, env)
    assert code == 0 and store["plain"].encode() in out
    assert forkserver._servers["pipe"] is not gone and forkserver._servers["pipe"].process.poll() is None


def test_start_up_variables_and_the_switch_exec() -> None:
    env = environment()
    assert forkserver.forkable(["ls"], b"", None, env)
    for name, value in (("PYTHONIOENCODING", "latin-1"), ("LC_ALL", "C"), ("LANG", "C"), ("TZ", "Asia/Tokyo"), ("TMPDIR", "/nowhere"),
                        ("SQLITE_TMPDIR", "/nowhere"), ("OPENSSL_CONF", "/nowhere"), ("CHIT_TEST_EXEC", "1")):
        assert not forkserver.forkable(["ls"], b"", None, {**env, name: value}), name
    assert not forkserver.forkable(["--version"], b"", None, env)
    assert not forkserver.forkable(["__complete", "ls"], b"", None, env)


LOADED_AT_EXIT = """import atexit, os, runpy, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write("\\n".join(sys.modules)))
if sys.argv[2] == "--server":  # it serves until end of file on its lifetime pipe: at once
    lifetime, closed = os.pipe()
    os.close(closed)
    sys.argv = [sys.argv[3], os.path.join(os.path.dirname(out), "s"), str(lifetime)]
    runpy.run_path(sys.argv[0], run_name="__main__")
else:
    sys.argv = ["-m", *sys.argv[2:]]
    runpy.run_module("chit", run_name="__main__", alter_sys=True)
"""


def loaded(args: list[str], tmp_path: Path) -> set[str]:
    """The modules in sys.modules when `chit ARGS` (or with ["--server",
    PROGRAM], the fork server) ends: -X importtime does not see those
    imported through importlib, as the commands' modules are."""
    out = tmp_path / "modules"
    env = {**os.environ, "CHIT_HOME": str(tmp_path / "home")}
    subprocess.run([sys.executable, "-c", LOADED_AT_EXIT, str(out), *args], capture_output=True, cwd=tmp_path, env=env, timeout=60)
    modules = set(out.read_text().split("\n"))
    out.unlink()
    return modules


# what a command that does not print for a person, open the REPL or move data must not import
NEVER_PRELOADED = ("rich", "prompt_toolkit", "pygments", "httpx", "http.client", "urllib.request", "chit.repl", "chit.providers",
                   "chit.importers", "chit.exporters", "chit.render.human", "chit.render.console", "chit.render.markdown")


def test_the_server_imports_only_what_commands_import_and_nothing_they_must_not(tmp_path: Path) -> None:
    """The server's modules are among those of the commands the tests run
    most, and none of those a read command is tested not to import."""
    server = loaded(["--server", str(forkserver.SERVER_PROGRAM)], tmp_path)
    plumbing = {"socket", "_socket", "array", "select", "pkgutil"}  # the server's own, and runpy.run_path's
    assert {"typer", "chit.cli.app", "chit.render.result", "chit.api", "chit.index.db", "chit.cli.cmd_read", "sqlite3"} <= server
    assert not {name for name in server if name.startswith(NEVER_PRELOADED)}
    runs = (["new", "hello"], ["append", "x"], ["ls", "--json"], ["show", "--json"], ["stats", "--json"], ["rm", "nothing"])
    commands = set[str]().union(*(loaded(args, tmp_path) for args in runs))
    assert server - plumbing <= commands


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="no /proc to list a process's descriptors")
def test_between_calls_the_server_holds_only_its_stdio_and_socket(store: dict[str, str], workdir: Path) -> None:
    """What a child could inherit beyond its three: the server's listening
    socket, its lifetime pipe, its other calls' connections and their
    pidfds, all of which the child closes."""
    for kind, stdin in (("pipe", b""), ("devnull", None)):
        both(["ls", "--json"], workdir, stdin=stdin)
        server = forkserver._server(kind)
        assert server is not None
        held = {int(fd): os.readlink(f"/proc/{server.process.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{server.process.pid}/fd")}
        own_stdin = held.pop(0)
        assert own_stdin == "/dev/null" if stdin is None else own_stdin.startswith("pipe:")
        assert sorted(what.split(":")[0] for what in held.values()) == ["pipe", "pipe", "pipe", "socket"], held  # stdout, stderr, lifetime
