"""Model providers against real peers: a loopback OpenAI-compatible server
(streaming SSE) and real programs for the command provider."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import fake_openai
import forkserver
import orjson
import pytest
from fake_openai import FakeServer, RawServer
from hypothesis import given, settings
from hypothesis import strategies as st

from chit.api import Chit
from chit.config import ModelSpec
from chit.providers import ProviderError, make_provider
from chit.providers.guard import MASK, Guarded, Redactor

SECRET = "sk-test-NEVER-SHOW-THIS-KEY"


def openai(server: FakeServer | RawServer, model: str = "m1", timeout: float = 5.0, deadline: float = 60.0) -> ModelSpec:
    return ModelSpec(name=model, provider="openai", model=model, base_url=server.base_url, api_key=SECRET, timeout=timeout, deadline=deadline)


@pytest.fixture
def raw() -> Iterator[list[RawServer]]:
    """Start raw servers with `raw.append(RawServer(reply).start())`; all
    are closed after the test."""
    servers: list[RawServer] = []
    yield servers
    for server in servers:
        server.close()


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


def test_a_password_in_the_base_url_is_never_shown_nor_stored(home: Path, workdir: Path, raw: list[RawServer]) -> None:
    """`http://me:PASSWORD@host/v1`: whatever fails, the error line (shown,
    and stored in the session with its error state) names the server
    without the password."""
    raw.append(server := RawServer(fake_openai.reply_endless_line(8 * 2**20)).start())
    password = "pw-in-the-url-4711"
    output, _, _ = scripted_chat(home, workdir, server, "", "hello\n", server.base_url.replace("http://", f"http://me:{password}@"))
    assert len(failure_lines(output)) == 1 and "http://me:***@127.0.0.1" in output, output
    assert password not in output
    assert all(password not in path.read_text() for path in (home / "projects").rglob("*.jsonl"))


def test_openai_timeout(server: FakeServer) -> None:
    started = time.monotonic()
    with pytest.raises(ProviderError, match="did not answer within 0.5s"):
        list(make_provider(openai(server, "slow", timeout=0.5)).stream(conversation()))
    assert time.monotonic() - started < 2.5


def test_openai_closing_the_stream_early_drops_the_connection(server: FakeServer) -> None:
    stream = make_provider(openai(server, "long")).stream(conversation())
    assert next(stream) == "word "
    stream.close()
    deadline = time.monotonic() + 30  # far above need: the loop ends at the disconnect
    while server.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.disconnects == 1


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (fake_openai.reply_status_line_with_key, "malformed status line"),
        (fake_openai.reply_long_status_line_with_key, "line longer than"),
        (fake_openai.reply_long_header_with_key, "line longer than"),
        (fake_openai.reply_many_headers_with_key, "more than 100 headers"),
    ],
)
def test_openai_malformed_http_is_one_line_without_the_key(raw: list[RawServer], reply: fake_openai.Reply, expected: str) -> None:
    raw.append(server := RawServer(reply).start())
    with pytest.raises(ProviderError) as caught:
        list(make_provider(openai(server)).stream(conversation()))
    message = caught.value.message
    assert expected in message and "\n" not in message
    assert SECRET not in message


def test_openai_reply_echoing_the_key_is_redacted_even_split_across_events(server: FakeServer) -> None:
    chunks = list(make_provider(openai(server, "echokey")).stream(conversation()))
    assert "".join(chunks) == "Your header is Bearer [API key] (echoed)"
    assert all(SECRET not in chunk for chunk in chunks)
    # a short placeholder key (local servers ignore the key) is not a secret: masking it would garble replies
    spec = ModelSpec(name="m", provider="openai", model="echokey", base_url=server.base_url, api_key="ollama")
    assert "".join(make_provider(spec).stream(conversation())) == "Your header is Bearer ollama (echoed)"


class Faulty:
    """A provider with a fault nobody foresaw, after a first piece of reply."""

    def __init__(self) -> None:
        self.spec = ModelSpec(name="faulty", provider="command", model="faulty", api_key=SECRET)
        self.closed = False

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        try:
            yield "the key is " + SECRET[:4]
            yield SECRET[4:] + "."
            raise RuntimeError(f"cannot parse\n{SECRET!r}")
        finally:
            self.closed = True


def test_an_unforeseen_fault_in_a_provider_is_one_masked_line_after_what_arrived() -> None:
    inner = Faulty()
    received: list[str] = []
    with pytest.raises(ProviderError) as caught:
        for chunk in Guarded(inner).stream(conversation()):
            received.append(chunk)
    assert "".join(received) == "the key is [API key]."
    assert caught.value.message == "model faulty failed: RuntimeError: cannot parse '[API key]'"
    assert inner.closed


OVERLAPPING_KEY = "aabaabab"  # prefixes that are also suffixes: the hard case for a streaming mask


@settings(max_examples=400, derandomize=True, deadline=None, database=None)
@given(st.text(alphabet="ab", max_size=60), st.lists(st.integers(0, 60), max_size=8))
def test_the_key_is_masked_wherever_the_stream_is_cut(text: str, cuts: list[int]) -> None:
    text = f"{text}{OVERLAPPING_KEY}{text}"
    bounds = [0, *sorted(min(cut, len(text)) for cut in cuts), len(text)]
    redactor = Redactor(OVERLAPPING_KEY)
    shown = [redactor.feed(text[start:end]) for start, end in zip(bounds, bounds[1:])] + [redactor.flush()]
    assert "".join(shown) == text.replace(OVERLAPPING_KEY, MASK)
    assert not any(OVERLAPPING_KEY in piece for piece in shown)


def test_a_line_with_no_end_fails_at_the_bound(raw: list[RawServer]) -> None:
    raw.append(server := RawServer(fake_openai.reply_endless_line(20 * 2**20)).start())
    started = time.monotonic()
    with pytest.raises(ProviderError, match="line longer than 4 MiB") as caught:
        list(make_provider(openai(server)).stream(conversation()))
    assert "\n" not in caught.value.message
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("head", [False, True], ids=["body", "status-line"])
def test_a_trickling_server_meets_the_deadline(raw: list[RawServer], head: bool) -> None:
    raw.append(server := RawServer(fake_openai.reply_trickle(0.5, head=head)).start())
    started = time.monotonic()
    with pytest.raises(ProviderError, match="within the 2s deadline") as caught:
        list(make_provider(openai(server, timeout=5, deadline=2)).stream(conversation()))
    assert "\n" not in caught.value.message
    assert 1.9 < time.monotonic() - started < 3


# -- the real program, scripted: bounded memory, bounded time ------------------

# (run with -S: the wrapper imports nothing but os, as tests/measured.py's)
MEASURED = """import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def scripted_chat(home: Path, workdir: Path, server: RawServer, settings: str, stdin: str,
                  base_url: str | None = None) -> tuple[str, float, int]:
    """Run `chit chat --new` on `stdin` against `server` (at `base_url`, by
    default its own) with `settings` in [defaults]: its stdout and stderr,
    seconds taken, peak RSS in KiB. A
    small parent process measures the peak: a child forked from this big
    test process would start with this one's resident size."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        f'[defaults]\nmodel = "raw"\n{settings}\n[models.raw]\nprovider = "openai"\nbase_url = "{base_url or server.base_url}"\nmodel = "m"\n'
    )
    env = {**os.environ, "OPENAI_API_KEY": SECRET}
    for name in ("CHIT_DEBUG", "CHIT_MODEL", "CHIT_API_KEY", "CHIT_BASE_URL", "CHIT_DEADLINE"):
        env.pop(name, None)
    output, peak = workdir / "chat.out", workdir / "chat.peak"
    argv = [sys.executable, "-S", "-c", MEASURED, str(peak), sys.executable, "-m", "chit", "chat", "--new"]
    with open(output, "wb") as sink:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=sink, stderr=sink, cwd=workdir, env=env, start_new_session=True)
        killer = threading.Timer(30, os.killpg, (proc.pid, signal.SIGKILL))  # a hang fails the test instead of stalling it
        killer.start()
        proc.communicate(stdin.encode())
        elapsed = time.monotonic() - started
        killer.cancel()
    return output.read_text(), elapsed, int(peak.read_text()) if peak.exists() else 0


def failure_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "error" in line]


def test_scripted_chat_fails_fast_and_small_on_a_line_with_no_end(home: Path, workdir: Path, raw: list[RawServer]) -> None:
    raw.append(server := RawServer(fake_openai.reply_endless_line(128 * 2**20)).start())
    output, elapsed, peak_kib = scripted_chat(home, workdir, server, "", "hello\n/rename still here\n")
    print(f"\n128 MiB line with no newline: failed after {elapsed:.2f}s, peak RSS {peak_kib / 1024:.0f} MiB")
    assert failure_lines(output) == ["error: " + failure_lines(output)[0].removeprefix("error: ")]
    assert "line longer than 4 MiB" in output and SECRET not in output
    assert peak_kib < 100 * 1024
    assert elapsed < 10
    assert "still here" in Chit(home, cwd=workdir).list()[0].title  # the script went on


def test_scripted_chat_stops_a_reply_without_end_at_the_bound(home: Path, workdir: Path, raw: list[RawServer]) -> None:
    """A server streaming well-formed events for ever: the reply fails past
    MAX_REPLY characters, keeping what came, and shows its last screenful
    (before: it grew until the deadline holding every piece, 2.4 GB in
    25 s, then an internal MemoryError ended chit under a 3 GB limit)."""
    from chit.providers.guard import MAX_REPLY

    raw.append(server := RawServer(fake_openai.reply_endless_stream(64 * 1024)).start())
    output, elapsed, peak_kib = scripted_chat(home, workdir, server, "deadline = 25", "hello\n/rename still here\n")
    print(f"\nendless stream: failed after {elapsed:.2f}s, peak RSS {peak_kib / 1024:.0f} MiB")
    assert len(failure_lines(output)) == 1 and "reply longer than 32 M characters" in output, output[-300:]
    assert elapsed < 30 and peak_kib < 500 * 1024
    session = Chit(home, cwd=workdir).list()[0]
    assert session.title == "still here"  # the script went on
    reply = Chit(home, cwd=workdir).get(session.id).messages[-1]
    assert reply.role == "assistant" and MAX_REPLY - 64 * 1024 < len(reply.content) <= MAX_REPLY


# What a hostile or broken server may put into the error it sends: escape
# sequences (a clipboard write, a screen clear), a C1 control, a NUL and a
# lone surrogate (valid JSON, not valid Unicode).
# What a hostile or broken server may put into the error it sends, as JSON
# escapes: escape sequences (a clipboard write, a screen clear), a C1
# control and a NUL.
HOSTILE_ERROR = b'{"error": {"message": "bad \\u001b]52;c;cHduZWQ=\\u0007\\u001b[2J\\u009b31m\\u0000 thing"}}'


def reply_error_status(connection: socket.socket, headers: dict[str, str]) -> None:
    head = f"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {len(HOSTILE_ERROR)}\r\n\r\n"
    connection.sendall(head.encode() + HOSTILE_ERROR)
    connection.close()


def reply_error_mid_stream(connection: socket.socket, headers: dict[str, str]) -> None:
    connection.sendall(fake_openai.STREAM_HEAD + b"data: " + HOSTILE_ERROR + b"\n\n")
    connection.close()


@pytest.mark.parametrize("reply", [reply_error_status, reply_error_mid_stream], ids=["status", "mid-stream"])
def test_a_server_error_holding_control_characters_is_shown_and_stored(
    home: Path, workdir: Path, raw: list[RawServer], reply: fake_openai.Reply
) -> None:
    """The error line is the server's, its controls shown as symbols, and the
    session's state records it (before: "error contains control
    characters" was shown instead, and the session stayed `running`)."""
    raw.append(server := RawServer(reply).start())
    output, _, _ = scripted_chat(home, workdir, server, "", "hello\n/rename still here\n")
    assert len(failure_lines(output)) == 1 and "contains control characters" not in output, output
    assert "bad \u241b]52;c;cHduZWQ=\u2407\u241b[2J\\x9b31m\u2400 thing" in output, output
    assert not {"\x1b", "\x07", "\x9b", "\x00"} & set(output)
    session = Chit(home, cwd=workdir).list()[0]
    assert session.title == "still here"  # the script went on
    state = Chit(home, cwd=workdir).get(session.id).run
    assert state.state == "error" and state.error is not None and "bad \u241b]52" in state.error, state


