"""What the loopback model servers and their drivers share.

A server's handler logs every request it answers as one JSON line in the
file named by `LoggingHandler.log_path` (set once, before serving), and
answers plain JSON with `_json`; `serve` runs it on the port it prints
(`--port`, any free one by default) with its log (`--log`); a driver talks to its server's control
paths with `post`.
"""

from __future__ import annotations

import argparse
import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_LOCK = threading.Lock()


class LoggingHandler(BaseHTTPRequestHandler):
    log_path: str | None = None

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _log(self, entry: dict[str, Any]) -> None:
        assert self.log_path is not None, "set LoggingHandler.log_path before serving"
        with _LOCK, open(self.log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def _json(self, status: int, value: Any) -> None:
        data = json.dumps(value, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def post(port: int, path: str, value: object) -> object:
    """POST `value` as JSON to the server on this port; its JSON answer."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(value).encode(), method="POST")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def serve(handler: type[LoggingHandler], doc: str | None) -> None:
    """A server's command line: `--port` (0: any free one, printed on the
    first line of stdout) and `--log`, then serve until killed."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    handler.log_path = args.log
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
