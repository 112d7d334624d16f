"""A reply streaming in costs time linear in its size, and what it shows is
safe: the REPL's live tail and the rendered reply on a terminal console,
against the loopback OpenAI-compatible server (nothing mocked)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_openai import FakeServer

from chit.api import Chit
from chit.config import Config, ModelSpec
from chit.render.console import make_console
from chit.repl import chat, loop
from chit.repl.state import Repl


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer().start()
    yield fake
    fake.shutdown()


def terminal_repl(api: Chit, tmp_path: Path, server: FakeServer, model: str) -> Repl:
    """A REPL whose console is a terminal (so the live tail runs), 100x40."""
    console = make_console(file=io.StringIO(), force_terminal=True, color_system="standard", width=100, height=40)
    repl = loop.make_repl(api, Config(path=tmp_path / "config.toml"), None, None, console=console)
    repl.model = ModelSpec(name=model, provider="openai", model=model, base_url=server.base_url, api_key="sk-x", timeout=30)
    return repl


def _turn_cpu_seconds(api: Chit, tmp_path: Path, server: FakeServer, events: int) -> float:
    """CPU seconds of this process (the REPL and the server's thread) for
    one turn: the work done, which a busy machine does not stretch."""
    repl = terminal_repl(api, tmp_path, server, f"many-{events}")
    started = time.process_time()
    chat.send(repl, "go")
    seconds = time.process_time() - started
    reply = api.get(repl.session_id).messages[-1].content
    assert reply.startswith("w0 w1 ") and reply.endswith(f"w{events - 1}" + ("\n" if events % 12 == 0 else " "))
    return seconds


def test_a_reply_of_many_small_events_streams_in_linear_time(api: Chit, tmp_path: Path, server: FakeServer) -> None:
    """Four times the events, about four times the CPU time (it was
    sixteen: every chunk re-joined and re-wrapped the whole reply so far)."""
    _turn_cpu_seconds(api, tmp_path, server, 2_000)  # warm up imports and the index
    small = min(_turn_cpu_seconds(api, tmp_path, server, 10_000) for _ in range(2))  # the best of two
    large = min(_turn_cpu_seconds(api, tmp_path, server, 40_000) for _ in range(2))
    assert large / small < 8, f"10,000 events: {small:.2f}s CPU, 40,000 events: {large:.2f}s CPU"


def test_a_streamed_reply_shows_escape_sequences_and_obeys_none(api: Chit, tmp_path: Path, server: FakeServer) -> None:
    repl = terminal_repl(api, tmp_path, server, "escapes")
    chat.send(repl, "go")
    shown = repl.console.file.getvalue()  # type: ignore[attr-defined]
    assert "clip\u241b]52;c;cHduZWQ=\u2407" in shown and "title\u241b]0;pwned\u2407" in shown and "c1\\x9b31m" in shown
    for sequence in ("\x1b]", "\x1b[2J", "\x07", "\x9b"):
        assert sequence not in shown
    stored = api.get(repl.session_id).messages[-1].content
    assert "clip\x1b]52;c;cHduZWQ=\x07" in stored and "c1\x9b31m" in stored  # the store keeps the reply as it came


def test_ctrl_c_while_the_spinner_starts_leaves_no_spinner_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C can land inside rich's Live.start, after it has hooked the
    console, before the with-block is entered: the spinner must not stay
    drawn under every line printed after it."""
    from rich.live import Live

    from chit.repl import view

    started = Live.start

    def start_then_ctrl_c(self: Live, refresh: bool = False) -> None:
        started(self, refresh)
        raise KeyboardInterrupt

    monkeypatch.setattr(Live, "start", start_then_ctrl_c)
    out = io.StringIO()
    console = make_console(file=out, force_terminal=True, no_color=True, width=60)
    with pytest.raises(KeyboardInterrupt):
        with view.streaming(console, "slow"):
            pass
    monkeypatch.undo()
    out.seek(0)
    out.truncate()
    console.print("after")
    assert "waiting for" not in out.getvalue() and "after" in out.getvalue()
