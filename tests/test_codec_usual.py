"""The codec's one-pass tests of a usual line (chit.store.usual) answer as
the field-by-field checks do: a stamp is what `HLC_RE` accepts, and a
message line passes the one-pass test only if every check of an event
passes it.

Each property is held two ways: on every near miss of a usual value (a
stamp with one character changed, added or taken away; a usual message
line with one or two of its fields changed or taken away), enumerated,
and on generated values. A divergence sits at a near miss: 3,000
generated stamps did not find a test that took `isdigit` for
`isdecimal`, accepted a longer string or skipped the dot, which the
enumeration finds. CHIT_LONG=1 generates 3,000 stamps and 2,000 lines
instead of 300 and 200.
"""

from __future__ import annotations

import itertools
import os
import re
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from chit.store import codec
from chit.store import usual as one_pass

LONG = bool(os.environ.get("CHIT_LONG"))
HLC = re.compile(r"\d{13}\.\d{6}\Z")  # chit.store.clock.HLC_RE
STAMP_CHARACTERS = "0123456789.\n a²٣-"  # ² is a digit but not decimal, ٣ a decimal but not ASCII


def near_misses(stamp: str) -> set[str]:
    """Every prefix of `stamp`, and every string one character deleted,
    replaced or inserted (one of STAMP_CHARACTERS) away from it."""
    found = {stamp[:cut] for cut in range(len(stamp) + 1)}
    for at in range(len(stamp) + 1):
        found.add(stamp[:at] + stamp[at + 1 :])
        for char in STAMP_CHARACTERS:
            found.add(stamp[:at] + char + stamp[at + 1 :])
            found.add(stamp[:at] + char + stamp[at:])
    return found


def test_a_usual_stamp_is_what_the_clock_pattern_accepts_at_every_near_miss() -> None:
    for stamp in ("1765036800000.000001", "٣" * 13 + "." + "0" * 6):
        for text in near_misses(stamp):
            assert one_pass.usual_stamp(text) == (HLC.match(text) is not None), text


@settings(max_examples=3000 if LONG else 300, deadline=None)
@given(st.one_of(st.text(st.sampled_from(list(STAMP_CHARACTERS)), max_size=24), st.from_regex(HLC, fullmatch=True)))
def test_a_usual_stamp_is_what_the_clock_pattern_accepts(text: str) -> None:
    assert one_pass.usual_stamp(text) == (HLC.match(text) is not None)


VALUES: dict[str, list[Any]] = {  # the first of each: what a usual message line holds
    "type": ["message", "rename", "session", 3],
    "id": ["m1", 1, None],
    "role": ["user", "assistant", "robot", None],
    "content": ["text", "", 5],
    "ts": ["2026-01-01T00:00:00.000000Z", None],
    "hlc": ["1765036800000.000001", "1765036800000.1", 7],
    "by": ["0123456789abcdef", None],
    "tokens": [{"input": 1, "output": None}, {"input": "1"}, {"output": 1.5}, [1], None],
    "metadata": [{}, {"a": [1]}, [], None],
    "model": ["m", 2, None],
    "invocation_id": ["i1", 3, None],
}
FIELD_VALUES: dict[str, Any] = {name: st.sampled_from(values) for name, values in VALUES.items()}
ABSENT = object()


def every_check(record: dict[str, Any]) -> None:
    """The field-by-field checks of a message event (the stamp's fields and
    `codec.MESSAGE`, without the one-pass test); raise BadRecord."""
    if "hlc" in record:
        reason = codec.problem(record, tuple(codec.Field(name, str, codec.REQUIRED) for name in ("hlc", "by", "id")))
        if reason is not None:
            raise codec.BadRecord(reason)
        if not HLC.match(record["hlc"]):
            raise codec.BadRecord("hlc is not a clock stamp")
    reason = codec.problem(record, codec.MESSAGE)
    if reason is not None:
        raise codec.BadRecord(reason)


def passes_only_what_every_check_passes(record: dict[str, Any]) -> None:
    assert one_pass.usual_line(record) == (one_pass.usual_message_event(record) and one_pass.shallow(record))
    if one_pass.usual_message_event(record):
        assert record["type"] == "message"
        every_check(record)  # raises if a check fails
        assert codec.decode_event(orjson.dumps(record)) == record