def reply_bad_bytes(connection: socket.socket, headers: dict[str, str]) -> None:
    """Events whose text holds a byte that is not UTF-8 (a server cutting a
    character in two between tokens) and a lone surrogate escape."""
    events = [b'{"choices": [{"index": 0, "delta": {"content": "caf\xc3"}}]}',
              b'{"choices": [{"index": 0, "delta": {"content": " ok \\ud83d end"}}]}']
    body = b"".join(b"data: " + event + b"\n\n" for event in events)
    connection.sendall(fake_openai.STREAM_HEAD + body + b"data: [DONE]\n\n")
    connection.close()


def test_a_reply_with_bytes_that_are_not_utf8_is_kept(home: Path, workdir: Path, raw: list[RawServer]) -> None:
    """What a server sends that is not valid Unicode costs a character
    (U+FFFD), not the reply (before: "malformed stream ... an event is not
    JSON", the reply lost)."""
    raw.append(server := RawServer(reply_bad_bytes).start())
    output, _, _ = scripted_chat(home, workdir, server, "", "hello\n")
    assert failure_lines(output) == [], output
    session = Chit(home, cwd=workdir).list()[0]
    reply = Chit(home, cwd=workdir).get(session.id).messages[-1]
    assert (reply.role, reply.content) == ("assistant", "caf\ufffd ok \ufffd end")


