"""The messages a chat turn sends, read as the session grows.

Invariant: `Conversation.messages(session_id)` returns exactly the live
messages a full read and fold of the session would give at that moment.
It keeps the messages of its last read, the length of the file's complete
lines then and the file's inode, and reads only the bytes appended since:
an appended message is added; an event that changes no message (run
state, values, title, tags) is passed over. Anything else — a rewind, pop
or undo, a bad or unknown line, a file that shrank or was replaced (a
compaction writes a new file), another session — makes it read and fold
the whole file again, and so does a stamped (format 2) event that would
not sort after every event read so far, or a message whose id was read
already (a union of copies: the fold orders by stamp, not by line). So a
turn on a long session costs the new lines, not the session's length,
and other writers' appends are still seen. The file is opened without
waiting: a FIFO put in its place is read whole, which refuses it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, replace
from typing import Any

from chit.errors import ChitError
from chit.model import Message
from chit.service.parts import Parts
from chit.store import codec
from chit.store.fold import fold, message_from_record, order_key

#: Events that leave the list of live messages as it is.
_NO_MESSAGE_CHANGE = frozenset({"state", "set", "unset", "rename", "tag", "untag"})


@dataclass
class _Read:
    session_id: str
    inode: int
    offset: int  # bytes of complete lines read so far
    version: int  # the header's format version
    messages: list[Message]
    newest: tuple[str, str, str] | None = None  # the greatest (hlc, by, id) read; None: no stamped event

    def add(self, message: Message) -> None:
        """Append `message` numbered as the fold numbers turns (a user
        message starts the next turn)."""
        turn = self.messages[-1].turn if self.messages else None  # None until a user message
        if message.role == "user":
            turn = 0 if turn is None else turn + 1
        self.messages.append(replace(message, turn=turn))


class Conversation:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self._last: _Read | None = None

    def messages(self, session_id: str) -> list[Message]:
        last = self._last
        if last is not None and last.session_id == session_id and self._read_appended(last):
            return list(last.messages)
        self._last = self._read_whole(session_id)
        return list(self._last.messages)

    def _read_whole(self, session_id: str) -> _Read:
        ctx = self.parts.ctx
        project = ctx.locate(session_id)
        data, st = ctx.store.read_bytes(project.slug, session_id)
        from chit.store.log import parse_log

        log = parse_log(session_id, data, project.key, st.st_mtime_ns)
        session = fold(log.header, log.events, log.issues, log.read_only)
        newest = max((order_key(e) for e in log.events if "hlc" in e), default=None)
        return _Read(session_id, st.st_ino, data.rfind(b"\n") + 1, int(log.header["version"]), list(session.messages), newest)

    def _read_appended(self, last: _Read) -> bool:
        """Add what was appended since `last`; False when only a whole
        read can tell (see the module's invariant)."""
        ctx = self.parts.ctx
        try:
            project = ctx.locate(last.session_id)
            path = ctx.store.session_path(project.slug, last.session_id)
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)  # a FIFO: never waited on
        except (OSError, ChitError):
            return False
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_ino != last.inode or st.st_size < last.offset:  # the whole read refuses it
                return False
            data = os.pread(fd, st.st_size - last.offset, last.offset)
        finally:
            os.close(fd)
        added: list[Message] = []
        newest = last.newest
        end = 0
        for begin, end in codec.line_spans(data):
            if codec.is_blank(data, begin, end):
                continue
            try:
                event = codec.decode_event_in(data, begin, end, last.version)
            except codec.BadRecord:
                return False
            if not _after(newest, event, last):
                return False
            if "hlc" in event:
                newest = order_key(event)
            if event["type"] == "message":
                added.append(message_from_record(event))
            elif event["type"] not in _NO_MESSAGE_CHANGE:
                return False
        for message in added:
            last.add(message)
        last.newest = newest
        last.offset += data.rfind(b"\n") + 1
        return True


def _after(newest: tuple[str, str, str] | None, event: dict[str, Any], last: _Read) -> bool:
    """Whether the fold puts `event` after everything read so far."""
    if "hlc" not in event:
        return newest is None  # a format-1 event sorts before every stamped one
    if newest is not None and order_key(event) <= newest:
        return False
    return event["type"] != "message" or all(m.id != event["id"] for m in last.messages)
