"""Data never drives the terminal (docs/architecture.md, rule 11).

A store whose session files hold escape sequences — OSC 52 (clipboard
write), OSC 0 (window title), OSC 8 (link), CSI 2J (clear screen), BEL, a
C1 CSI (U+009B) and rich markup — in the content, title, tags, project name
and project path. Every human command runs as a real `chit` subprocess, in
a pipe and on a pseudo-terminal; none of those bytes reaches stdout or
stderr, they are shown as visible symbols, and `--json` keeps them exact.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from chit.api import Chit
from conftest import Result
from terminal_progress import read_until_closed

HOSTILE = (
    "\x1b]52;c;cHduZWQ=\x07"  # OSC 52: write "pwned" to the clipboard
    "\x1b]0;pwned-title\x07"  # OSC 0: set the window title
    "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\"  # OSC 8: a hyperlink
    "\x1b[2J"  # CSI 2J: clear the screen
    "\x07"  # BEL
    "\x9b31m"  # C1 CSI: red, for terminals that obey C1
    "\r"  # a lone carriage return: overwrite the line
    "[bold]markup[/bold] :smile:"  # rich markup and emoji codes are data too
)
# How HOSTILE is shown: control pictures for C0, `\x9b` for C1.
SHOWN = (
    "␛]52;c;cHduZWQ=␇␛]0;pwned-title␇␛]8;;http://evil.example/␛\\link␛]8;;␛\\"
    "␛[2J␇\\x9b31m␍[bold]markup[/bold] :smile:"
)
# What must never reach the terminal from the data (rich's own colour codes may).
FORBIDDEN = ("\x1b]", "\x1b[2J", "\x07", "\x9b", "\x1b\\", "\r")


def _poison(home: Path, workdir: Path) -> str:
    """A session made with placeholders, then its files rewritten so the
    content, title, tag, project name and path hold HOSTILE."""
    api = Chit(home, cwd=workdir)
    session = api.create(title="TITLE", tags=["TAG"])
    api.append(session.id, "user", "needle CONTENT")
    api.append(session.id, "assistant", "**needle** CONTENT\n\n```python\nprint('CONTENT')\n```")
    project_dir = next((home / "projects").iterdir())
    for path in [project_dir / "project.json", *(project_dir / "sessions").glob("*.jsonl")]:
        text = path.read_text()
        for word in ("TITLE", "TAG", "CONTENT"):
            text = text.replace(word, orjson.dumps(word + HOSTILE).decode()[1:-1])
        text = text.replace(f'"name": "{workdir.name}"', f'"name": {orjson.dumps(workdir.name + HOSTILE).decode()}')
        text = text.replace(f'"path": "{workdir}"', f'"path": {orjson.dumps(str(workdir) + HOSTILE).decode()}')
        path.write_text(text)
    for index in home.glob("index*"):
        index.unlink()
    return session.id


@pytest.fixture
def poisoned(home: Path, workdir: Path) -> str:
    return _poison(home, workdir)


HUMAN_COMMANDS = [
    ["ls"],
    ["ls", "-a"],
    ["show"],
    ["show", "--no-pager"],
    ["search", "needle"],
    ["projects"],
    ["export", "-f", "txt"],
    ["export", "-f", "md"],
]


def _assert_neutral(output: str) -> None:
    for sequence in FORBIDDEN:
        assert sequence not in output, f"{sequence!r} reached the terminal:\n{output!r}"


@pytest.mark.parametrize("args", HUMAN_COMMANDS, ids=" ".join)
def test_human_output_in_a_pipe_shows_escapes_and_obeys_none(cli, poisoned: str, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    r: Result = cli(*args, env={"NO_COLOR": "1"})
    assert r.code == 0, r.err
    assert "\x1b" not in r.out + r.err and "\x9b" not in r.out + r.err and "\x07" not in r.out + r.err
    assert "\u241b]52;c;cHduZWQ=\u2407" in r.out  # shown, visibly
    if args[0] != "export":
        assert "[bold]markup[/bold] :smile:" in r.out  # never read as markup or emoji


def test_show_shows_every_field_visibly(cli, poisoned: str) -> None:  # type: ignore[no-untyped-def]
    out = cli("show", env={"NO_COLOR": "1", "COLUMNS": "400"}).out
    assert f"TITLE{SHOWN}" in out and f"TAG{SHOWN}" in out and f"needle CONTENT{SHOWN}" in out


def test_json_keeps_the_data_byte_exact(cli, poisoned: str) -> None:  # type: ignore[no-untyped-def]
    shown = cli("show", "--json").json()
    assert isinstance(shown, dict)
    assert shown["title"] == "TITLE" + HOSTILE and shown["tags"] == ["TAG" + HOSTILE]
    assert shown["messages"][0]["content"] == "needle CONTENT" + HOSTILE
    listed = cli("ls", "-a", "--json").json()
    assert isinstance(listed, list) and listed[0]["project_name"].endswith(HOSTILE)
    projects = cli("projects", "--json").json()
    assert isinstance(projects, list) and projects[0]["path"].endswith(HOSTILE)


def run_on_pty(args: list[str], cwd: Path, timeout: float = 30.0) -> str:
    """`chit args` with stdin, stdout and stderr on a pseudo-terminal; all it wrote."""
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200", "LINES": "50", "PAGER": "cat"}
    for name in ("NO_COLOR", "CHIT_DEBUG"):
        env.pop(name, None)
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "chit", *args], stdin=child, stdout=child, stderr=child, cwd=cwd, env=env)
    os.close(child)
    seen = read_until_closed(main, proc, timeout)
    proc.wait(timeout=5)
    os.close(main)
    return seen.decode("utf-8", "replace")


@pytest.mark.parametrize("args", HUMAN_COMMANDS, ids=" ".join)
def test_human_output_on_a_terminal_obeys_no_escape_from_data(poisoned: str, workdir: Path, args: list[str]) -> None:
    output = run_on_pty(args, workdir)
    assert "\u241b]52;c;cHduZWQ=\u2407" in output, output
    # the pty turns "\n" into "\r\n"; any other carriage return came from data
    _assert_neutral(output.replace("\r\n", "\n"))


def test_an_error_message_quoting_data_obeys_no_escape(cli, home: Path, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    """An ambiguous prefix names every candidate with its title."""
    api = Chit(home, cwd=workdir)
    ids = [api.create(title="TITLE").id for _ in range(17)]  # two of them share a first hex digit
    for path in (next((home / "projects").iterdir()) / "sessions").glob("*.jsonl"):
        path.write_text(path.read_text().replace("TITLE", orjson.dumps("TITLE" + HOSTILE).decode()[1:-1]))
    for index in home.glob("index*"):
        index.unlink()
    prefix = next(i[0] for i in ids if sum(j[0] == i[0] for j in ids) > 1)
    r: Result = cli("show", prefix)
    assert r.code == 4 and r.err.startswith("chit: error:") and f"TITLE{SHOWN}" in r.err
    _assert_neutral(r.err)


def test_the_console_shows_what_a_renderer_let_through() -> None:
    """The render hook is the last line of defence: text that reached rich
    without `visible` still leaves it visible, and rich's styles still work."""
    import io

    from rich.text import Text

    from chit.render.console import make_console

    buffer = io.StringIO()
    console = make_console(file=buffer, force_terminal=True, color_system="standard", width=200)
    console.print(Text("a\x1b]0;t\x9bz", style="red"), "[bold]b[/bold]")
    printed = buffer.getvalue()
    assert "a\u241b]0;t\\x9bz" in printed and "[bold]b[/bold]" in printed
    assert "\x1b[31m" in printed and "\x1b]" not in printed and "\x9b" not in printed


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_a_json_export_on_a_terminal_carries_no_raw_control(poisoned: str, workdir: Path, fmt: str) -> None:
    """JSON escapes C0 controls itself; C1 controls go out as \\u escapes,
    so the export still decodes to the exact text."""
    output = run_on_pty(["export", "-f", fmt], workdir).replace("\r\n", "\n")
    _assert_neutral(output)
    first = orjson.loads(output.splitlines()[0] if fmt == "jsonl" else output)
    header = first if fmt == "jsonl" else first["session"]
    assert header["title"] == "TITLE" + HOSTILE


