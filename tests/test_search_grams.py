"""The text index holds each message's words, one term each, and their
vocabulary with its trigrams; a query finds the vocabulary words that
contain each of its pieces, then the messages holding them. Search over
it still gives exactly the file scan's hits, whatever characters the
words hold (punctuation, quotes, control characters, casefold pairs, a
word longer than FTS5 keeps), whether the vocabulary was filled message
by message or from the text index's own term list. An index of the schema
before is migrated in place: its rows kept, its text index started over."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chit.api import Chit
from chit.index import db, grams, rows
from chit.index import search
from chit.index.search import any_words, text_match
from chit.index.schema import SCHEMA_VERSION
from chit.service.facade import parts_of


def terms(api: Chit) -> set[str]:
    """Every term of the text index, as FTS5's vocabulary table lists it."""
    with sqlite3.connect(api.layout.index_file) as conn:
        conn.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, msgtext, row)")
        return {row[0] for row in conn.execute("SELECT term FROM temp.vocab")}


def vocabulary(api: Chit) -> set[str]:
    with sqlite3.connect(api.layout.index_file) as conn:
        return {row[0] for row in conn.execute("SELECT word FROM words")}


def scan(api: Chit, query: str, limit: int | None = None) -> list[object]:
    return parts_of(api).queries.scan_search(parts_of(api).ctx.projects.all(), query.casefold(), limit=limit)


@pytest.mark.parametrize("few", [0, 64])  # the vocabulary from msgtext's term list, or message by message
def test_the_text_index_holds_each_word_once_and_the_vocabulary_holds_them(api: Chit, monkeypatch: pytest.MonkeyPatch, few: int) -> None:
    monkeypatch.setattr(rows, "FEW_MESSAGES", few)
    session = api.create(title="words")
    api.append(session.id, "user", "Alpha beta, os.path\tStraße alpha\x01x Жж中文")
    api.search("alpha", limit=None)  # the text index is filled before a search
    assert terms(api) == {"alpha", "beta", "os", "path", "strasse", "x", "жж中文"}
    assert vocabulary(api) == terms(api)


@pytest.mark.parametrize("few", [0, 64])
def test_a_word_longer_than_fts5_keeps_is_still_found(api: Chit, monkeypatch: pytest.MonkeyPatch, few: int) -> None:
    monkeypatch.setattr(rows, "FEW_MESSAGES", few)
    session = api.create(title="long words")
    long_word = "ab" * 20_000 + "tailword"  # 40,008 bytes: FTS5 keeps the first 32,768
    wide_word = "中" * 11_000 + "尾巴"  # 33,006 bytes, cut inside a character
    for text in (long_word, "x " + wide_word, "tailword alone", "nothing"):
        api.append(session.id, "user", text)
    for query in ("tailword", "dtail", "尾巴", "中尾", "ab", "alone"):
        assert api.search(query, limit=None) == scan(api, query), query
        assert api.search(query, limit=1) == scan(api, query, limit=1), query
    assert all(len(word.encode()) < grams.MAX_TERM_BYTES for word in vocabulary(api))


