"""The pure core: codec (records <-> lines), fold (log -> Session), the
title rule and the search snippet rule. No I/O."""

from __future__ import annotations

import sys

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chit.store import codec
from chit.store.fold import fold, message_from_record, message_to_record, numbered_messages
from chit.model import LogIssue, Message, Tokens, derive_title
from chit.index.snippets import find_folded, make_snippet

SID = "0b0e5a8c-1d2e-4f30-8a4b-5c6d7e8f9a0b"
T0 = "2025-01-01T00:00:00.000000Z"


def header(**extra: object) -> dict[str, object]:
    return {"type": "session", "version": codec.FORMAT_VERSION, "id": SID, "project": "/p", "created_at": T0, **extra}


def msg(i: int, role: str, content: str, **extra: object) -> dict[str, object]:
    return {"type": "message", "id": f"m{i}", "role": role, "content": content, "ts": f"2025-01-01T00:00:{i:02d}.000000Z", **extra}


# -- codec ---------------------------------------------------------------


def test_encode_is_exactly_one_line_even_with_newlines_in_content() -> None:
    line = codec.encode(msg(1, "user", "a\nb\r\nc\u2028d"))
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert codec.decode_event(line[:-1])["content"] == "a\nb\r\nc\u2028d"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_any_text_round_trips_as_one_line(text: str) -> None:
    record = msg(1, "assistant", text)
    try:
        line = codec.encode(record)
    except TypeError:  # lone surrogates are not encodable: rejected, never written
        return
    assert line.count(b"\n") == 1
    assert codec.decode_event(line.rstrip(b"\n"))["content"] == text


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=80))
def test_decode_only_ever_raises_bad_record(data: bytes) -> None:
    for decode in (codec.decode_event, codec.decode_header):
        try:
            result = decode(data)
        except codec.BadRecord as exc:
            assert exc.reason
        else:
            assert isinstance(result, dict)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"role": "user"}', "missing type"),
        (orjson.dumps(msg(1, "wizard", "x")), "unknown role"),
        (orjson.dumps({**msg(1, "user", "x"), "content": 5}), "content has the wrong type"),
        (orjson.dumps({**msg(1, "user", "x"), "content": None}), "missing content"),
        (orjson.dumps({**msg(1, "user", "x"), "role": ["user"]}), "role has the wrong type"),
        (orjson.dumps({**msg(1, "user", "x"), "ts": 1}), "ts has the wrong type"),
        (orjson.dumps({**msg(1, "user", "x"), "model": 5}), "model has the wrong type"),
        (orjson.dumps({**msg(1, "user", "x"), "invocation_id": []}), "invocation_id has the wrong type"),
        (orjson.dumps({**msg(1, "user", "x"), "metadata": []}), "metadata has the wrong type"),
        (orjson.dumps({**msg(1, "user", "x"), "tokens": [1]}), "tokens has the wrong type"),
        (orjson.dumps({**msg(1, "user", "x"), "tokens": {"input": True}}), "input has the wrong type"),
        (orjson.dumps({**msg(1, "user", "x"), "tokens": {"output": 1.5}}), "output has the wrong type"),
        (orjson.dumps({**msg(1, "user", "x"), "hlc": "1", "by": "b"}), "hlc is not a clock stamp"),
        (orjson.dumps({**msg(1, "user", "x"), "hlc": 1, "by": "b"}), "hlc has the wrong type"),
        (orjson.dumps({**msg(1, "user", "x"), "hlc": "1796559741014.000000"}), "missing by"),
        (orjson.dumps({**msg(1, "user", "x"), "hlc": "1796559741014.000000", "by": "b", "id": 7}), "id has the wrong type"),
        (orjson.dumps({"type": "rewind", "keep": -1}), "keep is negative"),
        (orjson.dumps({"type": "state", "state": "sleeping"}), "unknown state"),
        (orjson.dumps(header()), "a second header"),
    ],
)
def test_decode_event_rejects_with_a_reason(line: bytes, reason: str) -> None:
    with pytest.raises(codec.BadRecord) as caught:
        codec.decode_event(line)
    assert caught.value.reason == reason


