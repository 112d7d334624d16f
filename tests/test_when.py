"""`--since`/`--until` values read into UTC timestamps (chit.service.when)."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone

import pytest

from chit.errors import InvalidInput
from chit.service.when import moment, window, within

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def utc_local(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local time is UTC here, so dates and `today` have fixed answers."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", "2026-03-10T11:00:00.000000Z"),
        ("2h", "2026-03-10T10:30:00.000000Z"),
        ("3d", "2026-03-07T12:30:00.000000Z"),
        ("2w", "2026-02-24T12:30:00.000000Z"),
        ("today", "2026-03-10T00:00:00.000000Z"),
        ("Yesterday", "2026-03-09T00:00:00.000000Z"),
        ("2026-03-01", "2026-03-01T00:00:00.000000Z"),
        ("2026-03-01T14:30", "2026-03-01T14:30:00.000000Z"),
        ("2026-03-01T14:30:00+02:00", "2026-03-01T12:30:00.000000Z"),
        ("2026-03-01T14:30:00Z", "2026-03-01T14:30:00.000000Z"),
    ],
)
def test_each_accepted_form(text: str, expected: str) -> None:
    assert moment(text, NOW) == expected


def test_a_date_is_the_start_of_that_local_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Etc/GMT-2")  # two hours east of UTC
    time.tzset()
    try:
        assert moment("2026-03-01", NOW) == "2026-02-28T22:00:00.000000Z"
        assert moment("today", NOW) == "2026-03-09T22:00:00.000000Z"
    finally:
        os.environ["TZ"] = "UTC"
        time.tzset()


@pytest.mark.parametrize("text", ["", "3", "3y", "-2d", "2 d", "soon", "2026-13-01", "2026-03-01T25:00", "9999999w"])
def test_anything_else_is_invalid_input_naming_the_option(text: str) -> None:
    with pytest.raises(InvalidInput, match="--until"):
        moment(text, NOW, "--until")


def test_an_age_past_year_one_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        moment("999999w", NOW)


def test_window_and_within() -> None:
    start, end = window("2d", "1d", NOW)
    assert start is not None and end is not None and start < end
    assert within("2026-03-08T20:00:00.000000Z", start, end)
    assert not within("2026-03-10T00:00:00.000000Z", start, end)
    assert within("1999-01-01T00:00:00.000000Z", None, None)
    with pytest.raises(InvalidInput, match="before"):
        window("1d", "2d", NOW)
