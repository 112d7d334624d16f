"""Parameter coercion without pydantic, for startup time.

Typer coerces every parameter value through a pydantic `TypeAdapter` that it
builds on first use, so any command line (even `--help`, whose flag value is
None) imports pydantic: about 50 ms, most of chit's start-up. chit's
options are plain bools, strings, whole numbers and lists of strings, whose
coercion is known without pydantic.

Invariant: `install` changes no result. The light coercer answers only
where typer's answer is certain: None (typer returns it before looking at
the type), and for a plain annotation with no parser, range, choices, file
or path handling, a bool for bool, a str for str, `-?[0-9]+` text or an int
for int, strings for list[str]. Every other value goes, with its errors,
to typer's own coercion. If typer's internals differ from what this
expects, nothing is installed.
"""

from __future__ import annotations

import re
from typing import Any

_INT = re.compile(r"-?[0-9]{1,18}\Z")
_PLAIN = (bool, str, int, list[str])


class _Light:
    """Stands in for typer's runtime coercion of one parameter."""

    def __init__(self, param: Any, plain: bool) -> None:
        self.param = param
        self.annotation = param.type_descriptor.annotation if plain else None
        self.multi = param.multiple or param.nargs == -1
        self._typer: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:  # typer answers None before it looks at the type
            return () if self.multi else None
        kind = self.annotation
        if kind is bool and isinstance(value, bool):
            return value
        if kind is str and type(value) is str and not self.multi:
            return value
        if kind is int and not self.multi:
            if type(value) is int:
                return value
            if type(value) is str and _INT.match(value):
                return int(value)
        if kind == list[str] and self.multi and isinstance(value, (list, tuple)) and all(type(v) is str for v in value):
            return list(value)
        return self._fallback().coerce(value, param=param, ctx=ctx)

    def _fallback(self) -> Any:
        if self._typer is None:
            from typer._coercion import build_runtime_param

            self._typer = build_runtime_param(self.param.type_descriptor)
        return self._typer


def _ours(param: Any) -> bool:
    """A typer parameter whose coercion is not built yet."""
    return getattr(param, "type_descriptor", None) is not None and getattr(param, "_runtime_param", 0) is None


def _plain(param: Any) -> bool:
    descriptor = param.type_descriptor
    info = getattr(descriptor, "parameter_info", None)
    if info is None or descriptor.annotation not in _PLAIN:
        return False
    if getattr(info, "parser", None) is not None or getattr(info, "min", None) is not None or getattr(info, "max", None) is not None:
        return False
    try:
        return not (descriptor.is_choice or descriptor.is_file or descriptor.is_path)
    except Exception:  # a typer we do not know: leave it alone
        return False


def install(command: Any) -> None:
    """Give the plain parameters of `command` and its subcommands the light coercer."""
    try:
        from typer import _coercion

        if not hasattr(_coercion, "build_runtime_param"):
            return
    except ImportError:
        return
    stack = [command]
    while stack:
        current = stack.pop()
        for param in getattr(current, "params", ()):
            if _ours(param):
                param._runtime_param = _Light(param, _plain(param))
        if callable(getattr(current, "get_help_option", None)):
            current.get_help_option = _help_option_hook(current.get_help_option)
        stack.extend(getattr(current, "commands", {}).values())


def _help_option_hook(original: Any) -> Any:
    """The --help option is made on first use; give it the light coercer then."""

    def get_help_option(ctx: Any) -> Any:
        option = original(ctx)
        if option is not None and _ours(option):
            option._runtime_param = _Light(option, _plain(option))
        return option

    return get_help_option
