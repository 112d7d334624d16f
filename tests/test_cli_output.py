"""Output for people and pipes: the pager and colours in a real pseudo-
terminal, 40-column listings, `ls -q`, and `--jsonl` on every list."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import shlex
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import TextIO

import forkserver
import orjson
import pytest

from chit.api import Chit
from chit.cli.main import run
from chit.render.environment import Environment

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|9[0-7]|38;[25])")


def in_terminal(args: list[str], cwd: Path, env: dict[str, str], rows: int = 24, cols: int = 80) -> str:
    """Run chit with a pseudo-terminal of rows × cols as its stdin/out/err."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    full_env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "PAGER", "LESS")}
    full_env.update({"TERM": "xterm-256color", **env})
    proc = subprocess.Popen([sys.executable, "-m", "chit", *args], stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=full_env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the program and every child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture
def long_session(api: Chit) -> str:
    s = api.create(title="long one")
    for i in range(40):
        api.append(s.id, "user", f"question {i}")
        api.append(s.id, "assistant", f"**answer** {i}")
    return s.id


@pytest.fixture
def recorder(tmp_path: Path) -> tuple[str, Path]:
    """A PAGER that saves what it is given (and its LESS variable, `-` when
    unset): a shell command, as chit runs PAGER through the shell."""
    saved = tmp_path / "paged.txt"
    return f"{{ printf '%s\\n' \"${{LESS--}}\"; cat; }} > {shlex.quote(str(saved))}", saved


def test_long_show_goes_through_the_pager_in_colour(long_session: str, workdir: Path, recorder: tuple[str, Path], home: Path) -> None:
    pager, saved = recorder
    shown = in_terminal(["show", long_session[:8]], workdir, {"PAGER": pager, "CHIT_HOME": str(home)})
    assert "question 39" not in shown  # it went to the pager, not the terminal
    less, paged = saved.read_text().split("\n", 1)
    assert less == "FRX"  # like git: quit if one screen, keep colours
    assert "question 0" in paged and "question 39" in paged
    assert COLOUR.search(paged)


def test_no_pager_short_output_and_empty_pager_print_directly(long_session: str, api: Chit, workdir: Path, recorder: tuple[str, Path], home: Path) -> None:
    pager, saved = recorder
    env = {"PAGER": pager, "CHIT_HOME": str(home)}
    assert "question 39" in in_terminal(["show", long_session[:8], "--no-pager"], workdir, env)
    short = api.create(title="short one")
    api.append(short.id, "user", "just one line")
    assert "just one line" in in_terminal(["show", short.id[:8]], workdir, env)
    assert "question 39" in in_terminal(["show", long_session[:8]], workdir, {**env, "PAGER": ""})
    assert not saved.exists()
    piped = forkserver.run_chit(["show", long_session[:8]], stdin=None, cwd=workdir, env={**os.environ, **env})
    assert b"question 39" in piped.stdout and not saved.exists()  # not a terminal: never paged


def test_the_pager_is_the_environments(long_session: str, recorder: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """PAGER and LESS come from the Environment a command runs in, not from
    the process's variables: in-process, on a stdout the Environment calls
    a terminal, a long transcript goes to the Environment's PAGER."""
    pager, saved = recorder
    monkeypatch.setenv("PAGER", "")  # the process's own: would print directly
    monkeypatch.setenv("LESS", "from-the-process")
    variables = {"PAGER": pager, "LESS": "from-the-environment", "TTY_COMPATIBLE": "1", "LINES": "24", "COLUMNS": "80"}
    env = Environment(*_memory_streams(), variables, stdin_isatty=True, stdout_isatty=True, stderr_isatty=True)
    assert run(["show", long_session[:8]], env) == 0
    out, _ = env.output()
    assert b"question 39" not in out  # paged, not printed
    less, paged = saved.read_text().split("\n", 1)
    assert less == "from-the-environment" and "question 0" in paged and "question 39" in paged


def _memory_streams() -> tuple[TextIO, TextIO, TextIO]:
    made = Environment.captured()
    return made.stdin, made.stdout, made.stderr


def test_no_color_is_honoured(long_session: str, workdir: Path, home: Path) -> None:
    env = {"CHIT_HOME": str(home), "PAGER": ""}
    assert COLOUR.search(in_terminal(["ls"], workdir, env))  # colour by default on a terminal...
    plain = in_terminal(["ls"], workdir, {**env, "NO_COLOR": "1"})
    assert "long one" in plain and not COLOUR.search(plain)  # ...and none with NO_COLOR
    assert not COLOUR.search(in_terminal(["show", long_session[:8]], workdir, {**env, "NO_COLOR": "1"}))


def test_listings_fit_40_columns(api: Chit, workdir: Path, home: Path) -> None:
    titles = ["Refactor the parser so that it handles very long titles gracefully", "short"]
    ids = []
    for title in titles:
        s = api.create(title=title, tags=["work", "parser"])
        api.append(s.id, "user", f"{title}: how do I split this module into smaller pieces without breaking anything?")
        ids.append(s.id)
    gone = api.create(title="A trashed session with a long title that will not fit").id
    api.delete(gone)
    env = {"CHIT_HOME": str(home), "PAGER": ""}
    screens = {}
    for args, expected_ids in ((["ls"], ids), (["ls", "-a"], ids), (["trash"], [gone]), (["search", "split"], ids)):
        screen = ANSI.sub("", in_terminal(args, workdir, env, cols=40)).replace("\r", "")
        screens[" ".join(args)] = screen
        lines = [line for line in screen.split("\n") if line.strip()]
        assert all(len(line) <= 40 for line in lines), (args, lines)
        for sid in expected_ids:
            rows = [line for line in lines if sid[:8] in line]
            assert rows, (args, sid, lines)  # the whole short id, never cut
    table = screens["ls"].split("\n")
    assert len([line for line in table if line.strip()]) == 3  # header + one line per session
    assert any("Refactor the parser" in line and "…" in line for line in table)


def test_piped_listings_have_no_trailing_spaces(cli, api: Chit) -> None:  # type: ignore[no-untyped-def]
    """The last column is padded to its width in a table; a pipe gets the
    rows without that padding (and with COLUMNS set, too)."""
    long = api.create(title="a title longer than the rest", tags=["t"])
    api.append(long.id, "user", "needle in a longer message")
    api.create(title="short")
    api.delete(api.create(title="gone").id)
    for env in ({}, {"COLUMNS": "100"}):
        for args in (["ls"], ["ls", "-a"], ["trash"], ["projects"], ["search", "needle"]):
            r = cli(*args, env=env)
            assert r.code == 0 and r.out.strip(), (args, r.err)
            assert [line for line in r.out.split("\n") if line != line.rstrip()] == [], (args, env, r.out)


def test_ls_quiet_prints_ids_only(cli, api: Chit) -> None:
    ids = [api.create(title=f"s{i}").id for i in range(3)]
    r = cli("ls", "-q")
    assert r.code == 0 and r.out.split("\n") == [*reversed(ids), ""]


def test_jsonl_streams_one_object_per_line(cli_inproc, api: Chit) -> None:
    cli = cli_inproc
    ids = []
    for i in range(3):
        s = api.create(title=f"s{i}")
        api.append(s.id, "user", f"needle {i}")
        ids.append(s.id)
    api.set_state(ids[0], "running")
    api.delete(ids[2])
    for args in (["ls"], ["ls", "-a"], ["search", "needle"], ["trash"], ["projects"], ["state", "--running"]):
        as_lines = cli(*args, "--jsonl")
        as_array = cli(*args, "--json")
        assert as_lines.code == 0 and as_array.code == 0, (args, as_lines.err)
        lines = as_lines.out.splitlines()
        assert lines and all(line.startswith("{") and line.endswith("}") for line in lines), args
        parsed = [orjson.loads(line) for line in lines]
        expected = orjson.loads(as_array.out)
        strip = lambda rows: [{k: v for k, v in r.items() if k != "updated_at"} for r in rows]  # noqa: E731
        assert strip(parsed) == strip(expected), args
    empty = cli("search", "nothing-matches", "--jsonl")
    assert empty.code == 0 and empty.out == ""
    error = cli("search", "", "--jsonl")
    assert error.code == 5 and orjson.loads(error.err.splitlines()[-1])["error"]["code"] == "INVALID_INPUT"
    assert cli("state", ids[0], "--jsonl").code == 5  # not a list
