"""A long message is confirmed as a search hit from its line's bytes
(chit.index.rawfind): whatever the bytes answer (the first match and its
snippet, or no match) is what decoding and casefolding the whole text
gives, however the text is spelled in JSON (escapes, `\\/`, `\\uXXXX`,
surrogate pairs) and whatever casefold pairs it holds (ß/SS, the Kelvin
sign, ligatures, Turkish dotted I, Greek final sigma, combining marks);
and a search for an ASCII word in a 5 MB message decodes a few kilobytes
of it, not the whole text, with the same hits as the file scan."""

from __future__ import annotations

import os
import sys
import tempfile

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chit.api import Chit
from chit.index import rawfind, search
from chit.index.snippets import find_folded, make_snippet
from chit.service.facade import parts_of
from chit.store import longline

LONG = os.environ.get("CHIT_LONG") == "1"
HEAD = b'{"type":"message","id":"m1","role":"tool","content":"'
TAIL = b'","ts":"2026-01-01T00:00:00.000000Z"}'
TRICKY = "aAsSßẞſKkİıIiΣσςﬀﬁﬃǰẗẚŉΐ\u0307\u0301\u0308é\u212a/\"\\\n\t\x1b\x00xyz 中😀"


def spelled(pairs: list[tuple[str, int]]) -> bytes:
    """A JSON string body of these characters, each spelled as chit writes
    it (0), as a `\\uXXXX` escape (1, a surrogate pair past U+FFFF), or
    `/` as `\\/` (2)."""
    body = b""
    for ch, how in pairs:
        if how == 2 and ch == "/":
            body += b"\\/"
        elif how == 1:
            units = ch.encode("utf-16-be")
            body += b"".join(b"\\u%04x" % int.from_bytes(units[i : i + 2], "big") for i in range(0, len(units), 2))
        else:
            body += orjson.dumps(ch)[1:-1]
    return body


def expected(text: str, term: str) -> str | None:
    """What decoding the text whole gives: the snippet at the term's first match."""
    span = find_folded(text, term)
    return None if span is None else make_snippet(text, *span)


def answer(pairs: list[tuple[str, int]], term: str, block: tuple[int, int] | None = None) -> str | None | rawfind.Unsure:
    """What the bytes answer for the line of these characters, read in
    blocks of `block` (size, carry) if given."""
    query = rawfind.Query.of(term)
    assert query is not None
    line = b"{}" + b"\n" + HEAD + spelled(pairs) + TAIL + b"\n"  # a line before it: `off` is not 0
    saved = rawfind.BLOCK, rawfind._CARRY
    with tempfile.TemporaryFile() as file:
        file.write(line)
        file.flush()
        try:
            rawfind.BLOCK, rawfind._CARRY = block or saved
            return rawfind.confirm(file.fileno(), 3, len(line) - 4, "m1", query)
        finally:
            rawfind.BLOCK, rawfind._CARRY = saved


CHARS = st.tuples(st.sampled_from(TRICKY) | st.characters(codec="utf-8", exclude_categories=["Cs"]), st.integers(0, 2))
ASCII_TERMS = st.text(st.sampled_from("assikxyz/ ffiet.e-"), min_size=1, max_size=5).map(str.casefold)


BLOCKS = st.sampled_from([None, (80, 30), (97, 40), (333, 100)])  # (size, carry): every cut tried


@settings(max_examples=3000 if LONG else 150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(CHARS, max_size=40), st.integers(0, 300), st.integers(0, 300), ASCII_TERMS, st.integers(0, 40), st.integers(0, 5), BLOCKS)
@example([("S", 0), ("t", 0), ("r", 0), ("a", 0), ("ß", 0), ("e", 0)], 0, 0, "strasse", 0, 0, None)
@example([("ß", 0), ("s", 0)], 200, 0, "ss", 0, 0, None)
@example([("\u212a", 1), ("elvin", 0)], 0, 0, "kelvin", 0, 0, None)
@example([("\n", 0), ("abc", 0)], 0, 0, "nabc", 0, 0, None)
@example([("\\", 0), ("nabc", 0)], 0, 0, "nabc", 0, 0, (80, 30))
@example([("\x1b", 0), ("[0m", 0)], 0, 0, "1b[0m", 0, 0, None)
@example([("İ", 0), ("stanbul", 0)], 0, 0, "stanbul", 0, 0, None)
def test_the_bytes_answer_as_the_decoded_text_does(
    chars: list[tuple[str, int]], before: int, after: int, term: str, cut: int, width: int, block: tuple[int, int] | None
) -> None:
    """The text is filler, the tricky characters, filler; the term is often
    a piece of the text's fold, so that it matches."""
    filler = [(ch, 0) for ch in "lorem ipsum, dolor\n" * 20]
    pairs = filler[:before] + chars + filler[:after]
    text = "".join(ch for ch, _ in pairs)
    piece = text.casefold()[cut : cut + width]
    if piece and rawfind.Query.of(piece) is not None:
        term = piece
    got = answer(pairs, term, block)
    if got is not rawfind.UNSURE:
        assert got == expected(text, term), (text, term)


