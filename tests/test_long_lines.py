"""A long message line is decoded a piece at a time (chit.store.longline): the
record, or the refusal, is exactly what decoding the line whole gives, in
every way the text can be asked for (whole, over the line's bytes, only
its title, its search words and snippet). The pieces here are a few bytes,
so that every cut point is tried; no I/O."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chit.store import codec, longline
from chit.index.grams import folded, words_entry, words_of
from chit.model import derive_title, title_text
from chit.index.snippets import find_folded, find_snippet, make_snippet

LETTERS = "ab0F ßİΣσ\n\r\t\"\\/\x00\x1f\u2028Жж中文😀"  # (0 and F: hex digits, as an escape holds)


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(longline, "LONG_LINE", 16)
    monkeypatch.setattr(longline, "PIECE", 3)
    yield


def line_of(content: str) -> bytes:
    return orjson.dumps({"type": "message", "id": "m1", "role": "user", "content": content, "ts": "2025-01-01T00:00:00.000000Z"})


def whole(line: bytes) -> dict[str, object] | str:
    """What decoding the line whole gives (the record or "bad")."""
    try:
        return codec.decode_event(line)
    except codec.BadRecord:
        return "bad"


def in_pieces(line: bytes, text: codec.Text) -> dict[str, object] | str:
    data = bytearray(line) if text == "in_place" else line
    try:
        return codec.decode_event_in(data, 0, len(line), text=text)
    except codec.BadRecord:
        return "bad"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=LETTERS, min_size=17, max_size=80))
def test_a_long_text_decodes_as_the_whole_line_does(content: str) -> None:
    line = line_of(content)
    assert longline.split_message(line, 0, len(line)) is not None
    expected = whole(line)
    assert in_pieces(line, "whole") == expected
    assert in_pieces(line, "in_place") == expected
    titled = in_pieces(line, "title")
    if expected == "bad":
        assert titled == "bad"
    else:
        assert isinstance(titled, dict) and isinstance(expected, dict)
        assert derive_title(str(titled["content"])) == derive_title(str(expected["content"]))


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=40), st.integers(min_value=0, max_value=60))
def test_bytes_that_are_not_valid_json_text_are_refused_as_whole(garbage: bytes, at: int) -> None:
    line = line_of("x" * 60)
    first, past = longline.split_message(line, 0, len(line)) or (0, 0)
    broken = line[: first + at] + garbage + line[first + at :]
    expected = whole(broken)
    for text in ("whole", "in_place", "title"):
        got = in_pieces(broken, text)  # type: ignore[arg-type]
        assert (got == "bad") == (expected == "bad"), (text, broken)
        if expected != "bad" and text != "title":
            assert got == expected


@pytest.mark.parametrize("filler", [b"y", b"a", b"0"])
@pytest.mark.parametrize("escape", [b"\\ud800", b"\\udc00", b"\\ud83d\\ude00", b"\\ud83d", b"\\u00e9", b"\\u12", b"\\x", b"\\\\u00e9", b"\\\\\\u00e9"])
def test_escapes_across_every_cut_decode_as_the_whole_line(escape: bytes, filler: bytes) -> None:
    """Between letters that follow no backslash in an escape (y) and hex
    digits that may (a, 0)."""
    for at in range(24):
        line = line_of("y" * 30).replace(b"y" * 30, filler * at + escape + filler * (30 - at))
        expected = whole(line)
        for text in ("whole", "in_place"):
            assert in_pieces(line, text) == expected, (line, text)  # type: ignore[arg-type]


def test_a_text_of_hex_digits_comes_apart_in_pieces() -> None:
    """A hex dump is cut as any text is, not decoded whole as one piece."""
    content = "0123456789abcdef" * 8 + "\u00e9"
    line = line_of(content)
    first, past = longline.split_message(line, 0, len(line)) or (0, 0)
    got = list(longline.pieces(line, first, past))
    assert "".join(got) == content and len(got) > 20 and max(map(len, got)) < 10
    assert longline.next_cut(line, first + 40, past) == first + 40


@pytest.mark.parametrize("line_text", ["1", "é", "", "a\tb", '"'])
def test_a_text_of_short_lines_comes_apart_in_pieces(line_text: str) -> None:
    """An escape every few bytes (a column of numbers, short lines, tabs,
    quotes) leaves no 5 bytes free of a backslash: the text is cut where an
    escape starts, not decoded whole as one piece; never inside a
    surrogate pair."""
    content = (line_text + "\n") * 40 + "😀\n" * 4
    line = line_of(content).replace("😀".encode(), rb"\ud83d\ude00")
    first, past = longline.split_message(line, 0, len(line)) or (0, 0)
    got = list(longline.pieces(line, first, past))
    assert "".join(got) == content and len(got) > 20 and max(map(len, got)) < 10


def test_a_line_of_another_shape_is_decoded_whole() -> None:
    reordered = orjson.dumps({"id": "m1", "type": "message", "role": "user", "content": "y" * 40, "ts": "t"})
    assert longline.split_message(reordered, 0, len(reordered)) is None
    assert in_pieces(reordered, "whole") == whole(reordered)
    twice = line_of("z" * 40)[:-1] + b',"content":"other"}'
    assert whole(twice) != "bad" and in_pieces(twice, "whole") == whole(twice)  # the last "content" counts


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab ßİ\nx\u3000", max_size=12), max_size=8), st.text(alphabet="abßsx", min_size=1, max_size=4))
def test_words_snippet_and_title_from_pieces_match_the_whole_text(pieces: list[str], query: str) -> None:
    text = "".join(pieces)
    assert words_of([words_entry(pieces)]) == words_of([folded(text)]) == words_of(folded(p) for p in pieces)
    span = find_folded(text, query.casefold())
    assert find_snippet(pieces, query.casefold()) == (None if span is None else make_snippet(text, *span))
    assert derive_title(title_text(pieces)) == derive_title(text if text.strip() else None) or not text.strip()


def test_the_title_takes_only_the_pieces_it_needs() -> None:
    taken = []

    def pieces() -> Iterator[str]:
        for n in range(1000):
            taken.append(n)
            yield "word " * 5

    assert derive_title(title_text(pieces())) == derive_title("word " * 5000)
    assert len(taken) < 5
