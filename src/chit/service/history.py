"""A session's history: `undo` brings back what a rewind, pop or replace
hid; `update` and `save` make a session hold exactly the messages a program
has in memory.

Invariants:
- nothing is removed from a log. `update` hides what it replaces with a
  rewind event marked as a replace (naming the last message kept and the
  ids of the messages it adds), then appends the new messages; `undo`
  reverts a change with a rewind naming the change by its id: the fold
  brings back what that change hid (chit.store.replay). Each is one
  append of whole lines under the session's lock, decided on a fold of the
  log read under that lock, so a concurrent writer is never overwritten;
- `undo` reverts the last change still in effect: the session shows again
  what it showed just before that change, followed by what was appended
  since. The messages a replace added are hidden again. After `compact`
  no change is in effect, and `undo` has nothing to do;
- `update` keeps the longest common prefix of the stored and the given
  messages as it is (same ids, same times) and writes nothing when there is
  no difference; when nothing is hidden it is a plain append, not a change;
- `save` of a session no project holds looks for its id again and
  creates it under the store's `ids_lock`, as a snapshot import does: two
  saves of one new session at once, in one project or two, make one file;
  a save of one that exists (an update) never waits for that lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from chit.errors import Conflict, InvalidInput, NotFound
from chit.store.fold import message_to_record
from chit.model import Change, Message, Project, Session, now
from chit.service.base import Context, check_metadata, check_tag, clean_line, folded
from chit.service.sessions import KEY_MAX, Sessions, _as_message, new_id, pop_record, rewind_record
from chit.store.sessions import UUID_RE

#: the optional fields a given message is compared on, when it names them
_COMPARED = ("invocation_id", "model", "tokens", "metadata")


def _same(stored: Message, given: Message | Mapping[str, Any], made: Message) -> bool:
    """Whether a given message is the stored one: same role and content,
    and the same value for each optional field it names (a `Message` names
    them all; a mapping only those it holds). Ids and times are not compared:
    a program's copy of a conversation seldom keeps them."""
    if (stored.role, stored.content) != (made.role, made.content):
        return False
    named = _COMPARED if isinstance(given, Message) else [f for f in _COMPARED if f in given]
    return all(getattr(stored, f) == getattr(made, f) for f in named)


def _unique_ids(kept: Iterable[Message], new: list[Message]) -> list[Message]:
    """`new`, with a fresh id for any message whose id is already shown."""
    seen = {m.id for m in kept}
    unique = []
    for message in new:
        if message.id in seen:
            message = replace(message, id=new_id())
        seen.add(message.id)
        unique.append(message)
    return unique


def replace_records(session: Session, given: list[Message | Mapping[str, Any]], made: list[Message]) -> list[dict[str, Any]]:
    """The records that make `session` show exactly `made` (validated
    copies of `given`, in order): nothing, some messages, or a replace
    change followed by messages."""
    keep = 0
    for stored, item, message in zip(session.messages, given, made):
        if not _same(stored, item, message):
            break
        keep += 1
    # no id the file holds is taken again: the fold knows a message by its id
    known = [*session.messages, *(m for change in session.changes for m in change.hidden)]
    new = _unique_ids(known, made[keep:])
    records = [message_to_record(m) for m in new]
    if keep == len(session.messages):
        return records
    hide = {**rewind_record(session, keep), "replace": True, "adds": [m.id for m in new]}
    return [hide, *records]


def _message_list(messages: Any) -> tuple[list[Message | Mapping[str, Any]], list[Message]]:
    """The given messages and their validated copies (nothing is written
    when one is invalid)."""
    if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Iterable):
        raise InvalidInput("messages must be a list of messages (mappings with a role and content, or Message objects)")
    given = list(messages)
    made = []
    for number, item in enumerate(given, 1):
        try:
            made.append(_as_message(item))
        except InvalidInput as exc:
            raise InvalidInput(f"message {number}: {exc.message}") from None
    return given, made


def check_messages(messages: Any) -> None:
    """Refuse what `update` would refuse, before anything is written."""
    _message_list(messages)


def parse_messages(data: bytes) -> list[dict[str, Any]]:
    """Messages from text a program wrote: a JSON array of message objects,
    JSON Lines (one object a line), or what chit prints for a session
    (`chit show --json`, a snapshot from `export -f json`, `export -f
    jsonl`, whose header line is skipped). Only the shape is checked here;
    `update` checks each message."""
    import orjson

    text = data.strip()
    if text.startswith(b"[") or text.startswith(b"{"):
        try:
            whole = orjson.loads(text)
        except orjson.JSONDecodeError:
            whole = None  # JSON Lines: several objects
        if isinstance(whole, dict) and whole.get("format") == "chit-snapshot" and isinstance(whole.get("session"), dict):
            whole = whole["session"]
        if isinstance(whole, dict) and "messages" in whole:
            whole = whole["messages"]
        if isinstance(whole, dict):
            whole = [whole]
        if whole is not None:
            return _objects(whole)
    items = []
    for number, line in enumerate(data.split(b"\n"), 1):
        if line.strip():
            try:
                items.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                raise InvalidInput(f"line {number} is not JSON (expected a JSON array or one message object a line)") from None
    if items and isinstance(items[0], dict) and "role" not in items[0] and "message_count" in items[0]:
        items = items[1:]  # the session line of `chit export -f jsonl`
    return _objects(items)


