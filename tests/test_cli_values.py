"""chit.cli.values converts plain option values without pydantic; for every
parameter of every command and many values (absent, text, numbers, lists,
oddities) its answer, or its error word for word, is Typer's own."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperArgument, TyperOption

from chit.cli.app import app
from chit.cli.values import PlainValue

SAMPLES = [None, "", "abc", "12", "-3", "007", "+4", "1_000", " 5", "99999999999999999999", 5, True, False, ["a", "b"], ("x",), [1], "Straße", (), []]


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


def test_plain_values_are_typers_values() -> None:
    checked = 0
    for command in _commands():
        ctx = typer.Context(command)
        for param in command.get_params(ctx):
            if not isinstance(param, (TyperArgument, TyperOption)) or param.is_eager:
                continue  # eager options (--help, --version) print and exit
            ours = PlainValue(param).process_value
            for value in SAMPLES:
                theirs = type(param).process_value
                assert _outcome(ours, ctx, value) == _outcome(lambda c, v: theirs(param, c, v), ctx, value), (command.name, param.name, value)
                checked += 1
    assert checked > 1500


def test_every_parameter_processes_its_values_plainly() -> None:
    for command in _commands():
        ctx = typer.Context(command)
        for param in command.get_params(ctx):
            if isinstance(param, (TyperArgument, TyperOption)):
                assert "process_value" in vars(param), (command.name, param.name)
