"""The command line as data, read from the live Typer app: every command
(and subcommand), its options and arguments, and what each value is (a
session reference, a tag, a project, a format…), for the generated shell
completions and man page (docs/architecture.md, rules 7 and 8).

What a value is comes from the app itself: an option or argument's metavar
(`REF`, `TAG`, `FORMAT`, …, see `METAVAR_KINDS`), `--project`, or the
choices of an Enum/Literal type. Static choices come from the model
(`ROLES`, `STATES`), the exporters (`FORMATS`) and the service (`SORTS` of
`ls --sort`, `GROUPINGS` of `stats --by`), never from a list kept here by
hand.
"""

from __future__ import annotations

import enum
import typing
from dataclasses import dataclass, field
from typing import Any

# metavar (its first word) → kind of value
METAVAR_KINDS: dict[str, str] = {
    "REF": "ref",
    "TAG": "tag",
    "FORMAT": "format",
    "ROLE": "role",
    "STATE": "state",
    "FILE": "file",
    "PATH": "file",
    "DIR": "dir",
    "OLD": "project",
    "PROJECT": "project",
    "NEW": "dir",
    "SHELL": "shell",
    "TOOL": "tool",
    "ORDER": "sort",
    "GROUP": "grouping",
}
# kinds whose values chit lists at completion time (`chit __complete KIND`)
DYNAMIC = ("ref", "trash", "tag", "project")


def static_choices() -> dict[str, tuple[str, ...]]:
    from chit.cli.completions import SHELLS
    from chit.exporters import FORMATS
    from chit.model import ROLES, STATES
    from chit.service.ordering import SORTS
    from chit.service.stats import GROUPINGS

    found = {"format": FORMATS, "role": ROLES, "state": STATES, "shell": SHELLS, "sort": SORTS, "grouping": GROUPINGS}
    try:
        from chit.importers import NAMES as TOOLS  # the sources `chit import --from` reads
    except ImportError:
        TOOLS = ()
    if TOOLS:
        found["tool"] = tuple(TOOLS)
    return found


@dataclass(frozen=True)
class Opt:
    names: tuple[str, ...]  # long names first
    takes_value: bool
    kind: str | None
    metavar: str
    help: str
    default: Any = None
    multiple: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Arg:
    """One argument; its metavar may name several words (`[REF] CONTENT`),
    each with its kind; with `variadic`, the last word repeats."""

    metavar: str
    kinds: tuple[str | None, ...]
    variadic: bool
    required: bool
    help: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cmd:
    path: tuple[str, ...]  # () for chit itself, ("projects", "mv") for a subcommand
    help: str
    options: tuple[Opt, ...]
    args: tuple[Arg, ...]
    subcommands: tuple[str, ...] = field(default=())
    runs_alone: bool = True  # a group that does something without a subcommand

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def summary(self) -> str:
        """The first sentence of the help, on one line."""
        text = " ".join(self.help.split())
        end = text.find(". ")
        return text if end < 0 else text[: end + 1]


def _choices(param: Any) -> tuple[str, ...]:
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return tuple(str(m.value) for m in candidate)
        if typing.get_origin(candidate) is typing.Literal:
            return tuple(str(v) for v in typing.get_args(candidate))
    return ()


def _kind(metavar: str | None, choices: tuple[str, ...]) -> str | None:
    if choices:
        return "choice"
    if not metavar:
        return None
    word = metavar.split()[0].strip("[]").rstrip(".").split("|")[0]
    return METAVAR_KINDS.get(word)


def _option(param: Any, path: tuple[str, ...]) -> Opt:
    names = tuple(sorted([*param.opts, *param.secondary_opts], key=lambda n: (not n.startswith("--"), n)))
    choices = _choices(param)
    kind = "project" if "--project" in names else _kind(param.metavar, choices)
    metavar = param.metavar or ("" if param.is_flag else param.name.upper())
    return Opt(names, not param.is_flag, kind, metavar, " ".join((param.help or "").split()),
               None if param.is_flag or callable(param.default) else param.default, bool(param.multiple), choices)


def _argument(param: Any, path: tuple[str, ...]) -> Arg:
    metavar = param.metavar or param.name.upper()
    choices = _choices(param)
    words = metavar.split()
    kinds = [_kind(word, choices) for word in words]
    if path == ("restore",):
        kinds = ["trash" if k == "ref" else k for k in kinds]  # restore names a session in the trash
    variadic = param.nargs == -1 and (words[-1].endswith("...") or len(words) == 1)
    return Arg(metavar, tuple(kinds), variadic, bool(param.required), " ".join((getattr(param, "help", None) or "").split()), choices)


def _walk(command: Any, path: tuple[str, ...], out: list[Cmd]) -> None:
    params = [p for p in command.params if not getattr(p, "hidden", False) and p.name != "help"]
    subcommands = {n: c for n, c in sorted(getattr(command, "commands", {}).items()) if not c.hidden}
    out.append(
        Cmd(
            path=path,
            help=(command.help or "").strip(),
            options=tuple(_option(p, path) for p in params if p.param_type_name == "option"),
            args=tuple(_argument(p, path) for p in params if p.param_type_name == "argument"),
            subcommands=tuple(subcommands),
            runs_alone=not subcommands or bool(getattr(command, "invoke_without_command", False)),
        )
    )
    for name, sub in subcommands.items():
        _walk(sub, (*path, name), out)


def commands() -> list[Cmd]:
    """chit itself first, then every visible command and subcommand, by name."""
    from reference import root_command

    found: list[Cmd] = []
    _walk(root_command(), (), found)
    return found


def option_names(cmd: Cmd) -> list[str]:
    return [n for o in cmd.options for n in o.names] + ["--help", "-h"]
