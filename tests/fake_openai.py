"""A loopback OpenAI-compatible chat server for tests (streaming SSE).

The model name picks the behaviour: any name streams "You said: <last user
message>" a word at a time; "unauthorized" → 401, "ratelimit" → 429,
"broken" → 500, "garbage" → a malformed stream, "strict" → 400 to a request with
`stream_options` (an older server), "cutoff" → a stream that
ends without [DONE], "slow" → answers only after 3 s, "stalled" → only after 600 s, "long" → 200 words
with 50 ms between them, "many-N" → N one-word events with no delay (a
line break every 12 words), "escapes" → a reply full of terminal escape
sequences (OSC 52, OSC 0, CSI 2J, BEL, C1 CSI). A request asking for usage (`stream_options.include_usage`) gets a last
event with no choices and the usage: prompt tokens = words in the
messages, completion tokens = events sent. GET /v1/models lists
"gpt-fake-1" and "gpt-fake-2" (with `redirect` set, every GET answers a
302 to that origin). Every request is recorded in `server.requests`.
Run as a program (`python fake_openai.py PORTFILE`) it serves until killed
and writes its port to PORTFILE.

"echokey" → a reply that quotes the request's Authorization header, the
key split across two events. `RawServer` answers with raw bytes, for what
http.server cannot send: a malformed status line, oversized or endless
headers, a line with no end, a reply trickling in a byte at a time (see
the `reply_*` functions).
"""

from __future__ import annotations