def test_scripted_chat_meets_the_configured_deadline(home: Path, workdir: Path, raw: list[RawServer]) -> None:
    """Timed from the request's arrival at the server, not from the start
    of the program: a loaded machine's slow start-up of Python is not the
    deadline's to meet."""
    trickle = fake_openai.reply_trickle(0.5)
    asked: list[float] = []

    def timed_trickle(connection: socket.socket, headers: dict[str, str]) -> None:
        asked.append(time.monotonic())
        trickle(connection, headers)

    raw.append(server := RawServer(timed_trickle).start())
    output, elapsed, _ = scripted_chat(home, workdir, server, "deadline = 2", "hello\n/rename still here\n")
    held = time.monotonic() - asked[0]
    print(f"\na byte every 0.5 s, deadline 2 s: chit chat ended after {elapsed:.2f}s, {held:.2f}s after its request")
    assert len(failure_lines(output)) == 1 and "within the 2s deadline" in output
    assert held < 3.5  # the deadline, and the end of the program on a busy machine
    session = Chit(home, cwd=workdir).list()[0]
    assert session.title == "still here"


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server-side TLS context for 127.0.0.1 whose self-signed
    certificate the client trusts (through SSL_CERT_FILE)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl program to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_tls_works_and_a_trickling_tls_server_meets_the_deadline(raw: list[RawServer], tls: ssl.SSLContext) -> None:
    raw.append(healthy := RawServer(fake_openai.reply_stream(["over ", "TLS"]), tls=tls).start())
    assert "".join(make_provider(openai(healthy)).stream(conversation())) == "over TLS"
    raw.append(trickling := RawServer(fake_openai.reply_trickle(0.5), tls=tls).start())
    started = time.monotonic()
    with pytest.raises(ProviderError, match="within the 2s deadline"):
        list(make_provider(openai(trickling, timeout=5, deadline=2)).stream(conversation()))
    assert time.monotonic() - started < 3


