"""End to end in a real terminal: tmux runs `chit` against a loopback
OpenAI-compatible server; we type as a person would and read the screen,
then check the store through `chit show --json`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from conftest import run_cli

from chit.api import Chit

HERE = Path(__file__).resolve().parent

if shutil.which("tmux") is None:
    if os.environ.get("CI"):
        raise RuntimeError("tmux is required in CI (.ci/run installs it)")
    pytest.skip("tmux is not installed", allow_module_level=True)


@pytest.fixture
def fake_server(tmp_path: Path) -> Iterator[str]:
    portfile = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, str(HERE / "fake_openai.py"), str(portfile)])
    deadline = time.monotonic() + 10
    while not portfile.exists() or not portfile.read_text():
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("fake server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{portfile.read_text()}/v1"
    proc.kill()
    proc.wait()


def close_tmux(name: str) -> None:
    """End the session and its server, and remove the server's socket."""
    subprocess.run(["tmux", "-L", name, "kill-session", "-t", name], capture_output=True)
    Path(os.environ.get("TMUX_TMPDIR", "/tmp"), f"tmux-{os.getuid()}", name).unlink(missing_ok=True)


class Terminal:
    """A tmux session on its own tmux server (`-L`, named like the session):
    tests running in parallel, and anyone's own tmux, never share one."""

    def __init__(self, name: str) -> None:
        self.name = name

    def screen(self) -> str:
        return subprocess.run(["tmux", "-L", self.name, "capture-pane", "-p", "-t", self.name, "-S", "-200"], capture_output=True, text=True).stdout

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "-L", self.name, "send-keys", "-t", self.name, "-l", text], check=True)
        subprocess.run(["tmux", "-L", self.name, "send-keys", "-t", self.name, "Enter"], check=True)

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "-L", self.name, "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never appeared on screen:\n{self.screen()}")

    def alive(self) -> bool:
        return subprocess.run(["tmux", "-L", self.name, "has-session", "-t", self.name], capture_output=True).returncode == 0

    def cpu_seconds(self) -> float:
        """CPU time (user + system) spent so far by the program in the pane
        (`env` execs it: the pane's own process), not by its children."""
        pid = subprocess.run(["tmux", "-L", self.name, "display-message", "-p", "-t", self.name, "#{pane_pid}"],
                             capture_output=True, text=True, check=True).stdout.strip()
        assert b"chit" in Path(f"/proc/{pid}/cmdline").read_bytes(), "the pane's process is not chit"
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def terminal(home: Path, workdir: Path, fake_server: str) -> Iterator[Terminal]:
    name = f"chit-{uuid.uuid4().hex[:8]}"
    env = {
        "CHIT_HOME": str(home),
        "CHIT_BASE_URL": fake_server,
        "CHIT_MODEL": "m1",
        "CHIT_API_KEY": "sk-e2e",
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home.parent),
    }
    command = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), sys.executable, "-m", "chit"]
    subprocess.run(["tmux", "-L", name, "new-session", "-d", "-s", name, "-x", "110", "-y", "40", "-c", str(workdir), *command], check=True)
    term = Terminal(name)
    yield term
    close_tmux(name)


