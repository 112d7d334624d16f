"""Moments given on the command line: `--since` and `--until` values.

A value is one of:
- an age: a whole number and a unit, `90m`, `2h`, `3d`, `2w` (minutes,
  hours, days, weeks before now);
- `today` or `yesterday`: the start of that day, in local time;
- an ISO date (`2026-03-01`, the start of that day in local time) or
  datetime (`2026-03-01T14:30`, local time unless it names an offset or `Z`).

Invariants: pure (no I/O; `now` is a parameter); the result is an RFC 3339
UTC string in the store's form (`chit.model.format_ts`), so it compares
with recorded timestamps as text; anything else raises InvalidInput
naming the option.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from chit.errors import InvalidInput
from chit.model import format_ts
from chit.patterns import LazyPattern

_AGE = LazyPattern(r"^(\d{1,6})([mhdw])$")
_UNIT = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
ACCEPTED = "an age such as 90m, 2h, 3d or 2w, today, yesterday, or an ISO date or datetime"


def moment(text: str, now: datetime, option: str = "--since") -> str:
    """The UTC timestamp `text` names, relative to the aware `now`."""
    value = text.strip().lower()
    found = _AGE.match(value)
    if found:
        try:
            return format_ts(now - int(found.group(1)) * _UNIT[found.group(2)])
        except OverflowError:
            raise InvalidInput(f"{option}: {text!r} reaches back past year 1") from None
    if value in ("today", "yesterday"):
        day = now.astimezone().date() - timedelta(days=1 if value == "yesterday" else 0)
        return _local_midnight(day)
    try:
        if len(value) == 10:
            return _local_midnight(date.fromisoformat(value))
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{option}: cannot read {text!r}; give {ACCEPTED}") from None
    return format_ts(parsed if parsed.tzinfo is not None else parsed.astimezone())


def _local_midnight(day: date) -> str:
    return format_ts(datetime.combine(day, time()).astimezone())


def window(since: str | None, until: str | None, now: datetime) -> tuple[str | None, str | None]:
    """(since, until) as UTC timestamps; InvalidInput when until is before since."""
    start = moment(since, now, "--since") if since is not None else None
    end = moment(until, now, "--until") if until is not None else None
    if start is not None and end is not None and end < start:
        raise InvalidInput(f"--until {until!r} is before --since {since!r}")
    return start, end


def within(ts: str, since: str | None, until: str | None) -> bool:
    """Whether the timestamp `ts` lies in [since, until] (either end open)."""
    return (since is None or ts >= since) and (until is None or ts <= until)
