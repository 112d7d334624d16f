"""The Typer application: the one registry of shell commands.

Help, completion, the man page and docs/cli.md are derived from this app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Optional, cast

import typer

from chit import __version__
from chit.cli import cmd_admin, cmd_chat, cmd_completion, cmd_export, cmd_import, cmd_projects, cmd_read, cmd_resume, cmd_write
from chit.cli.context import Cli

HELP = """chit keeps every AI chat session as plain, append-only JSON Lines files,
one store per project, and lets you list, load, fork, rewind, rename, tag,
search and export them.

REF is a session id, a unique id prefix (case-insensitive), ctx_ID or a
session key; omitted, it means the project's current session.

Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 ambiguous reference,
5 invalid input or data, 6 locked or conflict, 130 interrupted."""


def _version(value: bool) -> None:
    if value:
        print(f"chit {__version__}")
        raise typer.Exit()


class _OnlyOne:
    """Stands in for the app during registration so that just one command
    is built: every run pays for the command it runs, not for all of them.
    The modules' own `register` calls stay the one list of commands."""

    def __init__(self, app: typer.Typer, name: str) -> None:
        self.app = app
        self.name = name
        self.found = False

    def command(self, name: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        if name != self.name:
            return lambda function: function
        self.found = True
        return self.app.command(name, **options)

    def add_typer(self, group: typer.Typer, **options: Any) -> None:
        if (options.get("name") or group.info.name) == self.name:
            self.found = True
            self.app.add_typer(group, **options)


def build(only: str | None = None) -> typer.Typer:
    """The app; with `only`, an app holding just that command (falls back to
    all commands when there is no such command, for the usual error)."""
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
        json: Annotated[bool, typer.Option("--json", help="Print results as JSON (every command but chat).")] = False,
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

    modules = (cmd_chat, cmd_write, cmd_read, cmd_resume, cmd_export, cmd_import, cmd_admin, cmd_projects, cmd_completion)
    if only is not None:
        single = _OnlyOne(app, only)
        for module in modules:
            module.register(cast(typer.Typer, single))
        if not single.found:
            return build()
    else:
        for module in modules:
            module.register(app)
    _plain_help(app)
    return app


def _plain_help(app: typer.Typer) -> None:
    """Every command and group of `app` draws its help with chit.cli.helptext."""
    from typer.core import TyperCommand

    from chit.cli.helptext import HelpCommand, HelpGroup

    app.info.cls = HelpGroup
    for command in app.registered_commands:
        if command.cls in (None, TyperCommand):  # typer's default
            command.cls = HelpCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            _plain_help(group.typer_instance)