def test_a_session_in_a_real_terminal(terminal: Terminal, home: Path, workdir: Path) -> None:
    terminal.wait_for("/help for commands")
    terminal.wait_for("›")
    assert "m1" in terminal.screen()  # the toolbar names the model

    terminal.type("hello from tmux")
    terminal.wait_for("You said: hello from tmux")
    terminal.type("second question")
    terminal.wait_for("You said: second question")

    terminal.type("/rename Terminal test")
    terminal.wait_for("title: Terminal test")
    terminal.type("/tag e2e")
    terminal.wait_for("tags: e2e")
    original = orjson.loads(run_cli(["show", "--json"], cwd=workdir, env={"CHIT_HOME": str(home)}).out)

    terminal.type("/fork --at 0 Forked copy")
    terminal.wait_for("forked into ")
    terminal.type(f"/load {original['id'][:6]}")
    terminal.wait_for(f"loaded {original['id'][:8]}: Terminal test")
    terminal.type("/rewind 0")
    terminal.wait_for("dropped 2 message(s)")
    export = workdir / "session.md"
    terminal.type(f"/export md {export}")
    terminal.wait_for("wrote ")

    terminal.type("/model long")
    terminal.type("talk for a while")
    terminal.wait_for("word word word")
    terminal.keys("C-c")
    terminal.wait_for("[interrupted]")
    while not _prompt_after(terminal.screen(), "[interrupted]"):
        time.sleep(0.05)
    terminal.keys("C-d")
    deadline = time.monotonic() + 60
    while terminal.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not terminal.alive(), "chit did not exit on Ctrl-D:\n" + terminal.screen()

    env = {"CHIT_HOME": str(home)}
    shown = orjson.loads(run_cli(["show", original["id"], "--json"], cwd=workdir, env=env).out)
    contents = [(m["role"], m["content"]) for m in shown["messages"]]
    assert contents[:2] == [("user", "hello from tmux"), ("assistant", "You said: hello from tmux")]
    assert shown["title"] == "Terminal test" and shown["tags"] == ["e2e"]
    assert shown["dropped"] == 2 and shown["state"]["state"] == "idle"
    interrupted = shown["messages"][-1]
    assert interrupted["role"] == "assistant" and interrupted["metadata"]["interrupted"] is True
    assert "## Turn 0" in export.read_text() and "hello from tmux" in export.read_text()
    listed = orjson.loads(run_cli(["ls", "--json"], cwd=workdir, env=env).out)
    fork = next(s for s in listed if s["title"] == "Forked copy")
    assert fork["parent_id"] == original["id"] and fork["turns"] == 1


def test_a_reply_with_escape_sequences_is_shown_not_obeyed(terminal: Terminal) -> None:
    terminal.wait_for("›")
    terminal.type("/model escapes")
    terminal.type("go")
    screen = terminal.wait_for("c1\\x9b31m")
    assert "clip␛]52;c;cHduZWQ=␇" in screen and "title␛]0;pwned␇" in screen and "clear␛[2J" in screen
    title = subprocess.run(["tmux", "-L", terminal.name, "display-message", "-p", "-t", terminal.name, "#{pane_title}"], capture_output=True, text=True).stdout
    assert "pwned" not in title  # OSC 0 never reached the terminal


def _start(name: str, home: Path, workdir: Path, *args: str, width: int = 110, env: dict[str, str] | None = None) -> Terminal:
    env = {"CHIT_HOME": str(home), "TERM": "xterm-256color", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home.parent), **(env or {})}
    command = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), sys.executable, "-m", "chit", *args]
    subprocess.run(["tmux", "-L", name, "new-session", "-d", "-s", name, "-x", str(width), "-y", "40", "-c", str(workdir), *command], check=True)
    return Terminal(name)


def _prompt_after(screen: str, marker: str) -> bool:
    """Whether an empty prompt line follows the line holding `marker`."""
    _, found, after = screen.partition(marker)
    return bool(found) and any(line.strip() == "›" for line in after.splitlines())


