"""`chit chat` (the REPL; also bare `chit` and `chit load` on a terminal)
and `chit config`."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from chit.cli.context import Cli
from chit.cli.options import JsonFlag, ProjectOpt, RefArg
from chit.errors import UsageError


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def open_repl(cli: Cli, ref: str | None, new: bool = False, model: str | None = None) -> None:
    """Open the REPL on `ref`, the current session, or (`new`) a fresh one."""
    from chit import config
    from chit.repl import loop

    service = cli.service
    session_id = None
    if new:
        service.end()
    elif ref is not None:
        session_id = service.resolve(ref).id
    else:
        current = service.current()
        session_id = current.id if current else None
    repl = loop.make_repl(service, config.load(), session_id, model)
    if sys.stdin.isatty():
        loop.run(repl)
    else:
        loop.run_plain(repl)


def register(app: typer.Typer) -> None:
    @app.command("chat", rich_help_panel="Sessions")
    def chat(
        ctx: typer.Context,
        ref: RefArg = None,
        new: Annotated[bool, typer.Option("--new", "-n", help="Start a new session instead of the current one.")] = False,
        model: Annotated[Optional[str], typer.Option("--model", "-m", metavar="NAME", help="Model to talk to (a name from the config, a model name, or echo).")] = None,
        project: ProjectOpt = None,
    ) -> None:
        """Chat with a model in the REPL (the current session, REF, or --new).

        Without a terminal, reads one message or /command per line from stdin."""
        cli: Cli = ctx.obj.use(False, project)
        if new and ref is not None:
            raise UsageError("give a REF or --new, not both")
        open_repl(cli, ref, new, model)

    @app.command("config", rich_help_panel="Keep the store")
    def config_(ctx: typer.Context, json: JsonFlag = False) -> None:
        """Show where the config file is and the settings in force (keys masked)."""
        from chit import config

        cli: Cli = ctx.obj.use(json)
        loaded = config.load()
        info = config.describe(loaded)

        def human() -> None:
            from chit.render import human

            human.line(f"config file: {info['path']}" + ("" if info["exists"] else " (not created yet; defaults in force)"))
            for key, value in info["defaults"].items():
                human.line(f"  {key} = {value if value is not None else '-'}")
            active = info["active_model"]
            human.line("model in use: " + (f"{active['name']} via {active['provider']}" if active else "none (see `chit chat`)"))
            for name, spec in info["models"].items():
                details = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "name")
                human.line(f"  [models.{name}] {details}")
            for problem in info["problems"]:
                human.note(f"problem: {problem}")

        cli.result(info, human)
