"""The Typer application: the global options, and every command by name.

Each command is defined at module level in one `chit.cli.cmd_*` module (a
group of related commands). The root group knows the commands by name
(COMMANDS) and builds one only when it is asked for it, the way click
loads subcommands lazily (a group's `get_command` and `list_commands`):
`chit ls` imports cmd_read and builds `ls` alone, through Typer's public
`typer.main.get_command_from_info` and `get_group`. Help and completion
list every command, so they build them all.

Invariants:
- COMMANDS holds every command of the cmd_* modules, in the order help
  lists them (tests/test_cli_lazy.py checks it against the modules);
- a command built on demand is the one the module declares, with chit's
  help (chit.cli.helptext) and plain values (chit.cli.values);
- help, completion, the man page and docs/cli.md are derived from this app;
- `root`, the click group every command line of the process runs through,
  is built once, as this module loads; the commands it builds stay built.
"""

# No `from __future__ import annotations` here: Typer reads these annotations
# when it builds a command, and real objects spare it evaluating strings.

import importlib
import inspect
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any, Optional, cast

import typer
from typer.core import TyperCommand

from chit import __version__
from chit.cli.context import Cli
from chit.cli.values import PlainCommand, PlainGroup
from chit.render.result import Result

HELP = """chit keeps every AI chat session as plain, append-only JSON Lines files,
one store per project, and lets you list, load, fork, rewind, rename, tag,
search and export them.

REF is a session id, a unique id prefix (case-insensitive), ctx_ID or a
session key; omitted, it means the project's current session.

Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 ambiguous reference,
5 invalid input or data, 6 locked or conflict, 130 interrupted."""

# command name -> the chit.cli module that defines it, in help's order
COMMANDS: dict[str, str] = {
    **dict.fromkeys(("chat", "config"), "cmd_chat"),
    **dict.fromkeys(("new", "append", "fork", "rewind", "pop", "undo", "replace", "rename", "tag", "untag"), "cmd_write"),
    **dict.fromkeys(("ls", "show", "load", "search"), "cmd_read"),
    **dict.fromkeys(("tree", "diff", "stats"), "cmd_lineage"),
    "export": "cmd_export",
    "import": "cmd_import",
    "sources": "cmd_sources",
    **dict.fromkeys(("rm", "restore", "trash", "state", "gc", "compact", "doctor", "index"), "cmd_admin"),
    **dict.fromkeys(("resume", "pick"), "cmd_resume"),
    "projects": "cmd_projects",
    "sync": "cmd_sync",
    "completion": "cmd_completion",
}


class LazyCommands(MutableMapping[str, Any]):
    """The root group's commands: every name known, each command built on first use."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = load(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        raise TypeError("chit's commands are fixed")

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class ChitGroup(PlainGroup):
    """The root group: its commands load on demand."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = cast(Any, LazyCommands())

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)  # names only: nothing is built to list them

    def outline(self, name: str) -> Any:
        """What `chit --help` shows of command `name`: for a plain command,
        read from its declaration without building it (building every
        command is most of the top-level help's time); a group is built."""
        declared = _declared(name)
        if declared.info.name == name:
            return self.commands[name]
        info = _info(declared, name)
        text = inspect.cleandoc(info.help) if info.help is not None else inspect.getdoc(info.callback)
        return Outline(help=text, rich_help_panel=info.rich_help_panel, hidden=bool(info.hidden))


class Outline:
    """What help shows of a command without building it. (A plain class:
    every command line loads this module, and a NamedTuple is built at
    import.)"""

    __slots__ = ("help", "rich_help_panel", "hidden")

    def __init__(self, help: str | None, rich_help_panel: str | None, hidden: bool) -> None:
        self.help = help
        self.rich_help_panel = rich_help_panel
        self.hidden = hidden


def load(name: str) -> Any:
    """The click command of chit command `name`, built from its module."""
    declared = _declared(name)
    plain_classes(declared)
    if declared.info.name == name:  # a group with its own subcommands (`projects`)
        group = typer.main.get_group(declared)
        group.rich_help_panel = declared.rich_help_panel  # get_group takes a group's panel from add_typer only
        return group
    info = _info(declared, name)
    return typer.main.get_command_from_info(info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=app.rich_markup_mode)


def _declared(name: str) -> typer.Typer:
    """The Typer of the module that declares command `name`."""
    commands: typer.Typer = importlib.import_module(f"chit.cli.{COMMANDS[name]}").app
    return commands


def _info(declared: typer.Typer, name: str) -> typer.models.CommandInfo:
    for info in declared.registered_commands:
        if info.name == name:
            return info
    raise LookupError(f"chit.cli.{COMMANDS[name]} declares no command {name!r}")


def plain_classes(declared: typer.Typer) -> None:
    """Every command and group of `declared` is a PlainCommand or PlainGroup."""
    if not (isinstance(declared.info.cls, type) and issubclass(declared.info.cls, PlainGroup)):
        declared.info.cls = PlainGroup
    for command in declared.registered_commands:
        if command.cls in (None, TyperCommand):  # typer's default
            command.cls = PlainCommand
    for group in declared.registered_groups:
        if group.typer_instance is not None:
            plain_classes(group.typer_instance)


def _version(value: bool) -> None:
    if value:  # `chit -p x --version`; a lone --version never reaches the parser
        typer.echo(f"chit {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="chit",
    cls=ChitGroup,
    help=HELP,
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def main(
    ctx: typer.Context,
    json: Annotated[bool, typer.Option("--json", help="Print results as JSON (every command but chat).")] = False,
    project: Annotated[
        Optional[str],
        typer.Option("--project", "-p", metavar="NAME", envvar="CHIT_PROJECT", help="Work in project NAME (default: the git root or directory you are in)."),
    ] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> Optional[Result]:
    cli = ctx.obj if isinstance(ctx.obj, Cli) else Cli()  # chit.cli.main gives one holding its Environment
    ctx.obj = cli.use(json, project)
    if ctx.invoked_subcommand is None:
        from chit.cli.cmd_chat import open_repl

        if cli.env.interactive and not json:
            return open_repl(cli, None)
        cli.env.stdout.write(ctx.get_help() + "\n")
    return None


def build() -> typer.Typer:
    """The app (tools derive the help, man page and completions from it)."""
    return app


# The root group every command line of this process runs through, built once
# as this module loads (with Typer and the app, out of the collector's sight:
# chit.cli.main), not once per command line: a process that imported the app
# before its command line arrived has it ready, and one that runs several
# (`chit.cli.main.run` in-process) builds each command once.
root: ChitGroup = typer.main.get_command(app)  # type: ignore[assignment]
