"""`chit export`: a session as a snapshot, JSON Lines or Markdown."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from chit.cli.context import Cli
from chit.cli.options import JsonFlag, ProjectOpt, RefArg


def _say(text: str) -> None:
    from chit.render import human

    human.line(text)


def register(app: typer.Typer) -> None:
    @app.command("export", rich_help_panel="Move data")
    def export(
        ctx: typer.Context,
        ref: RefArg = None,
        fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="json (a snapshot `chit import` takes back), jsonl or md.")] = "md",
        output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout.", dir_okay=False)] = None,
        force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
        project: ProjectOpt = None,
        json: JsonFlag = False,
    ) -> None:
        """Export a session as a snapshot, JSON Lines or Markdown."""
        cli: Cli = ctx.obj.use(json, project)
        if output is None:
            session, data = cli.service.export_bytes(ref, fmt)
            cli.warn_damaged(session)
            if cli.json and fmt != "json":  # --json: one JSON document (a snapshot already is one)
                cli.result({"id": session.id, "format": fmt, "content": data.decode("utf-8")}, lambda: None)
                return
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            return
        path = cli.service.export_to_file(ref, fmt, output, force=force)
        cli.result({"path": str(path), "format": fmt}, lambda: _say(str(path)))
