"""JSON output: one document on stdout, errors as `{"error": …}` on stderr.

Invariants: this module imports neither rich nor typer, so `--json` paths
stay fast; output is never coloured. A value is anything orjson writes:
besides JSON's own types, a `chit.model.Message`, which orjson writes as
its `as_dict()` (a transcript's messages are not copied into dicts first).
A compact document is written in pieces (`compact_pieces`) whose bytes are
exactly those of one `orjson.dumps`: a transcript of megabytes is never
one buffer of its own (fresh memory the system hands out page by page is
a good part of a long `load --json`'s time).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from chit.render.environment import Environment


def _bytes(value: Any, pretty: bool) -> bytes:
    # the newline written by orjson: a document of megabytes is not copied to add it
    option = orjson.OPT_APPEND_NEWLINE | (orjson.OPT_INDENT_2 if pretty else 0)
    return orjson.dumps(value, option=option)


#: items of a long array written at a time (a piece of a transcript: tens
#: of kilobytes, memory the previous piece freed)
PIECE = 64


def compact_pieces(value: Any) -> Iterator[bytes | memoryview]:
    """The compact JSON document of `value` and its newline, in pieces:
    joined, `orjson.dumps(value)` + newline. The values of a dict are
    written one by one, and a list or tuple value longer than PIECE items
    PIECE items at a time (compact JSON has no space to differ in)."""
    if not isinstance(value, dict) or not any(_long(item) for item in value.values()):
        yield _bytes(value, False)
        return
    separator = b"{"
    for key, item in value.items():
        yield separator
        separator = b","
        yield orjson.dumps(key)
        yield b":"
        if _long(item):
            yield from _array_pieces(item)
        else:
            yield orjson.dumps(item)
    yield b"}\n"


def _long(item: Any) -> bool:
    return isinstance(item, (list, tuple)) and len(item) > PIECE


def _array_pieces(items: list[Any] | tuple[Any, ...]) -> Iterator[bytes | memoryview]:
    yield b"["
    for start in range(0, len(items), PIECE):
        if start:
            yield b","
        yield memoryview(orjson.dumps(items[start : start + PIECE]))[1:-1]  # the items without the brackets
    yield b"]"


def emit(env: Environment, value: Any) -> None:
    """Write `value` as the one JSON document of this command's stdout
    (indented for a person at a terminal, else compact, in pieces)."""
    out = env.stdout
    out.flush()
    if env.stdout_isatty:
        out.buffer.write(_bytes(value, True))
    else:
        for piece in compact_pieces(value):
            out.buffer.write(piece)
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
