"""A command's result, and the one place it is printed.

A command returns a `Result`: its data (what --json prints), how to draw
it for a person, and its exit status. `show` prints it once, for the
Environment and the output mode the command line asked for.

Invariants:
- under --json stdout holds exactly one JSON document, `data`; under
  --jsonl one JSON object per line, each of `items` as it comes; else
  `human` draws the result (stdout for the result, stderr for remarks);
- a result whose `data` is None has no JSON form of its own: `human`
  prints it whatever the mode (a snapshot that already is JSON), or
  nothing is printed (nothing was chosen);
- this module imports no UI library: `human` imports what it draws with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

from chit.errors import ExitStatus
from chit.render import json_out
from chit.render.environment import Environment

#: draws a result for a person, on the environment's streams
Human = Callable[[Environment], None]

#: how a result is printed: for a person, one JSON document, or one JSON object per line
Mode = Literal["human", "json", "jsonl"]


class Result:
    """What a command returns: printed once, by `show`. (A plain class:
    every command line loads it, and defining a dataclass or an Enum is
    start-up time.)"""

    __slots__ = ("data", "human", "status", "items")

    def __init__(
        self, data: Any = None, human: Human | None = None, status: int = int(ExitStatus.OK), items: Iterable[Any] | None = None
    ) -> None:
        self.data = data  # JSON-safe; None: no JSON form (see the invariants)
        self.human = human
        self.status = status
        self.items = items  # a listing's items, JSON-safe: streamed under --jsonl, `data` is then unused

    @classmethod
    def listing(cls, items: Iterable[Any], human: Human) -> Result:
        """A list of items: one JSON array under --json, one line per item
        under --jsonl (each written as it comes)."""
        return cls(human=human, items=items)


def show(result: Result, env: Environment, mode: Mode, colour: Callable[[], str]) -> int:
    """Print `result` for `env` in `mode`; its exit status. `colour` gives
    the config's colour setting, asked only when something is drawn."""
    if result.items is not None and mode == "jsonl":
        json_out.emit_lines(env, result.items)
    elif mode != "human" and (result.data is not None or result.items is not None):
        json_out.emit(env, list(result.items) if result.items is not None else result.data)
    elif isinstance(result.human, Plain):
        result.human(env)  # draws no colour: no config is read (`chit completion` needs no store)
    elif result.human is not None:
        result.human(env.with_colour(colour()))
    return result.status


def saying(*lines: str) -> Human:
    """A renderer that prints `lines` on stdout, one line each. Into a pipe
    or a file, lines without a tab or a carriage return (which rich
    expands or drops) are written as they are: what rich would write,
    without loading it (a script's `chit new` or `chit import` pays about
    50 ms for rich otherwise)."""

    def say(env: Environment) -> None:
        if not env.styled_stdout() and not any("\t" in text or "\r" in text for text in lines):
            from chit.visible import visible

            env.stdout.write("".join(visible(text) + "\n" for text in lines))
            env.stdout.flush()
            return
        from chit.render import human

        for text in lines:
            human.line(env, text)

    return say


class Plain:
    """A renderer that writes text to stdout as it is, without colour."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __call__(self, env: Environment) -> None:
        env.stdout.write(self.text)
        env.stdout.flush()


def writing(text: str) -> Human:
    """A renderer that writes `text` to stdout as it is: for text chit made
    itself (ids, a completion script, a command line), never data to make
    visible. It draws no colour, so `show` never reads the config for it."""
    return Plain(text)
