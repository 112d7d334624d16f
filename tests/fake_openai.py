"""A loopback OpenAI-compatible chat server for tests (streaming SSE).

The model name picks the behaviour: any name streams "You said: <last user
message>" a word at a time; "unauthorized" → 401, "ratelimit" → 429,
"broken" → 500, "garbage" → a malformed stream, "cutoff" → a stream that
ends without [DONE], "slow" → answers only after 3 s, "long" → 200 words
with 50 ms between them, "many-N" → N one-word events with no delay (a
line break every 12 words), "escapes" → a reply full of terminal escape
sequences (OSC 52, OSC 0, CSI 2J, BEL, C1 CSI). GET /v1/models lists
"gpt-fake-1" and "gpt-fake-2". Every request is recorded in `server.requests`.
Run as a program (`python fake_openai.py PORTFILE`) it serves until killed
and writes its port to PORTFILE.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Handler(BaseHTTPRequestHandler):
    server: "FakeServer"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": None})
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
        if model == "slow":
            time.sleep(3)
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
        self._send(b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n')

    def _send(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.server.disconnects += 1
            return False

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

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def start(self) -> "FakeServer":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


if __name__ == "__main__":
    server = FakeServer(delay=0.02)
    with open(sys.argv[1], "w") as handle:
        handle.write(str(server.server_address[1]))
    server.serve_forever()
