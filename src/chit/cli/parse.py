"""Small parsers for option values: durations and key=value pairs.

Invariant: a bad value raises `InvalidInput` with the offending text.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from chit.errors import InvalidInput

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: The longest age taken: one far longer reaches back past the calendar's first year.
MAX_DURATION = 1000 * 365 * 86400.0


def duration(text: str) -> float:
    """'90', '90s', '10m', '2h', '7d', '2w' → seconds."""
    match = _DURATION.match(text.lower())
    if not match:
        raise InvalidInput(f"not a duration: {text!r} (use e.g. 90s, 10m, 2h, 7d, 2w)")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_DURATION:
        raise InvalidInput(f"duration too long: {text!r} (at most 1000 years)")
    return seconds


def pairs(items: list[str] | None, what: str = "--meta") -> dict[str, Any]:
    """KEY=VALUE items; a VALUE that parses as JSON is kept typed."""
    result: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{what} wants KEY=VALUE, got {item!r}")
        try:
            result[key] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            result[key] = raw
    return result
