"""What the readable exports (md, html, txt) share: splitting a message into
prose and fenced code, telling tool messages apart, and when to fold.

Pure functions, no I/O.

Folding rules (md and html; txt shows everything):
- a tool message is folded: its role is `tool`, or its metadata names a
  tool call (one of `TOOL_KEYS`); the summary names the tool when the
  metadata has a `tool_name`, `tool` or `name` text value;
- in html, a code block longer than `LONG_CODE_LINES` lines and a system
  message longer than `LONG_SYSTEM_LINES` lines are folded too;
- reasoning an importer kept (`metadata["thinking"]`) is folded before the
  message it led to.

Marks (md, html, txt, and `chit show`): a reply that ended short is marked
after its text — `[interrupted]` (metadata `interrupted: true`, Ctrl-C),
`[cut off: reason]` (metadata `error`: the provider failed mid-reply) — and
a session whose last request failed before any reply (run state `error`)
ends with `[failed: reason]`. The stored data is never changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from chit.model import Message, Session
from chit.visible import visible

TOOL_KEYS = ("tool", "tool_name", "tool_kind", "tool_call", "tool_calls", "tool_use", "tool_call_id", "function_call")
_NAME_KEYS = ("tool_name", "tool", "name")
LONG_CODE_LINES = 30
LONG_SYSTEM_LINES = 20
PREVIEW_WIDTH = 72

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


@dataclass(frozen=True)
class Block:
    """A run of prose (`lang is None`) or one fenced code block."""

    text: str
    lang: str | None = None
    closed: bool = True

    @property
    def is_code(self) -> bool:
        return self.lang is not None


def blocks(content: str) -> list[Block]:
    """Split Markdown-ish `content` into prose and fenced code blocks.

    A fence is three or more backticks or tildes (indented at most three
    spaces); it closes at a line of the same character at least as long.
    An unclosed fence runs to the end (`closed=False`).
    """
    if "```" not in content and "~~~" not in content:
        return [Block(content)]  # no fence can open: one run of prose, not split into lines and joined again
    result: list[Block] = []
    prose: list[str] = []
    lines = content.split("\n")
    i = 0
    while i < len(lines):
        match = _FENCE_OPEN.match(lines[i])
        if match is None or (match.group(1)[0] == "`" and "`" in match.group(2)):
            prose.append(lines[i])
            i += 1
            continue
        fence, info = match.group(1), match.group(2).strip()
        if prose:
            result.append(Block("\n".join(prose)))
            prose = []
        closer = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        body: list[str] = []
        i += 1
        while i < len(lines) and not closer.match(lines[i]):
            body.append(lines[i])
            i += 1
        closed = i < len(lines)
        i += 1
        result.append(Block("\n".join(body), info.split()[0] if info else "", closed))
    if prose:
        result.append(Block("\n".join(prose)))
    return result


def is_tool(message: Message) -> bool:
    return message.role == "tool" or any(k in message.metadata for k in TOOL_KEYS)


def tool_name(message: Message) -> str | None:
    for key in _NAME_KEYS:
        value = message.metadata.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:80]
    return None


def line_count(text: str) -> int:
    """Lines in `text`, not counting trailing newlines."""
    text = text.rstrip("\n")
    return text.count("\n") + 1 if text else 0


def label(message: Message) -> str:
    """`role · model`; for a tool message `tool · name · call|result`
    (`error` for a failed result), as the importers record them."""
    bits = [message.role]
    if is_tool(message):
        if (name := tool_name(message)) and name != message.role:
            bits.append(name)
        kind = message.metadata.get("tool_kind")
        if message.metadata.get("tool_error") is True:
            bits.append("error")
        elif kind in ("call", "result"):
            bits.append(str(kind))
    elif message.model:
        bits.append(message.model)
    return " · ".join(bits)


def preview(text: str, width: int = PREVIEW_WIDTH) -> str:
    """The first non-blank line of `text`, cut at `width` with "…"."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    first = visible(first)
    return first if len(first) <= width else first[: width - 1].rstrip() + "…"


def lines_of(text: str) -> str:
    """'1 line', '12 lines'."""
    lines = line_count(text)
    return f"{lines} line{'' if lines == 1 else 's'}"


def counted(message: Message) -> str:
    return lines_of(message.content)


def fold_summary(message: Message) -> str:
    """The one line shown for a folded tool message."""
    shown = preview(message.content)
    return f"{label(message)} ({counted(message)})" + (f": {shown}" if shown else "")


def thinking(message: Message) -> str | None:
    """The reasoning an importer kept with a message, if any."""
    value = message.metadata.get("thinking")
    return value if isinstance(value, str) and value.strip() else None


def turns(messages: tuple[Message, ...]) -> Iterator[tuple[int | None, list[Message]]]:
    """Messages grouped by turn, in order (the preamble's turn is None)."""
    group: list[Message] = []
    current: int | None = None
    for message in messages:
        if group and message.turn != current:
            yield current, group
            group = []
        current = message.turn
        group.append(message)
    if group:
        yield current, group


def longest_run(text: str, char: str) -> int:
    """Length of the longest run of `char` in `text`."""
    runs = re.findall(f"{re.escape(char)}+", text)
    return max((len(r) for r in runs), default=0)


def ending(message: Message) -> str | None:
    """How a reply ended short ("interrupted", "cut off: reason"), or None
    for a whole one (or a message that is not a reply)."""
    if message.role != "assistant":
        return None
    if message.metadata.get("interrupted") is True:
        return "interrupted"
    error = message.metadata.get("error")
    if isinstance(error, str) and error.strip():
        return "cut off: " + " ".join(error.split())
    return None


def failure(session: Session) -> str | None:
    """"failed: reason" when the session's last request failed and no
    reply marks it already (a cut-off reply says so itself)."""
    if session.run.state != "error":
        return None
    last = session.messages[-1] if session.messages else None
    if last is not None and last.role == "assistant" and ending(last) is not None:
        return None
    return "failed: " + " ".join((session.run.error or "unknown error").split())