def test_decode_event_passes_unknown_event_types_through() -> None:
    assert codec.decode_event(b'{"type": "future-thing", "x": 1}') == {"type": "future-thing", "x": 1}


def test_decode_header_requires_session_type_and_fields() -> None:
    assert codec.decode_header(orjson.dumps(header()))["id"] == SID
    with pytest.raises(codec.BadRecord, match="not a session header"):
        codec.decode_header(orjson.dumps(msg(1, "user", "x")))
    bad = header()
    del bad["created_at"]
    with pytest.raises(codec.BadRecord, match="missing created_at"):
        codec.decode_header(orjson.dumps(bad))


# -- message records -----------------------------------------------------


def test_message_record_round_trip_keeps_optional_fields() -> None:
    original = Message(
        id="m1", role="assistant", content="hi", ts=T0, invocation_id="inv-1", model="m-2",
        tokens=Tokens(12, 34), metadata={"k": [1, 2]},
    )
    record = message_to_record(original)
    assert record == {
        "type": "message", "id": "m1", "role": "assistant", "content": "hi", "ts": T0,
        "invocation_id": "inv-1", "model": "m-2", "tokens": {"input": 12, "output": 34}, "metadata": {"k": [1, 2]},
    }
    assert message_from_record(codec.decode_event(codec.encode(record).rstrip())) == original


def test_bare_message_record_has_no_optional_keys() -> None:
    record = message_to_record(Message(id="m", role="user", content="x", ts=T0))
    assert set(record) == {"type", "id", "role", "content", "ts"}


# -- turns and fold ------------------------------------------------------


def test_turns_number_from_zero_and_preamble_has_none() -> None:
    records = [
        msg(1, "system", "s"), msg(2, "assistant", "hello"), msg(3, "user", "q0"), msg(4, "assistant", "a0"),
        msg(5, "tool", "t0"), msg(6, "user", "q1"), msg(7, "assistant", "a1"),
    ]
    assert [m.turn for m in numbered_messages(records)] == [None, None, 0, 0, 0, 1, 1]


def test_fold_applies_rewind_pop_and_counts_dropped() -> None:
    events = [msg(i, "user" if i % 2 else "assistant", f"c{i}") for i in range(1, 7)]
    events += [{"type": "rewind", "keep": 4, "ts": "2025-01-02T00:00:00.000000Z"}, {"type": "pop"}]
    session = fold(header(), events)
    assert [m.content for m in session.messages] == ["c1", "c2", "c3"]
    assert session.dropped == 3
    assert session.updated_at == "2025-01-02T00:00:00.000000Z"


def test_fold_pop_on_empty_changes_nothing() -> None:
    session = fold(header(), [{"type": "pop"}])
    assert session.messages == () and session.dropped == 0


def test_fold_titles_tags_values_state_and_trash() -> None:
    events: list[dict[str, object]] = [
        msg(1, "user", "  first\nquestion  "),
        {"type": "tag", "tags": ["a", "b"]},
        {"type": "tag", "tags": ["b", "c", "a"]},
        {"type": "untag", "tags": ["b"]},
        {"type": "set", "key": "k", "value": {"n": 1}},
        {"type": "set", "key": "gone", "value": 1},
        {"type": "unset", "key": "gone"},
        {"type": "state", "state": "running", "turn_id": "t1", "ts": "2025-01-03T00:00:00.000000Z"},
        {"type": "trash", "ts": "2025-01-04T00:00:00.000000Z"},
    ]
    session = fold(header(), events)
    assert session.title == "first question"
    assert session.manual_title is None
    assert session.tags == ("a", "c")
    assert session.values == {"k": {"n": 1}}
    assert (session.run.state, session.run.turn_id, session.run.since) == ("running", "t1", "2025-01-03T00:00:00.000000Z")
    assert session.deleted_at == "2025-01-04T00:00:00.000000Z"
    restored = fold(header(), [*events, {"type": "restore"}])
    assert restored.deleted_at is None


