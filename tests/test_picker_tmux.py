"""The session picker in a real terminal: tmux (on its own socket) runs
`chit resume` and `chit pick`; we type as a person would, read the screen,
and check the store through the API afterwards."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from conftest import run_cli, tree_digest

from chit.api import Chit

if shutil.which("tmux") is None:
    if os.environ.get("CI"):
        raise RuntimeError("tmux is required in CI (.ci/run installs it)")
    pytest.skip("tmux is not installed", allow_module_level=True)

CHIT = f"{shlex.quote(sys.executable)} -m chit"


class Terminal:
    """One tmux server of our own running one shell command."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t").stdout

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "t", "-l", text)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never appeared on screen:\n{self.screen()}")

    def wait_until_gone(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.tmux("has-session", "-t", "t").returncode == 0:
            assert time.monotonic() < deadline, "the program did not exit:\n" + self.screen()
            time.sleep(0.05)


@pytest.fixture
def start(home: Path, workdir: Path) -> Iterator[object]:
    """`start("chit resume")` runs a shell line in a 120x30 terminal in `workdir`."""
    socket = f"chit-picker-{uuid.uuid4().hex[:8]}"
    env = {"CHIT_HOME": str(home), "TERM": "xterm-256color", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "HOME": str(home.parent)}

    def run(line: str) -> Terminal:
        command = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), "sh", "-c", line]
        subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "t", "-x", "120", "-y", "30", "-c", str(workdir), *command],
                       check=True)
        return Terminal(socket)

    yield run
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


@pytest.fixture
def sessions(api: Chit) -> dict[str, str]:
    """Three sessions in this project (the last made is the newest), one in another."""
    made = {}
    for title, user, reply in (
        ("Parser rewrite plan", "how do we split the parser?", "One module per command group."),
        ("Kernel tuning notes", "the scheduler latency spikes at 3am", "Check the cron job that compacts the store."),
        ("Holiday ideas", "where to go in winter", "Somewhere with snow."),
    ):
        session = api.create(title=title)
        api.append(session.id, "user", user)
        api.append(session.id, "assistant", reply)
        made[title] = session.id
    other = api.create("elsewhere", title="Another project's session", make_current=False)
    made["other"] = other.id
    return made


