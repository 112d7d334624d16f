"""Plain command lines of the read commands, run without loading Typer.

Importing typer and building a command costs more than everything
`chit ls --json` does (DESIGN.md: speed is a feature, and scripts call
`ls`, `show` and `search` in loops). For those commands, `plan` parses the
command line itself and runs the same functions the Typer commands run
(`chit.cli.reads`).

Invariants:
- the option table (`chit.cli.fastpath_table`) is generated from the live
  Typer app by `tools/generate.py` and checked for drift, so names, types
  and defaults are Typer's;
- `plan` answers only command lines whose meaning is certain: known
  options spelled out whole (`--limit 5`, `--limit=5`, `-n 5`, `-n5`),
  whole numbers for numbers, values that do not start with `-`, the right
  number of arguments. Anything else (help, `--`, clusters like `-aq`,
  unknown options, a bad number, a missing argument, shell completion)
  gets None and goes to Typer, which runs it or gives its usual error;
- a plan runs exactly what Typer would have run with the same values
  (`tests/test_cli_fastpath.py` runs command lines both ways and compares
  output, errors and exit codes).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

FAST_COMMANDS = ("ls", "search", "show")
_INT = re.compile(r"-?[0-9]{1,18}\Z")


def plan(args: list[str]) -> Callable[[], int] | None:
    """A runnable plan for `args`, or None when Typer must handle them."""
    if "_CHIT_COMPLETE" in os.environ:
        return None  # click's shell completion protocol
    from chit.cli import fastpath_table as table

    top: dict[str, Any] = dict(table.GLOBAL_DEFAULTS)
    position = _options(args, 0, table.GLOBAL_OPTIONS, top)
    if position is None or position >= len(args) or args[position] not in table.COMMANDS:
        return None
    command = args[position]
    spec = table.COMMANDS[command]
    values: dict[str, Any] = dict(spec["defaults"])
    arguments: list[str] = []
    position += 1
    while position is not None and position < len(args):
        position = _options(args, position, spec["options"], values)
        if position is not None and position < len(args):
            arguments.append(args[position])
            position += 1
    if position is None or not _bind(arguments, spec["arguments"], values):
        return None
    for name, variable in table.GLOBAL_ENV.items():
        if top[name] is None:
            top[name] = os.environ.get(variable) or None
    return lambda: _run(command, top, values)


def _options(args: list[str], position: int, options: dict[str, tuple[str, str]], values: dict[str, Any]) -> int | None:
    """Read options from `position` up to the next argument; returns where
    that argument is (or len(args)), None when unsure."""
    while position < len(args):
        token = args[position]
        if token == "-" or not token.startswith("-"):
            return position
        if token == "--":
            return None
        name, attached = token, None
        if token.startswith("--") and "=" in token:
            name, attached = token.split("=", 1)
        elif not token.startswith("--") and len(token) > 2 and token[:2] in options:
            name, attached = token[:2], token[2:]
            if options[name][1] != "int":
                return None  # -t=x, clusters like -aq: leave them to click
        if name not in options:
            return None
        dest, kind = options[name]
        if kind == "flag":
            if attached is not None:
                return None
            values[dest] = True
            position += 1
            continue
        if attached is None:
            if position + 1 >= len(args):
                return None
            attached = args[position + 1]
            position += 1
        if attached.startswith("-") and not (kind == "int" and _INT.match(attached) and "=" in token):
            return None
        if kind == "int":
            if not _INT.match(attached):
                return None
            values[dest] = int(attached)
        else:
            values[dest] = attached
        position += 1
    return position


def _bind(arguments: list[str], declared: list[tuple[str, bool]], values: dict[str, Any]) -> bool:
    required = sum(1 for _, needed in declared if needed)
    if not required <= len(arguments) <= len(declared):
        return False
    for (dest, _), value in zip(declared, arguments):
        values[dest] = value
    return True


def _run(command: str, top: dict[str, Any], values: dict[str, Any]) -> int:
    from chit.cli import reads
    from chit.cli.context import Cli

    json, jsonl, project = values.pop("json", False), values.pop("jsonl", False), values.pop("project", None)
    cli = Cli(json=top["json"], project=top["project"]).use(json, project, jsonl)
    getattr(reads, command)(cli, **values)
    return 0


def table_source(app_command: Any) -> str:
    """The text of `chit.cli.fastpath_table`, read from the Typer app's
    click command (used by tools/generate.py)."""
    lines = [
        '"""Generated by tools/generate.py from the Typer app: the options of the',
        'commands `chit.cli.fastpath` parses itself. Do not edit."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any",
        "",
    ]
    global_options, global_defaults, global_env = _describe([p for p in app_command.params if not p.is_eager])
    lines.append(f"GLOBAL_OPTIONS: dict[str, tuple[str, str]] = {global_options!r}")
    lines.append(f"GLOBAL_DEFAULTS: dict[str, Any] = {global_defaults!r}")
    lines.append(f"GLOBAL_ENV: dict[str, str] = {global_env!r}")
    lines.append("COMMANDS: dict[str, dict[str, Any]] = {")
    for name in FAST_COMMANDS:
        command = app_command.commands[name]
        options, defaults, env = _describe([p for p in command.params if p.param_type_name == "option"])
        if env:
            raise ValueError(f"{name}: options read from the environment are not supported here")
        arguments = []
        for param in command.params:
            if param.param_type_name == "argument":
                if param.nargs != 1:
                    raise ValueError(f"{name}: only single-word arguments are supported here")
                arguments.append((param.name, bool(param.required)))
                defaults[param.name] = param.default
        lines.append(f"    {name!r}: {{")
        lines.append(f"        'options': {options!r},")
        lines.append(f"        'arguments': {arguments!r},")
        lines.append(f"        'defaults': {defaults!r},")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _describe(params: list[Any]) -> tuple[dict[str, tuple[str, str]], dict[str, Any], dict[str, str]]:
    options: dict[str, tuple[str, str]] = {}
    defaults: dict[str, Any] = {}
    env: dict[str, str] = {}
    for param in params:
        annotation = param.type_descriptor.annotation
        if param.multiple or param.nargs != 1 or param.count or param.secondary_opts or param.callback is not None:
            raise ValueError(f"option {param.opts} is not supported by the fast path")
        if param.is_flag and annotation is bool:
            kind = "flag"
        elif annotation is int:
            kind = "int"
        elif annotation is str:
            kind = "str"
        else:
            raise ValueError(f"option {param.opts}: type {annotation!r} is not supported by the fast path")
        for name in param.opts:
            options[name] = (param.name, kind)
        defaults[param.name] = param.default
        if param.envvar:
            env[param.name] = param.envvar
    return options, defaults, env
