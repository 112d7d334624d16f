"""The Typer application: the one registry of shell commands.

Help, completion, the man page and docs/cli.md are derived from this app.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from chit import __version__
from chit.cli import cmd_admin, cmd_chat, cmd_export, cmd_import, cmd_read, cmd_write
from chit.cli import cmd_completion, cmd_projects
from chit.cli.context import Cli

HELP = """chit keeps every AI chat session as plain, append-only JSON Lines files,
one store per project, and lets you list, load, fork, rewind, rename, tag,
search and export them.

REF is a session id, a unique id prefix (case-insensitive), ctx_<id> or a
session key; omitted, it means the project's current session.

Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 ambiguous reference,
5 invalid input or data, 6 locked or conflict, 130 interrupted."""


def _version(value: bool) -> None:
    if value:
        print(f"chit {__version__}")
        raise typer.Exit()


def build() -> typer.Typer:
    app = typer.Typer(
        name="chit",
        help=HELP,
        invoke_without_command=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def main(
        ctx: typer.Context,
        json: Annotated[bool, typer.Option("--json", help="Print results as JSON (every command).")] = False,
        project: Annotated[
            Optional[str],
            typer.Option("--project", "-p", metavar="NAME", envvar="CHIT_PROJECT", help="Work in project NAME (default: the git root or directory you are in)."),
        ] = None,
        version: Annotated[
            bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
        ] = False,
    ) -> None:
        ctx.obj = Cli(json=json, project=project)
        if ctx.invoked_subcommand is None:
            if cmd_chat.interactive() and not json:
                cmd_chat.open_repl(ctx.obj, None)
            else:
                typer.echo(ctx.get_help())

    cmd_chat.register(app)
    cmd_write.register(app)
    cmd_read.register(app)
    cmd_export.register(app)
    cmd_import.register(app)
    cmd_admin.register(app)
    cmd_projects.register(app)
    cmd_completion.register(app)
    return app
