"""What the read commands do once their command line is parsed: `ls`,
`show` and `search`, over a `Cli` context.

Invariant: no typer or click here. `chit.cli.cmd_read` declares these
commands to Typer and calls these functions; `chit.cli.fastpath` calls the
same functions for the plain command lines it parses itself, so both ways
run exactly this code.
"""

from __future__ import annotations

from chit.cli.context import Cli, stdout_is_terminal
from chit.errors import InvalidInput
from chit.model import Session


def ls(
    cli: Cli, *, all_projects: bool, limit: int | None, tag: str | None, state: str | None, quiet: bool,
    agents: bool = False,
) -> None:
    """List sessions, newest first (sub-agents' sessions only with `agents`)."""
    if limit is None:
        limit = cli.config.limit
    if limit < 0:
        raise InvalidInput("--limit must be 0 or more")
    found = cli.service.list(all_projects=all_projects, limit=limit or None, tag=tag, state=state, agents=agents)
    if quiet and not cli.json:
        for s in found:
            print(s.id)
        return

    def human() -> None:
        from chit.render import human

        human.sessions(found, show_project=all_projects)

    cli.results((s.as_dict() for s in found), human)


def show(cli: Cli, *, ref: str | None, no_pager: bool) -> None:
    """Print a session's transcript with turn numbers."""
    print_session(cli, ref, not no_pager and cli.config.pager)


def print_session(cli: Cli, ref: str | Session | None, pager: bool) -> None:
    """Print a session (a reference, or one already read: a session of
    megabytes is read once)."""
    session = ref if isinstance(ref, Session) else cli.service.resolve(ref)
    cli.warn_damaged(session)
    project_name = cli.parts.ctx.locate(session.id).name
    agents = cli.parts.queries.agents(session)
    parent = cli.parts.queries.agent_parent(session)

    def human() -> None:
        from chit.render import human

        human.transcript(session, project_name, pager=pager and stdout_is_terminal(), agents=agents, agent_of=parent)

    data = session.as_dict()
    data["agents"] = [a.as_dict() for a in agents]
    data["agent_of"] = parent.as_dict() if parent else None
    cli.result(data, human)


def search(cli: Cli, *, query: str, limit: int, role: str | None, tag: str | None) -> None:
    """Search every project (or -p one) for text, newest first."""
    if limit < 0:
        raise InvalidInput("--limit must be 0 or more")
    found = cli.service.search(query, limit=limit or None, role=role, tag=tag)

    def human() -> None:
        from chit.render import human

        human.hits(found)

    cli.results((h.as_dict() for h in found), human)
