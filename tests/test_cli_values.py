"""chit.cli.values converts plain option values without pydantic; for every
parameter of every command and many values (absent, text, numbers, lists,
paths, oddities) its answer, or its error word for word, is Typer's own."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

import typer
from typer.core import TyperArgument, TyperOption

from chit.cli.app import app
from chit.cli.values import UNSURE, PlainValue

SAMPLES = [None, "", "abc", "12", "-3", "0", "007", "+4", "1_000", " 5", "99999999999999999999", 5, 0, -1, True, False, ["a", "b"], ("x",),
           [1], "Straße", (), []]
# paths, relative to the directory the comparison runs in (made below)
PATHS = ["file.txt", "folder", "folder/", "unreadable", "missing/deeper", "-", ".", "nul\x00byte", "~"]


@pytest.fixture
def in_a_folder_of_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cwd holds a file, a folder and a file its owner cannot read."""
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "folder").mkdir()
    (tmp_path / "unreadable").write_text("x")
    (tmp_path / "unreadable").chmod(0)
    monkeypatch.chdir(tmp_path)


def _outcome(process: Any, ctx: typer.Context, value: Any) -> tuple[Any, ...]:
    try:
        return ("ok", process(ctx, value))
    except Exception as exc:  # the same error, word for word
        return ("error", type(exc).__name__, str(exc))


def _commands() -> list[Any]:
    root = typer.main.get_command(app)
    found = [root]
    for command in root.commands.values():  # type: ignore[attr-defined]
        found.append(command)
        found.extend(getattr(command, "commands", {}).values())
    return found


def test_plain_values_are_typers_values(in_a_folder_of_paths: None) -> None:
    checked = 0
    for command in _commands():
        ctx = typer.Context(command)
        for param in command.get_params(ctx):
            if not isinstance(param, (TyperArgument, TyperOption)) or param.is_eager:
                continue  # eager options (--help, --version) print and exit
            ours = PlainValue(param).process_value
            for value in SAMPLES + PATHS:
                theirs = type(param).process_value
                assert _outcome(ours, ctx, value) == _outcome(lambda c, v: theirs(param, c, v), ctx, value), (command.name, param.name, value)
                checked += 1
    assert checked > 1500


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_path_is_typers_error(in_a_folder_of_paths: None) -> None:
    export = typer.main.get_command(app).commands["export"]  # type: ignore[attr-defined]
    ctx = typer.Context(export)
    output = next(param for param in export.get_params(ctx) if param.name == "output")
    outcome = _outcome(PlainValue(output).process_value, ctx, "unreadable")
    assert outcome[:2] == ("error", "BadParameter") and "is not readable" in outcome[2]


def test_every_parameter_processes_its_values_plainly() -> None:
    for command in _commands():
        ctx = typer.Context(command)
        for param in command.get_params(ctx):
            if isinstance(param, (TyperArgument, TyperOption)):
                assert "process_value" in vars(param), (command.name, param.name)


def test_every_parameter_converts_its_given_values_without_typer(in_a_folder_of_paths: None) -> None:
    """No command line of chit reaches Typer's conversion (and pydantic,
    about 80 ms) for a value of its parameter's type: a path such as
    `export -o`'s and a number with a least value such as `append
    --input-tokens` included."""
    typical = {bool: True, str: "abc", int: "3", list[str]: ["a"], Path: "file.txt"}
    for command in _commands():
        ctx = typer.Context(command)
        for param in command.get_params(ctx):
            if isinstance(param, (TyperArgument, TyperOption)) and not param.is_eager:
                value = typical.get(param.type_descriptor.annotation)
                assert value is not None and PlainValue(param).convert(value) is not UNSURE, (command.name, param.name)