def test_ctrl_c_while_a_huge_reply_prints_returns_to_the_prompt_within_a_second(home: Path, workdir: Path, tmp_path: Path) -> None:
    """An 11 MB reply from a command model is printed as plain text (not
    Markdown, which took minutes); Ctrl-C stops the printing at once, the
    reply stays stored whole, and the REPL goes on. On a busy machine the
    press may come while the reply still arrives: then what came is
    stored, marked interrupted, and the prompt is back as fast; if the
    last of it arrived with the press, it is stored whole, unmarked, its
    last screenful shown (as for a press while it arrives). "At once"
    is chit's CPU time from the press to the prompt (printing the rest
    would take many seconds of it): the wall time of a loaded machine
    measures its other processes."""
    program = tmp_path / "big.py"
    program.write_text("import sys\nfor i in range(110_000):\n    sys.stdout.write(f'line {i:06d} ' + 'x' * 88 + '\\n')\n")
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'[models.big]\nprovider = "command"\ncommand = ["{sys.executable}", "{program}"]\n')
    term = _start(f"chit-{uuid.uuid4().hex[:8]}", home, workdir, "chat", "--model", "big")
    try:
        term.wait_for("›")
        term.type("talk a lot")
        term.wait_for("line 00", timeout=60)  # the reply is arriving or printing
        cpu_at_press = term.cpu_seconds()
        term.keys("C-c")  # which of the three it stops depends on the machine's speed
        pressed = time.monotonic()
        while not any(_prompt_after(term.screen(), end) for end in ("[display stopped", "[interrupted", "[earlier text not shown")):
            assert time.monotonic() - pressed < 60, term.screen()
            time.sleep(0.02)
        spent = term.cpu_seconds() - cpu_at_press
        screen = term.screen()
        cut_short = "[interrupted" in screen and "[display stopped" not in screen
        assert spent < 1.0, f"the prompt came back after {spent:.2f}s of CPU from Ctrl-C"
        term.type("/quit")
    finally:
        close_tmux(term.name)
    shown = orjson.loads(run_cli(["show", "--json"], cwd=workdir, env={"CHIT_HOME": str(home)}).out)
    reply = shown["messages"][-1]
    assert shown["state"]["state"] == "idle"
    if not cut_short:  # it had all arrived: stored whole
        assert len(reply["content"]) == 110_000 * 101 and not reply["metadata"].get("interrupted")
    else:  # stopped while arriving: what came is stored, marked
        assert reply["metadata"].get("interrupted") is True and 0 < len(reply["content"]) <= 110_000 * 101


def test_ctrl_c_while_a_huge_reply_arrives_shows_its_last_screenful(home: Path, workdir: Path, tmp_path: Path) -> None:
    """Ctrl-C while a 10 MB reply is still arriving gives the prompt back
    at once (in chit's CPU time: the model stalls, so a wait for it would
    never end): the part received is stored (marked interrupted), and only
    its last screenful is shown, not megabytes scrolling by."""
    program = tmp_path / "stalls.py"
    program.write_text(
        "import sys, time\n"
        "for i in range(100_000):\n    sys.stdout.write(f'line {i:06d} ' + 'x' * 88 + '\\n')\n"
        "sys.stdout.flush()\ntime.sleep(600)\n"
    )
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'[models.big]\nprovider = "command"\ncommand = ["{sys.executable}", "{program}"]\n')
    term = _start(f"chit-{uuid.uuid4().hex[:8]}", home, workdir, "chat", "--model", "big")
    try:
        term.wait_for("›")
        term.type("talk a lot")
        term.wait_for("line 099999", timeout=60)  # all of it received; the model stalls
        cpu_at_press = term.cpu_seconds()
        term.keys("C-c")
        _prompt_back_after(term, "[interrupted", 60)
        spent = term.cpu_seconds() - cpu_at_press
        screen = term.screen()
        assert spent < 3.0, f"the prompt came back after {spent:.2f}s of CPU from Ctrl-C"
        assert "earlier text not shown" in screen and "line 099999" in screen
        term.type("/quit")
    finally:
        if term.alive():
            subprocess.run(["tmux", "kill-session", "-t", term.name])
    shown = orjson.loads(run_cli(["show", "--json"], cwd=workdir, env={"CHIT_HOME": str(home)}).out)
    reply = shown["messages"][-1]
    assert len(reply["content"]) == 100_000 * 101 and reply["metadata"].get("interrupted") is True


