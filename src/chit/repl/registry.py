"""The slash-command registry: the one table that drives dispatch, /help
and completion, so the three can never disagree.

Invariants: a command is found by its exact name or a unique prefix; an
unknown or ambiguous name gets one line with the closest names; a
`ChitError` from a handler becomes one error line and the REPL goes on.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from chit.errors import ChitError
from chit.repl.args import Option
from chit.repl.state import Repl

Handler = Callable[[Repl, str], None]


@dataclass(frozen=True)
class Slash:
    name: str
    usage: str
    help: str
    run: Handler
    completes: str | None = None  # what its argument is: session, tag, format, model
    options: tuple[Option, ...] = ()  # spelt as in the shell command that does the same job


COMMANDS: dict[str, Slash] = {}


def slash(name: str, usage: str = "", completes: str | None = None, options: tuple[Option, ...] = ()) -> Callable[[Handler], Handler]:
    """Register a handler; its docstring's first line is its help."""

    def register(handler: Handler) -> Handler:
        doc = (handler.__doc__ or "").strip().splitlines()
        COMMANDS[name] = Slash(name, usage, doc[0] if doc else "", handler, completes, options)
        return handler

    return register


class UnknownCommand(ChitError):
    code = "UNKNOWN_COMMAND"


def lookup(name: str) -> Slash:
    if name in COMMANDS:
        return COMMANDS[name]
    matches = [c for c in COMMANDS if c.startswith(name)] if name else []
    if len(matches) == 1:
        return COMMANDS[matches[0]]
    if len(matches) > 1:
        raise UnknownCommand(f"/{name} is ambiguous: " + ", ".join("/" + m for m in sorted(matches)))
    close = difflib.get_close_matches(name, COMMANDS, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join('/' + c for c in close)}?" if close else "; /help lists the commands"
    raise UnknownCommand(f"unknown command /{name}{hint}")


def dispatch(repl: Repl, line: str) -> None:
    """Run one slash command line (`/name args`)."""
    name, _, rest = line[1:].strip().partition(" ")
    try:
        command = lookup(name.lower())
    except UnknownCommand as exc:
        repl.unknown_command = True  # a scripted chat exits 2 at its end
        repl.error(exc.message)
        return
    try:
        command.run(repl, rest.strip())
    except ChitError as exc:
        repl.error(exc.message)
