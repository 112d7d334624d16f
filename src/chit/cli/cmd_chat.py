"""`chit chat` (the REPL; also bare `chit` and `chit load` on a terminal)
and `chit config`."""

# No `from __future__ import annotations` here: Typer reads these annotations
# when it builds a command, and real objects spare it evaluating strings.

from typing import Annotated, Any, Optional

import typer

from chit.cli.context import Cli
from chit.cli.options import JsonFlag, ProjectOpt, RefArg, commands
from chit.errors import NotFound, UsageError
from chit.render.environment import Environment
from chit.render.result import Result


def open_repl(cli: Cli, ref: str | None, new: bool = False, model: str | None = None) -> Result:
    """Open the REPL on `ref`, the current session (else the latest), or
    (`new`) a fresh one. A project named with -p that does not exist yet is
    created with the first session the REPL stores. The REPL draws on the
    terminal itself: the result is only its exit status."""
    from chit import config
    from chit.repl import loop

    service = cli.service
    cli.parts.ctx.create_project = True
    session_id = None
    if new:
        service.end()
    elif ref is not None:
        session_id = service.resolve(ref).id
    else:
        try:
            session_id = cli.parts.queries.locate_ref(None)[1]
        except NotFound:
            session_id = None  # an empty project: the first message starts a session
    settings = config.load()
    env = cli.env.with_colour(settings.color)  # the REPL draws with the Environment's width and colour
    repl = loop.make_repl(service, settings, session_id, model, console=env.console())
    from chit.cli.autosync import auto_sync

    if cli.env.stdin_isatty:
        loop.run(repl)
        auto_sync(cli, "after the session")
        return Result()
    status = loop.run_plain(repl, env.stdin, errors=env.console(stderr=True))
    auto_sync(cli, "after the session")
    return Result(status=status)


app = commands()


@app.command("chat", rich_help_panel="Sessions")
def chat(
    ctx: typer.Context,
    ref: RefArg = None,
    new: Annotated[bool, typer.Option("--new", "-n", help="Start a new session instead of the current one.")] = False,
    model: Annotated[Optional[str], typer.Option("--model", "-m", metavar="NAME", help="Model to talk to (a name from the config, a model name, or echo).")] = None,
    project: ProjectOpt = None,
) -> Result:
    """Chat with a model in the REPL.

    Opens the current session, REF, or with --new a new one. Without a
    terminal, reads one message or /command per line from stdin."""
    cli: Cli = ctx.obj.use(False, project)
    if cli.json:
        raise UsageError("chat is the interactive REPL and has no --json output; `chit show --json` prints a session")
    if new and ref is not None:
        raise UsageError("give a REF or --new, not both")
    return open_repl(cli, ref, new, model)


@app.command("config", rich_help_panel="Keep the store")
def config_(ctx: typer.Context, json: JsonFlag = False) -> Result:
    """Show the config file's path and the settings in force.

    API keys are masked."""
    from chit import config

    cli: Cli = ctx.obj.use(json)
    loaded = config.load()
    info = config.describe(loaded)

    def human(env: Environment) -> None:
        from chit.render import human

        for line in config_toml(info):
            human.line(env, line)

    return Result(info, human)


def config_toml(info: dict[str, Any]) -> list[str]:
    """`chit config` as TOML that could be pasted into the config file:
    the settings in force as keys, everything else (where the file is,
    masked API keys, problems) as comments."""
    lines = [f"# config file: {info['path']}" + ("" if info["exists"] else " (not created yet; defaults in force)")]
    active = info["active_model"]
    lines.append("# model in use: " + (f"{active['name']} via {active['provider']}" if active else "none (see `chit chat`)"))
    lines.extend(f"# problem: {problem}" for problem in info["problems"])
    lines.append("")
    lines.append("[defaults]")
    lines.extend(_toml_pairs(info["defaults"]))
    for name, spec in info["models"].items():
        lines.append("")
        lines.append(f"[models.{_toml_key(name)}]")
        lines.extend(_toml_pairs({k: v for k, v in spec.items() if k != "name"}))
    if any(value is not None for value in info["sources"].values()):
        lines.extend(["", "[sources]", *_toml_pairs(info["sources"])])
    if info["sync"]["redact"]:
        lines.extend(["", "[sync]", *_toml_pairs(info["sync"])])
    return lines


def _toml_pairs(values: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in values.items():
        if value is None:
            lines.append(f"# {key} is not set")
        elif key == "api_key":  # masked ("set (OPENAI_API_KEY)"): never a value to copy
            lines.append(f"# api_key: {value}")
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    return lines


def _toml_key(key: str) -> str:
    return key if key and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in key) else _toml_value(key)


def _toml_value(value: Any) -> str:
    """A TOML literal: JSON's strings, numbers and arrays are TOML's too."""
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)
