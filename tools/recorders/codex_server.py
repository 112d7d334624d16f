"""A loopback Responses API server that plays a fixed script to Codex CLI.

Codex CLI (`codex exec`, pointed at this server by a custom model provider)
sends its whole conversation with every request; the server looks at the
last prompt and at how many steps of that prompt's script it gave before
to pick the next one (a compaction request gets a summary), and streams it
back as the Responses API does
(`response.created`, `response.output_item.added` / `.done` for reasoning,
function calls and messages, text deltas, `response.completed` with usage,
cached and reasoning tokens included). The tool calls use whichever shell
tool the request offers (`shell_command`, `shell`, `exec_command` or
`local_shell`), so one script serves several Codex versions; Codex runs
the commands itself and writes its own rollout.

Usage: `python codex_server.py PORTFILE [LOGFILE]`: serves on a free
loopback port until killed, writes the port to PORTFILE and, to LOGFILE,
one JSON line per request (path, model, tool names, input item types).
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: each prompt's script, picked by a marker word in the prompt: the steps
#: are shell commands to run, then a final reply; a step's reasoning
#: summary comes first.
Step = tuple[str, str, str]  # (kind: "shell" | "patch" | "reply", text, reasoning summary)
SCRIPTS: dict[str, list[Step]] = {
    "ZÄHLE": [
        ("shell", "ls -1 && echo 'Straße 🚀 готово'", "Erst die Dateien auflisten, dann zählen."),
        ("shell", "ls /nonexistent-chit-dir", "Der zweite Ordner fehlt vielleicht; prüfen."),
        ("shell", "seq 1 1500 | sed 's/$/ Zeile mit Text/'", "Eine lange Ausgabe erzeugen."),
        ("reply", "ファイルを数えました：3 個です。ß und 🚀 sind da; один каталог отсутствует (exit 2).", ""),
    ],
    "ЗАПИШИ": [
        ("patch", "notes.txt", "Нужно записать файл с немецким текстом."),
        ("shell", "cat notes.txt && wc -c notes.txt", "Проверим содержимое файла."),
        ("reply", "Готово: notes.txt содержит «Straße» und 日本語 ✅", ""),
    ],
}
#: what the server answers a compaction request (Codex asks for a summary of the conversation)
SUMMARY: list[Step] = [("reply", "Zusammenfassung: 3 Dateien gezählt, ein Ordner fehlte (exit 2), lange Liste gezeigt. 要約 ✅", "")]
FAIL_WORD = "FEHLER"  # a prompt with this word gets a failed response
SUMMARY_PREFIX = "Another language model"  # how Codex hands a summary to the next call
DEFAULT: list[Step] = [("reply", "Kurz gesagt: alles erledigt 👍 — 以上です。", "Nur noch zusammenfassen.")]
NOTE_TEXT = "Straße\n日本語のメモ\nПривет 👋\n"


class Handler(BaseHTTPRequestHandler):
    server: "Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._log({"method": "GET", "path": self.path})
        body = json.dumps({"object": "list", "data": [], "models": []}).encode()
        self.send_response(200 if self.path.rstrip("/").endswith("/models") else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        items = body.get("input") if isinstance(body.get("input"), list) else []
        tools = [t.get("name") or t.get("type") for t in body.get("tools") or [] if isinstance(t, dict)]
        self._log({"method": "POST", "path": self.path, "model": body.get("model"), "tools": tools,
                   "input": [i.get("type") for i in items if isinstance(i, dict)],
                   "last": json.dumps(items[-1], ensure_ascii=False)[:300] if items else None,
                   "encoding": self.headers.get("Content-Encoding"), "size": len(raw)})
        if not self.path.rstrip("/").endswith("/responses"):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if FAIL_WORD in _last_prompt(items):
            return self._fail()
        self._stream(self._next(items, body.get("tools") or []), len(raw) // 4)

    def _fail(self) -> None:
        """A model call that fails: `response.failed` after `response.created`."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self._event({"type": "response.created", "response": {"id": "resp_failed", "status": "in_progress"}})
        self._event({"type": "response.failed", "response": {"id": "resp_failed", "status": "failed", "error": {
            "code": "server_error", "message": "Der Server ist müde 😴 (サーバーエラー)"}}})
        self.close_connection = True

    def _log(self, entry: dict[str, Any]) -> None:
        with self.server.lock:
            if self.server.log is not None:
                self.server.log.write(json.dumps(entry, ensure_ascii=False) + "\n")
                self.server.log.flush()

    def _next(self, items: list[Any], tools: list[Any]) -> list[dict[str, Any]]:
        """The output items of the next step for this conversation."""
        prompt = _last_prompt(items)
        script = next((s for word, s in SCRIPTS.items() if word in prompt), DEFAULT)
        with self.server.lock:
            self.server.count += 1
            n = self.server.count
            if _is_compaction(items):
                script, done = SUMMARY, 0
            else:  # counted here, not from the history: a compaction drops the tool outputs
                done = self.server.progress.get(prompt, 0)
                self.server.progress[prompt] = done + 1
        kind, what, summary = script[min(done, len(script) - 1)]
        out: list[dict[str, Any]] = []
        if summary:
            out.append({"type": "reasoning", "id": f"rs_{n}", "summary": [{"type": "summary_text", "text": summary}],
                        "content": None, "encrypted_content": None})
        if kind == "reply":
            out.append({"type": "message", "role": "assistant", "id": f"msg_{n}",
                        "content": [{"type": "output_text", "text": what, "annotations": []}]})
        elif kind == "patch" and (patch := _patch_call(tools, what, n)) is not None:
            out.append(patch)
        else:
            command = what if kind == "shell" else f"printf '%s' '{NOTE_TEXT}' > {what}"
            out.append(_shell_call(tools, command, n))
        return out

    def _stream(self, output: list[dict[str, Any]], size: int) -> None:
        """The items as a Responses API stream; the input tokens are the
        request's size in bytes / 4 (so a long tool output fills the
        context and a compaction empties it), 1,024 of them cached."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        with self.server.lock:
            self.server.responses += 1
            rid = f"resp_{self.server.responses}"
        self._event({"type": "response.created", "response": {"id": rid, "status": "in_progress"}})
        for index, item in enumerate(output):
            self._event({"type": "response.output_item.added", "output_index": index, "item": item})
            if item["type"] == "message":
                text = item["content"][0]["text"]
                for piece in (text[: len(text) // 2], text[len(text) // 2:]):
                    self._event({"type": "response.output_text.delta", "item_id": item["id"], "output_index": index,
                                 "content_index": 0, "delta": piece})
            if item["type"] == "reasoning":
                self._event({"type": "response.reasoning_summary_text.delta", "item_id": item["id"],
                             "output_index": index, "summary_index": 0, "delta": item["summary"][0]["text"]})
            self._event({"type": "response.output_item.done", "output_index": index, "item": item})
        words = sum(len(json.dumps(i, ensure_ascii=False).split()) for i in output)
        usage = {"input_tokens": size, "input_tokens_details": {"cached_tokens": min(1024, size)},
                 "output_tokens": 20 + words, "output_tokens_details": {"reasoning_tokens": 7},
                 "total_tokens": size + 20 + words}
        self._event({"type": "response.completed", "response": {"id": rid, "status": "completed", "usage": usage,
                                                                "output": output}})
        self.close_connection = True

    def _event(self, data: dict[str, Any]) -> None:
        self.wfile.write(f"event: {data['type']}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode())
        self.wfile.flush()


def _last_prompt(items: list[Any]) -> str:
    """The text of the last user prompt."""
    prompt = ""
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "message" and item.get("role") == "user":
            texts = [c.get("text", "") for c in item.get("content") or [] if isinstance(c, dict)]
            joined = "\n".join(t for t in texts if isinstance(t, str))
            if not joined.lstrip().startswith(("<", SUMMARY_PREFIX)):  # context Codex adds, not a prompt
                prompt = joined
    return prompt


def _is_compaction(items: list[Any]) -> bool:
    """Whether Codex asks for a summary of the conversation (its compaction
    prompt, after the history, as the last user message)."""
    last = items[-1] if items and isinstance(items[-1], dict) else {}
    if last.get("type") != "message" or last.get("role") != "user":
        return False
    words = " ".join(str(c.get("text", "")) for c in last.get("content") or [] if isinstance(c, dict)).upper()
    return not words.startswith(SUMMARY_PREFIX.upper()) and ("CHECKPOINT" in words or "SUMMAR" in words or "MEMENTO" in words)


def _tool_names(tools: list[Any]) -> dict[str, dict[str, Any]]:
    return {str(t.get("name") or t.get("type")): t for t in tools if isinstance(t, dict)}


def _shell_call(tools: list[Any], command: str, n: int) -> dict[str, Any]:
    offered = _tool_names(tools)
    call_id = f"call_{n}"
    if "shell_command" in offered:
        return {"type": "function_call", "id": f"fc_{n}", "call_id": call_id, "name": "shell_command",
                "arguments": json.dumps({"command": command, "timeout_ms": 20000}, ensure_ascii=False)}
    if "shell" in offered:
        return {"type": "function_call", "id": f"fc_{n}", "call_id": call_id, "name": "shell",
                "arguments": json.dumps({"command": ["bash", "-lc", command], "timeout_ms": 20000}, ensure_ascii=False)}
    if "exec_command" in offered:
        return {"type": "function_call", "id": f"fc_{n}", "call_id": call_id, "name": "exec_command",
                "arguments": json.dumps({"cmd": command}, ensure_ascii=False)}
    return {"type": "local_shell_call", "id": f"lsh_{n}", "call_id": call_id, "status": "completed",
            "action": {"type": "exec", "command": ["bash", "-lc", command], "timeout_ms": 20000}}


def _patch_call(tools: list[Any], path: str, n: int) -> dict[str, Any] | None:
    """An `apply_patch` call adding `path`, in the form the request offers."""
    tool = _tool_names(tools).get("apply_patch")
    if tool is None:
        return None
    added = "".join(f"+{line}\n" for line in NOTE_TEXT.splitlines())
    patch = f"*** Begin Patch\n*** Add File: {path}\n{added}*** End Patch\n"
    if tool.get("type") == "custom":
        return {"type": "custom_tool_call", "id": f"ctc_{n}", "call_id": f"call_{n}", "name": "apply_patch",
                "input": patch, "status": "completed"}
    return {"type": "function_call", "id": f"fc_{n}", "call_id": f"call_{n}", "name": "apply_patch",
            "arguments": json.dumps({"input": patch}, ensure_ascii=False)}


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, log: Any) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.log = log
        self.count = 0
        self.progress: dict[str, int] = {}  # the script steps each prompt was given
        self.responses = 0


def main(argv: list[str]) -> None:
    log = open(argv[2], "a", encoding="utf-8") if len(argv) > 2 else None
    server = Server(log)
    with open(argv[1], "w", encoding="utf-8") as out:
        out.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
