"""`chit projects`: list projects; `mv` relinks or merges one, `rename`
gives one a new name, `rm` removes an empty one."""

# No `from __future__ import annotations` here: Typer reads these annotations
# when it builds a command, and real objects spare it evaluating strings.

from typing import Annotated, Optional

import typer

from chit.cli.context import Cli
from chit.cli.options import JsonFlag, JsonlFlag, commands
from chit.render.environment import Environment
from chit.render.result import Result, saying

app = commands(
    name="projects",
    invoke_without_command=True,
    no_args_is_help=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_help_panel="Move data",
)


@app.callback()
def projects(
    ctx: typer.Context,
    all_projects: Annotated[bool, typer.Option("--all", "-a", help="Also list projects that hold no session (live or trashed).")] = False,
    json: JsonFlag = False,
    jsonl: JsonlFlag = False,
) -> Optional[Result]:
    """List projects, with their paths and session counts.

    Lists the projects that hold sessions (with --all, every project);
    the subcommands change them."""
    cli: Cli = ctx.obj.use(json, None, jsonl)
    if ctx.invoked_subcommand is not None:
        return None
    rows = cli.service.project_counts(include_empty=all_projects)
    hidden = 0 if all_projects else len(cli.parts.ctx.projects.all()) - len(rows)

    def human(env: Environment) -> None:
        from chit.render import human

        empty = f"{hidden} empty project{'' if hidden == 1 else 's'}"
        if rows:
            human.projects(env, rows)
            if hidden:
                env.note(f"{empty} not shown (`chit projects --all` lists them)")
        else:
            env.note(f"no projects with sessions; `chit projects --all` lists {empty}" if hidden else "no projects yet")

    return Result.listing(({**p.as_dict(), "sessions": n} for p, n in rows), human)


@app.command("mv")
def mv(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(metavar="OLD", help="The project: its name, slug, or the path it had.")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="Its new directory, or the name of a project to merge it into.")],
    json: JsonFlag = False,
) -> Result:
    """Relink a project to a new directory, or merge it into another.

    Every session, live or trashed, is kept."""
    cli: Cli = ctx.obj.use(json)
    cli.hints = False  # this is the command the note suggests
    from chit.cli.progress import reporter
    from chit.service import project_moves

    project_moves.report_progress = reporter(cli.env, "projects mv")
    report = cli.service.move_project(old, new)

    where = report.target.path or f"project {report.target.name!r}"
    verb = "merged into" if report.merged else "moved to"
    extra = f" (and {report.trashed} in the trash)" if report.trashed else ""
    said = f"{report.source.name}: {report.sessions} session{'' if report.sessions == 1 else 's'}{extra} {verb} {where}"
    return Result(report.as_dict(), saying(said))


@app.command("rename")
def rename(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(metavar="OLD", help="The project: its name, slug, or the path it has.")],
    new: Annotated[str, typer.Argument(metavar="NEWNAME", help="Its new name (the old one keeps working with -p).")],
    json: JsonFlag = False,
) -> Result:
    """Give a project a new name.

    Its directory and sessions stay as they are."""
    cli: Cli = ctx.obj.use(json)
    cli.hints = False
    before = cli.service.find_project(old)
    renamed = cli.service.rename_project(old, new)

    return Result(renamed.as_dict(), saying(f"project {before.name!r} is now {renamed.name!r}"))


@app.command("rm")
def rm(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="PROJECT", help="The project: its name, slug, or the path it has.")],
    json: JsonFlag = False,
) -> Result:
    """Remove a project that holds no session.

    A project with sessions, live or trashed, is refused (exit 6)."""
    cli: Cli = ctx.obj.use(json)
    cli.hints = False
    removed = cli.service.remove_project(name)

    return Result(removed.as_dict(), saying(f"removed project {removed.name!r} ({removed.slug})"))
