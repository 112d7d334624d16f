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

from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from operator import itemgetter, lt
from typing import Any

from chit.model import Change, LogIssue, Message, Parent, RunState, Session, Tokens, derive_title


def message_from_record(record: dict[str, Any], turn: int | None = None) -> Message:
    # by position, and `in` before a subscript rather than `get` (a method
    # call each): a long session builds thousands
    tokens = record["tokens"] if "tokens" in record else None
    return Message(
        record["id"],
        record["role"],
        record["content"],
        record["ts"],
        turn,
        record["invocation_id"] if "invocation_id" in record else None,
        record["model"] if "model" in record else None,
        Tokens(tokens.get("input"), tokens.get("output")) if isinstance(tokens, dict) else None,
        (record["metadata"] or {}) if "metadata" in record else {},
    )


def bare(record: dict[str, Any]) -> bool:
    """Whether a message event holds type, id, role, content and ts
    (chit.store.codec) alone, or with a stamp: no optional field to look
    for (nearly every message; a long session builds thousands)."""
    return len(record) == 7 and "hlc" in record and "by" in record or len(record) == 5 and "hlc" not in record


def hidden_messages(records: Iterable[dict[str, Any]]) -> tuple[Message, ...]:
    """The messages a change hides (no turn), each built once from its
    record as `numbered_messages` builds them: the changes in effect of a
    long session can hide thousands."""
    return tuple(Message(r["id"], r["role"], r["content"], r["ts"]) if bare(r) else message_from_record(r) for r in records)


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


def numbered_messages(records: Iterable[dict[str, Any]]) -> tuple[Message, ...]:
    """The live messages, each built once from its record with its turn:
    a user message starts the next turn, messages before the first one
    are the preamble (turn None)."""
    numbered: list[Message] = []
    append = numbered.append
    turn = -1
    for record in records:
        role = record["role"]
        if role == "user":
            turn += 1
        if bare(record):
            append(Message(record["id"], role, record["content"], record["ts"], turn if turn >= 0 else None))
        else:
            append(message_from_record(record, turn if turn >= 0 else None))
    return tuple(numbered)


def turn_starts(messages: Sequence[Message]) -> list[int]:
    """Index in `messages` where each turn begins."""
    return [i for i, m in enumerate(messages) if m.role == "user"]