def _toolbar(term: Terminal, expected: str, timeout: float = 60.0) -> str:
    """The bottom line, once it shows `expected` (or when time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        bar = term.screen().rstrip("\n").splitlines()[-1]
        if expected in bar or time.monotonic() > deadline:
            return bar
        time.sleep(0.05)


def _prompt_back_after(term: Terminal, marker: str, limit: float) -> float:
    """Seconds until an empty prompt follows `marker` (at most `limit`)."""
    start = time.monotonic()
    while not _prompt_after(term.screen(), marker):
        assert time.monotonic() - start < limit, term.screen()
        time.sleep(0.02)
    return time.monotonic() - start


def test_waiting_for_the_first_byte_shows_a_spinner_and_ctrl_c_cancels(terminal: Terminal, home: Path, workdir: Path) -> None:
    terminal.wait_for("›")
    terminal.type("/model slow")  # the server answers after 3 s
    terminal.type("first")
    screen = terminal.wait_for("waiting for slow")
    assert re.search(r"waiting for slow… \d+s", screen), screen
    terminal.wait_for("You said: first")
    assert "waiting for" not in terminal.screen()  # the spinner is gone once text arrives
    terminal.type("/model stalled")  # the server answers after 600 s
    terminal.type("second")
    terminal.wait_for("waiting for stalled")
    terminal.keys("C-c")
    _prompt_back_after(terminal, "[interrupted]", 60)  # long before the server's answer
    assert "waiting for" not in terminal.screen()
    shown = orjson.loads(run_cli(["show", "--json"], cwd=workdir, env={"CHIT_HOME": str(home)}).out)
    assert shown["messages"][-1]["metadata"]["interrupted"] is True and shown["state"]["state"] == "idle"


def test_a_40_column_terminal_gets_whole_rows_and_a_toolbar_with_model_and_state(home: Path, workdir: Path, fake_server: str) -> None:
    api = Chit(home, cwd=workdir)
    for number in range(3):
        session = api.create(title=f"Session {number} with a title far too long for forty columns TAILWORD")
        api.append(session.id, "user", f"needle {number} " + "padding words " * 10 + "SNIPTAIL")
    term = _start(f"chit-{uuid.uuid4().hex[:8]}", home, workdir, "chat", width=40, env={"CHIT_BASE_URL": fake_server, "CHIT_MODEL": "m1", "CHIT_API_KEY": "sk-e2e"})
    try:
        term.wait_for("›")
        bar = _toolbar(term, "idle")
        assert "m1" in bar and "idle" in bar, bar
        term.type("/list")
        term.wait_for("/load N")
        term.type("/search needle")
        deadline = time.monotonic() + 60
        while "/load N" not in term.screen().partition("› /search needle")[2]:
            assert time.monotonic() < deadline, term.screen()
            time.sleep(0.05)
        screen = term.screen().partition("› /list")[2]
        assert "TAILWORD" not in screen and "SNIPTAIL" not in screen, screen  # cut with "…", not wrapped onto a second line
        rows = [line for line in screen.splitlines() if re.match(r"\d +[0-9a-f]{8} ", line)]
        assert len(rows) == 6 and all("…" in row for row in rows), screen
        term.type("/quit")
    finally:
        close_tmux(term.name)


def test_chit_load_of_another_projects_session_works_in_that_project(home: Path, workdir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "faraway"
    (elsewhere / ".git").mkdir(parents=True)
    other = Chit(home, cwd=elsewhere)
    loaded = other.create(title="loaded one")
    other.append(loaded.id, "user", "hello from far away")
    sibling = other.create(title="its sibling")
    other.append(sibling.id, "user", "me too")
    term = _start(f"chit-{uuid.uuid4().hex[:8]}", home, workdir, "load", loaded.id[:8])
    try:
        term.wait_for("›")
        assert "faraway" in _toolbar(term, "idle")
        term.type("/list")
        screen = term.wait_for("/load N")
        assert "its sibling" in screen and "no sessions yet" not in screen
        term.type("/quit")
    finally:
        close_tmux(term.name)