def test_filter_search_preview_rename_delete_undo_then_enter_opens_the_repl(start, api: Chit, sessions: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    kernel = sessions["Kernel tuning notes"]
    term = start(f"{CHIT} resume")
    screen = term.wait_for("3 of 3 sessions")
    assert screen.index("Holiday ideas") < screen.index("Kernel tuning notes") < screen.index("Parser rewrite plan")
    assert "Another project" not in screen

    term.type("krn")  # fuzzy: k, r, n in order
    term.wait_for("1 of 3 sessions")
    term.wait_for("the scheduler latency spikes at 3am")  # the preview of the highlighted session, once typing pauses

    term.keys("C-u")
    term.type("/cron job")  # a leading / searches message content
    term.wait_for("— Check the cron job")

    term.keys("C-r")
    term.wait_for("rename: Kernel tuning notes")
    term.keys("C-u")
    term.type("Kernel latency")
    term.keys("Enter")
    term.wait_for("renamed ")
    assert api.get(kernel).title == "Kernel latency"

    term.keys("C-u")
    term.wait_for("3 of 3 sessions")  # the renamed one is the newest, highlighted first
    term.keys("C-d")
    term.wait_for("2 of 2 sessions")
    assert [s.id for s in api.trash()] == [kernel]
    term.keys("C-z")
    term.wait_for("restored ")
    assert api.trash() == [] and api.get(kernel).title == "Kernel latency"

    term.keys("Tab")
    term.wait_for("4 of 4 sessions")
    term.type("kernel")
    term.wait_for("1 of 4 sessions")
    term.keys("Enter")
    term.wait_for(f"chit · {kernel.replace('-', '')[:8]} Kernel latency")  # the REPL's greeting
    term.type("/quit")
    term.keys("Enter")
    term.wait_until_gone()
    current = api.current()
    assert current is not None and current.id == kernel


def test_esc_and_ctrl_c_leave_changing_nothing(start, home: Path, sessions: dict[str, str], workdir: Path) -> None:  # type: ignore[no-untyped-def]
    run_cli(["ls"], cwd=workdir)  # the index is built: what follows must change no byte of the sessions
    before = tree_digest(home)
    term = start(f"{CHIT} resume; echo $? > resume.rc; {CHIT} pick > picked; echo $? > pick.rc")
    term.wait_for("3 of 3 sessions")
    term.type("kernel")
    term.keys("C-r")
    term.wait_for("rename: ")
    term.type(" forgotten")
    term.keys("Escape")  # forgets the rename
    term.wait_for("› kernel")
    term.keys("Escape")  # leaves the picker
    term.wait_for("3 of 3 sessions")  # then `chit pick`'s own
    term.keys("C-c")
    term.wait_until_gone()
    assert tree_digest(home) == before
    assert (workdir / "resume.rc").read_text().strip() == "0"
    assert (workdir / "pick.rc").read_text().strip() == "130" and (workdir / "picked").read_text() == ""


def test_chit_pick_in_a_pipe_prints_the_chosen_id(start, sessions: dict[str, str], workdir: Path) -> None:  # type: ignore[no-untyped-def]
    term = start(f"{CHIT} show $({CHIT} pick) --json > shown.json; echo $? > rc")
    term.wait_for("3 of 3 sessions")
    term.type("holi")
    term.wait_for("1 of 3 sessions")
    term.keys("Enter")
    term.wait_until_gone()
    assert (workdir / "rc").read_text().strip() == "0"
    assert f'"id":"{sessions["Holiday ideas"]}"' in (workdir / "shown.json").read_text().replace(" ", "")


def test_enter_right_after_a_content_query_picks_what_it_finds(start, sessions: dict[str, str], workdir: Path) -> None:  # type: ignore[no-untyped-def]
    term = start(f"{CHIT} pick > picked; echo $? > rc")
    term.wait_for("3 of 3 sessions")
    term.tmux("send-keys", "-t", "t", "-l", "/cron job")  # the search waits for a pause in typing;
    term.keys("Enter")  # Enter at once does not pick the newest listed session instead
    term.wait_until_gone()
    assert (workdir / "rc").read_text().strip() == "0"
    assert (workdir / "picked").read_text().strip() == sessions["Kernel tuning notes"]


def test_chit_pick_json_prints_the_chosen_session(start, sessions: dict[str, str], workdir: Path) -> None:  # type: ignore[no-untyped-def]
    term = start(f"{CHIT} pick --json > picked.json; echo $? > rc")
    term.wait_for("3 of 3 sessions")
    term.type("parser")
    term.wait_for("1 of 3 sessions")
    term.keys("Enter")
    term.wait_until_gone()
    assert (workdir / "rc").read_text().strip() == "0"
    picked = orjson.loads((workdir / "picked.json").read_bytes())
    assert picked["id"] == sessions["Parser rewrite plan"] and picked["title"] == "Parser rewrite plan"


def test_pick_without_a_terminal_exits_2_with_one_line(cli, sessions: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    result = cli("pick")
    assert result.code == 2 and result.out == ""
    assert len(result.err.strip().splitlines()) == 1 and result.err.startswith("chit: error: chit pick needs a terminal")


def test_resume_last_is_the_newest_session_of_any_project(cli, api: Chit, sessions: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    api.append(sessions["other"], "user", "the newest message of all")
    result = cli("resume", "--last", "--json")
    assert result.code == 0, result.err
    assert sessions["other"] in " ".join(result.json()["argv"])  # type: ignore[index]
    both = cli("resume", sessions["other"][:8], "--last")
    assert both.code == 2 and "not both" in both.err


def test_slash_resume_in_the_repl_opens_the_picker_and_switches(start, api: Chit, sessions: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    parser = sessions["Parser rewrite plan"]
    term = start(f"{CHIT} chat")
    term.wait_for("chit · ")
    term.type("/resume")
    term.keys("Enter")
    term.wait_for("3 of 3 sessions")
    term.keys("Escape")  # leaves: the REPL stays on its session
    term.wait_for("›")
    term.type("/load")
    term.keys("Enter")
    term.wait_for("3 of 3 sessions")
    term.type("parser")
    term.wait_for("1 of 3 sessions")
    term.keys("Enter")
    term.wait_for(f"loaded {parser.replace('-', '')[:8]}: Parser rewrite plan")
    term.type("/quit")
    term.keys("Enter")
    term.wait_until_gone()
    current = api.current()
    assert current is not None and current.id == parser


def test_a_scripted_load_without_a_ref_is_one_error_line(cli, sessions: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    result = cli("chat", stdin=b"/load\n")
    assert "the session picker needs a terminal" in result.err and len(result.err.strip().splitlines()) == 1
