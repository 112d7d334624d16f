"""Commands on how sessions relate and what they used: tree, diff, stats."""

# No `from __future__ import annotations` here: Typer reads these annotations
# when it builds a command, and real objects spare it evaluating strings.

from typing import Annotated, Optional

import typer

from chit.cli.context import Cli
from chit.cli.options import AllFlag, JsonFlag, ProjectOpt, RefArg, RequiredRef, SinceOpt, UntilOpt, commands
from chit.render.environment import Environment
from chit.render.result import Result

app = commands()


@app.command("tree", rich_help_panel="Sessions")
def tree(
    ctx: typer.Context,
    ref: RefArg = None,
    every: Annotated[bool, typer.Option("--all", "-a", help="Every fork tree of the project.")] = False,
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Draw the fork tree around a session: parents, forks, turns."""
    cli: Cli = ctx.obj.use(json, project)
    if every and ref is not None:
        from chit.errors import UsageError

        raise UsageError("give a REF or --all, not both")
    from chit.cli.catchup import when_listing_lagging

    when_listing_lagging(cli)
    found = cli.service.tree(ref, all_trees=every)

    def human(env: Environment) -> None:
        from chit.render import lineage

        lineage.tree(env, found)

    return Result(found.as_dict(), human)


@app.command("diff", rich_help_panel="Sessions")
def diff(
    ctx: typer.Context,
    a: RequiredRef,
    b: Annotated[str, typer.Argument(metavar="REF", help="The session to compare it with.")],
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Compare two sessions turn by turn: where they part, then how."""
    cli: Cli = ctx.obj.use(json, project)
    from chit.cli.progress import reporter
    from chit.service.ticker import told_while

    with told_while("comparing the sessions", reporter(cli.env, "diff")):  # two long sessions: seconds
        found = cli.service.diff(a, b)
        data = found.as_dict() if cli.json else None  # the unified diff worked out once, for one of the forms
        unified = [] if cli.json else found.unified

    def human(env: Environment) -> None:
        from chit.render import lineage

        lineage.diff(env, found, unified)

    return Result(data, human)


@app.command("stats", rich_help_panel="Sessions")
def stats(
    ctx: typer.Context,
    since: SinceOpt = None,
    until: UntilOpt = None,
    by: Annotated[Optional[str], typer.Option("--by", metavar="GROUP", help="Group by project, model or day.")] = None,
    all_projects: AllFlag = False,
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Sessions, turns, messages, tokens and cost; activity per day.

    Cost is counted for models priced in config.toml's [prices]."""
    cli: Cli = ctx.obj.use(json, project)
    from chit.cli.progress import reporter, show_index_progress
    from chit.service import stats as usage

    show_index_progress(cli.env)  # the counts come from the index: a store far ahead of it is indexed first
    usage.report_progress = reporter(cli.env, "stats")
    from chit.service.stats import Price

    prices = {name: Price(*pair) for name, pair in cli.config.prices.items()}
    found = cli.service.stats(all_projects=all_projects, since=since, until=until, by=by, prices=prices)

    def human(env: Environment) -> None:
        from chit.render import lineage

        lineage.stats(env, found)

    return Result(found.as_dict(), human)
