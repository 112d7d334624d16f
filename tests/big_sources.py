"""Large source transcripts made of real ones, for the import's memory
tests and measurements: the lines of a real Claude Code transcript of
tests/data repeated with every id renumbered per copy, so each line keeps a
real line's shape and the copies chain into one long live thread (a record with no parent is
given the line before it as its parent).

Run as a script to write one: `python tests/big_sources.py OUT MEGABYTES`
(real transcript lines) or `python tests/big_sources.py OUT short:COUNT`
(COUNT short prompts and replies, in the shape of real lines).
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from pathlib import Path

from importer_sources import fixture

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TOOL_ID = re.compile(r"\b(toolu_|msg_|req_|call_)([0-9A-Za-z]+)")
SESSION = "6c1f2a3e-52d4-4b8e-9a61-0d6f3c2b7e10"
_MARK = "\x00"  # never in a JSON line


class _Template:
    """A line with its ids made those of any copy (`fill`; the session id
    kept): it is cut where they are, found once a line, not once a copy."""

    def __init__(self, line: str) -> None:
        assert _MARK not in line
        self.uuids: list[str] = []
        marked = _UUID.sub(self._uuid, line)  # uuids, tool ids, the session id: in that order
        marked = _TOOL_ID.sub(lambda m: f"{m.group(1)}{m.group(2)}c{_MARK}c{_MARK}", marked)
        self.parts = re.sub(r'"sessionId":"[^"]*"', f'"sessionId":"{SESSION}"', marked).split(_MARK)

    def _uuid(self, match: re.Match[str]) -> str:
        self.uuids.append(match.group())
        return f"{_MARK}{len(self.uuids) - 1}{_MARK}"

    def fill(self, copy: int) -> str:
        parts = self.parts[:]
        for at in range(1, len(parts), 2):  # literal text, then what depends on the copy
            key = parts[at]
            parts[at] = str(copy) if key == "c" else str(uuid.uuid5(uuid.NAMESPACE_OID, f"{copy}:{self.uuids[int(key)]}"))
        return "".join(parts)


def _chained(line: str, last: list[str]) -> str:
    """`line` with no parent given the uuid of the line before (`last`
    holds it): every root but the first joins the one thread."""
    if last and '"parentUuid":null' in line:
        line = line.replace('"parentUuid":null', f'"parentUuid":"{last[0]}"', 1)
    found = re.search(r'"uuid":"([^"]+)"', line)
    if found:
        last[:] = [found.group(1)]
    return line


def claude_code_transcript(path: Path, size: int) -> int:
    """Write a Claude Code transcript of about `size` bytes (at least one
    copy) from the real ones of tests/data; its line count."""
    lines = []
    for name in ("subagent.jsonl", "tool_heavy.jsonl"):
        lines += fixture("claude-code", name).read_text(encoding="utf-8").splitlines()
    templates = [_Template(line) for line in lines]
    written = copy = count = 0
    last: list[str] = []
    with path.open("w", encoding="utf-8") as out:
        while written < size:
            chunk = "".join(_chained(template.fill(copy), last) + "\n" for template in templates)
            out.write(chunk)
            written += len(chunk.encode())
            copy += 1
            count += len(lines)
    return count


def short_transcript(path: Path, messages: int) -> None:
    """Write a Claude Code transcript of `messages` short prompts and
    replies, alternating, each line in the shape of a real one."""
    prompt, reply = _short_pair()
    with path.open("w", encoding="utf-8") as out:
        parent = None
        for n in range(messages):
            record = dict(prompt if n % 2 == 0 else reply)
            record["uuid"] = str(uuid.uuid5(uuid.NAMESPACE_OID, f"short:{n}"))
            record["parentUuid"] = parent
            record["sessionId"] = SESSION
            message = dict(record["message"])
            if n % 2 == 0:
                message["content"] = f"question {n}"
            else:
                message["id"] = f"msg_short{n}"
                message["content"] = [{"type": "text", "text": f"answer {n}"}]
            record["message"] = message
            parent = record["uuid"]
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


def _short_pair() -> tuple[dict[str, object], dict[str, object]]:
    """The first plain-text prompt and first text reply of a real transcript."""
    prompt = reply = None
    for line in fixture("claude-code", "short.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        content = (record.get("message") or {}).get("content")
        if prompt is None and record.get("type") == "user" and isinstance(content, str):
            prompt = record
        if reply is None and record.get("type") == "assistant" and isinstance(content, list) and content[0].get("type") == "text":
            reply = record
    assert prompt is not None and reply is not None
    return prompt, reply


if __name__ == "__main__":
    target, amount = Path(sys.argv[1]), sys.argv[2]
    if amount.startswith("short:"):
        short_transcript(target, int(amount.split(":")[1]))
    else:
        claude_code_transcript(target, int(float(amount) * 1e6))
