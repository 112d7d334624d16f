"""OpenAI-compatible `/chat/completions` with streaming (OpenAI, Ollama,
llama.cpp server, vLLM, LM Studio…), on the standard library's http.client.

Invariants: a streamed request asks for the token usage, and `usage`
holds it once the stream ended (None when the server sent none); every
failure is one `ProviderError` line — connection refused,
timeout, the deadline, 401/403, 429, other 4xx/5xx (with the server's own
message when it sends one), a malformed HTTP answer (status line, header
lines, too many headers), a malformed or cut-off stream, a stream line
past `MAX_LINE`; the API key goes only into the Authorization header and
never into an error message (not even when a server echoes it back in its
own; `guard` then masks it in the reply too), nor a password in the base
URL (its user part is never sent: the request goes to the host alone).

Bounded: memory — a stream line is read up to `MAX_LINE` bytes, an error
body up to `MAX_ERROR_BODY`, headers up to http.client's own limits; time —
no read waits more than the model's `timeout`, and a watchdog shuts the
socket when its `deadline` passes, the only way to stop a server that
trickles a byte at a time.

Lenient about text: an event whose text is not valid Unicode (a byte that
is not UTF-8, from a server cutting a character in two between tokens; a
lone surrogate escape) is read with U+FFFD there, so it costs a character,
never the reply.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import orjson

from chit.config import ModelSpec
from chit.model import Tokens
from chit.patterns import LazyPattern
from chit.providers import Conversation, ProviderError
from chit.providers.guard import Redactor
from chit.urls import shown

MAX_ERROR_BODY = 64 * 1024
_SURROGATE = LazyPattern("[\ud800-\udfff]")  # what UTF-8 cannot encode
MAX_LINE = 4 * 2**20  # one server-sent event; real ones are well under a kilobyte


class Watchdog:
    """Shuts a connection's socket down once `seconds` have passed. A read
    fed a byte at a time never meets a per-read timeout; only closing the
    socket under it ends it."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self._connection = connection
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._ends = time.monotonic() + seconds
        self._fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket | None) -> None:
        """Keep hold of the connected socket: http.client lets go of it
        (`connection.sock = None`) once a response owns it."""
        with self._lock:
            self._sock = sock
            fired = self._fired
        if fired:
            self._shut(sock)

    def expired(self) -> bool:
        return self._fired or time.monotonic() >= self._ends

    def cancel(self) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            sock = self._sock or self._connection.sock  # the latter while connecting (the TLS handshake)
        self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket | None) -> None:
        if sock is not None:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, under TLS too
            except OSError:
                pass


class _UsageRefused(Exception):
    """The server refused `stream_options` (an older OpenAI-compatible one)."""


