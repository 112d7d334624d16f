"""`chit.cli.main.run(args, env)` runs a command in this process, on the
streams of an injected Environment, and prints what the `chit` program
prints: each case runs both ways on the same store and compares exit
status, stdout and stderr, so the two cannot drift apart."""

from __future__ import annotations

import os
import re
from pathlib import Path

import orjson
import pytest
from conftest import Result, run_cli

from chit.api import Chit
from chit.cli.main import run
from chit.render.environment import Environment

AGE = re.compile(r"\b\d+(s|m|h) ago\b")  # the only text that changes between the two runs
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def in_process(args: list[str], stdin: bytes = b"", variables: dict[str, str] | None = None) -> Result:
    env = Environment.captured(stdin, dict(os.environ) if variables is None else variables)
    code = run(args, env)
    out, err = env.output()
    return Result(code, out.decode("utf-8"), err.decode("utf-8"))


def same(a: Result, b: Result) -> bool:
    return (a.code, AGE.sub("AGE", a.out), AGE.sub("AGE", a.err)) == (b.code, AGE.sub("AGE", b.out), AGE.sub("AGE", b.err))


@pytest.fixture
def store(home: Path, workdir: Path) -> dict[str, str]:
    api = Chit(home, cwd=workdir)
    first = api.create(title="deploy notes", tags=["ops"])
    api.append(first.id, "user", "how do we roll back the **deploy**?")
    api.append(first.id, "assistant", "Run `make rollback`; then check the \x1b[31mlogs\x1b[0m.")
    second = api.create(title="lunch")
    api.append(second.id, "user", "tacos or deploy pizza")
    return {"first": first.id, "second": second.id}


CASES = [
    ["--version"],
    ["ls"],
    ["ls", "--json"],
    ["ls", "--jsonl"],
    ["ls", "-q"],
    ["ls", "-a", "-t", "ops"],
    ["show", "{first}"],
    ["show", "{first}", "--json"],
    ["search", "deploy"],
    ["search", "deploy", "--each"],
    ["search", "deploy", "--json"],
    ["export", "{first}", "-f", "md"],
    ["export", "{first}", "-f", "txt"],
    ["export", "{first}", "-f", "md", "--json"],
    ["projects"],
    ["tree", "{first}"],
    ["config", "--json"],
    ["--help"],
    ["ls", "--help"],
    # errors: one line on stderr (or one JSON error under --json) and the documented exit code
    ["show", "nosuchsession"],
    ["show", "nosuchsession", "--json"],
    ["ls", "--limit", "-1"],
    ["ls", "--bogus"],
    ["ls", "--json", "--jsonl"],
    ["tag"],
    ["export", "--all"],
    ["import", "no/such/file.json"],
]


@pytest.mark.parametrize("args", CASES, ids=" ".join)
def test_in_process_prints_what_the_program_prints(store: dict[str, str], workdir: Path, args: list[str]) -> None:
    argv = [a.format(**store) for a in args]
    here = in_process(argv)
    there = run_cli(argv, cwd=workdir)
    assert same(here, there), (here, there)


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["show", "nosuchsession"], 3, "chit: error: no session matches 'nosuchsession'"),
        (["ls", "--limit", "-1"], 5, "chit: error: --limit must be 0 or more"),
        (["ls", "--bogus"], 2, "chit: error: No such option: --bogus"),
        (["tag"], 2, "chit: error: Missing argument 'REF'."),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else str(value),
)
def test_an_error_in_process_is_one_line_and_its_exit_code(store: dict[str, str], args: list[str], code: int, said: str) -> None:
    result = in_process(args)
    assert (result.code, result.out) == (code, "")
    assert result.err.count("\n") == 1 and result.err.startswith(said), result.err


def test_an_error_under_json_is_one_json_document_on_stderr(store: dict[str, str]) -> None:
    result = in_process(["show", "nosuchsession", "--json"])
    assert (result.code, result.out) == (3, "")
    assert orjson.loads(result.err)["error"]["code"] == "NOT_FOUND"


def test_in_process_output_goes_to_the_environment_only(store: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing reaches the process's own streams: not the result, not the
    help Typer writes, not a note."""
    for args in (["ls"], ["ls", "--json"], ["--help"], ["search", "nothing-like-this"], ["show", "nope"]):
        in_process(args)
    assert capsys.readouterr() == ("", "")


def test_completion_values_go_to_the_environment(store: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """`chit __complete` (the completion scripts' protocol) writes its
    values to the Environment's stdout, as every command does."""
    result = in_process(["__complete", "tag"])
    assert (result.code, result.out, result.err) == (0, "ops\n", "")
    assert capsys.readouterr() == ("", "")


def test_the_repl_draws_with_the_environment(store: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The REPL's consoles (its output and, scripted, its errors) are the
    Environment's: its width and colour, not the process's variables."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "30")
    variables = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")} | {"FORCE_COLOR": "1", "COLUMNS": "120"}
    result = in_process(["chat"], stdin=b"/help\n/nosuchcommand\n", variables=variables)
    assert result.code == 2  # a line that named no slash command
    assert "\x1b[" in result.out and "\x1b[" in result.err  # colour forced by the Environment
    table = [ANSI.sub("", line) for line in result.out.splitlines() if ANSI.sub("", line).startswith("/")]
    assert table and max(map(len, table)) > 30  # laid out for 120 columns, not cut to 30


def test_stdin_comes_from_the_environment(store: dict[str, str], home: Path, workdir: Path) -> None:
    result = in_process(["append", store["second"], "-", "--json"], stdin="from the environment's stdin".encode())
    assert result.code == 0, result.err
    assert Chit(home, cwd=workdir).get(store["second"]).messages[-1].content == "from the environment's stdin"


def test_the_config_colour_is_applied_without_touching_os_environ(store: dict[str, str], home: Path, workdir: Path) -> None:
    (home / "config.toml").write_text('[defaults]\ncolor = "always"\n')
    before = dict(os.environ)
    variables = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    coloured = in_process(["ls"], variables=variables)
    assert "\x1b[" in coloured.out  # forced into a captured stream, as into a pipe
    assert dict(os.environ) == before
    assert same(coloured, run_cli(["ls"], cwd=workdir, env=variables))
    (home / "config.toml").write_text('[defaults]\ncolor = "never"\n')
    plain = in_process(["ls"], variables={**variables, "FORCE_COLOR": "1"})
    assert "\x1b[3" not in plain.out and "\x1b[9" not in plain.out
    assert dict(os.environ) == before


def test_the_environment_decides_width_and_colour(store: dict[str, str]) -> None:
    """COLUMNS and NO_COLOR are read from the Environment's variables, not
    from the process's."""
    narrow = in_process(["ls"], variables={"COLUMNS": "40", "NO_COLOR": "1"})
    assert max(map(len, narrow.out.splitlines())) <= 40
    assert "turns" not in narrow.out  # a narrow listing drops its least useful columns
    wide = in_process(["ls"], variables={"COLUMNS": "200", "NO_COLOR": "1"})
    assert "turns" in wide.out and "tags" in wide.out
    forced = in_process(["ls"], variables={"FORCE_COLOR": "1", "COLUMNS": "120"})
    assert "\x1b[" in forced.out