def test_a_line_passes_the_one_pass_test_only_if_it_passes_every_check_at_every_near_miss() -> None:
    """A usual line with any one or two fields set to each of their values or taken away."""
    usual = {name: values[0] for name, values in VALUES.items()}
    passed = 0
    for names in itertools.chain(itertools.combinations(VALUES, 1), itertools.combinations(VALUES, 2)):
        for changed in itertools.product(*([ABSENT, *VALUES[name]] for name in names)):
            record = dict(usual)
            for name, value in zip(names, changed):
                if value is ABSENT:
                    del record[name]
                else:
                    record[name] = value
            passes_only_what_every_check_passes(record)
            passed += one_pass.usual_message_event(record)
    assert passed > 100  # the near misses the one-pass test must let through are there too


@settings(max_examples=2000 if LONG else 200, deadline=None)
@given(st.fixed_dictionaries({}, optional=FIELD_VALUES))
def test_a_line_passes_the_one_pass_test_only_if_it_passes_every_check(record: dict[str, Any]) -> None:
    passes_only_what_every_check_passes(record)


EXTRA: dict[str, list[Any]] = {"extra": ["x", {"a": 1}, {"a": {"b": 1}}, [[1]]], **VALUES}
BARE = ("type", "id", "role", "content", "ts")  # what every message line holds


def test_a_line_of_only_the_usual_fields_passes_the_shortest_test_only_if_it_passes_every_check() -> None:
    """A message line holding only the fields chit always writes (with or
    without the stamp's), with any one or two fields set to each of their
    values, taken away or added (one nested deeper than two): the test of
    `decode_lines` answers as the one-pass test and the depth test do."""
    passed = 0
    for base in (BARE, (*BARE, "hlc", "by")):
        usual = {name: VALUES[name][0] for name in base}
        for names in itertools.chain(itertools.combinations(EXTRA, 1), itertools.combinations(EXTRA, 2)):
            for changed in itertools.product(*([ABSENT, *EXTRA[name]] for name in names)):
                record = dict(usual)
                for name, value in zip(names, changed):
                    if value is ABSENT:
                        record.pop(name, None)
                    else:
                        record[name] = value
                passes_only_what_every_check_passes(record)
                passed += one_pass.usual_line(record)
    assert passed > 100


def test_decode_lines_gives_what_decode_event_gives_line_by_line() -> None:
    """Usual lines, other events, bad lines, blank lines and a nested one:
    each record or refusal as `decode_event` has it, blank lines skipped."""
    lines = [
        b'{"type":"message","id":"m1","role":"user","content":"hi","ts":"t"}',
        b'{"type":"message","hlc":"1765036800000.000001","by":"0123456789abcdef","id":"m2","role":"user","content":"x","ts":"t"}',
        b'{"type":"message","hlc":"1765036800000.1","by":"0123456789abcdef","id":"m3","role":"user","content":"x","ts":"t"}',
        b'{"type":"message","id":"m4","role":"robot","content":"x","ts":"t"}',
        b'{"type":"rename","title":"t"}',
        b'{"type":"message","id":"m5","role":"user","content":"x","ts":"t","metadata":{"a":' + b"[" * 300 + b"]" * 300 + b"}}",
        b"",
        b"  \t",
        b"[1]",
        b"{not json",
        b'{"type":"message","id":"m6","role":"user","content":"\xff","ts":"t"}',  # not UTF-8
    ]
    data = b"".join(line + b"\n" for line in lines)
    spans = list(codec.line_spans(data))
    events: list[dict[str, Any]] = []
    refused: list[tuple[int, str]] = []
    codec.decode_lines(data, spans, codec.FORMAT_VERSION, "whole", events, lambda i, start, end, reason: refused.append((i, reason)))
    expected: list[dict[str, Any]] = []
    expected_refused: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            expected.append(codec.decode_event(line))
        except codec.BadRecord as exc:
            expected_refused.append((i, exc.reason))
    assert events == expected
    assert refused == expected_refused
    assert [i for i, _ in refused] == [2, 3, 5, 8, 9, 10]
