"""JSON output: one document on stdout, errors as `{"error": …}` on stderr.

Invariants: this module imports neither rich nor typer, so `--json` paths
stay fast; output is never coloured. A value is anything orjson writes:
besides JSON's own types, a `chit.model.Message`, which orjson writes as
its `as_dict()` (a transcript's messages are not copied into dicts first).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from chit.render.environment import Environment


def _bytes(value: Any, pretty: bool) -> bytes:
    # the newline written by orjson: a document of megabytes is not copied to add it
    option = orjson.OPT_APPEND_NEWLINE | (orjson.OPT_INDENT_2 if pretty else 0)
    return orjson.dumps(value, option=option)


def emit(env: Environment, value: Any) -> None:
    """Write `value` as the one JSON document of this command's stdout
    (indented for a person at a terminal)."""
    out = env.stdout
    out.flush()
    out.buffer.write(_bytes(value, env.stdout_isatty))
    out.buffer.flush()


def emit_lines(env: Environment, values: Iterable[Any]) -> None:
    """Write each value as one compact JSON line (JSON Lines), flushing
    after each so a reader of the pipe sees it at once."""
    out = env.stdout
    out.flush()
    for value in values:
        out.buffer.write(_bytes(value, False))
        out.buffer.flush()


def emit_error(env: Environment, error: dict[str, Any]) -> None:
    err = env.stderr
    err.flush()
    err.buffer.write(_bytes({"error": error}, False))
    err.buffer.flush()
