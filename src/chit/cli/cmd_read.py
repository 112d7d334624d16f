"""Commands that read: ls, show, load, search (`projects` is in cmd_projects)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from chit.cli import reads
from chit.cli.context import Cli
from chit.cli.options import AllFlag, JsonFlag, JsonlFlag, ProjectOpt, RefArg



def register(app: typer.Typer) -> None:
    @app.command("ls", rich_help_panel="Sessions")
    def ls(
        ctx: typer.Context,
        all_projects: AllFlag = False,
        limit: Annotated[Optional[int], typer.Option("--limit", "-n", metavar="N", help="Show at most N sessions (0: all; default: the config's limit, 50).", show_default=False)] = None,
        tag: Annotated[Optional[str], typer.Option("--tag", "-t", metavar="TAG", help="Only sessions with this tag.")] = None,
        state: Annotated[Optional[str], typer.Option("--state", metavar="STATE", help="Only sessions in this state: idle, running or error.")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print full ids only, one per line.")] = False,
        agents: Annotated[bool, typer.Option("--agents", help="Also list sub-agents' sessions (imported from Claude Code).")] = False,
        project: ProjectOpt = None,
        json: JsonFlag = False,
        jsonl: JsonlFlag = False,
    ) -> None:
        """List sessions, newest first."""
        reads.ls(
            ctx.obj.use(json, project, jsonl), all_projects=all_projects, limit=limit, tag=tag, state=state, quiet=quiet,
            agents=agents,
        )

    @app.command("show", rich_help_panel="Sessions")
    def show(
        ctx: typer.Context,
        ref: RefArg = None,
        no_pager: Annotated[bool, typer.Option("--no-pager", help="Never page long output.")] = False,
        project: ProjectOpt = None,
        json: JsonFlag = False,
    ) -> None:
        """Print a session's transcript with turn numbers."""
        reads.show(ctx.obj.use(json, project), ref=ref, no_pager=no_pager)

    @app.command("load", rich_help_panel="Sessions")
    def load(
        ctx: typer.Context,
        ref: RefArg = None,
        no_pager: Annotated[bool, typer.Option("--no-pager", help="Never page long output.")] = False,
        project: ProjectOpt = None,
        json: JsonFlag = False,
    ) -> None:
        """Resume a session: make it current and open the REPL on it.

        Without a terminal, or with --json, print the session instead."""
        cli: Cli = ctx.obj.use(json, project)
        session = cli.service.resolve(ref)
        cli.service.set_current(session.id)
        from chit.cli.cmd_chat import interactive, open_repl

        if interactive() and not cli.json:
            open_repl(cli, session.id)
            return
        reads.print_session(cli, session, not no_pager and cli.config.pager)

    @app.command("search", rich_help_panel="Sessions")
    def search(
        ctx: typer.Context,
        query: Annotated[str, typer.Argument(metavar="QUERY", help="Text to find (case-insensitive) in messages and titles.")],
        limit: Annotated[int, typer.Option("--limit", "-n", metavar="N", help="Show at most N hits (0: all).")] = 20,
        role: Annotated[Optional[str], typer.Option("--role", "-r", metavar="ROLE", help="Only messages with this role: system, user, assistant or tool.")] = None,
        tag: Annotated[Optional[str], typer.Option("--tag", "-t", metavar="TAG", help="Only sessions with this tag.")] = None,
        project: ProjectOpt = None,
        json: JsonFlag = False,
        jsonl: JsonlFlag = False,
    ) -> None:
        """Search every project (or -p one) for text, newest first."""
        reads.search(ctx.obj.use(json, project, jsonl), query=query, limit=limit, role=role, tag=tag)