def test_a_tls_handshake_trickling_in_meets_the_deadline(raw: list[RawServer], tls: ssl.SSLContext) -> None:
    raw.append(server := RawServer(fake_openai.reply_trickle(0.5, head=True), tls=tls, handshake=False).start())
    started = time.monotonic()
    with pytest.raises(ProviderError, match="within the 2s deadline"):
        list(make_provider(openai(server, timeout=5, deadline=2)).stream(conversation()))
    assert time.monotonic() - started < 3


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


def test_a_model_whose_name_cannot_be_recorded_fails_before_the_turn(home: Path, workdir: Path) -> None:
    """A reply is stored under its model's name, one clean line; a config
    naming a model with control characters is one error line, the session
    in `error` (before: the reply streamed, then was lost to "model contains
    control characters", the session left `running`, exit status 0)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        '[defaults]\nmodel = "prog"\n[models.prog]\nprovider = "command"\n'
        f'command = ["{sys.executable}", "-c", "print(42)"]\nmodel = "real\\u001b[2Jname"\n'
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CHIT_DEBUG", "CHIT_MODEL")}
    done = forkserver.run_chit(["chat", "--new"], stdin=b"hello\n", cwd=workdir, env=env, timeout=60)
    output = (done.stdout + done.stderr).decode()
    assert done.returncode == 7 and len(failure_lines(output)) == 1 and "cannot be recorded" in output, output
    assert "\x1b" not in output
    session = Chit(home, cwd=workdir).list()[0]
    assert Chit(home, cwd=workdir).get(session.id).run.state == "error"


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


def test_command_output_echoing_the_key_is_redacted(tmp_path: Path) -> None:
    spec = program(tmp_path, f"sys.stdin.read()\nkey = {SECRET!r}\nprint('key:', key[:5], end='', flush=True)\nimport time; time.sleep(0.1)\nprint(key[5:])\n")
    spec = ModelSpec(name=spec.name, provider="command", model="prog", command=spec.command, api_key=SECRET)
    chunks = list(make_provider(spec).stream(conversation()))
    assert "".join(chunks) == "key: [API key]\n"


def test_command_meets_the_deadline(tmp_path: Path) -> None:
    spec = program(tmp_path, "import time\nfor _ in range(100):\n    print('.', end='', flush=True)\n    time.sleep(0.5)\n")
    spec = ModelSpec(name="prog", provider="command", model="prog", command=spec.command, deadline=1.5)
    started = time.monotonic()
    with pytest.raises(ProviderError, match="within the 1.5s deadline"):
        list(make_provider(spec).stream(conversation()))
    assert time.monotonic() - started < 2.5


def test_command_that_never_reads_its_input_meets_the_deadline(tmp_path: Path) -> None:
    spec = program(tmp_path, "import time\ntime.sleep(30)\n")
    spec = ModelSpec(name="prog", provider="command", model="prog", command=spec.command, deadline=1.5)
    started = time.monotonic()
    with pytest.raises(ProviderError, match="within the 1.5s deadline"):
        list(make_provider(spec).stream(conversation("x" * 2**20)))  # far more than a pipe holds
    assert time.monotonic() - started < 2.5


def test_command_that_prints_before_reading_its_input_does_not_deadlock(tmp_path: Path) -> None:
    spec = program(tmp_path, "sys.stdout.write('y' * 2**20)\nsys.stdout.flush()\nprint(len(sys.stdin.read()))\n")
    spec = ModelSpec(name="prog", provider="command", model="prog", command=spec.command, deadline=10)
    reply = "".join(make_provider(spec).stream(conversation("x" * 2**20)))
    assert reply.startswith("y" * 2**20) and int(reply[2**20:]) > 2**20


def test_echo_is_deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIT_ECHO_DELAY", "0")
    spec = ModelSpec(name="echo", provider="echo", model="echo")
    assert "".join(make_provider(spec).stream(conversation("two  words"))) == "echo: two  words"
    assert spec.label == "echo (offline test model)"
