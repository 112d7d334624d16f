"""The file scan's prefilter never drops a true match of chit's matcher
(casefold, then a substring test), whatever the text and however its line
is spelled in JSON."""

from __future__ import annotations

import json

import orjson
from hypothesis import HealthCheck, example, given, settings, strategies as st

from chit.service.filescan import blocks, file_may_match, might_hold

_LINES = [
    lambda record: orjson.dumps(record) + b"\n",  # as chit writes it
    lambda record: json.dumps(record, ensure_ascii=True).encode() + b"\n",  # every non-ASCII letter a \u escape
    lambda record: json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n",
    lambda record: json.dumps(record, ensure_ascii=False).replace("/", "\\/").encode("utf-8", "surrogatepass") + b"\n",
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
    assert might_hold(b'{"content": "caf\\u00e9"}\n', "zzz")  # a \\u escape may spell anything
    assert not might_hold(b'{"content": "C:\\\\users"}\n', "zzz")  # an escaped backslash before a "u" is not one


def test_blocks_are_whole_lines(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.jsonl"
    lines = [b"x" * n + b"\n" for n in (10, 3000, 5, 9000, 1)] + [b"tail"]
    path.write_bytes(b"".join(lines))
    got = list(blocks(path, size=1024))
    assert b"".join(got) == b"".join(lines)
    assert all(b.endswith(b"\n") for b in got[:-1])
    assert file_may_match(path, ["xxxx"]) and not file_may_match(path, ["xxxx", "y"])
