"""Model providers against real peers: a loopback OpenAI-compatible server
(streaming SSE) and real programs for the command provider."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest
from fake_openai import FakeServer

from chit.config import ModelSpec
from chit.providers import ProviderError, make_provider

SECRET = "sk-test-NEVER-SHOW-THIS-KEY"


def openai(server: FakeServer, model: str = "m1", timeout: float = 5.0) -> ModelSpec:
    return ModelSpec(name=model, provider="openai", model=model, base_url=server.base_url, api_key=SECRET, timeout=timeout)


def conversation(text: str = "hello world") -> list[dict[str, str]]:
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]


def test_openai_streams_chunks_and_sends_the_conversation(server: FakeServer) -> None:
    chunks = list(make_provider(openai(server)).stream(conversation("hello world")))
    assert len(chunks) == 4
    assert "".join(chunks) == "You said: hello world"
    request = server.requests[0]
    assert request["body"]["stream"] is True
    assert request["body"]["messages"] == conversation("hello world")
    assert request["headers"]["Authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("unauthorized", "refused the API key (HTTP 401)"),
        ("ratelimit", "rate limiting (HTTP 429)"),
        ("broken", "server error (HTTP 500): The server had an error"),
        ("garbage", "malformed stream"),
        ("cutoff", "ended without [DONE]"),
    ],
)
def test_openai_failures_are_one_clear_line_without_the_key(server: FakeServer, model: str, expected: str) -> None:
    with pytest.raises(ProviderError) as caught:
        list(make_provider(openai(server, model)).stream(conversation()))
    message = caught.value.message
    assert expected in message
    assert "\n" not in message
    assert SECRET not in message


def test_openai_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec = ModelSpec(name="m", provider="openai", model="m", base_url=f"http://127.0.0.1:{port}/v1")
    with pytest.raises(ProviderError, match="connection refused"):
        list(make_provider(spec).stream(conversation()))


def test_openai_timeout(server: FakeServer) -> None:
    started = time.monotonic()
    with pytest.raises(ProviderError, match="did not answer within 0.5s"):
        list(make_provider(openai(server, "slow", timeout=0.5)).stream(conversation()))
    assert time.monotonic() - started < 2.5


def test_openai_closing_the_stream_early_drops_the_connection(server: FakeServer) -> None:
    stream = make_provider(openai(server, "long")).stream(conversation())
    assert next(stream) == "word "
    stream.close()
    deadline = time.monotonic() + 3
    while server.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.disconnects == 1


def test_openai_bad_base_url() -> None:
    with pytest.raises(ProviderError, match="base URL"):
        make_provider(ModelSpec(name="m", provider="openai", model="m", base_url="ftp://example"))


def program(tmp_path: Path, body: str) -> ModelSpec:
    script = tmp_path / "model.py"
    script.write_text("import json, sys\n" + body)
    return ModelSpec(name="prog", provider="command", model="prog", command=(sys.executable, str(script)))


def test_command_gets_json_on_stdin_and_streams_stdout(tmp_path: Path) -> None:
    spec = program(tmp_path, "data = json.load(sys.stdin)\nfor m in data['messages']:\n    print(m['role'], m['content'], flush=True)\nprint(data['model'])\n")
    assert "".join(make_provider(spec).stream(conversation("hi"))) == "system be brief\nuser hi\nprog\n"


def test_command_failure_names_the_program_and_its_last_error(tmp_path: Path) -> None:
    spec = program(tmp_path, "sys.stdin.read()\nprint('partial')\nsys.stderr.write('noise\\nquota exhausted\\n')\nsys.exit(3)\n")
    received: list[str] = []
    with pytest.raises(ProviderError, match=r"exited with status 3: quota exhausted"):
        for chunk in make_provider(spec).stream(conversation()):
            received.append(chunk)
    assert "".join(received) == "partial\n"  # what arrived before the failure


def test_command_not_found() -> None:
    spec = ModelSpec(name="x", provider="command", model="x", command=("no-such-program-for-chit",))
    with pytest.raises(ProviderError, match="not found: no-such-program-for-chit"):
        list(make_provider(spec).stream(conversation()))


def test_command_runs_no_shell_unless_configured(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    argv = ("echo", f"hi; touch {marker}")
    plain = ModelSpec(name="e", provider="command", model="e", command=argv)
    assert "".join(make_provider(plain).stream(conversation())) == f"hi; touch {marker}\n"
    assert not marker.exists()
    shelled = ModelSpec(name="e", provider="command", model="e", command=argv, shell=True)
    assert "".join(make_provider(shelled).stream(conversation())) == "hi\n"
    assert marker.exists()


def test_command_is_killed_when_the_stream_is_closed(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    spec = program(tmp_path, f"import os, time\nopen({str(pidfile)!r}, 'w').write(str(os.getpid()))\nprint('start', flush=True)\ntime.sleep(30)\n")
    stream = make_provider(spec).stream(conversation())
    assert next(stream).startswith("start")
    stream.close()
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        import os

        os.kill(pid, 0)


def test_echo_is_deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIT_ECHO_DELAY", "0")
    spec = ModelSpec(name="echo", provider="echo", model="echo")
    assert "".join(make_provider(spec).stream(conversation("two  words"))) == "echo: two  words"
    assert spec.label == "echo (offline test model)"