def test_folds_to_ascii_is_every_such_character() -> None:
    every = {ch for ch in map(chr, range(0x80, sys.maxunicode + 1)) if (fold := ch.casefold()) != ch and any(ord(f) < 0x80 for f in fold)}
    assert set(rawfind.FOLDS_TO_ASCII) == every


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("Die Straße ist lang", "strasse"),  # ß folds to ss: the bytes hold no "ss"
        ("Die STRAẞE ist lang", "strasse"),
        ("\u212aelvin scale", "kelvin"),  # the Kelvin sign folds to k
        ("a ﬁne day", "fine"),  # a ligature folds to two letters
        ("İstanbul", "i"),  # dotted capital I folds to i and a combining dot
    ],
)
def test_a_casefold_pair_before_the_match_leaves_it_to_the_decoder(text: str, term: str) -> None:
    pairs = [(ch, 0) for ch in text + " then " + term.upper()]
    assert answer(pairs, term) is rawfind.UNSURE


@pytest.mark.parametrize("spelling", [0, 1])
def test_a_casefold_pair_that_shares_no_letter_with_the_query_is_no_doubt(spelling: int) -> None:
    text = "Straße ΣΑΣ ﬁ " * 50 + "the VortexMarmalade here " + "x" * 300
    pairs = [(ch, spelling if ch in "ßΣﬁ" else 0) for ch in text]
    got = answer(pairs, "vortexmarmalade")
    assert got == expected(text, "vortexmarmalade") == make_snippet(text, text.index("Vortex"))
    assert answer(pairs, "vortexmarmalade", (97, 40)) == got


def test_a_combining_mark_is_a_character_of_its_own() -> None:
    text = "caf\u0065\u0301 noir, CAFE"
    assert answer([(ch, 0) for ch in text], "cafe") == expected(text, "cafe") == text


def test_a_match_inside_an_escape_is_none() -> None:
    assert answer([("\x1b", 0), ("[0m plain", 0)], "1b[0m") is None  # \u001b[0m: no "1b[0m" in the text
    assert answer([("\n", 0), ("ext", 0)], "next") is None
    assert answer([("\\", 0), ("next", 0)], "next") == "\\next"  # an escaped backslash, then the letters


def test_only_printable_ascii_without_quote_or_backslash_is_looked_for_in_bytes() -> None:
    assert rawfind.Query.of("os.path") is not None
    assert all(rawfind.Query.of(q) is None for q in ("straße", "say \"hi\"", "a\\b", "tab\there", "", "中文"))


# -- through the search, on real files ----------------------------------------

LONG = 70_000  # characters: past search.RAW_LINE once spelled


@pytest.mark.parametrize(
    ("lead", "query"),
    [
        ("Straße " * 10, "STRASSE"),  # the ß/SS pair, non-ASCII query: decoded
        ("Straße " * 10, "strasse und"),  # ASCII query, ß before its match: decoded
        ("İstanbul ", "i̇stanbul"),  # Turkish dotted I
        ("ΣΊΣΥΦΟΣ ", "σίσυφοσ"),  # Greek final sigma folds to σ
        ("e\u0301 combining ", "e"),
        ("plain ascii ", "needleword"),
        ("\x1b[0m escaped \\ \" / ", "needleword"),
    ],
)
def test_a_long_message_gives_the_hits_of_the_scan(api: Chit, lead: str, query: str) -> None:
    session = api.create(title="long")
    filler = "lorem ipsum dolor sit amet " * (LONG // 27)
    texts = [
        lead + filler + " Straße und NeedleWord " + filler,
        filler + lead,  # no match past the lead
        "short " + lead + " NEEDLEWORD",
        filler + "ΣΊΣΥΦΟΣ İSTANBUL STRASSE und e\u0301" + filler,
    ]
    for text in texts:
        api.append(session.id, "tool", text)
    found = api.search(query, limit=None)
    scan = parts_of(api).queries.scan_search(parts_of(api).ctx.projects.all(), query.casefold())
    assert [(h.message_id, h.snippet) for h in found] == [(h.message_id, h.snippet) for h in scan]
    assert found or query == "e"  # every query but one matches


def test_a_5_mb_message_is_confirmed_without_decoding_its_text(api: Chit, monkeypatch: pytest.MonkeyPatch) -> None:
    session = api.create(title="huge")
    chunk = "Fußgängerbrücke ΣΑΣ \x1b[0m tool output line\n" * 1000
    text = chunk * 60 + " the VortexMarmalade word " + chunk * 60
    assert len(text.encode()) > 5_000_000
    api.append(session.id, "tool", text)
    api.append(session.id, "user", "vortexmarmalade, short")
    api.search("warm up the index", limit=None)
    decoded: list[int] = []
    pieces = longline.pieces

    def counted(data: bytes | bytearray, first: int, past: int):  # type: ignore[no-untyped-def]
        decoded.append(past - first)
        return pieces(data, first, past)

    monkeypatch.setattr(longline, "pieces", counted)
    found = api.search("VORTEXMARMALADE", limit=20)
    assert [h.snippet for h in found] == ["vortexmarmalade, short", make_snippet(text, text.index("VortexMarmalade"))]
    assert decoded == []  # the line's bytes answered: its text never decoded
    assert search.RAW_LINE < len(text)
