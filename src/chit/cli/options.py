"""Option types shared by the commands, so each flag means one thing
everywhere, and the Typer every module of commands declares them on."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer


def commands(**settings: Any) -> typer.Typer:
    """The Typer of one module's commands (chit.cli.app loads them): never
    a traceback with local values, which may hold message text or keys."""
    return typer.Typer(add_completion=False, pretty_exceptions_enable=False, pretty_exceptions_show_locals=False, **settings)


JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as one JSON document on stdout.")]
JsonlFlag = Annotated[bool, typer.Option("--jsonl", help="Print one JSON object per line (JSON Lines), as each is found.")]
ProjectOpt = Annotated[
    Optional[str],
    typer.Option("--project", "-p", metavar="NAME", help="Work in the project NAME instead of the current directory's."),
]
RefArg = Annotated[
    Optional[str],
    typer.Argument(metavar="[REF]", help="The session: an id, id prefix, ctx_ID or key (default: the current session).", show_default=False),
]
RequiredRef = Annotated[str, typer.Argument(metavar="REF", help="The session: an id, id prefix, ctx_ID or key.")]
AllFlag = Annotated[bool, typer.Option("--all", "-a", help="Include every project, not just the current one.")]
SinceOpt = Annotated[
    Optional[str],
    typer.Option("--since", metavar="WHEN", help="Only from WHEN on: an age (90m, 2h, 3d, 2w), today, yesterday, or an ISO date or datetime."),
]
UntilOpt = Annotated[
    Optional[str],
    typer.Option("--until", metavar="WHEN", help="Only up to WHEN (read as --since reads it)."),
]
TagsOpt = Annotated[
    Optional[list[str]],
    typer.Option("--tag", "-t", metavar="TAG", help="Only sessions with this tag (repeat it: sessions with every one)."),
]
