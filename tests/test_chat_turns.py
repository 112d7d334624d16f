"""Chat turns end to end: what a scripted `chit chat` prints and exits
after a provider failure, the conversation a model is sent after failed
or interrupted turns, a model that needs a key it does not have, and the
token usage of streamed replies."""

from __future__ import annotations

import io
import socket
import time
from pathlib import Path

import pytest
from conftest import Result
from fake_openai import FakeServer
from rich.console import Console

from chit.api import Chit
from chit.config import Config, ModelSpec
from chit.repl import loop
from chit.repl.state import Repl

KEYS = ("CHIT_MODEL", "OPENAI_API_KEY", "CHIT_API_KEY", "CHIT_BASE_URL", "OPENAI_BASE_URL", "CHIT_PROVIDER", "CHIT_DEADLINE")


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIT_ECHO_DELAY", "0")
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)


def configure(home: Path, base_url: str, model: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        f'[defaults]\nmodel = "fake"\n[models.fake]\nprovider = "openai"\nbase_url = "{base_url}"\nmodel = "{model}"\ntimeout = 5\n'
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- a scripted chat after a provider failure --------------------------------

@pytest.mark.parametrize("model, expected", [("broken", "server error (HTTP 500)"), ("refused", "connection refused")])
def test_scripted_chat_model_failure_is_on_stderr_and_exits_7(cli, home: Path, api: Chit, server: FakeServer, model: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    base_url = f"http://127.0.0.1:{closed_port()}/v1" if model == "refused" else server.base_url
    configure(home, base_url, model)
    result: Result = cli("chat", "--new", stdin=b"hello there\n/rename still here\n")
    assert result.code == 7, result
    assert expected in result.err and result.err.startswith("error: ")
    assert "error" not in result.out and expected not in result.out
    session = api.list()[0]
    assert session.title == "still here"  # the lines after the failure ran
    assert [(m.role, m.content) for m in api.get(session.id).messages] == [("user", "hello there")]


def test_scripted_chat_that_works_exits_0(cli, home: Path, server: FakeServer) -> None:  # type: ignore[no-untyped-def]
    configure(home, server.base_url, "m1")
    result = cli("chat", "--new", stdin=b"hello\n")
    assert result.code == 0 and "You said: hello" in result.out and result.err == ""


def test_scripted_chat_with_an_unknown_command_runs_on_and_exits_2(cli, home: Path, api: Chit, server: FakeServer) -> None:  # type: ignore[no-untyped-def]
    configure(home, server.base_url, "m1")
    result = cli("chat", "--new", stdin=b"hello\n/nosuch thing\n/rename still here\n")
    assert result.code == 2, result
    assert result.err.strip().splitlines() == ["error: unknown command /nosuch; did you mean /search?"]
    assert "You said: hello" in result.out
    assert api.list()[0].title == "still here"  # the lines after it ran
    configure(home, f"http://127.0.0.1:{closed_port()}/v1", "refused")
    both = cli("chat", "--new", stdin=b"hello\n/xyzzy\n")  # a failed turn, then no such command
    assert both.code == 2 and "connection refused" in both.err and "unknown command /xyzzy" in both.err


def test_scripted_chat_without_an_api_key_fails_before_any_request(cli, api: Chit) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    result = cli("chat", "--new", "-m", "gpt-4o-mini", stdin=b"hello\n")
    assert result.code == 7
    assert result.err.strip() == "error: no API key: set OPENAI_API_KEY or `api_key` in [models.gpt-4o-mini] of config.toml"
    assert result.out == ""
    assert time.monotonic() - started < 10
    assert [m.content for m in api.get(api.list()[0].id).messages] == ["hello"]


# -- /model without a key ------------------------------------------------------

def make(api: Chit, tmp_path: Path, model: str | None = "echo") -> Repl:
    console = Console(file=io.StringIO(), width=200, highlight=False)
    return loop.make_repl(api, Config(path=tmp_path / "config.toml"), None, model, console=console)


def output(repl: Repl) -> str:
    file = repl.console.file
    assert isinstance(file, io.StringIO)
    text = file.getvalue()
    file.seek(0)
    file.truncate()
    return text


def test_model_switch_to_an_openai_model_without_a_key_says_so(api: Chit, tmp_path: Path) -> None:
    repl = make(api, tmp_path)
    loop.handle(repl, "/model gpt-4o-mini")
    shown = output(repl)
    assert "no API key: set OPENAI_API_KEY or `api_key` in [models.gpt-4o-mini] of config.toml" in shown
    assert "resolve" not in shown
    assert repl.model is not None and repl.model.name == "echo"  # not switched


def test_a_local_endpoint_needs_no_key(api: Chit, tmp_path: Path, server: FakeServer) -> None:
    repl = make(api, tmp_path)
    repl.model = ModelSpec(name="local", provider="openai", model="m1", base_url=server.base_url, timeout=5)
    loop.handle(repl, "hi")
    assert "You said: hi" in output(repl)
    assert "Authorization" not in server.requests[-1]["headers"]


# -- the conversation sent after failed or interrupted turns ----------------

def use(repl: Repl, server: FakeServer, model: str) -> None:
    repl.model = ModelSpec(name=model, provider="openai", model=model, base_url=server.base_url, api_key="sk-test-key", timeout=5)


def test_a_failed_turns_prompt_is_merged_into_the_next(api: Chit, tmp_path: Path, server: FakeServer) -> None:
    repl = make(api, tmp_path)
    use(repl, server, "m1")
    loop.handle(repl, "first")
    use(repl, server, "broken")
    loop.handle(repl, "second")
    use(repl, server, "m1")
    loop.handle(repl, "third")
    sent = server.requests[-1]["body"]["messages"]
    assert sent == [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "You said: first"},
        {"role": "user", "content": "second\n\nthird"},
    ]
    stored = api.get(repl.session_id).messages  # type: ignore[arg-type]
    assert [m.role for m in stored] == ["user", "assistant", "user", "user", "assistant"]  # the store keeps what happened


def test_empty_and_failed_replies_are_not_sent(api: Chit, tmp_path: Path, server: FakeServer) -> None:
    repl = make(api, tmp_path)
    session_id = repl.ensure_session()
    api.append(session_id, "user", "one")
    api.append(session_id, "assistant", "", metadata={"interrupted": True})  # what Ctrl-C before the first word stores
    api.append(session_id, "user", "two")
    api.append(session_id, "assistant", "half a rep", metadata={"error": "the stream broke off"})
    api.append(session_id, "tool", "ls output")
    api.append(session_id, "user", "three")
    use(repl, server, "m1")
    loop.handle(repl, "/retry")
    assert server.requests[-1]["body"]["messages"] == [
        {"role": "user", "content": "one\n\ntwo\n\n[tool output]\nls output\n\nthree"},
    ]


# -- token usage of streamed replies ------------------------------------------

def test_streamed_replies_record_token_usage_and_show_gives_totals(cli, home: Path, api: Chit, server: FakeServer) -> None:  # type: ignore[no-untyped-def]
    configure(home, server.base_url, "m1")
    assert cli("chat", "--new", stdin=b"hello there\nand again\n").code == 0
    assert all(r["body"]["stream_options"] == {"include_usage": True} for r in server.requests)
    session = api.get(api.list()[0].id)
    # the fake counts words: prompt "hello there" = 2, reply "You said: hello there" = 4 events
    assert [m.tokens.as_dict() if m.tokens else None for m in session.messages] == [
        None, {"input": 2, "output": 4}, None, {"input": 2 + 4 + 2, "output": 4},
    ]
    shown = cli("show", "--json", session.id)
    assert shown.json()["tokens"] == {"input": 10, "output": 8}  # type: ignore[index]
    assert "tokens 10 in / 8 out" in cli("show", "--no-pager", session.id).out


def test_a_server_refusing_stream_options_is_asked_again_without(api: Chit, tmp_path: Path, server: FakeServer) -> None:
    repl = make(api, tmp_path)
    use(repl, server, "strict")
    loop.handle(repl, "hi")
    assert "You said: hi" in output(repl)
    assert [("stream_options" in r["body"]) for r in server.requests] == [True, False]
    reply = api.get(repl.session_id).messages[-1]  # type: ignore[arg-type]
    assert reply.role == "assistant" and reply.tokens is None
