"""`chit completion SHELL`: print the completion script for a shell, as
shipped in the package (`chit.cli.completions`)."""

# No `from __future__ import annotations` here: Typer reads these annotations
# when it builds a command, and real objects spare it evaluating strings.

from typing import Annotated

import typer

from chit.cli.context import Cli
from chit.cli.options import JsonFlag, commands
from chit.errors import InvalidInput
from chit.render.result import Result, writing

app = commands()


@app.command("completion", rich_help_panel="Keep the store")
def completion(
    ctx: typer.Context,
    shell: Annotated[str, typer.Argument(metavar="SHELL", help="The shell: bash, zsh or fish.")],
    json: JsonFlag = False,
) -> Result:
    """Print the completion script for a shell.

    The README tells where to install it."""
    from chit.cli import completions

    cli: Cli = ctx.obj.use(json)
    if shell not in completions.SHELLS:
        raise InvalidInput(f"unknown shell {shell!r} (expected one of: {', '.join(completions.SHELLS)})")
    script = completions.script(shell)

    return Result({"shell": shell, "file": completions.FILES[shell], "script": script}, writing(script))
