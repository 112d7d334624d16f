"""The fold, one event at a time, for the fields the index keeps.

`chit.store.fold.fold()` replays a whole log. The index cannot afford that for
every append to a long session, so it keeps a `SessionState` per file and
applies only the new events to it. The live messages form a stack (a message
pushes; rewind truncates; pop drops the top), kept by the index's own
`MessageStack`; this module decides what happens, the stack stores it.

Invariant: `apply` of every event of a log, in order, starting from
`SessionState.from_header`, gives exactly the summary fields of
`fold(header, events)` (title, tags, turns, message count, updated_at,
state, deleted_at) and the same live messages with the same turn numbers.
The tests hold this against `fold()` on generated logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from chit.model import derive_title


class MessageStack(Protocol):
    """The live messages of one session, oldest first."""

    def push(self, record: dict[str, Any], turn: int | None) -> None: ...

    def truncate(self, keep: int) -> int | None:
        """Keep the first `keep` messages; returns the turn of the new top
        message (None if it is in the preamble or there is none)."""
        ...


@dataclass
class SessionState:
    project: str | None  # None: the file has no valid header; the caller's project key applies
    created_at: str
    key: str | None
    parent_id: str | None
    version: int
    updated_at: str
    manual_title: str | None
    first_title: str | None = None  # derived title from the first live user message
    tags: list[str] = field(default_factory=list)
    state: str = "idle"
    deleted_at: str | None = None
    messages: int = 0
    turns: int = 0

    @classmethod
    def from_header(cls, header: dict[str, Any]) -> SessionState:
        parent = header.get("parent")
        return cls(
            project=header["project"],
            created_at=header["created_at"],
            key=header.get("key"),
            parent_id=parent["id"] if parent else None,
            version=header["version"],
            updated_at=header["created_at"],
            manual_title=header.get("title") or None,
        )

    @property
    def title(self) -> str:
        if self.manual_title is not None:
            return self.manual_title
        return self.first_title if self.first_title is not None else derive_title(None)


def apply(state: SessionState, event: dict[str, Any], stack: MessageStack) -> None:
    """Apply one decoded event, as `fold()` would."""
    kind = event["type"]
    ts = event.get("ts")
    if isinstance(ts, str) and ts > state.updated_at:
        state.updated_at = ts
    if kind == "message":
        if event["role"] == "user":
            state.turns += 1
            if state.turns == 1:
                state.first_title = derive_title(event["content"])
        stack.push(event, state.turns - 1 if state.turns else None)
        state.messages += 1
    elif kind == "rewind":
        _truncate(state, stack, min(event["keep"], state.messages))
    elif kind == "pop":
        if state.messages:
            _truncate(state, stack, state.messages - 1)
    elif kind == "rename":
        state.manual_title = event.get("title") or None
    elif kind == "tag":
        for tag in event["tags"]:
            if tag not in state.tags:
                state.tags.append(tag)
    elif kind == "untag":
        removed = set(event["tags"])
        state.tags = [t for t in state.tags if t not in removed]
    elif kind == "state":
        state.state = event["state"]
    elif kind == "trash":
        state.deleted_at = ts or state.updated_at
    elif kind == "restore":
        state.deleted_at = None


def _truncate(state: SessionState, stack: MessageStack, keep: int) -> None:
    if keep >= state.messages:
        return
    top_turn = stack.truncate(keep)
    state.messages = keep
    state.turns = 0 if top_turn is None else top_turn + 1
    if state.turns == 0:
        state.first_title = None
