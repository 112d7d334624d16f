"""The file scan's prefilter never drops a true match of chit's matcher
(casefold, then a substring test), whatever the text and however its line
is spelled in JSON."""

from __future__ import annotations

import json

import orjson
from hypothesis import HealthCheck, example, given, settings, strategies as st

from chit.service.filescan import blocks, file_may_match, might_hold
from chit.service.prefilter import FOLDS_TO_ASCII, Prefilter


def _escaped(text: str, upper: bool) -> str:
    """`text` as a JSON string with every character a \\u escape (a
    surrogate pair past U+FFFF): valid JSON no writer chit knows writes."""
    units = text.encode("utf-16-be", "surrogatepass")
    spelled = "".join(f"\\u{int.from_bytes(units[i : i + 2], 'big'):04x}" for i in range(0, len(units), 2))
    return '"' + (spelled.upper().replace("\\U", "\\u") if upper else spelled) + '"'


def _all_escaped(record: dict[str, str], upper: bool = False) -> bytes:
    return ("{" + ",".join(f"{json.dumps(k)}:{_escaped(v, upper)}" for k, v in record.items()) + "}\n").encode()


_LINES = [
    lambda record: orjson.dumps(record) + b"\n",  # as chit writes it
    lambda record: json.dumps(record, ensure_ascii=True).encode() + b"\n",  # every non-ASCII letter a \u escape
    lambda record: json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n",
    lambda record: json.dumps(record, ensure_ascii=False).replace("/", "\\/").encode("utf-8", "surrogatepass") + b"\n",
    _all_escaped,  # every character a \u escape, ASCII letters too
    lambda record: _all_escaped(record, upper=True),
]
_TRICKY = "ßẞSsſKkİıIiΣσςﬀﬁǰΐ\u0307\u0301éé\u212a\u017f\"\\/\n\t\x1bAa"
text = st.text(st.sampled_from(_TRICKY) | st.characters(codec="utf-8"), max_size=40)


def _matches(content: str, term: str) -> bool:
    return term in content.casefold()


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text, st.integers(0, 40), st.integers(0, 40), text, st.integers(0, len(_LINES) - 1))
@example("Fußgängerbrücke", 0, 0, "FUSSGÄNGERBRÜCKE", 0)
@example("STRASSE", 0, 0, "straße", 0)
@example("\u212aelvin", 0, 0, "kelvin", 1)
@example("İstanbul", 0, 0, "i̇stanbul", 0)
@example('say "hi"\\now', 0, 0, '"hi"\\n', 0)
def test_prefilter_keeps_every_true_match(content: str, start: int, length: int, other: str, spelling: int) -> None:
    folded = content.casefold()
    for term in (folded[start : start + length], other.casefold(), content[start : start + length].casefold()):
        if not term.strip() or not _matches(content, term):
            continue
        line = _LINES[spelling]({"type": "message", "id": "m1", "role": "user", "content": content, "ts": "2026-01-01T00:00:00.000000Z"})
        assert might_hold(line, term), (content, term, line)


def test_prefilter_rules_out_what_no_line_holds() -> None:
    line = orjson.dumps({"type": "message", "content": "Straße und Fußweg"}) + b"\n"
    assert not might_hold(line, "lanternfjord")
    assert might_hold(line, "strasse")  # ß casefolds to ss
    assert not might_hold(b'{"content": "plain ascii words"}\n', "wörds")
    assert might_hold(b'{"content": "CAF\\u00c9"}\n', "café")  # a \\u escape is read as its letter
    assert not might_hold(b'{"content": "caf\\u00e9"}\n', "zzz")
    assert might_hold(b'{"content": "\\ud801\\udc00"}\n', "\U00010428")  # a pair is one letter (Deseret, with a case)
    assert might_hold(b'{"content": "C:\\\\u0041"}\n', "u0041")  # an escaped backslash, then the letters u0041
    assert not might_hold(b'{"content": "C:\\\\users"}\n', "zzz")  # an escaped backslash before a "u" is not one


