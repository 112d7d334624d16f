"""Commands that read: ls, show, load, search (`projects` is in cmd_projects)."""

# No `from __future__ import annotations` here: Typer reads these annotations
# when it builds a command, and real objects spare it evaluating strings.

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from chit.cli.context import Cli
from chit.cli.options import AllFlag, JsonFlag, JsonlFlag, ProjectOpt, RefArg, SinceOpt, TagsOpt, UntilOpt, commands
from chit.errors import InvalidInput
from chit.render.environment import Environment
from chit.render.result import Result, writing

if TYPE_CHECKING:
    from chit.model import Session

app = commands()


@app.command("ls", rich_help_panel="Sessions")
def ls(
    ctx: typer.Context,
    all_projects: AllFlag = False,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", metavar="N", help="Show at most N sessions (0: all; default: the config's limit, 50).", show_default=False)] = None,
    tag: TagsOpt = None,
    state: Annotated[Optional[str], typer.Option("--state", metavar="STATE", help="Only sessions in this state: idle, running or error.")] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    sort: Annotated[str, typer.Option("--sort", metavar="ORDER", help="Order by updated, created, turns or tokens (most first).")] = "updated",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print full ids only, one per line.")] = False,
    agents: Annotated[bool, typer.Option("--agents", help="Also list sub-agents' sessions (imported from Claude Code or opencode).")] = False,
    project: ProjectOpt = None,
    json: JsonFlag = False,
    jsonl: JsonlFlag = False,
) -> Result:
    """List sessions, newest first (updated within --since/--until).

    A fork's title is marked with an arrow, and a session with forks shows
    how many (`chit tree` draws them)."""
    cli: Cli = ctx.obj.use(json, project, jsonl)
    if limit is None:
        limit = cli.config.limit
    if limit < 0:
        raise InvalidInput("--limit must be 0 or more")
    laying_out = _laying_out(cli.env)  # its clock starts with the listing
    _refresh_first(cli)
    from chit.cli.catchup import when_listing_lagging
    from chit.cli.progress import show_index_progress

    show_index_progress(cli.env)
    when_listing_lagging(cli)
    found = cli.service.list(
        all_projects=all_projects, limit=limit or None, tag=tag, state=state, agents=agents, since=since, until=until, sort=sort
    )
    if quiet and not cli.json:
        return Result(human=writing("".join(f"{s.id}\n" for s in found)))

    def human(env: Environment) -> None:
        if not found:
            env.note("no sessions")
            return
        from chit.render import human

        human.sessions(env, found, show_project=all_projects, forks=forks, laying_out=laying_out)

    forks = cli.parts.lineage.fork_counts(found) if found else {}
    return Result.listing(({**s.as_dict(), "forks": forks.get(s.id, 0)} for s in found), human)


@app.command("show", rich_help_panel="Sessions")
def show(
    ctx: typer.Context,
    ref: RefArg = None,
    no_pager: Annotated[bool, typer.Option("--no-pager", help="Never page long output.")] = False,
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Print a session's transcript with turn numbers."""
    cli: Cli = ctx.obj.use(json, project)
    return session_result(cli, ref, no_pager)


@app.command("load", rich_help_panel="Sessions")
def load(
    ctx: typer.Context,
    ref: RefArg = None,
    no_pager: Annotated[bool, typer.Option("--no-pager", help="Never page long output.")] = False,
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result | None:
    """Resume a session: make it current and open the REPL on it.

    Without a terminal, or with --json, print the session instead."""
    cli: Cli = ctx.obj.use(json, project)
    session = _resolved(cli, ref)
    cli.service.set_current(session.id)
    if cli.env.interactive and not cli.json:
        from chit.cli.cmd_chat import open_repl

        return open_repl(cli, session.id)
    return session_result(cli, session, no_pager)


@app.command("search", rich_help_panel="Sessions")
def search(
    ctx: typer.Context,
    words: Annotated[list[str], typer.Argument(metavar="QUERY...", help='Words to find (case-insensitive), all in one message; "a phrase" (quoted for the shell too) keeps its words together.')],
    limit: Annotated[int, typer.Option("--limit", "-n", metavar="N", help="Show at most N sessions (hits with --each, --json or --jsonl; 0: all).")] = 20,
    role: Annotated[Optional[str], typer.Option("--role", "-r", metavar="ROLE", help="Only messages with this role: system, user, assistant or tool.")] = None,
    tag: TagsOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    each: Annotated[bool, typer.Option("--each", help="List every hit, not one line per session.")] = False,
    project: ProjectOpt = None,
    json: JsonFlag = False,
    jsonl: JsonlFlag = False,
) -> Result:
    """Search every project (or -p one) for messages with all the words.

    One line per session (hits, best snippet), newest first; --each lists
    every hit. --json and --jsonl give every hit (as --each does), each
    with `group`, its session's id."""
    cli: Cli = ctx.obj.use(json, project, jsonl)
    if limit < 0:
        raise InvalidInput("--limit must be 0 or more")
    _refresh_first(cli)
    from chit.cli.catchup import when_lagging
    from chit.cli.progress import reporter, show_index_progress

    show_index_progress(cli.env)
    cli.parts.queries.report_progress = reporter(cli.env, "searching")  # the index's candidates of a common word take seconds

    when_lagging(cli)
    query = " ".join(words)
    groups = []
    if each or cli.json:
        found = cli.service.search_words(query, limit=limit or None, role=role, tag=tag, since=since, until=until)
    else:
        groups = cli.service.search_groups(query, limit=limit or None, role=role, tag=tag, since=since, until=until)
        found = [h for g in groups for h in g.hits]

    def human(env: Environment) -> None:
        if not found:
            env.note("no matches")
            return
        from chit.render import human

        if each:
            human.hits(env, found)
        else:
            human.hit_groups(env, groups)

    return Result.listing(({**h.as_dict(), "group": h.id} for h in found), human)


def _laying_out(env: Environment) -> "Callable[[int], AbstractContextManager[None]]":
    """Progress while a long table is measured (`chit.render.table_parts`):
    past a second of the command, `chit: listing: laying out N rows, S s`,
    its line ended before the first row."""
    started = time.monotonic()

    @contextmanager
    def laying_out(rows: int) -> Iterator[None]:
        from chit.cli.progress import reporter
        from chit.service.ticker import Ticker, told_while

        ticker = Ticker(0, "", reporter(env, "listing"))
        ticker.started = started  # the command's first second counts
        with told_while(f"laying out {rows:,} rows", None, ticker):
            yield

    return laying_out


def _refresh_first(cli: Cli) -> None:
    """The enabled sources, refreshed first when config.toml asks for it."""
    if cli.config.refresh is not None:
        from chit.cli.autorefresh import refresh_first

        refresh_first(cli)


def _resolved(cli: Cli, ref: str | None) -> "Session":
    """The session `ref` names, what its read built then frozen out of the
    garbage collector's sight (`chit.collector`): it lives until the command
    has printed it and holds no cycle, and a long session is thousands of
    objects the collector would otherwise walk just after the read."""
    from chit import collector

    with collector.paused(freeze=True):
        return cli.service.resolve(ref)


def session_result(cli: Cli, ref: "str | Session | None", no_pager: bool) -> Result:
    """A session as a result (a reference, or one already read: a session
    of megabytes is read once). The config (paging) is read only to page
    a transcript."""
    session = _resolved(cli, ref) if ref is None or isinstance(ref, str) else ref
    cli.warn_damaged(session)
    project_name = cli.parts.ctx.locate(session.id).name
    agents = cli.parts.queries.agents(session)
    parent = cli.parts.queries.agent_parent(session)
    forks = cli.parts.lineage.children(session)

    def human(env: Environment) -> None:
        from chit.render import human

        paged = not no_pager and env.stdout_terminal and cli.config.pager
        pager = env.variables if paged else None  # PAGER and LESS are the Environment's
        human.transcript(env.console(), session, project_name, pager=pager, agents=agents, agent_of=parent, forks=forks)

    data = session.header_dict()
    data["messages"] = session.messages  # as `as_dict()` has them: orjson writes a Message as its as_dict()
    data["forks"] = [f.as_dict() for f in forks]
    data["agents"] = [a.as_dict() for a in agents]
    data["agent_of"] = parent.as_dict() if parent else None
    return Result(data, human)