def _objects(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise InvalidInput("expected a JSON array of messages or one message object a line")
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict) or "role" not in item or "content" not in item:
            raise InvalidInput(f"message {number} is not an object with a role and content")
    return items


class History:
    """A session's changes over time: undo them, or replace its messages."""

    def __init__(self, ctx: Context, sessions: Sessions) -> None:
        self.ctx = ctx
        self.sessions = sessions
        self.projects = ctx.projects

    def undo(self, ref: str | None = None) -> Change | None:
        """Revert the last rewind, pop or replace still in effect; returns
        it (`hidden`: the messages brought back), or None when there is
        nothing to undo."""
        with self.sessions.locked(ref) as (_, held, session):
            if not session.changes:
                return None
            change = session.changes[-1]
            held.append([{"type": "rewind", "undo": change.id, "ts": now()}])
            return change

    def reopen_turn(self, ref: str | None = None) -> Session:
        """Make the session end with the user's last message again, to ask
        for another reply: a reply after it is hidden (a pop: `undo` brings
        it back), under the session's lock. `InvalidInput`, with nothing
        written, when no user message would end the session."""
        with self.sessions.locked(ref) as (_, held, session):
            shown = session.messages
            replied = bool(shown) and shown[-1].role == "assistant"
            asked = shown[:-1] if replied else shown
            if not asked or asked[-1].role != "user":
                raise InvalidInput("nothing to retry: the session does not end with your message")
            if not replied:
                return session
            held.append([pop_record(session)])
            log = held.read_again()
        return folded(log)

    def update(self, ref: str | None, messages: Iterable[Message | Mapping[str, Any]]) -> Session:
        """Make the session hold exactly `messages`: the common prefix with
        what is stored stays as it is, what differs after it is hidden (as a
        rewind: `undo` brings it back), the rest is appended, in one write."""
        given, made = _message_list(messages)
        with self.sessions.locked(ref) as (_, held, session):
            held.append(replace_records(session, given, made))
            log = held.read_again()
        return folded(log)

    def save(self, session: Session) -> Session:
        """Store a whole `Session`: create it (with its id) when no session
        has that id, else update its messages, manual title and tags in one
        write. Its key, metadata and parent are kept from when it was made."""
        if not isinstance(session, Session):
            raise InvalidInput("save takes a Session (from get, resolve or create)")
        if not isinstance(session.id, str) or not UUID_RE.match(session.id):
            raise InvalidInput(f"not a full session id: {session.id!r}")
        given, made = _message_list(session.messages)
        title = clean_line(session.manual_title, "title") if session.manual_title else None
        tags = list(dict.fromkeys(check_tag(t) for t in session.tags))
        if not self._exists(session.id):
            # a new id: looked for again and created by one writer at a time, whatever the project, as a
            # snapshot import is: two saves of one new session at once make one file (the second updates it)
            with self.ctx.store.ids_lock():
                if not self._exists(session.id):
                    return self._save_new(session, made, title, tags)
        with self.sessions.locked(session.id) as (_, held, stored):
            held.append([*replace_records(stored, given, made), *_metadata_records(stored, title, tags)])
            log = held.read_again()
        return folded(log)

    def _exists(self, session_id: str) -> bool:
        try:
            self.ctx.locate(session_id)
        except NotFound:
            return False
        return True

    def _save_new(self, session: Session, made: list[Message], title: str | None, tags: list[str]) -> Session:
        try:
            self.ctx.locate(session.id, trash=True)
        except NotFound:
            pass
        else:
            raise Conflict(f"session {session.short_id} is in the trash; `restore` it, then save")
        key = clean_line(session.key, "key", KEY_MAX) if session.key is not None else None
        parent = session.parent.as_dict() if session.parent else None
        created_at = session.created_at if isinstance(session.created_at, str) and session.created_at else None
        scope = self._project_for_key(session.project)  # recorded by write_new, under the project's lock
        metadata = check_metadata(session.metadata)
        messages = _unique_ids((), made)
        return self.sessions.write_new(scope, title, key, metadata, messages, tags, parent, True, session.id, created_at)

    def _project_for_key(self, key: str) -> Project:
        """The project a session's header names, if this store has it; else
        the project this `Chit` works in."""
        for project in self.projects.all():
            if key == project.key or key in project.aliases:
                return project
        return self.ctx.project(create=True)


def _metadata_records(session: Session, title: str | None, tags: list[str]) -> list[dict[str, Any]]:
    """Rename and tag events that give `session` this manual title and tags."""
    stamp = now()
    records: list[dict[str, Any]] = []
    if title != session.manual_title:
        records.append({"type": "rename", "title": title, "ts": stamp})
    removed = [t for t in session.tags if t not in tags]
    if removed:
        records.append({"type": "untag", "tags": removed, "ts": stamp})
    added = [t for t in tags if t not in session.tags]
    if added:
        records.append({"type": "tag", "tags": added, "ts": stamp})
    return records
