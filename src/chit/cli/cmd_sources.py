"""`chit sources`: the tools found here and the ones `chit import` (with no
argument) refreshes; `add` and `rm` change config.toml's [sources]."""

# No `from __future__ import annotations` here: Typer reads these annotations
# when it builds a command, and real objects spare it evaluating strings.

from pathlib import Path
from typing import Annotated, Optional

import typer

from chit.cli.context import Cli
from chit.cli.options import JsonFlag, commands
from chit.errors import InvalidInput, NotFound, UsageError
from chit.render.environment import Environment
from chit.render.result import Result, saying

TOOLS = ("claude-code", "codex", "chatgpt", "llm", "gemini", "opencode")  # as chit.importers.NAMES

app = commands(
    name="sources",
    invoke_without_command=True,
    no_args_is_help=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_help_panel="Move data",
)


def _complete_tool(incomplete: str) -> list[str]:
    return [t for t in TOOLS if t.startswith(incomplete)]


ToolArg = Annotated[str, typer.Argument(metavar="TOOL", help="claude-code, codex, chatgpt, llm, gemini or opencode.", autocompletion=_complete_tool)]


@app.callback()
def sources(ctx: typer.Context, json: JsonFlag = False) -> Optional[Result]:
    """List the tools chit imports from: found here, and enabled.

    A tool is found when its data is where the tool keeps it; an enabled
    tool is refreshed by `chit import` with no argument (and, with
    `refresh` set in [sources] of config.toml, by ls and search)."""
    cli: Cli = ctx.obj.use(json)
    if ctx.invoked_subcommand is not None:
        return None
    from chit import sources as configured

    rows = configured.rows(cli.config.sources)

    def line(row: "configured.SourceRow") -> str:
        state = "enabled " if row.enabled else ("found   " if row.found else "-       ")
        paths = [p if p is not None else f"{row.default_path} (default)" for p in row.enabled]
        where = ", ".join(paths) if paths else (row.default_path or "(give its file: chit sources add chatgpt FILE)")
        return f"{row.tool:<12} {state} {where}"

    return Result([r.as_dict() for r in rows], saying(*map(line, rows)))


@app.command("add")
def add(
    ctx: typer.Context,
    tool: ToolArg,
    path: Annotated[Optional[str], typer.Argument(metavar="[PATH]", help="Where its data is (default: where the tool keeps it).", show_default=False)] = None,
    json: JsonFlag = False,
) -> Result:
    """Enable a tool (at PATH, or its default path) for `chit import`."""
    cli: Cli = ctx.obj.use(json)
    from chit import importers

    _known(tool)
    if path is None and importers.get(tool).default_path() is None:
        raise UsageError(f"{tool} has no default path; give its file, e.g. `chit sources add {tool} ~/Downloads/conversations.json`")
    if path is not None:
        if not Path(path).expanduser().exists():
            raise NotFound(f"no such file or directory: {path}")
        from chit.importers.base import check_source_path

        check_source_path(Path(path).expanduser())  # a FIFO or device: every refresh would find nothing
        path = str(Path(path).expanduser().absolute())
    current = cli.config.sources.get(tool, ())
    return _write(cli, tool, tuple(dict.fromkeys((*current, path))))


@app.command("rm")
def rm(
    ctx: typer.Context,
    tool: ToolArg,
    path: Annotated[Optional[str], typer.Argument(metavar="[PATH]", help="Only this path of the tool (default: all of them).", show_default=False)] = None,
    json: JsonFlag = False,
) -> Result:
    """Stop refreshing a tool (or one PATH of it); its sessions stay in chit."""
    cli: Cli = ctx.obj.use(json)
    _known(tool)
    current = cli.config.sources.get(tool, ())
    if path is None:
        kept: tuple[Optional[str], ...] = ()
    else:
        wanted = {path, str(Path(path).expanduser().absolute())}
        kept = tuple(p for p in current if p is None or p not in wanted and str(Path(p).expanduser().absolute()) not in wanted)
        if kept == current:
            raise NotFound(f"{path} is not a source of {tool} (`chit sources` lists them)")
    if not current:
        raise NotFound(f"{tool} is not enabled (`chit sources` lists the sources)")
    return _write(cli, tool, kept)


def _known(tool: str) -> None:
    from chit import importers

    if tool not in importers.NAMES:
        raise InvalidInput(f"unknown tool {tool!r} (expected one of: {', '.join(importers.NAMES)})")


def _write(cli: Cli, tool: str, paths: tuple[Optional[str], ...]) -> Result:
    from chit import sources as configured

    configured.set_paths(cli.config.path, tool, paths)
    row = {"tool": tool, "enabled": bool(paths), "paths": list(paths), "config": str(cli.config.path)}
    return Result(row, saying(f"{tool}: {'enabled' if paths else 'disabled'} in {cli.config.path}"))