import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Handler(BaseHTTPRequestHandler):
    server: "FakeServer"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": None})
        if self.server.redirect is not None:
            self.send_response(302)
            self.send_header("Location", self.server.redirect + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path != "/v1/models":
            return self._json(404, {"error": {"message": "no such route"}})
        self._json(200, {"object": "list", "data": [{"id": "gpt-fake-2", "object": "model"}, {"id": "gpt-fake-1", "object": "model"}]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        model = body.get("model", "")
        if self.path != "/v1/chat/completions":
            return self._json(404, {"error": {"message": "no such route"}})
        if model == "unauthorized":
            return self._json(401, {"error": {"message": "Incorrect API key provided"}})
        if model == "ratelimit":
            return self._json(429, {"error": {"message": "Rate limit reached"}})
        if model == "broken":
            return self._json(500, {"error": {"message": "The server had an error"}})
        if model == "strict" and "stream_options" in body:
            return self._json(400, {"error": {"message": "Unrecognized request argument supplied: stream_options"}})
        if model == "echokey":
            return self._echo_key()
        if model == "slow":
            time.sleep(3)
        if model == "stalled":
            time.sleep(600)
        last = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
        words = ["word "] * 200 if model == "long" else f"You said: {last}".split(" ")
        if model.startswith("many-"):
            words = [f"w{i}" + ("\n" if i % 12 == 11 else " ") for i in range(int(model[5:]))]
        if model == "escapes":
            words = ["clip\x1b]52;c;cHduZWQ=\x07", "title\x1b]0;pwned\x07", "clear\x1b[2J", "bell\x07", "c1\x9b31m", "end"]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        if model == "garbage":
            self._send(b"data: {not json\n\n")
            return
        for i, word in enumerate(words):
            plain = model == "long" or model.startswith("many-")
            piece = word if plain else (word if i == len(words) - 1 else word + " ")
            event = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            if not self._send(b"data: " + json.dumps(event).encode() + b"\n\n"):
                return
            if not model.startswith("many-"):
                time.sleep(0.05 if model == "long" else self.server.delay)
        if model == "cutoff":
            return
        self._send(b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n')
        if (body.get("stream_options") or {}).get("include_usage"):
            prompt = sum(len(m["content"].split()) for m in body["messages"])
            usage = {"prompt_tokens": prompt, "completion_tokens": len(words), "total_tokens": prompt + len(words)}
            self._send(b"data: " + json.dumps({"choices": [], "usage": usage}).encode() + b"\n\n")
        self._send(b"data: [DONE]\n\n")

    def _send(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.server.disconnects += 1
            return False

    def _echo_key(self) -> None:
        header = self.headers.get("Authorization", "")
        middle = len(header) - 6
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in ("Your header is ", header[:middle], header[middle:] + " (echoed)"):
            event = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            self._send(b"data: " + json.dumps(event).encode() + b"\n\n")
        self._send(b"data: [DONE]\n\n")

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict[str, Any]] = []
        self.delay = delay
        self.disconnects = 0
        self.redirect: str | None = None  # a GET answers 302 to this origin + the path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def start(self) -> "FakeServer":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


Reply = Callable[[socket.socket, dict[str, str]], None]


class RawServer:
    """A loopback server that reads one HTTP request per connection and lets
    `reply(connection, headers)` write whatever bytes it likes; over TLS
    with `tls`; with `handshake=False` it neither reads nor does a TLS
    handshake, so `reply` talks to the client's first bytes."""

    def __init__(self, reply: Reply, tls: ssl.SSLContext | None = None, handshake: bool = True) -> None:
        self.reply = reply
        self.tls = tls
        self.handshake = handshake
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connections: list[socket.socket] = []
        self.requests = 0

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.listener.getsockname()[1]}/v1"

    def start(self) -> "RawServer":
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()
        return self

    def close(self) -> None:
        # A plain close() would not wake the accept() under way: the socket
        # would go on listening and take the next test's connections.
        self.listener.shutdown(socket.SHUT_RDWR)
        self.acceptor.join(5)
        self.listener.close()
        for connection in self.connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            if not self.handshake:
                self.reply(connection, {})
                return
            if self.tls is not None:
                connection = self.tls.wrap_socket(connection, server_side=True)
            headers = read_request(connection)
            self.requests += 1
            self.reply(connection, headers)
        except OSError:
            pass  # the client gave up or the test closed the server


def read_request(connection: socket.socket) -> dict[str, str]:
    data = b""
    while b"\r\n\r\n" not in data:
        more = connection.recv(65536)
        if not more:
            raise ConnectionResetError
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        more = connection.recv(65536)
        if not more:
            raise ConnectionResetError
        body += more
    return headers


STREAM_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"


def reply_status_line_with_key(connection: socket.socket, headers: dict[str, str]) -> None:
    """A status line that is no status line: it quotes the key."""
    connection.sendall(f"HTTP/1.1 {headers['authorization']}\r\n\r\n".encode())


def reply_long_status_line_with_key(connection: socket.socket, headers: dict[str, str]) -> None:
    connection.sendall(f"HTTP/1.1 200 {headers['authorization']} {'x' * 70_000}\r\n\r\n".encode())


def reply_long_header_with_key(connection: socket.socket, headers: dict[str, str]) -> None:
    connection.sendall(f"HTTP/1.1 200 OK\r\nX-You-Sent: {headers['authorization']} {'x' * 70_000}\r\n\r\n".encode())


def reply_many_headers_with_key(connection: socket.socket, headers: dict[str, str]) -> None:
    lines = "".join(f"X-Echo-{i}: {headers['authorization']}\r\n" for i in range(150))
    connection.sendall(f"HTTP/1.1 200 OK\r\n{lines}\r\n".encode())


def reply_endless_line(size: int) -> Reply:
    """A stream whose first line never ends: `size` bytes, no newline, and
    the connection held open."""

    def reply(connection: socket.socket, headers: dict[str, str]) -> None:
        connection.sendall(STREAM_HEAD + b"data: " + b"x" * size)
        time.sleep(30)

    return reply


def reply_stream(pieces: list[str]) -> Reply:
    """A well-formed stream of `pieces`."""

    def reply(connection: socket.socket, headers: dict[str, str]) -> None:
        events = [{"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]} for piece in pieces]
        body = b"".join(b"data: " + json.dumps(event).encode() + b"\n\n" for event in events)
        connection.sendall(STREAM_HEAD + body + b"data: [DONE]\n\n")
        connection.close()

    return reply


def reply_endless_stream(piece: int) -> Reply:
    """A well-formed stream that never ends: events of `piece` characters
    as fast as the client reads them, until it hangs up (or a minute)."""

    def reply(connection: socket.socket, headers: dict[str, str]) -> None:
        event = {"choices": [{"index": 0, "delta": {"content": "w " * (piece // 2)}, "finish_reason": None}]}
        line = b"data: " + json.dumps(event).encode() + b"\n\n"
        ends = time.monotonic() + 60
        try:
            connection.sendall(STREAM_HEAD)
            while time.monotonic() < ends:
                connection.sendall(line)
        except OSError:  # the client hung up
            pass

    return reply


def reply_trickle(every: float, head: bool = False) -> Reply:
    """One byte every `every` seconds, for a minute: of the status line
    (`head`), or of the body after proper headers."""

    def reply(connection: socket.socket, headers: dict[str, str]) -> None:
        if not head:
            connection.sendall(STREAM_HEAD)
        for _ in range(int(60 / every)):
            connection.sendall(b"H" if head else b":")
            time.sleep(every)

    return reply


if __name__ == "__main__":
    server = FakeServer(delay=0.02)
    with open(sys.argv[1], "w") as handle:
        handle.write(str(server.server_address[1]))
    server.serve_forever()
