"""A short result written into a pipe without rich (`chit.render.result.saying`)
is byte for byte what rich writes for it."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from chit.render.console import make_console
from chit.render.environment import Environment
from chit.render.human import say
from chit.render.result import saying

SAMPLES = ["plain", "trailing   ", "wide 漢字テスト", "ctrl \x1b[31m red \x07", "emoji :smile: 🎉", "[bold]markup[/bold]",
           "a" * 300, "", "  lead", "rtl مرحبا", "combining é", "nul \x00 del \x7f c1 \x85", "new\nline"]


def _through_rich(text: str) -> str:
    buffer = io.StringIO()
    say(make_console(file=buffer, _environ={}), text)
    return buffer.getvalue()


def _plain(*lines: str) -> str:
    env = Environment.captured(b"", {})
    saying(*lines)(env)
    return env.output()[0].decode("utf-8", "surrogateescape")


def test_samples_are_written_as_rich_would() -> None:
    for text in SAMPLES:
        assert _plain(text) == _through_rich(text), repr(text)
    assert _plain(*SAMPLES) == "".join(_through_rich(text) for text in SAMPLES)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_written_as_rich_would(text: str) -> None:
    assert _plain(text) == _through_rich(text)
