"""Session → text in each export format, and snapshots.

Pure functions, no I/O. Invariants: a snapshot (`json`) carries its format
name, version and a SHA-256 checksum over the canonical (sorted-key) bytes
of its `session` object, so `import` can tell a tampered file; `jsonl` is
the folded session (header line, then one line per live message); `md` is a
readable transcript with turn numbers.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from chit.fold import message_to_record
from chit.model import Session, now

SNAPSHOT_FORMAT = "chit-snapshot"
SNAPSHOT_VERSION = 1
FORMATS: tuple[str, ...] = ("json", "jsonl", "md")


def checksum(session_obj: dict[str, Any]) -> str:
    canonical = orjson.dumps(session_obj, option=orjson.OPT_SORT_KEYS)
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def snapshot(session: Session, project_name: str) -> dict[str, Any]:
    body = {
        "id": session.id,
        "project": session.project,
        "project_name": project_name,
        "created_at": session.created_at,
        "updated_at": session.updated_at,
        "title": session.manual_title,
        "key": session.key,
        "parent": session.parent.as_dict() if session.parent else None,
        "tags": list(session.tags),
        "metadata": session.metadata,
        "values": session.values,
        "messages": [message_to_record(m) for m in session.messages],
    }
    return {
        "format": SNAPSHOT_FORMAT,
        "version": SNAPSHOT_VERSION,
        "exported_at": now(),
        "checksum": checksum(body),
        "session": body,
    }


def to_json(session: Session, project_name: str) -> bytes:
    return orjson.dumps(snapshot(session, project_name), option=orjson.OPT_INDENT_2) + b"\n"


def to_jsonl(session: Session) -> bytes:
    lines = [orjson.dumps(session.header_dict())]
    lines.extend(orjson.dumps(m.as_dict()) for m in session.messages)
    return b"\n".join(lines) + b"\n"


def to_markdown(session: Session, project_name: str) -> str:
    out = [f"# {session.title}", ""]
    out.append(f"- id: `{session.id}`")
    out.append(f"- project: {project_name}")
    out.append(f"- created: {session.created_at}")
    out.append(f"- updated: {session.updated_at}")
    if session.tags:
        out.append("- tags: " + ", ".join(session.tags))
    if session.parent:
        out.append(f"- forked from: `{session.parent.id}` at turn {session.parent.turn}")
    out.append("")
    current: int | None | str = "start"
    for message in session.messages:
        if message.turn != current:
            current = message.turn
            out.append("## Preamble" if current is None else f"## Turn {current}")
            out.append("")
        label = message.role + (f" · {message.model}" if message.model else "")
        out.append(f"### {label}")
        out.append("")
        out.append(message.content)
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def render(session: Session, project_name: str, fmt: str) -> bytes:
    if fmt == "json":
        return to_json(session, project_name)
    if fmt == "jsonl":
        return to_jsonl(session)
    return to_markdown(session, project_name).encode("utf-8")
