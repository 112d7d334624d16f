"""A short label an importer keeps (a model's name, a branch, a working
directory: `chit.importers.base.one_line`) is one line of printable text:
control characters are dropped, any run of whitespace (a line break, a
tab) is one space, the ends are trimmed, at most `limit` characters are
kept, and an empty label is None. A label with nothing to drop (nearly
every one) is not filtered a character at a time; the answer is the same.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chit.importers.base import MODEL_MAX, one_line, text


def filtered(value: str, limit: int = MODEL_MAX) -> str | None:
    """The label by its definition: every character looked at."""
    return " ".join("".join(ch for ch in text(value) if ch.isprintable() or ch.isspace()).split())[:limit] or None


def test_labels_are_one_trimmed_line_of_printable_text() -> None:
    assert one_line("gpt-5-codex") == "gpt-5-codex"
    assert one_line("  feature/x  ") == "feature/x"
    assert one_line("a\tb\n\nc\u2028d") == "a b c d"
    assert one_line("bell\x07 and\x1b[31m red\x00") == "bell and[31m red"
    assert one_line("\x00\x01\n\t ") is None and one_line("") is None
    assert one_line("\ud83d\ude00 half \ud800") == "\U0001f600 half \ufffd"  # text() first: pairs joined, a lone half replaced
    assert one_line("x" * 500) == "x" * MODEL_MAX and one_line("abcdef", 3) == "abc"
    assert one_line(None) is None and one_line(42) is None and one_line(["model"]) is None


@given(st.text(), st.integers(0, 30))
def test_a_label_is_what_filtering_every_character_gives(value: str, limit: int) -> None:
    assert one_line(value, limit) == filtered(value, limit)
