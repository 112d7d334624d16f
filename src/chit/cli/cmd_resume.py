"""`chit resume`: reopen a session in the tool that wrote it (Claude Code,
Codex, Gemini CLI, opencode), or a chit session in chit's REPL."""

# No `from __future__ import annotations` here: Typer reads these annotations
# when it builds a command, and real objects spare it evaluating strings.

import os
import sys
from typing import Annotated

import typer

from chit.cli.context import Cli
from chit.cli.options import JsonFlag, ProjectOpt, RefArg, commands
from chit.errors import ChitError

app = commands()


@app.command("resume", rich_help_panel="Sessions")
def resume(
    ctx: typer.Context,
    ref: RefArg = None,
    print_: Annotated[bool, typer.Option("--print", help="Print the command instead of running it.")] = False,
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> None:
    """Reopen a session in the tool that wrote it.

    An imported session runs that tool's own resume command in the
    session's working directory (claude --resume ID, codex resume ID,
    gemini --resume ID, opencode --session ID); a chit session opens the
    REPL. --print (or --json) prints the command instead of running it.
    A tool that is not installed or a directory that is gone exits 3."""
    from chit.service import resume as resuming

    cli: Cli = ctx.obj.use(json, project)
    session = cli.service.resolve(ref)
    plan = resuming.plan(session, cli.parts.ctx.locate(session.id).name)
    if print_ or cli.json:
        cli.result(plan.as_dict(), lambda: print(plan.command_line))
        return
    if plan.tool == "chit":
        from chit.cli.cmd_chat import open_repl

        cli.service.set_current(session.id)
        open_repl(cli, session.id)
        return
    _run(resuming.check(plan), plan.argv, plan.cwd)


def _run(executable: str, argv: list[str], cwd: str | None) -> None:
    """Become the tool: its terminal, its signals, its exit status."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        if cwd is not None:
            os.chdir(cwd)
        os.execv(executable, argv)
    except OSError as exc:
        raise ChitError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
