"""OpenAI-compatible `/chat/completions` with streaming (OpenAI, Ollama,
llama.cpp server, vLLM, LM Studio…), on the standard library's http.client.

Invariants: every failure is one `ProviderError` line — connection refused,
timeout, 401/403, 429, other 4xx/5xx (with the server's own message when it
sends one), a malformed or cut-off stream; the API key goes only into the
Authorization header and never into an error message (not even when a
server echoes it back in its own).
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import orjson

from chit.config import ModelSpec
from chit.providers import Conversation, ProviderError

MAX_ERROR_BODY = 64 * 1024


class OpenAIProvider:
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        parts = urlsplit(spec.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProviderError(f"base URL must be http(s)://host[:port]/path, not {spec.base_url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path.rstrip("/") + "/chat/completions"
        self._where = f"{parts.scheme}://{parts.netloc}"

    def _connect(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self.spec.timeout, context=ssl.create_default_context())
        return http.client.HTTPConnection(self._host, self._port, timeout=self.spec.timeout)

    def stream(self, messages: Conversation) -> Iterator[str]:
        body = orjson.dumps({"model": self.spec.model, "messages": messages, "stream": True})
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        key = self.spec.key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        connection = self._connect()
        try:
            try:
                connection.request("POST", self._path, body=body, headers=headers)
                response = connection.getresponse()
            except ConnectionRefusedError:
                raise ProviderError(f"cannot connect to {self._where}: connection refused (is the server running?)") from None
            except (socket.timeout, TimeoutError):
                raise ProviderError(f"{self._where} did not answer within {self.spec.timeout:g}s") from None
            except socket.gaierror:
                raise ProviderError(f"cannot resolve host {self._host!r}") from None
            except ssl.SSLError as exc:
                raise ProviderError(f"TLS error talking to {self._where}: {exc.reason}") from None
            except OSError as exc:
                raise ProviderError(f"cannot reach {self._where}: {exc.strerror or exc}") from None
            if response.status != 200:
                raise ProviderError(self._status_message(response))
            yield from self._events(response)
        finally:
            connection.close()

    def _redact(self, text: str) -> str:
        """A server's own words, minus the API key should it echo it back
        (they are shown, and stored with the error in the session)."""
        key = self.spec.key()
        return text.replace(key, "[API key]") if key else text

    def _status_message(self, response: http.client.HTTPResponse) -> str:
        detail = ""
        try:
            data = orjson.loads(response.read(MAX_ERROR_BODY))
            error = data.get("error") if isinstance(data, dict) else None
            message = error.get("message") if isinstance(error, dict) else error
            if isinstance(message, str):
                detail = ": " + self._redact(" ".join(message.split()))[:200]
        except (orjson.JSONDecodeError, OSError, http.client.HTTPException):
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

    def _events(self, response: http.client.HTTPResponse) -> Iterator[str]:
        self._finish_seen = False
        finished = False
        while True:
            try:
                raw = response.readline()
            except (socket.timeout, TimeoutError):
                raise ProviderError(f"{self._where} stopped sending for {self.spec.timeout:g}s") from None
            except (OSError, http.client.HTTPException) as exc:
                raise ProviderError(f"the stream from {self._where} broke off: {exc}") from None
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

    def _delta(self, data: bytes) -> Iterator[str]:
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise ProviderError(f"malformed stream from {self._where}: an event is not JSON") from None
        if not isinstance(event, dict):
            raise ProviderError(f"malformed stream from {self._where}: an event is not an object")
        if "error" in event:
            error = event["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise ProviderError(f"{self._where} reported an error mid-stream: {self._redact(str(message))[:200]}")
        choices = event.get("choices")
        if not isinstance(choices, list):
            raise ProviderError(f"malformed stream from {self._where}: an event has no choices")
        for choice in choices:
            if isinstance(choice, dict) and choice.get("finish_reason"):
                self._finish_seen = True
            delta = choice.get("delta") if isinstance(choice, dict) else None
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, str) and content:
                yield content
