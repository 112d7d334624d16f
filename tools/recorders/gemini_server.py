"""A loopback Gemini API server for recording real Gemini CLI sessions.

It answers `POST /v1beta/models/<model>:streamGenerateContent?alt=sse`
(server-sent events, one `GenerateContentResponse` each), `:generateContent`
and `:countTokens`. The main model's replies come from a script the driver
sets before each run (`POST /_script`, a JSON list of replies; each a list
of parts: `{"text": ...}`, `{"thought": ...}` or `{"call": NAME, "args":
{...}}`); a reply with a function call makes Gemini CLI run the tool and
ask again. A request that wants JSON (a `responseJsonSchema`: the CLI's
next-speaker check, its model router) gets the schema's first choices.
Every request is logged, one JSON line each, to `--log`. Token counts are
computed from the request and reply sizes.

Not part of chit and never run by its tests.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from scripted import LoggingHandler, serve

LOCK = threading.Lock()
STATE: dict[str, Any] = {"script": []}


def _json_for(schema: dict[str, Any]) -> Any:
    """The plainest value a JSON schema allows (its first choice of each)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        kind = kind.lower()
    if schema.get("enum"):
        return schema["enum"][0]
    if kind == "object":
        return {k: _json_for(v) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        return []
    if kind == "boolean":
        return False
    if kind in ("number", "integer"):
        return 0
    return "ok"


def _last_user_text(body: dict[str, Any]) -> str:
    for content in reversed(body.get("contents") or []):
        if content.get("role") == "user":
            return "\n".join(str(p.get("text") or p.get("functionResponse") or "") for p in content.get("parts") or [])
    return ""


def _parts(reply: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parts = []
    for part in reply:
        if "thought" in part:
            parts.append({"text": part["thought"], "thought": True})
        elif "call" in part:
            parts.append({"functionCall": {"name": part["call"], "args": part["args"]}})
        else:
            parts.append({"text": part["text"]})
    return parts


def _choose(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    if isinstance(schema, dict):
        return "side-json", [{"text": json.dumps(_json_for(schema))}]
    if not body.get("tools"):
        return "side", [{"text": "OK"}]
    with LOCK:
        reply = STATE["script"].pop(0) if STATE["script"] else None
    if reply is None:
        return "fallback", [{"text": "Fertig. ✅"}]
    return "script", _parts(reply)


class Handler(LoggingHandler):

    def do_GET(self) -> None:  # noqa: N802
        self._log({"method": "GET", "path": self.path})
        self._json(404, {"error": {"code": 404, "message": "not here", "status": "NOT_FOUND"}})

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
                return self._json(200, {"left": len(STATE["script"])})
        if path.endswith(":countTokens"):
            self._log({"path": self.path, "kind": "countTokens"})
            return self._json(200, {"totalTokens": max(1, len(raw) // 4)})
        if not path.endswith((":streamGenerateContent", ":generateContent")):
            self._log({"method": "POST", "path": self.path, "unknown": True})
            return self._json(404, {"error": {"code": 404, "message": "not here", "status": "NOT_FOUND"}})
        model = path.rsplit("/", 1)[-1].split(":")[0]
        kind, parts = _choose(body)
        out = max(1, len(json.dumps(parts, ensure_ascii=False)) // 4)
        prompt = max(1, len(raw) // 4)
        thoughts = sum(len(p["text"]) // 4 for p in parts if p.get("thought"))
        usage = {"promptTokenCount": prompt, "candidatesTokenCount": out, "thoughtsTokenCount": thoughts,
                 "cachedContentTokenCount": prompt // 2, "totalTokenCount": prompt + out + thoughts}
        self._log({"path": self.path, "kind": kind, "model": model, "last_user": _last_user_text(body)[:300],
                   "tools": [d.get("name") for t in body.get("tools") or [] for d in t.get("functionDeclarations") or []][:40],
                   "reply": [p.get("functionCall", {}).get("name") or ("thought" if p.get("thought") else "text") for p in parts]})
        final = {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
                 "usageMetadata": usage, "modelVersion": model, "responseId": f"rec{prompt:08x}"}
        if path.endswith(":generateContent"):
            return self._json(200, final)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for index, part in enumerate(parts):  # one part an event, the usage and finish on the last
            chunk: dict[str, Any] = {"candidates": [{"content": {"role": "model", "parts": [part]}, "index": 0}],
                                     "modelVersion": model, "responseId": final["responseId"]}
            if index == len(parts) - 1:
                chunk["candidates"][0]["finishReason"] = "STOP"
                chunk["usageMetadata"] = usage
            self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            self.wfile.flush()


def main() -> None:
    serve(Handler, __doc__)


if __name__ == "__main__":
    main()
