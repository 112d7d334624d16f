"""Write-side operations on sessions: create, append, pop, rewind, fork,
rename, tag, run state and the per-session value map.

Invariants: every change is validated first, then written as one append of
whole lines under the session's lock (re-reading the log under that lock
when the change depends on what is there). Nothing is written on an error.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from typing import Any, Iterator

from chit.errors import Conflict, InvalidInput, NotFound
from chit.store.fold import fold, message_to_record, tags_of, turn_starts
from chit.model import STATES, Message, Project, RunState, Session, Tokens, now
from chit.service.base import (
    Context,
    TEXT_MAX,
    check_encodable,
    folded,
    check_metadata,
    check_role,
    check_tag,
    clean_line,
)
from chit.service.creating import key_taken, new_records, project_held
from chit.service.queries import Queries
from chit.store.log import Log
from chit.store.sessions import UUID_RE, LockedSession

KEY_MAX = 200
#: the value of an imported session naming its fork in chit (`continue_in`)
FORK_VALUE = "chit.fork"


def is_mirror(header: Mapping[str, Any]) -> bool:
    """Whether a session header is that of a session imported from another
    tool (its key and `metadata.import`), which an import keeps following."""
    metadata = header.get("metadata")
    return isinstance(header.get("key"), str) and isinstance(metadata, dict) and isinstance(metadata.get("import"), dict)


def new_id() -> str:
    return str(uuid.uuid4())


def change_id() -> str:
    """The id a rewind, pop or replace carries, for the undo that reverts it."""
    return uuid.uuid4().hex[:12]


def check_turn(turn: Any, session: Session) -> int:
    if isinstance(turn, bool) or not isinstance(turn, int):
        raise InvalidInput(f"turn must be a whole number, not {turn!r}")
    if session.turns == 0:
        raise InvalidInput(f"session {session.short_id} has no turns yet")
    if turn < 0 or turn >= session.turns:
        raise InvalidInput(
            f"turn {turn} is out of range: session {session.short_id} has turns 0..{session.turns - 1}"
        )
    return turn


def keep_through_turn(session: Session, turn: int) -> int:
    """How many messages the preamble and turns 0..turn hold."""
    starts = turn_starts(session.messages)
    return starts[turn + 1] if turn + 1 < len(starts) else len(session.messages)


def make_message(
    role: str,
    content: str,
    *,
    invocation_id: str | None = None,
    model: str | None = None,
    tokens: Tokens | Mapping[str, int | None] | tuple[int | None, int | None] | None = None,
    metadata: Mapping[str, Any] | None = None,
    ts: str | None = None,
    message_id: str | None = None,
) -> Message:
    """A validated message ready to append."""
    check_role(role)
    if not isinstance(content, str):
        raise InvalidInput("message content must be text")
    check_encodable(content, "message content")
    for name, value in (("invocation_id", invocation_id), ("model", model)):
        if value is not None:
            clean_line(value, name)
    return Message(
        id=message_id or new_id(),
        role=role,
        content=content,
        ts=ts or now(),
        invocation_id=invocation_id,
        model=model,
        tokens=_tokens(tokens),
        metadata=check_metadata(metadata),
    )


def _tokens(value: Any) -> Tokens | None:
    if value is None:
        return value
    if isinstance(value, Tokens):  # checked too: a snapshot's or a caller's Tokens may hold anything
        pair = (value.input, value.output)
    elif isinstance(value, Mapping):
        pair = (value.get("input"), value.get("output"))
    elif isinstance(value, tuple) and len(value) == 2:
        pair = value
    else:
        raise InvalidInput("tokens must be (input, output) counts")
    for count in pair:
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or not 0 <= count < 2**63):
            raise InvalidInput("token counts must be whole numbers, 0 or more (below 2**63)")
    return Tokens(pair[0], pair[1])


def _as_message(item: Message | Mapping[str, Any]) -> Message:
    if isinstance(item, Message):
        return make_message(
            item.role, item.content, invocation_id=item.invocation_id, model=item.model,
            tokens=item.tokens, metadata=item.metadata, ts=item.ts, message_id=item.id,
        )
    if not isinstance(item, Mapping) or "role" not in item or "content" not in item:
        raise InvalidInput("each message needs a role and content")
    extra = {k: item[k] for k in ("invocation_id", "model", "tokens", "metadata") if k in item}
    return make_message(item["role"], item["content"], **extra)


class Sessions:
    """Writing sessions: create, append, cut back, fork, titles, tags, run
    state and values."""

    def __init__(self, ctx: Context, queries: Queries) -> None:
        self.ctx = ctx
        self.queries = queries
        self.store = ctx.store
        self.projects = ctx.projects

    @contextmanager
    def locked(self, ref: str | None) -> Iterator[tuple[Project, LockedSession, Session]]:
        """Resolve `ref`, lock its file, and fold it afresh under the lock."""
        with self.locked_log(ref) as (project, held, log):
            yield project, held, fold(log.header, log.events, log.issues, log.read_only)

    @contextmanager
    def locked_log(self, ref: str | None) -> Iterator[tuple[Project, LockedSession, Log]]:
        """Resolve `ref`, lock its file, and read it afresh under the lock."""
        project, session_id = self.queries.locate_ref(ref)
        with self.store.locked(project.slug, session_id, project.key) as held:
            held.check_writable()
            yield project, held, held.read()

    def _append_event(self, ref: str | None, record: dict[str, Any]) -> Session:
        project, session_id = self.queries.locate_ref(ref)
        with self.store.locked(project.slug, session_id, project.key) as held:
            held.check_writable()
            held.append([{**record, "ts": now()}])
        return self.ctx.read_session(project, session_id)

    # -- create ---------------------------------------------------------
    def create(
        self,
        project: str | None = None,
        *,
        title: str | None = None,
        key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        messages: Iterable[Message | Mapping[str, Any]] = (),
        tags: Iterable[str] = (),
        make_current: bool = True,
    ) -> Session:
        """Start a session (and make it the project's current one)."""
        clean_title = clean_line(title, "title") if title else None
        clean_key = clean_line(key, "key", KEY_MAX) if key is not None else None
        tag_list = list(dict.fromkeys(check_tag(t) for t in tags))
        initial = [_as_message(m) for m in messages]
        meta = check_metadata(metadata)
        scope = self.ctx.project(project, create=True)  # recorded by write_new, under the project's lock
        return self.write_new(scope, clean_title, clean_key, meta, initial, tag_list, None, make_current)

    def write_new(
        self,
        scope: Project,
        title: str | None,
        key: str | None,
        metadata: dict[str, Any],
        messages: list[Message],
        tags: list[str],
        parent: dict[str, Any] | None,
        make_current: bool,
        session_id: str | None = None,
        created_at: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Session:
        """Write a new session file whole: header, messages, tags and state
        values in one file that appears at once (never in parts)."""
        session_id = self.write_new_file(
            scope, title, key, metadata, messages, tags, parent, session_id=session_id, created_at=created_at, values=values,
        )
        if make_current:
            self.queries.make_current(scope, session_id)  # written in scope just now: no need to look for it
        return self.ctx.read_session(scope, session_id)

    def write_new_file(
        self, scope: Project, title: str | None, key: str | None, metadata: dict[str, Any], messages: list[Message],
        tags: list[str], parent: dict[str, Any] | None, *,
        session_id: str | None = None, created_at: str | None = None, values: Mapping[str, Any] | None = None,
    ) -> str:
        """`write_new` without reading the session back: its id. The
        records are made as the store writes them, a batch at a time, so a
        long session (an import) is in memory as its messages only."""
        session_id = session_id or new_id()
        records = new_records(scope, session_id, title, key, metadata, messages, tags, parent, created_at, values)
        with project_held(self.ctx, scope):
            if key is not None and self.queries.find_key(scope, key) is not None:
                raise key_taken(scope, key)
            self.store.create(scope.slug, session_id, records)
        return session_id

    def ensure_keyed(self, key: str, project: str | None = None, title: str | None = None) -> Session:
        """The session with `key` in the project, created on first use."""
        clean_key = clean_line(key, "key", KEY_MAX)
        scope = self.ctx.project(project, create=True)
        found = self.queries.find_key(scope, clean_key)
        if found is None:
            try:
                return self.create(project, key=clean_key, title=title)
            except Conflict:  # created by another process just now
                found = self.queries.find_key(scope, clean_key)
                if found is None:
                    raise
        return self.ctx.read_session(scope, found)

    # -- messages -------------------------------------------------------
    def append(
        self,
        ref: str | None,
        role: str,
        content: str,
        *,
        invocation_id: str | None = None,
        model: str | None = None,
        tokens: Tokens | Mapping[str, int | None] | tuple[int | None, int | None] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Message:
        """Append one message; returns it once it is on disk."""
        message = make_message(role, content, invocation_id=invocation_id, model=model, tokens=tokens, metadata=metadata)
        project, session_id = self.queries.locate_ref(ref)
        with self.store.locked(project.slug, session_id, project.key) as held:
            held.check_writable()
            held.append([message_to_record(message)])
        return message

    def append_many(self, ref: str | None, messages: Iterable[Message | Mapping[str, Any]]) -> list[Message]:
        """Append several messages with one write and one fsync: all of them
        are stored, or (on any invalid message or a failed write) none.
        Each is a mapping as `create(messages=...)` takes."""
        made = [_as_message(m) for m in messages]
        if not made:
            return []
        project, session_id = self.queries.locate_ref(ref)
        with self.store.locked(project.slug, session_id, project.key) as held:
            held.check_writable()
            held.append([message_to_record(m) for m in made])
        return made

    def pop(self, ref: str | None = None) -> bool:
        """Drop the last message; False if there was none."""
        with self.locked(ref) as (_, held, session):
            if not session.messages:
                return False
            held.append([pop_record(session)])
            return True

    def rewind(self, ref: str | None, turn: int | None = None, *, invocation_id: str | None = None) -> int:
        """Keep the preamble and turns 0..turn (or everything through the
        last message of `invocation_id`); returns how many messages dropped."""
        if (turn is None) == (invocation_id is None):
            raise InvalidInput("rewind needs exactly one of a turn or an invocation id")
        with self.locked(ref) as (_, held, session):
            if turn is not None:
                keep = keep_through_turn(session, check_turn(turn, session))
            else:
                positions = [i for i, m in enumerate(session.messages) if m.invocation_id == invocation_id]
                if not positions:
                    raise NotFound(f"no message with invocation id {invocation_id!r} in session {session.short_id}")
                keep = positions[-1] + 1
            dropped = len(session.messages) - keep
            if dropped:
                event = rewind_record(session, keep)
                if turn is not None:
                    event["turn"] = turn
                else:
                    event["invocation_id"] = invocation_id
                held.append([event])
            return dropped

    def fork(self, ref: str | None = None, at: int | None = None, title: str | None = None) -> Session:
        """A new session holding a copy of turns 0..at (default: all)."""
        project, source_id = self.queries.locate_ref(ref)
        source = self.ctx.read_session(project, source_id)
        if at is not None:
            keep = keep_through_turn(source, check_turn(at, source))
        else:
            keep = len(source.messages)
            at = source.turns - 1 if source.turns else None
        new_title = clean_line(title, "title") if title else f"{source.title[: TEXT_MAX - 7]} (fork)"
        return self.write_new(
            project,
            new_title,
            None,
            dict(source.metadata),
            list(source.messages[:keep]),
            list(source.tags),
            {"id": source.id, "turn": at},
            True,
        )

    def continue_in(self, ref: str | None) -> tuple[str, Session | None]:
        """The session a new message for `ref` goes to, and the fork made
        for it now (else None).

        A session imported from another tool is a mirror that keeps
        following its source, so chit never writes its own messages there:
        they go to a fork of it, made on the first such write (it becomes
        the current session, and the mirror records it in its value
        `FORK_VALUE`, which an import keeps), and to that same fork after."""
        project, session_id = self.queries.locate_ref(ref)
        header = self.store.read_header(project.slug, session_id) or {}
        if not is_mirror(header):
            return session_id, None
        mirror = self.ctx.read_session(project, session_id)
        known = mirror.values.get(FORK_VALUE)
        if isinstance(known, str) and UUID_RE.match(known) and self.store.exists(project.slug, known):
            return known, None
        metadata = {k: v for k, v in mirror.metadata.items() if k != "import"}  # the fork is chit's own, not the tool's
        fork = self.write_new(
            project, f"{mirror.title[: TEXT_MAX - 7]} (fork)", None, {**metadata, "continues": header["key"]},
            list(mirror.messages), list(mirror.tags), {"id": mirror.id, "turn": mirror.turns - 1 if mirror.turns else None},
            True, values={k: v for k, v in mirror.values.items() if k != FORK_VALUE},
        )
        self._append_event(session_id, value_record(FORK_VALUE, fork.id))
        return fork.id, fork

    # -- metadata -------------------------------------------------------
    def rename(self, ref: str | None, title: str) -> Session:
        """Set a manual title; "" clears it (the derived title returns)."""
        clean = clean_line(title, "title", allow_empty=True)
        return self._append_event(ref, {"type": "rename", "title": clean or None})

    def tag(self, ref: str | None, *tags: str) -> Session:
        """Add tags (duplicates ignored, order kept)."""
        wanted = list(dict.fromkeys(check_tag(t) for t in tags))
        if not wanted:
            raise InvalidInput("give at least one tag")
        with self.locked_log(ref) as (_, held, log):
            # the session is folded once, with the tags written: which are new needs its tags alone
            new = [t for t in wanted if t not in tags_of(log.header, log.events)]
            if new:
                held.append([{"type": "tag", "tags": new, "ts": now()}])
                log = held.read_again()
        return folded(log)

    def untag(self, ref: str | None, *tags: str) -> Session:
        wanted = list(dict.fromkeys(check_tag(t) for t in tags))
        if not wanted:
            raise InvalidInput("give at least one tag")
        with self.locked_log(ref) as (_, held, log):
            present = [t for t in wanted if t in tags_of(log.header, log.events)]
            if present:
                held.append([{"type": "untag", "tags": present, "ts": now()}])
                log = held.read_again()
        return folded(log)

    # -- run state and values -------------------------------------------
    def set_state(
        self, ref: str | None, state: str, *, turn_id: str | None = None, error: str | None = None
    ) -> RunState:
        """Mark a session idle, running (with a turn id) or error."""
        record = {**state_record(state, turn_id, error), "ts": now()}
        project, session_id = self.queries.locate_ref(ref)
        with self.store.locked(project.slug, session_id, project.key) as held:
            held.check_writable()
            held.append([record])
        # the run state is the one just written (as the fold reads it): no
        # read back of a session that may hold megabytes
        return RunState(record["state"], record.get("turn_id"), record["ts"], record.get("error"))

    def set_value(self, ref: str | None, key: str, value: Any) -> Session:
        """Set one entry of the session's key→value state map."""
        return self._append_event(ref, value_record(key, value))

    def unset_value(self, ref: str | None, key: str) -> Session:
        return self._append_event(ref, {"type": "unset", "key": clean_line(key, "key", KEY_MAX)})

    def change_run(
        self,
        ref: str | None,
        state: str | None = None,
        *,
        turn_id: str | None = None,
        error: str | None = None,
        values: Mapping[str, Any] | None = None,
        unset: Iterable[str] = (),
    ) -> Session:
        """Set the run state (when `state` is given), set `values` and
        remove the keys `unset` from the state map, as one append under
        the session's lock: every change is checked first, and all of them
        are written or none. Returns the session as it is after."""
        if state is None and (turn_id is not None or error is not None):
            raise InvalidInput("a turn id or an error goes with a state")
        records = [state_record(state, turn_id, error)] if state is not None else []
        records.extend(value_record(key, value) for key, value in (values or {}).items())
        records.extend({"type": "unset", "key": clean_line(key, "key", KEY_MAX)} for key in unset)
        project, session_id = self.queries.locate_ref(ref)
        if records:
            stamp = now()
            with self.store.locked(project.slug, session_id, project.key) as held:
                held.check_writable()
                held.append([{**record, "ts": stamp} for record in records])
        return self.ctx.read_session(project, session_id)


def pop_record(session: Session) -> dict[str, Any]:
    """The event hiding the session's last message (format 2: by its id)."""
    return {"type": "pop", "hides": session.messages[-1].id, "seen": session.seen, "change": change_id(), "ts": now()}


def rewind_record(session: Session, keep: int) -> dict[str, Any]:
    """The event hiding what the session shows after its first `keep`
    messages (format 2: it names the last one kept, null for none)."""
    keep_id = session.messages[keep - 1].id if keep else None
    return {"type": "rewind", "keep_id": keep_id, "seen": session.seen, "change": change_id(), "ts": now()}


def state_record(state: str, turn_id: str | None, error: str | None) -> dict[str, Any]:
    """The event that sets a run state (a running one gets a turn id)."""
    if state not in STATES:
        raise InvalidInput(f"unknown state {state!r} (expected one of: {', '.join(STATES)})")
    if state == "running" and turn_id is None:
        turn_id = uuid.uuid4().hex[:12]
    record: dict[str, Any] = {"type": "state", "state": state}
    if turn_id is not None:
        record["turn_id"] = clean_line(turn_id, "turn id")
    if error is not None:
        record["error"] = clean_line(error, "error", limit=2000)
    return record


def value_record(key: str, value: Any) -> dict[str, Any]:
    """The event that sets one entry of the state map."""
    clean_key = clean_line(key, "key", KEY_MAX)
    check_metadata({clean_key: value})
    return {"type": "set", "key": clean_key, "value": value}
