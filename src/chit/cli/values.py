"""Option values without pydantic, for start-up time.

Typer converts every command-line value to its parameter's type through a
pydantic TypeAdapter it builds on first use, and it converts absent values
(None) too, so any command line imports pydantic: about 30 ms, more than
all of `chit ls --json`'s own work (a value it converts, as a path or a
bounded number, builds a TypeAdapter too: about 80 ms in all). chit's
parameters are plain: bools, strings, whole numbers (some with a least
value), lists of strings and paths that need not exist, whose conversion
is known.

`PlainCommand` and `PlainGroup` (the classes of every chit command) give
each parameter a `process_value` (click's public hook that turns a
parameter's raw value into its final one) that answers where Typer's
answer is certain: None (or no values) for an absent optional parameter,
and for a plain annotation (no parser, upper bound, choices or file) a
bool for a bool, a str for a str, `-?[0-9]+` text or an int for an int
(at least its least value, if it has one), strings for a list of strings,
and for a path with Typer's default checks (it need not exist; if it
does, it must be readable) the Path of a text without a NUL byte that
names nothing or something readable; then, as Typer does, it runs the
parameter's callback. Every other value, and a missing required one, goes
to Typer's own `process_value`, with its conversion and its errors.

Invariant: what a command line means does not depend on which one
answered (tests/test_cli_values.py compares them on many values).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.core import TyperArgument, TyperOption

from chit.cli.helptext import HelpCommand, HelpGroup
from chit.patterns import LazyPattern

_INT = LazyPattern(r"-?[0-9]{1,18}\Z")
_PLAIN = (bool, str, int, list[str], Path)
UNSURE = object()


class PlainValue:
    """The `process_value` of one parameter; Typer's own does the rest."""

    def __init__(self, param: TyperArgument | TyperOption) -> None:
        self.param = param
        self._annotation: Any = UNSURE  # not looked at yet: most parameters of a command line are absent
        self.multi = bool(param.multiple or param.nargs == -1)
        self.typers_own: Callable[[Any, Any], Any] = param.process_value

    @property
    def annotation(self) -> Any:
        """The parameter's type when PlainValue converts its values, else None
        (worked out at its first given value: Typer's checks of it are slow)."""
        if self._annotation is UNSURE:
            self._annotation = self.param.type_descriptor.annotation if is_plain(self.param) else None
        return self._annotation

    def process_value(self, ctx: Any, value: Any) -> Any:
        """As Typer's: convert, refuse a missing required value, run the callback."""
        param = self.param
        converted = self.convert(value)
        if converted is UNSURE or (param.required and param.value_is_missing(converted)):
            return self.typers_own(ctx, value)  # its conversion, or its error
        return converted if param.callback is None else param.callback(ctx, param, converted)

    def convert(self, value: Any) -> Any:
        """`value` as Typer converts it, or UNSURE."""
        if value is None:  # Typer answers None (or no values) before it looks at the type
            return () if self.multi else None
        kind = self.annotation
        if kind is bool and isinstance(value, bool):
            return value
        if kind is str and type(value) is str and not self.multi:
            return value
        if kind is int and not self.multi:
            number = value if type(value) is int else int(value) if type(value) is str and _INT.match(value) else None
            least = self.param.type_descriptor.parameter_info.min
            if number is not None and (least is None or number >= least):
                return number
        if kind is Path and type(value) is str and not self.multi:
            return _readable_or_absent(value)
        if kind == list[str] and self.multi and isinstance(value, (list, tuple)) and all(type(v) is str for v in value):
            return list(value)
        return UNSURE


def _readable_or_absent(value: str) -> Any:
    """`value` as Typer converts it for a path with its default checks:
    its Path when it names nothing or something readable, else UNSURE
    (Typer's error, or its ValueError for a NUL byte)."""
    if "\x00" in value:
        return UNSURE
    try:
        os.stat(value)
    except OSError:
        return Path(value)
    return Path(value) if os.access(value, os.R_OK) else UNSURE


def is_plain(param: TyperArgument | TyperOption) -> bool:
    """A parameter whose given values PlainValue converts (not only None)."""
    descriptor = param.type_descriptor
    info = descriptor.parameter_info
    if descriptor.annotation not in _PLAIN:
        return False
    if info.parser is not None or info.max is not None or info.clamp:
        return False
    if info.min is not None and descriptor.annotation is not int:
        return False
    if descriptor.annotation is Path:
        return _default_path_checks(info)
    return not (descriptor.is_choice or descriptor.is_file or descriptor.is_path)


def _default_path_checks(info: Any) -> bool:
    """Typer's defaults for a path: it need not exist, may be a file or a
    directory, is read as given (no dash for stdin, not resolved), and if
    it exists must be readable."""
    return (not info.exists and info.file_okay and info.dir_okay and info.readable and not info.writable
            and not info.resolve_path and not info.allow_dash and info.path_type is None)


def plain_values(params: list[Any]) -> list[Any]:
    """`params`, each Typer parameter processing its value with a PlainValue."""
    for param in params:
        if isinstance(param, (TyperArgument, TyperOption)) and "process_value" not in vars(param):
            setattr(param, "process_value", PlainValue(param).process_value)  # this parameter's own
    return params


class PlainCommand(HelpCommand):
    """A chit command: plain help (chit.cli.helptext), plain values."""

    def get_params(self, ctx: Any) -> list[Any]:
        return plain_values(super().get_params(ctx))


class PlainGroup(HelpGroup):
    """A chit group of commands: plain help, plain values."""

    def get_params(self, ctx: Any) -> list[Any]:
        return plain_values(super().get_params(ctx))