def test_an_index_of_schema_7_keeps_its_rows_and_starts_its_text_over(api: Chit, home: Path, workdir: Path) -> None:
    session = api.create(title="old")
    api.append(session.id, "user", "a kubernetes cluster")
    api.search("cluster", limit=None)
    path = api.layout.index_file
    with sqlite3.connect(path) as conn:  # the text index as schema 7 made it: the grams of each word
        messages = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        for table in ("msgtext", "words", "vocab", "cut"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("CREATE VIRTUAL TABLE msgtext USING fts5(body, content='', detail=none, columnsize=0, tokenize=ascii)")
        conn.execute("INSERT INTO msgtext(rowid, body) SELECT rowid, 'kub ube ber ern rne net ete tes es clu lus ust ste ter er' FROM messages")
        conn.execute("PRAGMA user_version = 7")
    fresh = Chit(home, cwd=workdir)
    assert [h.message_id for h in fresh.search("KUBERNETES c", limit=None)] == [h.message_id for h in scan(fresh, "KUBERNETES c")]
    assert len(fresh.search("kubernetes c", limit=None)) == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == messages
    assert terms(fresh) == {"a", "kubernetes", "cluster"}


def test_a_two_letter_word_is_asked_of_the_vocabulary(api: Chit) -> None:
    session = api.create(title="short words")
    for text in ("zq", "a zq b", "xzq", "zqx", "xzqy", "z q", "qz", "ZQ!", "nothing here"):
        api.append(session.id, "user", text)
    found = [h.snippet for h in api.search("Zq", limit=None)]
    assert sorted(found) == ["ZQ!", "a zq b", "xzq", "xzqy", "zq", "zqx"]
    conn = parts_of(api).ctx.index.conn
    assert any_words(text_match(conn, "zq") or []) == '("xzq" OR "xzqy" OR "zq" OR "zqx")'
    assert text_match(conn, "zq nothing") == [["nothing"]]  # a longer piece is enough
    assert [sorted(words) for words in text_match(conn, "zq xz") or []] == [["xzq", "xzqy"], ["xzq", "xzqy", "zq", "zqx"]]
    assert text_match(conn, "zqq") == []  # in no message
    assert text_match(conn, "z q") is None  # no piece of two characters: every message is read
    assert api.search("Zq", limit=None) == scan(api, "Zq")
    assert api.search("q z", limit=None) == scan(api, "q z")


@pytest.mark.parametrize(("probe", "probe_bytes"), [(1, 1 << 20), (3, 1 << 20), (200, 1 << 20), (200, 300)])
def test_a_common_query_reads_the_newest_messages_then_asks_the_index(
    api: Chit, monkeypatch: pytest.MonkeyPatch, probe: int, probe_bytes: int
) -> None:
    monkeypatch.setattr(search, "PROBE", probe)
    monkeypatch.setattr(search, "PROBE_BYTES", probe_bytes)
    monkeypatch.setattr(search, "COMMON", 0)
    session = api.create(title="probe")
    for n in range(12):
        api.append(session.id, "user", ("the zq " if n % 4 == 0 else "the ") + str(n))
    for query in ("zq", "th", "ZQ th"):
        for limit in (None, 1, 2, 5):
            assert api.search(query, limit=limit) == scan(api, query, limit=limit)


WORD_CHARS = st.sampled_from(list("abß\u0130.\"'-*()\x01\x7f\u00e9\u3042"))
TEXTS = st.lists(st.text(alphabet=st.one_of(WORD_CHARS, st.sampled_from([" ", "\n", "\u3000"])), max_size=30), min_size=1, max_size=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=TEXTS, query=st.text(alphabet=st.one_of(WORD_CHARS, st.just(" ")), min_size=1, max_size=6))
def test_search_over_grams_equals_the_scan(api: Chit, texts: list[str], query: str) -> None:
    session = api.create(title="property")
    for text in texts:
        api.append(session.id, "user", text)
    for asked in (query, texts[0][2:9], texts[-1][-5:]):
        if asked.strip():
            assert api.search(asked, limit=None) == scan(api, asked)
            assert api.search(asked, limit=2) == scan(api, asked, limit=2)
    api.delete(session.id)


def test_a_build_merges_the_text_index_and_gives_its_free_pages_back(api: Chit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "VACUUM_AFTER", 100)
    monkeypatch.setattr(rows, "DRAIN_CHUNK", 10)  # many small segments, as a long build leaves them
    session = api.create(title="many")
    api.append_many(session.id, [{"role": "user", "content": f"message {n} " + " ".join(f"w{n * k:x}z" for k in range(60))} for n in range(300)])
    api.search("message", limit=1)
    with sqlite3.connect(api.layout.index_file) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert api.search("W2bz", limit=None) == scan(api, "W2bz")
    assert api.search("message 29", limit=None) == scan(api, "message 29")


def test_several_words_are_looked_up_together_not_by_reading_sessions(api: Chit) -> None:
    """A long message that holds one word of the query but not the other is
    no candidate: nothing of it is read (before, every session holding the
    longest word was read whole to check the others)."""
    import tracemalloc

    session = api.create(title="words")
    api.append(session.id, "tool", "alpha " * 800_000)  # 4.8 MB
    api.append(session.id, "user", "Beta and ALPHA")
    api.search("warm up the index", limit=None)
    tracemalloc.start()
    try:
        found = api.search_words("alpha beta", limit=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [h.snippet for h in found] == ["Beta and ALPHA"]
    assert peak < 2_000_000
    scope = parts_of(api).ctx.projects.all()
    assert found == parts_of(api).queries.scan_search(scope, "alpha", also=["beta"])


def _longest_run(text: str) -> int:
    """The longest run of characters between FTS5's separators, the slow way."""
    return max(len(part) for part in grams._SEPARATORS.split(text))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["a", "ß", "中", "😀", " ", ".", "\n"]), st.integers(1, 9000)), min_size=1, max_size=6),
)
def test_a_long_run_is_never_ruled_out_by_looking_at_every_few_thousandth_character(pieces: list[tuple[str, int]]) -> None:
    """`may_hold_cut_word` looks at a text only every LONG_RUN / 2
    characters: it must still say "may" for every text with a run of
    LONG_RUN characters between separators, wherever the run starts and
    ends."""
    text = "".join(char * count for char, count in pieces)
    if _longest_run(text) >= grams.LONG_RUN:
        assert grams.may_hold_cut_word(text)


