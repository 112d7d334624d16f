"""`chit import`: bring sessions into the store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from chit.cli.context import Cli
from chit.cli.options import JsonFlag, ProjectOpt
from chit.errors import InvalidData, InvalidInput, NotFound


def _say(text: str) -> None:
    from chit.render import human

    human.line(text)


def register(app: typer.Typer) -> None:
    @app.command("import", rich_help_panel="Move data")
    def import_(
        ctx: typer.Context,
        source: Annotated[str, typer.Argument(metavar="FILE", help="A snapshot from `chit export -f json`, or - for stdin.")],
        new_id: Annotated[bool, typer.Option("--new-id", help="Always give the session a new id.")] = False,
        project: ProjectOpt = None,
        json: JsonFlag = False,
    ) -> None:
        """Import a session snapshot into the current (or -p) project."""
        cli: Cli = ctx.obj.use(json, project)
        data = sys.stdin.buffer.read() if source == "-" else _read_file(source)
        result = cli.service.import_snapshot(data, new_id_always=new_id)
        note = " (new id: the original is already in the store)" if result.id_changed and not new_id else ""
        cli.result(result.as_dict(), lambda: _say(f"{result.session.id}{note}"))


def _read_file(source: str) -> bytes:
    path = Path(source)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"no such file: {source}") from None
    except IsADirectoryError:
        raise InvalidInput(f"{source} is a directory") from None
    except OSError as exc:
        raise InvalidData(f"cannot read {source}: {exc.strerror}") from None