class _Meta:
    """What every event may change besides the messages: title, tags, run
    state, values and the latest timestamp."""

    def __init__(self, header: dict[str, Any]) -> None:
        self.manual_title: str | None = header.get("title") or None
        self.tags: list[str] = []
        self.run = RunState()
        self.values: dict[str, Any] = {}
        self.updated_at: str = header["created_at"]

    def apply_messages(self, messages: Iterable[dict[str, Any]]) -> None:
        """`apply` of message events, in any order: a message changes only
        the latest timestamp (a long session is thousands of them)."""
        # every message's ts is a string (chit.store.codec): the latest is their greatest
        self.updated_at = max(self.updated_at, max(map(_TS, messages), default=""))

    def apply_all(self, events: Iterable[dict[str, Any]]) -> None:
        """`apply` of each event in order, the messages' at once (`apply_messages`)."""
        messages = []
        for event in events:
            if event["type"] == "message":
                messages.append(event)
            else:
                self.apply(event)
        self.apply_messages(messages)

    def apply(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        ts = event.get("ts")
        if isinstance(ts, str) and ts > self.updated_at:
            self.updated_at = ts
        if kind == "message":  # nearly every event: nothing more to do
            return
        if kind == "rename":
            self.manual_title = event.get("title") or None
        elif kind == "tag":
            self.tags.extend(t for t in event["tags"] if t not in self.tags)
        elif kind == "untag":
            removed = set(event["tags"])
            self.tags = [t for t in self.tags if t not in removed]
        elif kind == "state":
            self.run = RunState(event["state"], event.get("turn_id"), ts, event.get("error"))
        elif kind == "set":
            self.values[event["key"]] = event["value"]
        elif kind == "unset":
            self.values.pop(event["key"], None)


class _Hiding:
    """A rewind, pop or replace in effect, as the fold tracks it: what it
    hid is still records (a message is built once, when the fold ends)."""

    __slots__ = ("kind", "keep", "hidden", "added", "id")

    def __init__(self, kind: str, keep: int, hidden: Sequence[dict[str, Any]], added: int, change_id: str | None) -> None:
        self.kind = kind
        self.keep = keep
        self.hidden = hidden
        self.added = added
        self.id = change_id

    def change(self) -> Change:
        return Change(self.kind, self.keep, hidden_messages(self.hidden), self.added, self.id)


class _Legacy:
    """The format-1 fold: events without a stamp, in file order, positions
    as they were written. Messages stay records until the fold ends."""

    def __init__(self, meta: _Meta) -> None:
        self.meta = meta
        self.messages: list[dict[str, Any]] = []
        self.changes: list[_Hiding] = []
        self.dropped = 0
        self.deleted_at: str | None = None

    def apply(self, event: dict[str, Any]) -> None:
        self.meta.apply(event)
        kind = event["type"]
        messages = self.messages
        if kind == "message":
            messages.append(event)
        elif kind == "rewind":
            keep = min(event["keep"], len(messages))
            _track_rewind(self.changes, event, keep, messages)
            self.dropped += len(messages) - keep
            del messages[keep:]
        elif kind == "pop":
            if messages:
                self.changes.append(_Hiding("pop", len(messages) - 1, (messages[-1],), 0, event.get("change")))
                messages.pop()
                self.dropped += 1
        elif kind == "trash":
            self.deleted_at = event.get("ts") or self.meta.updated_at
        elif kind == "restore":
            self.deleted_at = None


def split_events(events: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[LogIssue]]:
    """(format-1 events in file order, stamped events in fold order with
    repeated ids collapsed, a note for each id two different lines share)."""
    if isinstance(events, list) and all(map(dict.__contains__, events, repeat("hlc"))):  # no bound method made per event
        if len(set(map(_ID, events))) == len(events):  # every event stamped, each id once: nearly every file
            stamps = list(map(_HLC, events))
            if all(map(lt, stamps, stamps[1:])):  # each stamp past the one before: in fold order already, as a file nearly always is
                return [], list(events), []
            return [], sorted(events, key=order_key), []
    legacy: list[dict[str, Any]] = []
    by_id: dict[str, dict[str, Any]] = {}
    clashes: list[LogIssue] = []
    for event in events:
        if "hlc" not in event:
            legacy.append(event)
            continue
        event_id = event["id"]
        kept = by_id.get(event_id)
        if kept is None:
            by_id[event_id] = event
        elif kept != event:
            clashes.append(LogIssue(0, f"two different lines share the id {event_id}"))
            if tie_key(event) < tie_key(kept):
                by_id[event_id] = event
    return legacy, sorted(by_id.values(), key=order_key), clashes


#: where a stamped event sorts: (hlc, by, id)
order_key: Callable[[dict[str, Any]], tuple[str, str, str]] = itemgetter("hlc", "by", "id")
# (C functions over thousands of events: no Python frame for each)
_BY: Callable[[dict[str, Any]], str] = itemgetter("by")
_TS: Callable[[dict[str, Any]], str] = itemgetter("ts")
_ID: Callable[[dict[str, Any]], str] = itemgetter("id")
_TYPE: Callable[[dict[str, Any]], str] = itemgetter("type")
_HLC: Callable[[dict[str, Any]], str] = itemgetter("hlc")


def tie_key(event: dict[str, Any]) -> tuple[str, str, bytes]:
    """Of two different lines with one id, the fold keeps the one whose key is lower."""
    import orjson

    return event["hlc"], event["by"], orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


def fold(
    header: dict[str, Any],
    events: Iterable[dict[str, Any]],
    issues: Sequence[LogIssue] = (),
    read_only: bool = False,
) -> Session:
    legacy_events, stamped, clashes = split_events(events)
    meta = _Meta(header)
    legacy = _Legacy(meta)
    for event in legacy_events:
        legacy.apply(event)
    records: Sequence[dict[str, Any]] = legacy.messages
    dropped, deleted_at = legacy.dropped, legacy.deleted_at
    seen: dict[str, str] = {}
    trashes: tuple[str, ...] = ()
    restored_by = None
    if not stamped:
        changes = [c.change() for c in legacy.changes]
    elif not legacy.changes and REPLAYED.isdisjoint(map(_TYPE, stamped)):
        records = _in_fold_order(legacy.messages, stamped, meta, seen)
        changes = []
    else:
        from chit.store.replay import Replay

        replay = Replay(legacy, [event for event in stamped if event["type"] == "compact"])
        replay.apply_all(stamped)
        meta.apply_all(stamped)
        records, changes, dropped = replay.records(), replay.changes(), replay.dropped()
        deleted_at, trashes, restored_by = replay.deleted(meta.updated_at)
        seen = replay.seen

    numbered = numbered_messages(records)
    first_user = next((m.content for m in numbered if m.role == "user"), None)
    parent = header.get("parent")
    return Session(
        id=header["id"],
        project=header["project"],
        created_at=header["created_at"],
        updated_at=meta.updated_at,
        title=meta.manual_title if meta.manual_title is not None else derive_title(first_user),
        manual_title=meta.manual_title,
        key=header.get("key"),
        parent=Parent(parent["id"], parent.get("turn")) if parent else None,
        tags=tuple(meta.tags),
        metadata=header.get("metadata") or {},
        messages=numbered,
        run=meta.run,
        values=meta.values,
        version=header["version"],
        dropped=dropped,
        issues=(*issues, *clashes),
        read_only=read_only,
        deleted_at=deleted_at,
        changes=tuple(changes),
        seen=seen,
        trashes=trashes,
        restored_by=restored_by,
    )


def tags_of(header: dict[str, Any], events: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    """The tags `fold` gives these events (`Session.tags`), without the
    replay: only tag and untag events change them, in fold order (the
    format-1 events, then the stamped ones)."""
    legacy, stamped, _ = split_events(events)
    meta = _Meta(header)
    for event in (*legacy, *stamped):
        if event["type"] in ("tag", "untag"):
            meta.apply(event)
    return tuple(meta.tags)


#: the stamped events that hide or bring back messages or the session:
#: without one (and no format-1 change in effect), the replay shows every
#: message in fold order and is skipped (chit.store.replay, for a long
#: session thousands of entries that would hide nothing)
REPLAYED = frozenset({"rewind", "pop", "trash", "restore", "compact"})


def _in_fold_order(
    legacy_messages: list[dict[str, Any]], stamped: list[dict[str, Any]], meta: _Meta, seen: dict[str, str]
) -> list[dict[str, Any]]:
    """The messages a replay that hides nothing shows: the format-1 ones,
    then the stamped ones in fold order; `meta` and `seen` (each machine's
    greatest stamp, as `chit.store.replay.Replay.apply` keeps it) follow
    every stamped event."""
    records = list(legacy_messages)
    append = records.append
    for event in stamped:
        if event["type"] == "message":
            append(event)
        else:
            meta.apply(event)
    meta.apply_messages(records[len(legacy_messages) :])
    # in fold order, a machine's last event holds its greatest stamp
    machines = list(map(_BY, stamped))
    if machines and machines.count(machines[0]) == len(machines):  # one machine's events (compared, not hashed: thousands)
        last = {machines[0]: stamped[-1]["hlc"]}
    else:
        last = dict(zip(machines, map(_HLC, stamped)))
    for by, hlc in last.items():
        if hlc > seen.get(by, ""):
            seen[by] = hlc
    return records


def _track_rewind(changes: list[_Hiding], event: dict[str, Any], keep: int, messages: list[dict[str, Any]]) -> None:
    """Push the change a rewind makes, or pop the one its undo names."""
    if "undo" in event:
        if changes and event["undo"] in (None, changes[-1].id):
            changes.pop()
        return
    added = event.get("adds") or 0
    if keep < len(messages) or added:
        kind = "replace" if event.get("replace") else "rewind"
        changes.append(_Hiding(kind, keep, tuple(messages[keep:]), added, event.get("change")))