@pytest.mark.parametrize("start", [0, 1, 4095, 4096, 4097, 8191, 12_000])
def test_a_run_of_exactly_the_long_length_is_found_at_any_offset(start: int) -> None:
    text = "x " * (start // 2) + " " * (start % 2) + "y" * grams.LONG_RUN + " tail"
    assert grams.may_hold_cut_word(text)
    assert not grams.may_hold_cut_word(text.replace("y" * grams.LONG_RUN, "y" * (grams.LONG_RUN // 2 - 1) + " " + "y" * (grams.LONG_RUN // 2)))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(st.characters(codec=None, max_codepoint=0x1F600) | st.sampled_from(["\x00", "\x7f", "\x80", "\ud800", "ß"])), max_size=8),
    st.integers(1, 3),
)
def test_the_words_of_a_text_in_pieces_are_those_its_separators_leave(pieces: list[str], repeat: int) -> None:
    """`words_of` cuts UTF-8 bytes (every ASCII separator a space); the
    words are those FTS5's separators leave in the whole text, wherever
    the pieces cut it, a lone surrogate included."""
    text = "".join(pieces) * repeat
    assert grams.words_of(pieces * repeat) == {word for word in grams._SEPARATORS.split(text) if word}


def test_every_ascii_separator_and_only_those_cut_words() -> None:
    for code in range(128):
        char = chr(code)
        cut = grams._SEPARATORS.fullmatch(char) is not None
        assert grams.words_of([f"a{char}b"]) == ({"a", "b"} if cut else {f"a{char}b"}), code
    long = ("слово, word " * 20_000)[:-1] + "tail"  # past SPLIT characters: a word cut between two splits is whole
    assert grams.words_of([long[:70_000], long[70_000:]]) == {"слово", "word", "wordtail"}



def _words(text: str) -> set[str]:
    return {word for word in grams._SEPARATORS.split(text) if word}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(st.characters(codec=None, max_codepoint=0x1F600) | st.sampled_from(["ß", "ﬁ", "İ", "K", "ſ", "\ud800"])), max_size=8))
def test_a_long_texts_entry_is_the_words_of_its_casefold(pieces: list[str]) -> None:
    """`words_entry` casefolds the distinct words, not the text: the same
    words as cutting the casefolded text, each once."""
    entry = grams.words_entry(pieces).split(" ")
    assert set(entry) - {""} == _words("".join(pieces).casefold()) and len(entry) == len(set(entry))


def test_casefolding_makes_no_separator_and_keeps_every_one() -> None:
    """What `words_entry` rests on, for every character there is."""
    every = "".join(map(chr, range(0x110000)))
    assert set(grams.words_entry([every[: 1 << 19], every[1 << 19 :]]).split(" ")) == _words(every.casefold())
