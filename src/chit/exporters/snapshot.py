"""The machine-readable exports: `json` (a snapshot) and `jsonl`.

Invariants: a snapshot carries its format name, version and a SHA-256
checksum over the canonical (sorted-key) bytes of its `session` object, so
`import` can tell a tampered file; `jsonl` is the folded session (header
line, then one line per live message).
"""

from __future__ import annotations

from typing import Any

import orjson

from chit.store.fold import message_to_record
from chit.model import Session, now

SNAPSHOT_FORMAT = "chit-snapshot"
SNAPSHOT_VERSION = 1


def checksum(session_obj: dict[str, Any]) -> str:
    canonical = orjson.dumps(session_obj, option=orjson.OPT_SORT_KEYS)
    import hashlib  # loads OpenSSL: only when a snapshot is written or checked

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


# The newline after each document is orjson's, not added to its bytes:
# that made a copy of the whole export (a long message's size again).
def to_json(session: Session, project_name: str) -> bytes:
    return orjson.dumps(snapshot(session, project_name), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def to_jsonl(session: Session) -> bytes:
    lines = [orjson.dumps(session.header_dict(), option=orjson.OPT_APPEND_NEWLINE)]
    lines.extend(orjson.dumps(m.as_dict(), option=orjson.OPT_APPEND_NEWLINE) for m in session.messages)
    return b"".join(lines)
