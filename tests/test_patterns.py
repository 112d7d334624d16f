"""chit.patterns.LazyPattern: a regular expression compiled on its first
use answers as the compiled one does."""

from __future__ import annotations

import re

from chit.patterns import LazyPattern

TEXTS = ["", "abc 123 def", "x\x00y\r\nz\r", "2026-12-06T13:15:06.000001Z", "é ü 中文 42"]


def test_a_pattern_is_compiled_by_its_first_use_only() -> None:
    lazy = LazyPattern(r"\d+")
    assert lazy._compiled is None
    assert lazy.search("a 12") is not None
    first = lazy.compiled()
    assert lazy.compiled() is first and first.pattern == r"\d+"


def test_text_patterns_answer_as_the_compiled_ones() -> None:
    for source, flags in [(r"\d+", 0), (r"(\w)(\w)?", 0), (r"[\x00-\x08\x0b-\x1f\x7f-\x9f](?<!\r(?=\n))", 0), (r"^ABC", re.IGNORECASE | re.MULTILINE)]:
        lazy, real = LazyPattern(source, flags), re.compile(source, flags)
        for text in TEXTS:
            for pos, endpos in [(0, len(text)), (1, len(text)), (0, max(0, len(text) - 2))]:
                assert _span(lazy.match(text, pos, endpos)) == _span(real.match(text, pos, endpos))
                assert _span(lazy.fullmatch(text, pos, endpos)) == _span(real.fullmatch(text, pos, endpos))
                assert _span(lazy.search(text, pos, endpos)) == _span(real.search(text, pos, endpos))
                assert [m.span() for m in lazy.finditer(text, pos, endpos)] == [m.span() for m in real.finditer(text, pos, endpos)]
                assert lazy.findall(text, pos, endpos) == real.findall(text, pos, endpos)
            assert lazy.sub("-", text) == real.sub("-", text) and lazy.sub(lambda m: "<>", text, 1) == real.sub(lambda m: "<>", text, 1)
            assert lazy.split(text) == real.split(text) and lazy.split(text, 1) == real.split(text, 1)


def test_bytes_patterns_read_bytes_and_bytearrays() -> None:
    lazy, real = LazyPattern(rb'"hlc":"(\d+)"'), re.compile(rb'"hlc":"(\d+)"')
    data = b'{"hlc":"12"} {"hlc":"345"}'
    for given in (data, bytearray(data)):
        assert [m.group(1) for m in lazy.finditer(given)] == [m.group(1) for m in real.finditer(given)] == [b"12", b"345"]
        assert _span(lazy.search(given, 3)) == _span(real.search(given, 3))
        assert _span(lazy.match(given, 1)) == _span(real.match(given, 1))
        assert _span(lazy.fullmatch(given, 1, 12)) == _span(real.fullmatch(given, 1, 12))


def _span(match: re.Match[str] | re.Match[bytes] | None) -> tuple[int, int] | None:
    return None if match is None else match.span()
