"""The codec's one-pass tests of a usual line (`chit.store.codec`): nearly
every line of a session is a message holding the fields chit writes,
and these tests answer for it in one pass what the field-by-field checks
would, faster than decoding the line (tests/test_codec_usual.py holds
them to it at every near miss).

Invariants: `usual_message_event(r)` is true only when every check of a
message event passes `r`; `shallow(r)` only when `r` is nested at most two
deep; `usual_line(r)` is exactly `usual_message_event(r) and shallow(r)`;
`usual_stamp(s)` is exactly `HLC_RE.match(s) is not None`.
"""

from __future__ import annotations

from typing import Any

from chit.model import ROLES


def shallow(record: dict[str, Any]) -> bool:
    """Whether `record` is nested at most two deep (its values are scalars
    or containers of scalars), as nearly every record is: then the line's
    brackets need no counting (a scan of every byte of a long session)."""
    for value in record.values():
        kind = type(value)
        if kind is str:  # most values: tested first
            continue
        if kind is dict:
            inner = value.values()
        elif kind is list:
            inner = value
        else:
            continue
        for item in inner:
            if type(item) is dict or type(item) is list:
                return False
    return True


def usual_message(record: dict[str, Any]) -> bool:
    """True when a message record has the documented types, tested in one
    pass: nearly every line passes, and the codec's field-by-field checks
    (which name what is wrong) cost more than decoding the line itself.
    (Subscripts and `in`, not `get`: a method call each, for thousands of
    lines; `x is None or type(x) is str`, not `type(x) in (str, NoneType)`:
    that tuple would be built again for every line.)"""
    try:
        role = record["role"]
        if not (type(record["id"]) is str and type(role) is str and role in ROLES
                and type(record["content"]) is str and type(record["ts"]) is str):
            return False
    except KeyError:
        return False
    if "invocation_id" in record and (value := record["invocation_id"]) is not None and type(value) is not str:
        return False
    if "model" in record and (value := record["model"]) is not None and type(value) is not str:
        return False
    if "metadata" in record and (value := record["metadata"]) is not None and type(value) is not dict:
        return False
    if "tokens" not in record:
        return True
    tokens = record["tokens"]
    return tokens is None or (
        type(tokens) is dict
        and ((value := tokens.get("input")) is None or type(value) is int)
        and ((value := tokens.get("output")) is None or type(value) is int)
    )


def usual_message_event(record: dict[str, Any]) -> bool:
    """True for a message line that every check of the codec's `_event` passes (its
    stamp too, when it has one), tested in one pass: a long session is
    thousands of them."""
    if "type" not in record or record["type"] != "message" or not usual_message(record):
        return False
    if "hlc" not in record:
        return True
    hlc = record["hlc"]
    return type(hlc) is str and usual_stamp(hlc) and "by" in record and type(record["by"]) is str


def usual_line(record: dict[str, Any]) -> bool:
    """`usual_message_event(record) and shallow(record)`, the answer of a
    message line holding only the fields chit always writes (the stamp's
    too, or none of them) found without looking at the others: the whole
    decoding of such a line is `orjson.loads` and this."""
    try:
        if record["type"] != "message":  # an event of another kind, before a lookup that would raise
            return False
        role = record["role"]
        if not (type(record["id"]) is str and type(role) is str and role in ROLES
                and type(record["content"]) is str and type(record["ts"]) is str):
            return False
    except KeyError:
        return False
    if "hlc" not in record:
        if len(record) == 5:  # type, id, role, content and ts: strings, all
            return True
    elif len(record) == 7 and "by" in record:  # and hlc and by
        hlc = record["hlc"]
        return type(hlc) is str and usual_stamp(hlc) and type(record["by"]) is str
    return usual_message_event(record) and shallow(record)


def usual_stamp(hlc: str) -> bool:
    """`HLC_RE.match(hlc)`, answered without a regex call (`\\d` is what
    `str.isdecimal` accepts): the same answer for every string. (Only the
    first "." is made a digit: when it is not the 14th character, the 14th,
    a "." too, fails `isdecimal`.)"""
    return len(hlc) == 20 and hlc[13] == "." and hlc.replace(".", "0", 1).isdecimal()
