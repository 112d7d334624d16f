"""A loopback OpenAI-compatible chat server that plays a fixed script to
opencode, so that the real opencode writes real session files.

Each request is answered from SCRIPT: the last user message of the
request that starts a scene (a line of it starts with the scene's key)
picks the scene, and the number of assistant turns since that message
picks the step of the scene. A step is
either tool calls (which opencode runs, then asks again with their
results) or a final reply. A request whose system prompt asks for a title
gets TITLE. Every answer streams as chat completion chunks: reasoning
(`reasoning_content`), content a few words at a time, tool calls in two
argument pieces, and usage (with cached and reasoning tokens) in the last
chunk before [DONE]. Every request body is appended to the log file given.

Run: python opencode_server.py PORTFILE LOGFILE (serves until killed).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TITLE = "Größe prüfen, 日本語 und Русский 🚀"
LONG_COMMAND = "seq -f 'line %05g of the long output' 1 1400"  # about 36 KB


@dataclass
class Step:
    """One model call: optional reasoning, then tool calls or a reply."""

    reasoning: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    reply: str = ""


SCRIPT: dict[str, list[Step]] = {
    "Bitte prüfe": [
        Step(reasoning="Zuerst die Umgebung prüfen: ein Befehl, der gelingt, und einer, der scheitert.",
             calls=[("bash", {"command": "echo 'Grüße aus der Straße: こんにちは, привет 🚀'", "description": "Greets in four scripts"}),
                    ("bash", {"command": "ls does-not-exist-ß", "description": "Lists a missing file"})]),
        Step(calls=[("bash", {"command": LONG_COMMAND, "description": "Prints a long output"})]),
        Step(calls=[("write", {"filePath": "NOTES.md", "content": "# Notizen\n\nGroße Straße — 東京 — Москва 🚀\n"})]),
        Step(calls=[("read", {"filePath": "missing-file-ß.txt"})]),
        Step(reasoning="Alles erledigt; kurz zusammenfassen.",
             reply="Fertig: die Grüße liefen, `ls` scheiterte wie erwartet, die lange Ausgabe kam an, "
                   "NOTES.md ist geschrieben, und die fehlende Datei ließ sich nicht lesen. 完了です。Готово! ✅"),
    ],
    "Unteragent bitte": [
        Step(calls=[("task", {"description": "Count notes lines", "prompt": "Zähle die Zeilen in NOTES.md (数える).",
                              "subagent_type": "general"})]),
        Step(reply="Der Unteragent hat gezählt: NOTES.md hat drei Zeilen. サブエージェント完了。"),
    ],
    "Zähle die Zeilen": [
        Step(calls=[("bash", {"command": "wc -l NOTES.md", "description": "Counts lines"})]),
        Step(reply="NOTES.md hat 3 Zeilen (数えました)."),
    ],
    "Zum Schluss: sag": [
        Step(reasoning="Eine letzte kurze Antwort.", reply="Auf Wiedersehen! さようなら。До свидания! 👋"),
    ],
    "Zum Schluss: noch einmal": [
        Step(reply="Noch einmal: Tschüß! またね。Пока! 👋"),
    ],
}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def scene_of(message: dict[str, Any]) -> str | None:
    """The scene a user message asks for: the key a line of it starts with
    (opencode may quote the prompt; an attached file's text starts no scene)."""
    for line in _text(message.get("content")).splitlines():
        for key in SCRIPT:
            if line.lstrip('"').startswith(key):
                return key
    return None


def choose(body: dict[str, Any]) -> Step:
    """The step that answers this request."""
    messages: list[dict[str, Any]] = body.get("messages", [])
    system = " ".join(_text(m.get("content")) for m in messages if m.get("role") == "system")
    if "title" in system.lower() and not body.get("tools"):
        return Step(reply=TITLE)
    for index in range(len(messages) - 1, -1, -1):
        key = scene_of(messages[index]) if messages[index].get("role") == "user" else None
        if key is not None:
            done = sum(1 for m in messages[index + 1:] if m.get("role") == "assistant")
            return SCRIPT[key][min(done, len(SCRIPT[key]) - 1)]
    return Step(reply="(no scene for this prompt)")


def chunks(step: Step, model: str, prompt_tokens: int) -> list[dict[str, Any]]:
    """The streamed chunks of one answer, usage last."""
    base = {"id": f"chatcmpl-{time.time_ns()}", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    out: list[dict[str, Any]] = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]

    def delta(d: dict[str, Any]) -> None:
        out.append({**base, "choices": [{"index": 0, "delta": d}]})

    words = 0
    for piece in _pieces(step.reasoning):
        delta({"reasoning_content": piece})
    for piece in _pieces(step.reply):
        delta({"content": piece})
        words += 1
    for index, (name, arguments) in enumerate(step.calls):
        encoded = json.dumps(arguments, ensure_ascii=False)
        half = len(encoded) // 2
        call_id = f"call_{time.time_ns()}_{index}"
        delta({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                               "function": {"name": name, "arguments": encoded[:half]}}]})
        delta({"tool_calls": [{"index": index, "function": {"arguments": encoded[half:]}}]})
        words += len(encoded.split())
    reasoning_tokens = len(step.reasoning.split())
    out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls" if step.calls else "stop"}]})
    out.append({**base, "choices": [], "usage": {
        "prompt_tokens": prompt_tokens, "completion_tokens": words + reasoning_tokens,
        "total_tokens": prompt_tokens + words + reasoning_tokens,
        "prompt_tokens_details": {"cached_tokens": prompt_tokens // 2},
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
    }})
    return out


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)] if text else []


class Handler(BaseHTTPRequestHandler):
    server: "ScriptServer"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._json({"object": "list", "data": [{"id": "scripted", "object": "model"}]})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body: dict[str, Any] = json.loads(raw)
        with self.server.log.open("a", encoding="utf-8") as log:
            log.write(json.dumps({"path": self.path, "body": body}, ensure_ascii=False) + "\n")
        step = choose(body)
        prompt_tokens = len(raw) // 4
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": step.reply}
            self._json({"id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()), "model": body.get("model"),
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(step.reply.split()),
                                  "total_tokens": prompt_tokens + len(step.reply.split())}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for chunk in chunks(step, str(body.get("model")), prompt_tokens):
            self.wfile.write(b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n")
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _json(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ScriptServer(ThreadingHTTPServer):
    def __init__(self, log: Path) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.log = log


def main() -> None:
    server = ScriptServer(Path(sys.argv[2]))
    Path(sys.argv[1]).write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
