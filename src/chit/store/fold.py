"""The fold: a session is what its log says, replayed in order.

Pure functions, no I/O. Invariants:
- rewind and pop only hide messages (they are counted in `dropped`, still in
  the file until compaction);
- each rewind, pop or replace that hides something is a `Change`, kept on a
  stack while in effect. A replace is a rewind marked `"replace": true`
  with `"adds": n`, followed by its n new messages. An undo is written as a rewind naming the change it
  reverts (`"undo": <change id>`, null for a change without an id) followed
  by copies of the messages it brings back, so a reader that knows nothing
  of undo (the index, an older chit) still sees the right messages. The fold
  pops the change it names when that change is the last one in effect;
- while a change is the last in effect, only appends follow it, so the
  session shows `messages[:keep]`, its `added` messages, then what came since
  (what `undo` relies on);
- a manual title (header title or rename) wins over the derived one until a
  rename to "" clears it;
- tags stay unique and in first-added order;
- turns: a turn starts at a user message; messages before the first user
  message are the preamble (turn None).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from chit.model import Change, LogIssue, Message, Parent, RunState, Session, Tokens, derive_title


def message_from_record(record: dict[str, Any]) -> Message:
    tokens = record.get("tokens")
    return Message(
        id=record["id"],
        role=record["role"],
        content=record["content"],
        ts=record["ts"],
        invocation_id=record.get("invocation_id"),
        model=record.get("model"),
        tokens=Tokens(tokens.get("input"), tokens.get("output")) if isinstance(tokens, dict) else None,
        metadata=record.get("metadata") or {},
    )


def message_to_record(message: Message) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": "message",
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "ts": message.ts,
    }
    if message.invocation_id is not None:
        record["invocation_id"] = message.invocation_id
    if message.model is not None:
        record["model"] = message.model
    if message.tokens is not None:
        record["tokens"] = message.tokens.as_dict()
    if message.metadata:
        record["metadata"] = message.metadata
    return record


def number_turns(messages: Iterable[Message]) -> tuple[Message, ...]:
    numbered = []
    turn = -1
    for message in messages:
        if message.role == "user":
            turn += 1
        number = turn if turn >= 0 else None
        if message.turn == number:
            numbered.append(message)
        else:  # every field by hand: `dataclasses.replace` costs ten times more per message
            numbered.append(Message(
                message.id, message.role, message.content, message.ts, number,
                message.invocation_id, message.model, message.tokens, message.metadata,
            ))
    return tuple(numbered)


def turn_starts(messages: Sequence[Message]) -> list[int]:
    """Index in `messages` where each turn begins."""
    return [i for i, m in enumerate(messages) if m.role == "user"]


def fold(
    header: dict[str, Any],
    events: Iterable[dict[str, Any]],
    issues: Sequence[LogIssue] = (),
    read_only: bool = False,
) -> Session:
    messages: list[Message] = []
    changes: list[Change] = []
    dropped = 0
    manual_title: str | None = header.get("title") or None
    tags: list[str] = []
    run = RunState()
    values: dict[str, Any] = {}
    updated_at: str = header["created_at"]
    deleted_at: str | None = None

    for event in events:
        kind = event["type"]
        ts = event.get("ts")
        if isinstance(ts, str) and ts > updated_at:
            updated_at = ts
        if kind == "message":
            messages.append(message_from_record(event))
        elif kind == "rewind":
            keep = min(event["keep"], len(messages))
            _track_rewind(changes, event, keep, messages)
            dropped += len(messages) - keep
            del messages[keep:]
        elif kind == "pop":
            if messages:
                changes.append(Change("pop", len(messages) - 1, (messages[-1],), 0, event.get("change")))
                messages.pop()
                dropped += 1
        elif kind == "rename":
            manual_title = event.get("title") or None
        elif kind == "tag":
            tags.extend(t for t in event["tags"] if t not in tags)
        elif kind == "untag":
            removed = set(event["tags"])
            tags = [t for t in tags if t not in removed]
        elif kind == "state":
            run = RunState(event["state"], event.get("turn_id"), ts, event.get("error"))
        elif kind == "set":
            values[event["key"]] = event["value"]
        elif kind == "unset":
            values.pop(event["key"], None)
        elif kind == "trash":
            deleted_at = ts or updated_at
        elif kind == "restore":
            deleted_at = None

    numbered = number_turns(messages)
    first_user = next((m.content for m in numbered if m.role == "user"), None)
    parent = header.get("parent")
    return Session(
        id=header["id"],
        project=header["project"],
        created_at=header["created_at"],
        updated_at=updated_at,
        title=manual_title if manual_title is not None else derive_title(first_user),
        manual_title=manual_title,
        key=header.get("key"),
        parent=Parent(parent["id"], parent.get("turn")) if parent else None,
        tags=tuple(tags),
        metadata=header.get("metadata") or {},
        messages=numbered,
        run=run,
        values=values,
        version=header["version"],
        dropped=dropped,
        issues=tuple(issues),
        read_only=read_only,
        deleted_at=deleted_at,
        changes=tuple(changes),
    )


def _track_rewind(changes: list[Change], event: dict[str, Any], keep: int, messages: list[Message]) -> None:
    """Push the change a rewind makes, or pop the one its undo names."""
    if "undo" in event:
        if changes and event["undo"] in (None, changes[-1].id):
            changes.pop()
        return
    added = event.get("adds") or 0
    if keep < len(messages) or added:
        kind = "replace" if event.get("replace") else "rewind"
        changes.append(Change(kind, keep, tuple(messages[keep:]), added, event.get("change")))
