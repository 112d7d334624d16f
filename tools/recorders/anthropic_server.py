"""A loopback Anthropic Messages API server for recording real Claude Code sessions.

It answers `POST /v1/messages` (streamed as server-sent events, or whole)
and `POST /v1/messages/count_tokens`. The main model's replies come from a
script the driver sets before each run (`POST /_script` with a JSON list of
replies; each reply is a list of blocks: `{"text": ...}`, `{"thinking": ...}`,
`{"tool": NAME, "input": {...}}`, or `{"error": {"status", "type", "message"}}` alone); a reply holding a tool call ends with
`stop_reason: "tool_use"`, so the tool really runs and asks again. Requests
for the small model (titles, topics) and a compaction request get a fixed
answer. Every request is logged, one JSON line each, to the file named by
`--log`. Token counts are computed from the request and reply sizes, so they
are plausible and repeatable.

Not part of chit and never run by its tests.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from scripted import LoggingHandler, serve

LOCK = threading.Lock()
STATE: dict[str, Any] = {"script": [], "counter": 0}
COMPACTION_MARK = "summary of the conversation"
SUMMARY = (
    "Summary of the conversation so far: the user asked, in German, Japanese and Russian, for a notes file, "
    "a long listing and a sub-agent check. notes.txt was written and edited; `seq` printed a long listing; "
    "a listing of a missing directory failed; a sub-agent reported the working directory."
)


def _next_id(prefix: str) -> str:
    with LOCK:
        STATE["counter"] += 1
        return f"{prefix}{STATE['counter']:024x}"


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    found = []
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict):
            if block.get("type") == "text":
                found.append(str(block.get("text", "")))
            elif block.get("type") == "tool_result":
                found.extend(_texts(block.get("content")))
    return found


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return "\n".join(_texts(message.get("content")))
    return ""


def _all_text(body: dict[str, Any]) -> str:
    return json.dumps(body.get("system", "")) + "\n".join(
        "\n".join(_texts(m.get("content"))) for m in body.get("messages") or []
    )


def _choose(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The kind of request and the blocks of its reply."""
    model = str(body.get("model", ""))
    last = _last_user_text(body)
    if "haiku" in model:
        everything = _all_text(body)
        if "isNewTopic" in everything:
            return "side-topic", [{"text": '{"isNewTopic": true, "title": "Notizen und Listen"}'}]
        if "prefix detection" in everything:  # the command's prefix, for permission rules
            command = last.rsplit("Command:", 1)[-1].strip().split()
            return "side-prefix", [{"text": command[0] if command else "none"}]
        if last.startswith("Command:") and "Output:" in last:  # file paths the command's output names
            return "side-paths", [{"text": "<filepaths>\n</filepaths>"}]
        if "title" in everything.lower():
            return "side-title", [{"text": "Notizen, Listen und ein Unteragent"}]
        return "side", [{"text": "OK"}]
    if last.strip() == "Warmup":  # versions 2.0.x warm each agent type up on start
        return "warmup", [{"text": "Bereit."}]
    if COMPACTION_MARK in last:
        return "compaction", [{"text": f"<summary>\n{SUMMARY}\n</summary>"}]
    with LOCK:
        script = _queue_for(body)
        reply = script.pop(0) if script else None
    if reply is None:
        return "fallback", [{"text": "Fertig. ✅"}]
    return "script", reply


def _queue_for(body: dict[str, Any]) -> list[Any]:
    """The replies for this request: a script may be a list (one queue) or
    `{"main": [...], "agents": {prompt: [...]}}`, a queue for each sub-agent
    named by its prompt (a background sub-agent asks while the main thread does)."""
    script = STATE["script"]
    if isinstance(script, list):
        return script
    messages = body.get("messages") or []
    first = "\n".join(_texts(messages[0].get("content"))) if messages else ""
    for prompt, queue in script["agents"].items():
        if prompt in first:
            return queue  # type: ignore[no-any-return]
    return script["main"]  # type: ignore[no-any-return]


def _left() -> int:
    script = STATE["script"]
    if isinstance(script, list):
        return len(script)
    return len(script["main"]) + sum(len(q) for q in script["agents"].values())


def _tool_name(wanted: str, body: dict[str, Any]) -> str:
    names = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)}
    if wanted in ("Task", "Agent"):
        for name in ("Task", "Agent"):
            if name in names:
                return name
    return wanted


