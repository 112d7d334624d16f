"""The codec's one-pass tests of a usual line (chit.store.codec) answer as
the field-by-field checks do: a stamp is what `HLC_RE` accepts, and a
message line passes the one-pass test only if every check of an event
passes it."""

from __future__ import annotations

import re
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from chit.model import ROLES
from chit.store import codec

HLC = re.compile(r"\d{13}\.\d{6}\Z")  # chit.store.clock.HLC_RE


@settings(max_examples=3000, deadline=None)
@given(st.one_of(st.text(st.sampled_from(list("0123456789.\n a²٣-")), max_size=24), st.from_regex(HLC, fullmatch=True)))
def test_a_usual_stamp_is_what_the_clock_pattern_accepts(text: str) -> None:
    assert codec._usual_stamp(text) == (HLC.match(text) is not None)


FIELD_VALUES: dict[str, Any] = {
    "type": st.sampled_from(["message", "rename", "session", 3]),
    "id": st.sampled_from(["m1", 1, None]),
    "role": st.sampled_from(["user", "assistant", "robot", None]),
    "content": st.sampled_from(["text", "", 5]),
    "ts": st.sampled_from(["2026-01-01T00:00:00.000000Z", None]),
    "hlc": st.sampled_from(["1765036800000.000001", "1765036800000.1", 7]),
    "by": st.sampled_from(["0123456789abcdef", None]),
    "tokens": st.sampled_from([{"input": 1, "output": None}, {"input": "1"}, [1], None]),
    "metadata": st.sampled_from([{}, {"a": [1]}, [], None]),
    "model": st.sampled_from(["m", 2, None]),
}


def every_check(record: dict[str, Any]) -> None:
    """The field-by-field checks of a message event (`_check_stamp` and
    `_check_message` without their one-pass shortcuts); raise BadRecord."""
    if "hlc" in record:
        for name in ("hlc", "by", "id"):
            codec._check_str(record, name)
        if not HLC.match(record["hlc"]):
            raise codec.BadRecord("hlc is not a clock stamp")
    for name in ("id", "role", "content", "ts"):
        codec._check_str(record, name)
    if record["role"] not in ROLES:
        raise codec.BadRecord("unknown role")
    for name in ("invocation_id", "model"):
        codec._check_str(record, name, required=False)
    codec._check(record, "metadata", (dict,), required=False)
    tokens = record.get("tokens")
    if tokens is not None:
        if not isinstance(tokens, dict):
            raise codec.BadRecord("tokens has the wrong type")
        for name in ("input", "output"):
            codec._check(tokens, name, (int,), required=False)


@settings(max_examples=2000, deadline=None)
@given(st.fixed_dictionaries({}, optional=FIELD_VALUES))
def test_a_line_passes_the_one_pass_test_only_if_it_passes_every_check(record: dict[str, Any]) -> None:
    if codec._usual_message_event(record):
        assert record["type"] == "message"
        every_check(record)  # raises if a check fails
        assert codec.decode_event(orjson.dumps(record)) == record
