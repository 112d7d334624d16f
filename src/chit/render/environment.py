"""The process a command runs in, as the command sees it: its streams,
which of them are terminals, the environment variables output depends on
(NO_COLOR, FORCE_COLOR, COLUMNS, TERM), and the config's colour setting.

`chit.cli.main` builds one from the real process (`from_process`) and
hands it to the command; a test builds one over in-memory streams
(`captured`) and runs the same command in-process.

Invariants:
- nothing below reads `sys.stdout`, `sys.stderr`, `sys.stdin` or
  `os.environ` for output: every console, note and JSON document goes to
  this object's streams, laid out by its variables;
- the colour setting changes only the variables rich is given
  (`rich_variables`), never the process's environment;
- this module imports no UI library: a console is built (with rich) only
  when a human-readable result is printed.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console


class Environment:
    """Streams, terminals, variables and colour of one run of a command.
    (A plain class, not a dataclass: `chit --version` builds one, and
    importing dataclasses would be most of its time.)"""

    def __init__(
        self, stdin: TextIO, stdout: TextIO, stderr: TextIO, variables: Mapping[str, str],
        stdin_isatty: bool = False, stdout_isatty: bool = False, stderr_isatty: bool = False, colour: str = "auto",
    ) -> None:  # fmt: skip
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.variables = variables
        self.stdin_isatty, self.stdout_isatty, self.stderr_isatty = stdin_isatty, stdout_isatty, stderr_isatty
        self.colour = colour  # the config's `color`: auto, always or never
        self._consoles: dict[bool, Console] = {}

    @classmethod
    def from_process(cls) -> Environment:
        """This process's streams and environment variables."""
        return cls(
            sys.stdin, sys.stdout, sys.stderr, dict(os.environ),
            _isatty(sys.stdin), _isatty(sys.stdout), _isatty(sys.stderr),
        )  # fmt: skip

    @classmethod
    def captured(cls, stdin: bytes = b"", variables: Mapping[str, str] | None = None) -> Environment:
        """In-memory streams (none a terminal), for running a command
        in-process; `output` reads back what it wrote."""
        return cls(_memory(stdin), _memory(), _memory(), dict(variables or {}))

    def output(self) -> tuple[bytes, bytes]:
        """What was written to stdout and stderr, of a `captured` environment."""
        written = []
        for stream in (self.stdout, self.stderr):
            stream.flush()
            buffer = stream.buffer
            assert isinstance(buffer, io.BytesIO), "output() reads a captured environment"
            written.append(buffer.getvalue())
        return written[0], written[1]

    def with_colour(self, setting: str) -> Environment:
        """This environment under the config's `color` setting."""
        if setting == self.colour:
            return self
        return Environment(
            self.stdin, self.stdout, self.stderr, self.variables,
            self.stdin_isatty, self.stdout_isatty, self.stderr_isatty, setting,
        )  # fmt: skip

    @property
    def columns(self) -> int | None:
        """COLUMNS, when set: the width to lay out for, even in a pipe."""
        value = self.variables.get("COLUMNS", "")
        return int(value) if value.isdigit() and int(value) > 0 else None

    @property
    def interactive(self) -> bool:
        """A person at a terminal, on both ends."""
        return self.stdin_isatty and self.stdout_isatty

    @property
    def stdout_terminal(self) -> bool:
        """stdout is a terminal that can page (not TERM=dumb)."""
        return self.stdout_isatty and self.variables.get("TERM") != "dumb"

    def rich_variables(self) -> Mapping[str, str]:
        """The variables rich reads, with the colour setting applied the way
        rich understands it: never is NO_COLOR, always is FORCE_COLOR."""
        if self.colour == "never":
            return {**{k: v for k, v in self.variables.items() if k != "FORCE_COLOR"}, "NO_COLOR": self.variables.get("NO_COLOR", "1")}
        if self.colour == "always" and "NO_COLOR" not in self.variables:
            return {"FORCE_COLOR": "1", **self.variables}
        return self.variables

    def styled_stdout(self) -> bool:
        """Whether results on stdout may be styled by rich: on a terminal,
        or when colour is forced."""
        variables = self.rich_variables()
        return self.stdout_isatty or "FORCE_COLOR" in variables or "TTY_COMPATIBLE" in variables

    def styled_stderr(self) -> bool:
        """Whether notes on stderr are drawn with rich (dim) rather than
        written as plain text: on a terminal, or when colour is forced."""
        variables = self.rich_variables()
        return self.stderr_isatty or "FORCE_COLOR" in variables or "TTY_COMPATIBLE" in variables

    def console(self, stderr: bool = False) -> Console:
        """The rich console on stdout (or stderr), made once."""
        if stderr not in self._consoles:
            from chit.render.console import make_console

            self._consoles[stderr] = make_console(file=self.stderr if stderr else self.stdout, _environ=self.rich_variables())
        return self._consoles[stderr]

    def note(self, message: str) -> None:
        """A remark on stderr, never part of the result: dim through rich
        when styled, else the text as it is, which needs no rich (an empty
        listing in a script loads no UI library)."""
        from chit.visible import visible

        if self.styled_stderr():
            from rich.text import Text

            self.console(stderr=True).print(Text(visible(message), style="dim"), soft_wrap=True)
            return
        self.stderr.write(visible(message) + "\n")
        self.stderr.flush()

    def warn(self, message: str) -> None:
        from chit.visible import visible

        self.stderr.write(f"chit: warning: {visible(message)}\n")
        self.stderr.flush()

    def error(self, message: str) -> None:
        from chit.visible import visible

        self.stderr.write(f"chit: error: {visible(message)}\n")
        self.stderr.flush()


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # a closed stream
        return False


def _memory(data: bytes = b"") -> TextIO:
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace", newline="", write_through=True)