# Bidirectional formatting characters: an override (U+202E) reverses what
# follows it on the line, so a title could make the columns after it (turns,
# messages, age, project) read as something else; isolates (U+2066-U+2069)
# and embeddings (U+202A-U+202D) reorder alike. Marks (U+200E, U+200F) that
# right-to-left text uses are kept.
BIDI = "\u202aA\u202bB\u202cC\u202dD\u202eE\u2066F\u2067G\u2068H\u2069"
BIDI_SHOWN = "\\u202aA\\u202bB\\u202cC\\u202dD\\u202eE\\u2066F\\u2067G\\u2068H\\u2069"


@pytest.mark.parametrize("args", [["ls"], ["show"], ["search", "needle"], ["export", "-f", "txt"]], ids=" ".join)
def test_bidi_controls_in_data_are_shown_not_obeyed(cli, home: Path, workdir: Path, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    api = Chit(home, cwd=workdir)
    session = api.create(title="TITLE" + BIDI + " \u200fשלום\u200e")
    api.append(session.id, "user", "needle " + BIDI)
    r: Result = cli(*args, env={"NO_COLOR": "1", "COLUMNS": "400"})
    assert r.code == 0, r.err
    for char in BIDI[::2]:
        assert char not in r.out + r.err, f"{char!r} reached the terminal:\n{r.out!r}"
    assert BIDI_SHOWN in r.out
    if args[0] == "ls":
        assert "\u200fשלום\u200e" in r.out  # right-to-left text and its marks are left alone
    assert cli("show", "--json").json()["messages"][0]["content"] == "needle " + BIDI  # the data kept exact