def _known_fields(name: str, value: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The input without the fields this version's tool does not declare
    (`run_in_background` exists in later versions only)."""
    for tool in body.get("tools") or []:
        properties = (tool.get("input_schema") or {}).get("properties") if isinstance(tool, dict) else None
        if tool.get("name") == name and isinstance(properties, dict):
            return {k: v for k, v in value.items() if k in properties}
    return value


def _content(blocks: list[dict[str, Any]], body: dict[str, Any]) -> list[dict[str, Any]]:
    content = []
    for block in blocks:
        if "thinking" in block:
            content.append({"type": "thinking", "thinking": block["thinking"], "signature": _next_id("sig")})
        elif "tool" in block:
            name = _tool_name(block["tool"], body)
            content.append({"type": "tool_use", "id": _next_id("toolu_rec"), "name": name,
                            "input": _known_fields(name, block["input"], body)})
        else:
            content.append({"type": "text", "text": block["text"]})
    return content


def _usage(raw: bytes, content: list[dict[str, Any]]) -> dict[str, int]:
    size = len(raw) // 4
    out = max(1, len(json.dumps(content, ensure_ascii=False)) // 4)
    cache_read = size * 3 // 4
    return {"input_tokens": max(1, size // 50), "cache_creation_input_tokens": size - cache_read - max(1, size // 50),
            "cache_read_input_tokens": cache_read, "output_tokens": out}


def _events(message: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": start}),
                                                ("ping", {"type": "ping"})]
    for index, block in enumerate(message["content"]):
        first: dict[str, Any]
        if block["type"] == "text":
            first = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"])]
        elif block["type"] == "thinking":
            first = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": p} for p in _pieces(block["thinking"])]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        else:
            first = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": p}
                      for p in _pieces(json.dumps(block["input"], ensure_ascii=False))]
        events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": first}))
        events.extend(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas)
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                                     "usage": usage}))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _pieces(value: str, size: int = 40) -> list[str]:
    return [value[i : i + size] for i in range(0, len(value), size)] or [""]


class Handler(LoggingHandler):

    def do_GET(self) -> None:  # noqa: N802
        self._log({"method": "GET", "path": self.path})
        self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": "not here"}})

    def do_HEAD(self) -> None:  # noqa: N802
        self._log({"method": "HEAD", "path": self.path})
        self.send_response(200)
        self.end_headers()

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.loads(raw or b"{}")
        path = self.path.split("?")[0]
        if path == "/_script":
            with LOCK:
                STATE["script"] = body
            return self._json(200, {"ok": True})
        if path == "/_left":
            with LOCK:
                return self._json(200, {"left": _left()})
        if path.endswith("/count_tokens"):
            self._log({"path": self.path, "model": body.get("model"), "kind": "count_tokens"})
            return self._json(200, {"input_tokens": max(1, len(raw) // 4)})
        if not path.endswith("/v1/messages"):
            self._log({"method": "POST", "path": self.path, "unknown": True})
            return self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": "not here"}})
        kind, blocks = _choose(body)
        if blocks and "error" in blocks[0]:  # a scripted API error, answered as the API answers one
            failure = blocks[0]["error"]
            self._log({"path": self.path, "model": body.get("model"), "kind": "error", "status": failure["status"]})
            return self._json(failure["status"], {"type": "error", "error": {"type": failure["type"], "message": failure["message"]}})
        content = _content(blocks, body)
        message = {"id": _next_id("msg_rec"), "type": "message", "role": "assistant", "model": body.get("model"),
                   "content": content, "stop_reason": "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn",
                   "stop_sequence": None, "usage": _usage(raw, content)}
        self._log({"path": self.path, "model": body.get("model"), "kind": kind, "stream": bool(body.get("stream")),
                   "tools": sorted(t.get("name", "") for t in body.get("tools") or [] if isinstance(t, dict)),
                   "thinking": body.get("thinking"), "last_user": _last_user_text(body)[:300],
                   "system": json.dumps(body.get("system"), ensure_ascii=False)[:300],
                   "reply": [b.get("name") or b["type"] for b in content]})
        if not body.get("stream"):
            return self._json(200, message)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        for name, data in _events(message):
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode())
            self.wfile.flush()


def main() -> None:
    serve(Handler, __doc__)


if __name__ == "__main__":
    main()
