"""The command reference, generated from the live Typer app.

Invariant: docs/cli.md's generated block is exactly `markdown()`; a test
regenerates it and fails on drift (run `python tools/generate.py` after
changing a command).
"""

from __future__ import annotations

from typing import Any

BEGIN = "<!-- BEGIN GENERATED REFERENCE: python tools/generate.py -->"
END = "<!-- END GENERATED REFERENCE -->"


def root_command() -> Any:
    from typer.main import get_command

    from chit.cli.app import build

    return get_command(build())


_TYPE_METAVARS = {"str": "TEXT", "int": "N", "float": "NUMBER", "Path": "FILE"}


def _param_line(param: Any) -> str | None:
    if getattr(param, "hidden", False) or param.name == "help":
        return None
    if param.param_type_name == "argument":
        name = param.metavar or param.name.upper()
        text = getattr(param, "help", None) or ""
        return f"- `{name}`" + (f": {text}" if text else "")
    names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
    if not param.is_flag:
        metavar = param.metavar or _TYPE_METAVARS.get(param.bare_type(), param.bare_type().upper())
        names += f" `{metavar}`"
    text = param.help or ""
    default = param.default
    if not param.is_flag and default not in (None, (), []) and not callable(default):
        text += f" (default: {default})"
    if param.multiple and "repeatable" not in text:
        text += " (repeatable)"
    return f"- {names}" + (f": {text.strip()}" if text else "")


def _usage(command: Any, name: str) -> str:
    pieces = []
    for param in command.params:
        if param.param_type_name == "argument":
            pieces.append(param.metavar or param.name.upper())
    if getattr(command, "commands", None):
        pieces.insert(0, "[COMMAND]" if getattr(command, "invoke_without_command", False) else "COMMAND")
    return " ".join(["chit", name, "[OPTIONS]", *pieces])


def _visible(group: Any, prefix: str) -> list[tuple[str, Any]]:
    """Every visible command under `group`, by name, subcommands after their group."""
    found: list[tuple[str, Any]] = []
    for name in sorted(getattr(group, "commands", {})):
        command = group.commands[name]
        if not command.hidden:
            found.append((prefix + name, command))
            found.extend(_visible(command, f"{prefix}{name} "))
    return found


def markdown() -> str:
    root = root_command()
    out = [BEGIN, ""]
    out.append("### Global options")
    out.append("")
    out.extend(line for line in (_param_line(p) for p in root.params) if line)
    out.append("")
    for name, command in _visible(root, ""):
        out.append(f"### `chit {name}`")
        out.append("")
        out.append((command.help or "").strip())
        out.append("")
        out.append("```")
        out.append(_usage(command, name))
        out.append("```")
        out.append("")
        lines = [line for line in (_param_line(p) for p in command.params) if line]
        out.extend(lines)
        if lines:
            out.append("")
    out.append(END)
    return "\n".join(out)
