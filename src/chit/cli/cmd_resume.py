"""`chit resume`: reopen a session in the tool that wrote it (Claude Code,
Codex, Gemini CLI, opencode), or a chit session in chit's REPL; without a
REF on a terminal, the session picker chooses it. `chit pick`: the same
picker, printing the chosen id."""

# No `from __future__ import annotations` here: Typer reads these annotations
# when it builds a command, and real objects spare it evaluating strings.

import os
from typing import Annotated, NoReturn

import typer

from chit.cli.context import Cli
from chit.cli.options import JsonFlag, ProjectOpt, RefArg, commands
from chit.errors import ChitError, ExitStatus, NotFound, UsageError
from chit.render.environment import Environment
from chit.render.result import Result, writing

app = commands()


@app.command("resume", rich_help_panel="Sessions")
def resume(
    ctx: typer.Context,
    ref: RefArg = None,
    print_: Annotated[bool, typer.Option("--print", help="Print the command instead of running it.")] = False,
    last: Annotated[bool, typer.Option("--last", help="The most recently updated session of any project.")] = False,
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Reopen a session in the tool that wrote it.

    An imported session runs that tool's own resume command in the
    session's working directory (claude --resume ID, codex resume ID,
    gemini --resume ID, opencode --session ID); a chit session opens the
    REPL. --print (or --json) prints the command instead of running it.
    A tool that is not installed or a directory that is gone exits 3.

    Without a REF, on a terminal, a picker lists the project's sessions
    (see `chit pick`); Esc leaves it, changing nothing. Off a terminal,
    or with --print or --json, no REF means the current session."""
    from chit.service import resume as resuming

    cli: Cli = ctx.obj.use(json, project)
    if not (print_ or cli.json):
        from chit.cli.autosync import auto_sync

        auto_sync(cli, "before resuming")
    if last:
        ref = _last(cli, ref)
    elif ref is None and not (print_ or cli.json) and cli.env.interactive:
        ref = _pick(cli)
        if ref is None:
            return Result()
    session = cli.service.resolve(ref)
    plan = resuming.plan(session, cli.parts.ctx.locate(session.id).name)
    if print_ or cli.json:
        return Result(plan.as_dict(), writing(plan.command_line + "\n"))
    if plan.tool == "chit":
        from chit.cli.cmd_chat import open_repl

        cli.service.set_current(session.id)
        return open_repl(cli, session.id)
    _run(cli.env, resuming.check(plan), plan.argv, plan.cwd)


@app.command("pick", rich_help_panel="Sessions")
def pick(ctx: typer.Context, project: ProjectOpt = None, json: JsonFlag = False) -> Result:
    """Choose a session in the picker and print its id.

    The picker lists the project's sessions newest first; typing filters
    them fuzzily on title, tags, project and id, and a leading / (or
    Ctrl-F) searches message content. Tab switches to every project;
    Ctrl-R renames, Ctrl-T tags, Ctrl-O forks, Ctrl-D moves to the trash
    and Ctrl-Z brings it back. Enter prints the highlighted id (so
    `chit show $(chit pick)` works; --json prints its summary as `ls
    --json` does); Esc or Ctrl-C exits 130 printing nothing. Without a
    terminal it exits 2."""
    cli: Cli = ctx.obj.use(json, project)
    if not cli.env.stdin_isatty:
        raise UsageError("chit pick needs a terminal to show the picker on; `chit ls` lists the sessions")
    chosen = _pick(cli)
    if chosen is None:
        return Result(status=int(ExitStatus.INTERRUPTED))
    where = cli.parts.ctx.locate(chosen) if cli.json else None
    summary = cli.service.get(chosen).summary(where.name, where.slug) if where else None
    return Result(summary.as_dict() if summary else None, writing(chosen + "\n"))


def _pick(cli: Cli) -> str | None:
    """The id chosen in the picker, or None when it was left."""
    from chit.cli.catchup import when_listing_lagging
    from chit.repl.picker.app import choose
    from chit.repl.picker.state import Picker

    when_listing_lagging(cli, progress=False)  # nothing on stderr once the picker's screen is up
    try:
        picker = Picker(cli.service)  # its first listing; the rest is listed under the picker's screen
    finally:
        cli.parts.queries.on_listing_lagging = None
    return choose(picker)


def _last(cli: Cli, ref: str | None) -> str:
    """The id of the most recently updated session of any project."""
    if ref is not None:
        raise UsageError("give a REF or --last, not both")
    found = cli.service.list(all_projects=True, limit=1)
    if not found:
        raise NotFound("no sessions yet: `chit new` or `chit chat` starts one")
    return found[0].id


def _run(env: Environment, executable: str, argv: list[str], cwd: str | None) -> NoReturn:
    """Become the tool: its terminal, its signals, its exit status."""
    env.stdout.flush()
    env.stderr.flush()
    try:
        if cwd is not None:
            os.chdir(cwd)
        os.execv(executable, argv)
    except OSError as exc:
        raise ChitError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
