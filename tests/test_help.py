"""Every help screen reads like a well-kept Unix tool's. The commands come
from the live Typer app (docs/architecture.md, rule 7); each `--help` runs through
chit's real entry point at 80 and at 40 columns, and the real `chit`
program is run for the top-level help and a narrow one.

A help screen never shows an internal placeholder (`<str>`, `<bool>`,
`<list[str]>`), a doubled bracket (`[[REF]]`), braces in its usage line
(`{REF}`), a line wider than the terminal or a cut-off word (`…`); every
argument and option has a readable metavar and a help text; every
summary is one complete sentence, on one line of `chit --help`.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from conftest import Result

WIDTHS = (80, 40)
PLACEHOLDER = re.compile(r"<[^<>\s]*>")
METAVAR = re.compile(r"\[?[A-Z][A-Z0-9_=|-]*\]?(\.\.\.)?( \[?[A-Z][A-Z0-9_=|-]*\]?(\.\.\.)?)*\Z")


def _root() -> Any:
    from typer.main import get_command

    from chit.cli.app import build

    return get_command(build())


def _walk(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        if not sub.hidden:
            found.extend(_walk(sub, (*path, name)))
    return found


PATHS = _walk(_root(), ())
IDS = [" ".join(path) or "chit" for path, _ in PATHS]


def _params(command: Any) -> list[Any]:
    return [p for p in command.params if not getattr(p, "hidden", False)]


def _summary(command: Any) -> str:
    return (command.help or "").strip().split("\n\n")[0]


def _usage(text: str) -> str:
    """The usage line(s): from `Usage:` to the first blank line."""
    start = text.index("Usage:")
    end = text.find("\n\n", start)
    return text[start : end if end >= 0 else len(text)]


@pytest.fixture
def helps(home: Any, workdir: Any, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]):  # type: ignore[no-untyped-def]
    """`helps(path, width)`: `chit PATH --help` at `width` columns, in-process."""
    from chit.cli.main import run

    def call(path: tuple[str, ...], width: int) -> Result:
        monkeypatch.setenv("COLUMNS", str(width))
        code = run([*path, "--help"])
        captured = capsysbinary.readouterr()
        return Result(code, captured.out.decode("utf-8"), captured.err.decode("utf-8"))

    return call


def test_the_walk_finds_commands_and_subcommands() -> None:
    assert {"ls", "rewind", "projects", "projects mv"} <= set(IDS)


@pytest.mark.parametrize("path", [p for p, _ in PATHS], ids=IDS)
@pytest.mark.parametrize("width", WIDTHS)
def test_a_help_screen_has_no_internal_notation(helps, path: tuple[str, ...], width: int) -> None:  # type: ignore[no-untyped-def]
    r = helps(path, width)
    assert r.code == 0 and r.err == "", r.err
    text = r.out
    assert not PLACEHOLDER.search(text), PLACEHOLDER.findall(text)
    assert "[[" not in text and "]]" not in text, text
    usage = _usage(text)
    assert " ".join(["chit", *path]) in " ".join(usage.split()), usage
    assert "{" not in usage and "}" not in usage, usage
    assert "…" not in text, text
    for line in text.splitlines():
        assert len(line) <= width, f"{len(line)} > {width}: {line!r}"


@pytest.mark.parametrize("path", [p for p, _ in PATHS], ids=IDS)
def test_every_argument_and_option_is_named_and_explained(helps, path: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    command = dict(PATHS)[path]
    text = helps(path, 80).out
    flat = " ".join(text.split())
    for param in _params(command):
        assert (param.help or "").strip(), f"{param.name} has no help"
        assert " ".join(param.help.split()) in flat, f"the help of {param.name} is not shown whole"
        if param.param_type_name == "argument" or not param.is_flag:
            assert param.metavar and METAVAR.match(param.metavar), f"{param.name}: metavar {param.metavar!r}"
            assert param.metavar in flat, param.metavar
        for name in param.opts if param.param_type_name == "option" else ():
            assert re.search(rf"(^|[\s,]){re.escape(name)}([\s,=]|$)", text, re.MULTILINE), name


@pytest.mark.parametrize("path", [p for p, _ in PATHS if p], ids=IDS[1:])
def test_a_summary_is_one_complete_sentence(helps, path: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    summary = _summary(dict(PATHS)[path])
    assert "\n" not in summary, f"a hard line break in {summary!r}"
    assert summary[:1].isupper() and summary.endswith("."), summary
    assert summary.count("(") == summary.count(")") and summary.count("`") % 2 == 0, summary
    for width in WIDTHS:
        assert summary in " ".join(helps(path, width).out.split()), (width, summary)


@pytest.mark.parametrize("path", [p for p, c in PATHS if getattr(c, "commands", None)], ids=[i for (_, c), i in zip(PATHS, IDS) if getattr(c, "commands", None)])
def test_a_command_list_shows_each_summary_on_one_line(helps, path: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    group = dict(PATHS)[path]
    lines = helps(path, 80).out.splitlines()
    for name, sub in group.commands.items():
        if sub.hidden:
            continue
        row = [line for line in lines if re.match(rf"\s+{re.escape(name)}\s", line)]
        assert row and row[0].split(None, 1)[1].strip() == _summary(sub), (name, row)


def test_the_real_program_at_80_and_40_columns(cli) -> None:  # type: ignore[no-untyped-def]
    top = cli("--help", env={"COLUMNS": "80"})
    assert top.code == 0 and top.out.startswith("Usage: chit [OPTIONS] [COMMAND] [ARGS]..."), top.out
    assert not PLACEHOLDER.search(top.out) and "  -p, --project NAME" in top.out
    narrow = cli("rewind", "-h", env={"COLUMNS": "40"})
    assert narrow.code == 0 and " ".join(_usage(narrow.out).split()) == "Usage: chit rewind [OPTIONS] [REF] [TURN]", narrow.out
    assert max(len(line) for line in narrow.out.splitlines()) <= 40, narrow.out
    assert "{" not in narrow.out and "[[" not in narrow.out and not PLACEHOLDER.search(narrow.out), narrow.out