def test_fold_manual_title_wins_until_cleared() -> None:
    base = [msg(1, "user", "derived one")]
    assert fold(header(title="Head"), base).title == "Head"
    renamed = fold(header(), [*base, {"type": "rename", "title": "Manual"}, msg(2, "user", "later")])
    assert (renamed.title, renamed.manual_title) == ("Manual", "Manual")
    cleared = fold(header(title="Head"), [*base, {"type": "rename", "title": None}])
    assert (cleared.title, cleared.manual_title) == ("derived one", None)


def test_fold_keeps_issues_and_read_only_flag() -> None:
    issues = (LogIssue(3, "not JSON"),)
    session = fold(header(version=99), [], issues, read_only=True)
    assert session.issues == issues and session.read_only and session.version == 99


# -- derived title -------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "title"),
    [
        (None, "new session"),
        ("   \n\t ", "new session"),
        ("  hello\nworld  ", "hello world"),
        ("x" * 60, "x" * 60),
        ("x" * 61, "x" * 60 + "…"),
        ("y" * 200, "y" * 60 + "…"),
    ],
)
def test_derive_title(content: str | None, title: str) -> None:
    assert derive_title(content) == title


def test_derive_title_never_exceeds_sixty_chars_plus_ellipsis() -> None:
    title = derive_title("word " * 40)
    assert len(title) <= 61 and title.endswith("…")
    assert "\n" not in title


# -- search matching and snippets ----------------------------------------


def test_find_folded_maps_back_to_original_indices() -> None:
    text = "Die Straße ist lang"
    start, end = find_folded(text, "strasse")  # type: ignore[misc]
    assert text[start:end] == "Straße"
    assert find_folded("ABC", "b") == (1, 2)
    assert find_folded("abc", "zz") is None
    assert find_folded("abc", "") is None


def _find_by_mapping_every_character(text: str, folded_query: str) -> tuple[int, int] | None:
    """The rule spelled out: fold each character, map each folded index back."""
    owner = [i for i, ch in enumerate(text) for _ in ch.casefold()]
    pos = "".join(ch.casefold() for ch in text).find(folded_query)
    return None if pos < 0 or not folded_query else (owner[pos], owner[pos + len(folded_query) - 1] + 1)


FOLDING = st.text(alphabet=st.sampled_from("aAsSßẞﬁﬃİıΣσςkKKİŉé́x "), max_size=40)


@settings(max_examples=300, deadline=None)
@given(FOLDING, FOLDING.map(str.casefold), st.integers(0, 3))
def test_find_folded_equals_mapping_every_character(text: str, query: str, cut: int) -> None:
    query = query[cut:] or query  # queries starting inside a character's fold too ("s" of "ß")
    assert find_folded(text, query) == _find_by_mapping_every_character(text, query)


def test_a_long_text_is_casefolded_once_per_window_up_to_its_match() -> None:
    """A text longer than a window is looked at a window at a time; the
    window holding the match is casefolded once, like those before it."""
    from chit.index.snippets import WINDOW

    text = "x" * (WINDOW + 10) + "Straße" + "ü" * 2000
    folds = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal folds
        folds += event == "c_call" and getattr(arg, "__name__", "") == "casefold" and getattr(arg, "__self__", None) is not None \
            and len(arg.__self__) > 1  # type: ignore[attr-defined]

    sys.setprofile(count)
    try:
        span = find_folded(text, "strasse")
    finally:
        sys.setprofile(None)
    assert span is not None and text[span[0]:span[1]] == "Straße"
    assert folds == 2


def test_snippet_window_bounds() -> None:
    text = "a" * 100 + "NEEDLE" + "b" * 200
    snippet = make_snippet(text, 100)
    assert snippet == "…" + "a" * 30 + "NEEDLE" + "b" * 84 + "…"
    assert len(snippet) == 122


def test_snippet_not_cut_at_start_and_newlines_become_spaces() -> None:
    text = "line one\nNEEDLE\r\nend"
    assert make_snippet(text, 9) == "line one NEEDLE  end"