class OpenAIProvider:
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.usage: Tokens | None = None
        missing = spec.missing_key()
        if missing:
            raise ProviderError(missing)  # before any lookup: else "cannot resolve host" offline
        parts = urlsplit(spec.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProviderError(f"base URL must be http(s)://host[:port]/path, not {shown(spec.base_url)!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path.rstrip("/") + "/chat/completions"
        self._where = shown(f"{parts.scheme}://{parts.netloc}")

    def _connect(self) -> http.client.HTTPConnection:
        timeout = min(self.spec.timeout, self.spec.deadline)  # connecting cannot be watched: bound it here
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=ssl.create_default_context())
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def stream(self, messages: Conversation) -> Iterator[str]:
        """The reply's text; `usage` holds the token counts once it ended,
        when the server sent them. They are asked for
        (`stream_options.include_usage`); a server that refuses the field
        (HTTP 400 naming it) is asked again without it."""
        try:
            yield from self._stream(messages, with_usage=True)
        except _UsageRefused:
            yield from self._stream(messages, with_usage=False)

    def _stream(self, messages: Conversation, with_usage: bool) -> Iterator[str]:
        request: dict[str, object] = {"model": self.spec.model, "messages": messages, "stream": True}
        if with_usage:
            request["stream_options"] = {"include_usage": True}
        body = orjson.dumps(request)
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        key = self.spec.key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        connection = self._connect()
        watchdog = Watchdog(connection, self.spec.deadline)
        try:
            response = self._request(connection, body, headers, watchdog)
            if response.status != 200:
                message = self._status_message(response)
                if with_usage and response.status == 400 and "stream_options" in message:
                    raise _UsageRefused
                raise self._late() if watchdog.expired() else ProviderError(message)
            yield from self._events(response, watchdog)
        finally:
            watchdog.cancel()
            connection.close()

    def _request(self, connection: http.client.HTTPConnection, body: bytes, headers: dict[str, str], watchdog: Watchdog) -> http.client.HTTPResponse:
        """Send the request and read the status line and headers."""
        try:
            connection.connect()
            watchdog.watch(connection.sock)
            if watchdog.expired():
                raise self._late()
            connection.request("POST", self._path, body=body, headers=headers)
            return connection.getresponse()
        except ConnectionRefusedError:
            raise ProviderError(f"cannot connect to {self._where}: connection refused (is the server running?)") from None
        except (OSError, http.client.HTTPException) as exc:
            if watchdog.expired():
                raise self._late() from None
            raise ProviderError(self._request_failure(exc)) from None

    def _request_failure(self, exc: OSError | http.client.HTTPException) -> str:
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return f"{self._where} did not answer within {self.spec.timeout:g}s"
        if isinstance(exc, socket.gaierror):
            return f"cannot resolve host {self._host!r}"
        if isinstance(exc, ssl.SSLError):
            return f"TLS error talking to {self._where}: {exc.reason}"
        if isinstance(exc, OSError):  # RemoteDisconnected too: it is a ConnectionResetError
            return f"cannot reach {self._where}: {exc.strerror or exc}"
        if isinstance(exc, http.client.LineTooLong):
            return f"{self._where} sent a malformed HTTP answer: a status or header line longer than 64 KiB"
        if isinstance(exc, http.client.BadStatusLine):
            return f"{self._where} sent a malformed status line: {self._redact(str(exc.args[0] if exc.args else ''))[:80]!r}"
        return f"{self._where} sent a malformed HTTP answer: {self._redact(str(exc))[:200]}"

    def _late(self) -> ProviderError:
        return ProviderError(
            f"{self._where} did not finish the reply within the {self.spec.deadline:g}s deadline (the model's `deadline` setting or CHIT_DEADLINE)"
        )

    def _redact(self, text: str) -> str:
        """A server's own words, minus the API key should it echo it back
        (they are shown, and stored with the error in the session); masked
        here, before they are cut short."""
        return Redactor(self.spec.key()).text(text)

    def _status_message(self, response: http.client.HTTPResponse) -> str:
        detail = ""
        try:
            data = orjson.loads(response.read(MAX_ERROR_BODY))
            error = data.get("error") if isinstance(data, dict) else None
            message = error.get("message") if isinstance(error, dict) else error
            if isinstance(message, str):
                detail = ": " + self._redact(" ".join(message.split()))[:200]
        except (ValueError, OSError, http.client.HTTPException):  # not JSON, a malformed chunk size, a broken read
            pass
        status = response.status
        if status in (401, 403):
            return f"{self._where} refused the API key (HTTP {status}); set {self.spec.api_key_env} or CHIT_API_KEY{detail}"
        if status == 429:
            return f"{self._where} is rate limiting (HTTP 429); wait and /retry{detail}"
        if status == 404:
            return f"{self._where}{self._path} not found (HTTP 404): check the base URL and model {self.spec.model!r}{detail}"
        kind = "server error" if status >= 500 else "request refused"
        return f"{self._where}: {kind} (HTTP {status}){detail}"

    def _events(self, response: http.client.HTTPResponse, watchdog: Watchdog) -> Iterator[str]:
        self._finish_seen = False
        finished = False
        while True:
            raw = self._line(response, watchdog)
            if not raw:
                break
            line = raw.strip()
            if not line or line.startswith(b":") or not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                finished = True
                break
            yield from self._delta(data)
        if not finished and not self._finish_seen:
            raise ProviderError(f"the stream from {self._where} ended without [DONE] (reply cut off)")

    def _line(self, response: http.client.HTTPResponse, watchdog: Watchdog) -> bytes:
        """The next line of the stream, at most `MAX_LINE` bytes; b"" at its end."""
        try:
            raw = response.readline(MAX_LINE + 1)
        except (OSError, http.client.HTTPException, ValueError) as exc:  # ValueError: a malformed chunk size
            if watchdog.expired():
                raise self._late() from None
            if isinstance(exc, (socket.timeout, TimeoutError)):
                raise ProviderError(f"{self._where} stopped sending for {self.spec.timeout:g}s") from None
            raise ProviderError(f"the stream from {self._where} broke off: {self._redact(str(exc))[:200]}") from None
        if watchdog.expired():
            raise self._late()  # what was read may have been cut short by the watchdog
        if len(raw) > MAX_LINE:
            raise ProviderError(f"{self._where} sent a stream line longer than {MAX_LINE // 2**20} MiB; gave up on it")
        return raw

    def _delta(self, data: bytes) -> Iterator[str]:
        try:
            event = _event(data)
        except (ValueError, RecursionError):  # RecursionError: the standard library on JSON nested thousands deep
            raise ProviderError(f"malformed stream from {self._where}: an event is not JSON") from None
        if not isinstance(event, dict):
            raise ProviderError(f"malformed stream from {self._where}: an event is not an object")
        if "error" in event:
            error = event["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise ProviderError(f"{self._where} reported an error mid-stream: {self._redact(str(message))[:200]}")
        self._note_usage(event.get("usage"))
        choices = event.get("choices")  # [] in the last event, the one with the usage
        if not isinstance(choices, list):
            raise ProviderError(f"malformed stream from {self._where}: an event has no choices")
        for choice in choices:
            if isinstance(choice, dict) and choice.get("finish_reason"):
                self._finish_seen = True
            delta = choice.get("delta") if isinstance(choice, dict) else None
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, str) and content:
                yield _SURROGATE.sub("\ufffd", content)

    def _note_usage(self, usage: object) -> None:
        if not isinstance(usage, dict):
            return
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(prompt, int) or isinstance(completion, int):
            self.usage = Tokens(_count(prompt), _count(completion))


def _event(data: bytes) -> object:
    """An event's JSON, its text read leniently (see the module docstring);
    ValueError when it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data.decode("utf-8", "replace"))  # the standard library keeps a lone surrogate escape


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
