"""`chit projects`: list projects; `chit projects mv`: relink or merge one."""

from __future__ import annotations

from typing import Annotated

import typer

from chit.cli.context import Cli
from chit.cli.options import JsonFlag, JsonlFlag


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        name="projects",
        invoke_without_command=True,
        no_args_is_help=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @group.callback()
    def projects(ctx: typer.Context, json: JsonFlag = False, jsonl: JsonlFlag = False) -> None:
        """List projects with their paths and session counts (`chit projects mv` moves one)."""
        cli: Cli = ctx.obj.use(json, None, jsonl)
        if ctx.invoked_subcommand is not None:
            return
        rows = cli.service.project_counts()

        def human() -> None:
            from chit.render import human

            human.projects(rows)

        cli.results(({**p.as_dict(), "sessions": n} for p, n in rows), human)

    @group.command("mv")
    def mv(
        ctx: typer.Context,
        old: Annotated[str, typer.Argument(metavar="OLD", help="The project: its name, slug, or the path it had.")],
        new: Annotated[str, typer.Argument(metavar="NEW", help="Its new directory, or the name of a project to merge it into.")],
        json: JsonFlag = False,
    ) -> None:
        """Relink a project to a new directory (or merge it into another), keeping every session."""
        cli: Cli = ctx.obj.use(json)
        cli.hints = False  # this is the command the note suggests
        report = cli.service.move_project(old, new)

        def human() -> None:
            from chit.render import human

            where = report.target.path or f"project {report.target.name!r}"
            verb = "merged into" if report.merged else "moved to"
            extra = f" (and {report.trashed} in the trash)" if report.trashed else ""
            human.line(f"{report.source.name}: {report.sessions} session{'' if report.sessions == 1 else 's'}{extra} {verb} {where}")

        cli.result(report.as_dict(), human)

    app.add_typer(group, rich_help_panel="Move data")