def test_blocks_are_whole_lines(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.jsonl"
    lines = [b"x" * n + b"\n" for n in (10, 3000, 5, 9000, 1)] + [b"tail"]
    path.write_bytes(b"".join(lines))
    got = list(blocks(path, size=1024))
    assert b"".join(piece for piece, _ in got) == b"".join(lines)
    assert all(piece.endswith(b"\n") for piece, whole in got[:-1] if whole)
    assert max(len(piece) for piece, _ in got) <= 2048  # a long line comes in pieces
    assert file_may_match(path, ["xxxx"]) and not file_may_match(path, ["xxxx", "y"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(text, min_size=1, max_size=6), st.integers(0, 5), st.integers(0, 30), st.integers(1, 12), st.integers(16, 200), st.integers(0, len(_LINES) - 1))
def test_long_lines_in_pieces_keep_every_match(tmp_path, contents, which, start, length, size, spelling) -> None:  # type: ignore[no-untyped-def]
    """A file whose lines are longer than a block is read in pieces, and
    still no match is dropped, whatever the cut."""
    contents = [c * 7 for c in contents]  # long lines, many cuts
    content = contents[which % len(contents)]
    term = content[start : start + length].casefold()
    if not term.strip() or term not in content.casefold():
        return
    path = tmp_path / "long.jsonl"
    path.write_bytes(b"".join(_LINES[spelling]({"type": "message", "content": c}) for c in contents))
    assert file_may_match(path, [term], size=size), (content, term)


def test_newest_time_bounds_every_hit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The newest time a file records is at least that of any hit in it
    (a message's own, a title's: its session's newest event), wherever the
    time sits in a long line cut in pieces; None when nothing can match."""
    from chit.service.filescan import NEWEST_UNKNOWN, newest_if_may_match

    path = tmp_path / "s.jsonl"
    lines = [
        {"type": "session", "id": "x", "created_at": "2025-01-01T00:00:00.000000Z", "title": "Harbour"},
        {"type": "message", "id": "m1", "role": "user", "content": "the harbour " + "é" * 5000, "ts": "2025-01-02T00:00:00.000000Z"},
        {"type": "tag", "tags": ["a"], "ts": "2025-03-01T00:00:00.000000Z"},
        {"type": "message", "id": "m2", "role": "user", "content": "nothing", "ts": "2025-02-01T00:00:00.000000Z"},
    ]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in lines))
    for size in (64, 1000, 1 << 20):
        assert newest_if_may_match(path, ["harbour"], size=size) == "2025-03-01T00:00:00.000000Z"
        assert newest_if_may_match(path, ["absent"], size=size) is None
    path.write_bytes(b'{"type":"message","content":"harbour","ts":"2025\\u002d01"}\n')
    assert newest_if_may_match(path, ["harbour"]) == NEWEST_UNKNOWN  # a time spelled with an escape could be any


def test_folds_to_ascii_is_this_pythons_table() -> None:
    """Every character past ASCII whose casefolded text holds an ASCII one
    is in FOLDS_TO_ASCII, with that text: the bytes view replaces them."""
    found = {}
    for code in range(0x80, 0x110000):
        char = chr(code)
        folded = char.casefold()
        if not 0xD800 <= code < 0xE000 and min(folded) < "\x80":  # some character of it is ASCII
            found[char] = folded
    assert found == FOLDS_TO_ASCII


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(text, min_size=1, max_size=4), st.integers(0, 3), st.integers(0, 40), st.integers(1, 12), st.integers(0, 40), st.integers(1, 12), st.integers(0, len(_LINES) - 1))
@example(["Fußgängerbrücke am ẞee"], 0, 0, 15, 16, 4, 0)  # a term past ASCII and one folded from ẞ
@example(["\uff02" * 40 + "ﬁnd ﬀ"], 0, 40, 3, 44, 1, 0)  # many bytes that start a ligature's UTF-8 before one
@example(["é" * 40 + "straße"], 0, 40, 6, 42, 2, 1)
def test_every_term_of_a_line_is_kept(contents: list[str], which: int, start: int, length: int, start2: int, length2: int, spelling: int) -> None:
    """Several terms (ASCII or not) all in one message: the block holding
    its line, among others, is never ruled out."""
    content = contents[which % len(contents)]
    folded = content.casefold()
    terms = [t for t in (folded[start : start + length], folded[start2 : start2 + length2]) if t.strip()]
    if not terms or not all(t in folded for t in terms):
        return
    block = b"".join(_LINES[spelling]({"type": "message", "content": c}) for c in contents)
    assert Prefilter(terms).may_hold(block), (contents, terms, block)


def test_a_term_past_ascii_is_looked_for_in_the_right_line() -> None:
    """The ASCII part of a term past ASCII ("ss" of "süss") spelled plainly
    in one line, and folded from ẞ in the line that holds the term: the
    block may hold it."""
    block = orjson.dumps({"content": "ss"}) + b"\n" + orjson.dumps({"content": "SÜẞ"}) + b"\n"
    assert might_hold(block, "süß".casefold())
    assert not might_hold(orjson.dumps({"content": "ss sü"}) + b"\n", "süß".casefold())


def test_escapes_and_escaped_backslashes() -> None:
    """A \\u escape of an ASCII letter is read as it; after an escaped
    backslash, "u0041" is letters; a \\u escape of ẞ folds to "ss"."""
    assert might_hold(b'{"content": "\\\\u0041\\u0042"}\n', "u0041b")  # text: \u0041B
    assert might_hold(b'{"content": "\\\\\\u0041B"}\n', "\\ab") is True  # a term with a backslash: never ruled out
    assert might_hold(b'{"content": "x\\\\\\u0041b"}\n', "ab")  # text: x\Ab
    assert not might_hold(b'{"content": "\\\\u0041b"}\n', "ab")  # text: \u0041b
    assert might_hold(b'{"content": "STRA\\u1E9ee"}\n', "strasse")
    assert might_hold(b'{"content": "\\u0053tra\\u00DFe \\u00ff"}\n', "strasse")
    assert might_hold(b'{"content": "\\u0053tra\\u00DFe \\u00ff"}\n\xff\n', "strasse")  # bytes no UTF-8 holds: the slow way
    assert not might_hold(b'{"content": "\\u0053tra\\u00DFe"}\n', "strasser")


def test_a_hit_in_a_long_message_is_confirmed_in_bounded_memory(tmp_path, workdir) -> None:  # type: ignore[no-untyped-def]
    """The file scan confirms hits in a 5 MB message (past the BMP: four
    bytes a character in memory) a window at a time: the text is never
    casefolded whole, so confirming costs far less than the text itself."""
    import tracemalloc

    from chit.api import Chit
    from chit.service.facade import parts_of
    from chit.service.hits import session_hits

    api = Chit(tmp_path / "home", cwd=workdir, durable=False)
    made = api.create(title="long")
    text = "\U0001f600 tool output line\n" * 250_000 + "the Needle at the end"
    api.append(made.id, "tool", text)
    session = api.get(made.id)
    project = parts_of(api).ctx.projects.all()[0]
    tracemalloc.start()
    try:
        hits = session_hits(session, project, "needle", None, ["the end"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [h.message_id for h in hits] == [session.messages[0].id]
    assert peak < len(text)  # casefolding it whole takes 4 bytes a character


def test_the_bound_is_the_newest_message_that_may_hit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The time a file is bounded by is that of the newest message line
    that may hold the terms, as chit writes them (fewer files folded for
    the newest hits); the file's newest time when a title, or a line
    spelled otherwise, may hold them."""
    from chit.service.filescan import newest_if_may_match

    path = tmp_path / "s.jsonl"
    header = {"type": "session", "id": "x", "created_at": "2025-01-01T00:00:00.000000Z", "title": None}
    old = {"type": "message", "id": "m1", "role": "user", "content": "the Harbour", "ts": "2025-01-02T00:00:00.000000Z"}
    new = {"type": "message", "id": "m2", "role": "user", "content": "nothing", "ts": "2025-02-01T00:00:00.000000Z"}
    rename = {"type": "rename", "title": "harbour notes", "ts": "2025-03-01T00:00:00.000000Z"}
    for lines, want in [
        ([header, old, new], "2025-01-02T00:00:00.000000Z"),
        ([header, old, new, rename], "2025-03-01T00:00:00.000000Z"),
        ([header, {**old, "content": "Stra\u00dfe harbour"}, new], "2025-01-02T00:00:00.000000Z"),
        ([header, {**old, "content": "the harbour \u1e96"}, new], "2025-02-01T00:00:00.000000Z"),  # ẖ folds to h: not line by line
    ]:
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in lines))
        assert newest_if_may_match(path, ["harbour"]) == want, lines
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in [header, old, new]))  # "type": "message", with a space
    assert newest_if_may_match(path, ["harbour"]) == "2025-02-01T00:00:00.000000Z"
    assert newest_if_may_match(path, ["absent"]) is None


def test_two_processes_give_every_bound_in_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Read on two CPUs (a forked child reads every other file), the
    bounds are those one process gives, in the files' order; a file gone
    since it was listed is GONE."""
    from chit.service import scan_split

    paths = []
    for n in range(9):
        path = tmp_path / f"{n}.jsonl"
        content = "the harbour" if n % 3 else "nothing here"
        path.write_bytes(orjson.dumps({"type": "message", "id": f"m{n}", "role": "user", "content": content, "ts": f"2025-01-0{n + 1}"}) + b"\n")
        paths.append(str(path))
    paths.insert(4, str(tmp_path / "gone.jsonl"))
    prefilter = Prefilter(["harbour"])
    ticks: list[int] = []
    alone = scan_split.bounds(paths, prefilter, 0, ticks.append)
    assert alone == [None, "2025-01-02", "2025-01-03", None, scan_split.GONE, "2025-01-05", "2025-01-06", None, "2025-01-08", "2025-01-09"]
    if not scan_split._may_fork():
        return
    split = scan_split.bounds(paths, prefilter, 1, ticks.append, split_bytes=1)
    assert split == alone
    assert ticks[-1] == 8  # this process read every other file
