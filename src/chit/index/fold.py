"""The fold, one event at a time, for the fields the index keeps.

`chit.store.fold.fold()` replays a whole log. The index cannot afford that for
every append to a long session, so it keeps a `SessionState` per file and
applies only the new events to it. The live messages form a stack (a message
pushes; rewind truncates; pop drops the top), kept by the index's own
`MessageStack`; this module decides what happens, the stack stores it.

Invariant: `apply` of every event of a format-1 log, in order, starting
from `SessionState.from_header`, gives exactly the summary fields of
`fold(header, events)` (title, tags, turns, message count, updated_at,
state, deleted_at) and the same live messages with the same turn numbers.
A log with stamped (format 2) events folds by the set of its lines, not
their order: the index then takes the fold's result (`from_session`), and
applies an appended event alone only when `appendable` says the fold
would put it after everything applied and apply it the same way. A file
whose fold has a trash overridden by a message (`fold_whole`) reads a
pop or rewind whole: one hiding that message puts the trash back in
effect, which applying it alone would not. The tests hold all this
against `fold()` on generated logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import os
import re

from chit.model import Session, derive_title
from chit.store import codec

#: stamped events whose effect depends on what they saw: never applied alone
HIDING = frozenset({"rewind", "pop", "trash", "restore", "compact"})


class MessageStack(Protocol):
    """The live messages of one session, oldest first."""

    def push(self, record: dict[str, Any], turn: int | None) -> None: ...

    def truncate(self, keep: int) -> int | None:
        """Keep the first `keep` messages; returns the turn of the new top
        message (None if it is in the preamble or there is none)."""
        ...

    def after(self, message_id: str | None) -> int:
        """How many messages there are up to and with `message_id` (0 for None)."""
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

    @classmethod
    def from_session(cls, header: dict[str, Any], session: Session) -> SessionState:
        """The state of a whole fold (its messages are pushed by the caller)."""
        state = cls.from_header(header)
        state.updated_at = session.updated_at
        state.manual_title = session.manual_title
        first_user = next((m.content for m in session.messages if m.role == "user"), None)
        state.first_title = derive_title(first_user) if first_user is not None else None
        state.tags = list(session.tags)
        state.state = session.run.state
        state.deleted_at = session.deleted_at
        state.messages = len(session.messages)
        state.turns = session.turns
        return state

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
        keep = event["keep"] if "keep" in event else stack.after(event["keep_id"])  # stamped: by id
        _truncate(state, stack, min(keep, state.messages))
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


def appendable(state: SessionState, event: dict[str, Any], last: tuple[str, str, str] | None, stamped: bool) -> bool:
    """Whether applying `event` alone to a state whose events all sorted at
    or before `last` (None: no stamped event; `stamped`: the file has some)
    gives what the set fold of the grown file gives."""
    if "hlc" not in event:
        return not stamped  # a format-1 event sorts before every stamped one
    if event["type"] in HIDING or state.deleted_at is not None:  # a message may override a trash
        return False
    return last is None or (event["hlc"], event["by"], event["id"]) > last


UNKNOWN = ("", "", "")  # a line before the offset whose stamp cannot be read by its start
_LINE_KEY = re.compile(rb'\{"type":"[a-z_]+","hlc":"(\d{13}\.\d{6})","by":"([^"\\]*)","id":"([^"\\]*)"')


def line_stamp(head: bytes) -> tuple[str, str, str] | None:
    """The (hlc, by, id) at the start of a stamped line as chit writes it."""
    match = _LINE_KEY.match(head)
    return None if match is None else (match[1].decode(), match[2].decode(), match[3].decode())


def key_before(fd: int, offset: int) -> tuple[str, str, str] | None:
    """The (hlc, by, id) of the line that ends at `offset`: None for the
    header or a format-1 event, `UNKNOWN` for a corrupt line or a stamp
    not where chit writes it. Reads back from the offset only as far as that line starts."""
    end = offset - 1  # the newline ending that line
    begin = end
    while begin > 0:
        step = min(begin, 65536)
        chunk = os.pread(fd, step, begin - step)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            begin = begin - step + newline + 1
            break
        begin -= step
    stamp = line_stamp(os.pread(fd, min(end - begin, 4096), begin))
    if stamp is not None:
        return stamp
    if begin == 0:
        return None  # the header
    if end - begin > codec.LONG_LINE:  # never decoded whole here: a long message's stamp is at its start
        return UNKNOWN if _holds(fd, begin, end, b'"hlc":') else None
    try:
        event = codec.decode_event(os.pread(fd, end - begin, begin))
    except codec.BadRecord:
        return UNKNOWN  # a corrupt line: what came before it is unknown here
    return UNKNOWN if "hlc" in event else None


def events_of(data: bytes, pos: int, start: int, version: int) -> list[tuple[dict[str, Any], int, int]]:
    """The valid events of `data` from `pos`, each with its line's offset in
    the file (`data` begins at `start`) and length. Only a user message
    keeps its text (it may make the title; a long one's is only its title's
    part): what the index stores of a message is its line."""
    events = []
    for begin, newline in codec.line_spans(data, pos):  # decoded in place: a long message is never copied
        if codec.is_blank(data, begin, newline):
            continue
        try:
            event = codec.decode_event_in(data, begin, newline, version, "title")
        except codec.BadRecord:
            continue
        if event["type"] == "message" and event["role"] != "user":
            event["content"] = ""  # only a user message's text may make the title
        events.append((event, start + begin, newline - begin))
    return events


def fold_whole(
    header: dict[str, Any], events: list[tuple[dict[str, Any], int, int]], project: str | None
) -> tuple[SessionState, list[tuple[dict[str, Any], int, int, int | None]], bool]:
    """The state of the set fold of a file with stamped events, its live
    messages in their folded order: (record, line offset, length, turn),
    and whether a message overrides a trash: then hiding that message
    (a pop or rewind) puts the trash back in effect, which `apply` of the
    pop alone would not do, so a pop or rewind of the file is read whole."""
    from chit.store.fold import fold, tie_key

    session = fold(header, [event for event, _, _ in events])
    lines: dict[str, tuple[dict[str, Any], int, int]] = {}
    for event, off, length in events:
        if event["type"] == "message":
            kept = lines.get(event["id"])
            if kept is None or "hlc" not in event or "hlc" not in kept[0] or tie_key(event) < tie_key(kept[0]):
                lines[event["id"]] = (event, off, length)  # of two lines with one id, the one the fold keeps
    state = SessionState.from_session(header, session)
    state.project = project
    return state, [(*lines[m.id], m.turn) for m in session.messages], session.restored_by is not None


def _holds(fd: int, begin: int, end: int, text: bytes) -> bool:
    """Whether the bytes of a file between two offsets hold `text`, read
    a piece at a time."""
    step = 1 << 16
    for at in range(begin, end, step):
        if text in os.pread(fd, min(step + len(text), end - at), at):
            return True
    return False


def in_order(events: list[tuple[dict[str, Any], int, int]], hiding: bool = True) -> bool:
    """Whether the file's events are already in fold order, each id once
    (then an event appended after them can be applied alone); without
    `hiding`, also that no stamped event hides or deletes (then `apply` of
    each, in file order, gives the set fold)."""
    last: tuple[str, str, str] | None = None
    ids = set()
    for event, _, _ in events:
        if "hlc" not in event:
            if last is not None:
                return False
            continue
        if not hiding and event["type"] in HIDING:
            return False
        key = (event["hlc"], event["by"], event["id"])
        if last is not None and key <= last or key[2] in ids:
            return False
        ids.add(key[2])
        last = key
    return True
