"""chit's value types: frozen dataclasses, no I/O.

Invariants: timestamps are RFC 3339 UTC strings (`...Z`, microseconds), so
they sort as text; ids are UUID v4 strings; a `Session` is the fold of a log
and never changes once built. `as_dict()` gives the documented JSON fields
(snake_case) of each type. Every type is a frozen dataclass declared with
`chit.value.value_type`: it behaves as one `@dataclass(frozen=True)`
makes, and its `__init__` is written out, with the fields' order and
defaults (tests/test_model_values.py holds them equal).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import field
from datetime import datetime, timezone
from typing import Any

from chit.patterns import LazyPattern
from chit.value import Value, value_type

ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")
STATES: tuple[str, ...] = ("idle", "running", "error")
SHORT_ID_LEN = 8
UNTITLED = "new session"
TITLE_MAX = 60
_WORD = LazyPattern(r"\S+")  # what str.split() keeps


def now() -> str:
    return format_ts(datetime.now(timezone.utc))


def format_ts(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> datetime:
    """Parse an RFC 3339 timestamp into UTC; a naive one is taken as UTC.
    Raises ValueError for anything else, including a time whose UTC form
    falls outside years 1 to 9999 (`9999-12-31T23:59:59-05:00`)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("timestamp out of range") from None


def age(ts: str, reference: datetime | None = None) -> str:
    """'3m ago'-style age of an RFC 3339 timestamp."""
    try:
        moment = parse_ts(ts)
    except ValueError:
        return "?"
    seconds = max(0, int(((reference or datetime.now(timezone.utc)) - moment).total_seconds()))
    for size, unit in ((86400 * 365, "y"), (86400 * 30, "mo"), (86400 * 7, "w"), (86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


#: A sub-agent's session has the key `<its parent's key>/agent-<agent id>`
#: (imported sub-agents): `ls` lists it under its parent, not beside it.
AGENT_KEY = "/agent-"
#: the first string after every `/agent-…`: the keys of the sub-agents of the
#: session keyed K are the range [K + AGENT_KEY, K + AFTER_AGENT_KEY)
AFTER_AGENT_KEY = AGENT_KEY[:-1] + chr(ord(AGENT_KEY[-1]) + 1)


def is_agent_key(key: str | None) -> bool:
    """Whether `key` names a sub-agent's session."""
    return key is not None and AGENT_KEY in key


def agent_of(key: str | None, parent_key: str | None) -> bool:
    """Whether `key` names a sub-agent of the session keyed `parent_key`."""
    return key is not None and parent_key is not None and key.startswith(parent_key + AGENT_KEY)


def short_id(session_id: str) -> str:
    return session_id.replace("-", "")[:SHORT_ID_LEN]


def derive_title(first_user_content: str | None) -> str:
    """Title from the first user message: trimmed, one line, 60 chars + "…".
    Reads only as far as the title needs: a 100 MB message is not split."""
    if first_user_content is None:
        return UNTITLED
    text = " ".join(_title_words(first_user_content)[0])
    if not text:
        return UNTITLED
    if len(text) > TITLE_MAX:
        return text[:TITLE_MAX].rstrip() + "…"
    return text


def _title_words(content: str) -> tuple[list[str], bool]:
    """The words a title is made of, and whether more text after `content`
    could not change them (the last word is whole, or already cut)."""
    words: list[str] = []
    length = -1
    for word in _WORD.finditer(content):
        start, end = word.span()
        words.append(content[start : min(end, start + TITLE_MAX + 1)])
        length += 1 + len(words[-1])
        if length > TITLE_MAX:
            return words, end < len(content) or end - start > TITLE_MAX
    return words, False


def title_text(pieces: Iterable[str]) -> str:
    """As much of a text given in pieces as its title needs:
    `derive_title(title_text(p)) == derive_title("".join(p))`. Stops
    taking pieces as soon as the title is settled."""
    text = ""
    for piece in pieces:
        text = (text + piece).lstrip()
        if _title_words(text)[1]:
            break
    return text


@value_type
class Tokens(Value):
    """Input and output token counts (None: not recorded)."""

    input: int | None = None
    output: int | None = None

    def __init__(self, input: int | None = None, output: int | None = None) -> None:
        self.__dict__.update(input=input, output=output)

    def as_dict(self) -> dict[str, Any]:
        return {"input": self.input, "output": self.output}


@value_type
class Message(Value):
    """One live message of a session. Its fields, in this order, are its
    JSON form: orjson writes a Message (a dataclass, from its `__dict__`)
    as it writes `as_dict()`, and `--json` output relies on it."""

    id: str
    role: str
    content: str
    ts: str
    turn: int | None = None
    invocation_id: str | None = None
    model: str | None = None
    tokens: Tokens | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __init__(
        self, id: str, role: str, content: str, ts: str, turn: int | None = None, invocation_id: str | None = None,
        model: str | None = None, tokens: Tokens | None = None, metadata: dict[str, Any] | None = None,
    ) -> None:
        # one field at a time: a long session builds thousands, and this is a
        # third cheaper than update() with keywords (the order is the JSON's)
        fields = self.__dict__
        fields["id"] = id
        fields["role"] = role
        fields["content"] = content
        fields["ts"] = ts
        fields["turn"] = turn
        fields["invocation_id"] = invocation_id
        fields["model"] = model
        fields["tokens"] = tokens
        fields["metadata"] = {} if metadata is None else metadata

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role,
            "content": self.content,
            "ts": self.ts,
            "turn": self.turn,
            "invocation_id": self.invocation_id,
            "model": self.model,
            "tokens": self.tokens.as_dict() if self.tokens else None,
            "metadata": self.metadata,
        }


@value_type
class Parent(Value):
    """The session a fork was made from, and at which turn."""

    id: str
    turn: int | None

    def __init__(self, id: str, turn: int | None) -> None:
        self.__dict__.update(id=id, turn=turn)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "turn": self.turn}


@value_type
class RunState(Value):
    """Whether a session is mid-turn: idle, running (with turn id) or error."""

    state: str = "idle"
    turn_id: str | None = None
    since: str | None = None
    error: str | None = None

    def __init__(self, state: str = "idle", turn_id: str | None = None, since: str | None = None, error: str | None = None) -> None:
        self.__dict__.update(state=state, turn_id=turn_id, since=since, error=error)

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "turn_id": self.turn_id, "since": self.since, "error": self.error}


@value_type
class Project(Value):
    """A project: the sessions of one directory or git repository, under a name."""

    key: str
    name: str
    slug: str
    path: str | None
    created_at: str
    aliases: tuple[str, ...] = ()
    git_root: str | None = None

    def __init__(
        self, key: str, name: str, slug: str, path: str | None, created_at: str, aliases: tuple[str, ...] = (),
        git_root: str | None = None,
    ) -> None:
        self.__dict__.update(key=key, name=name, slug=slug, path=path, created_at=created_at, aliases=aliases, git_root=git_root)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "slug": self.slug,
            "path": self.path,
            "created_at": self.created_at,
            "aliases": list(self.aliases),
            "git_root": self.git_root,
        }


@value_type
class LogIssue(Value):
    """A line of a session file that the reader set aside."""

    line: int
    reason: str
    torn: bool = False

    def __init__(self, line: int, reason: str, torn: bool = False) -> None:
        self.__dict__.update(line=line, reason=reason, torn=torn)

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason, "torn": self.torn}


@value_type
class Change(Value):
    """A rewind, pop or replace still in effect: what `undo` reverts.

    The session showed `messages[:keep] + hidden` before it; after it,
    `messages[:keep]` and the `added` messages the change wrote (a replace).
    """

    kind: str  # "rewind", "pop" or "replace"
    keep: int
    hidden: tuple[Message, ...]
    added: int = 0
    id: str | None = None  # None in logs written before changes had ids

    def __init__(self, kind: str, keep: int, hidden: tuple[Message, ...], added: int = 0, id: str | None = None) -> None:
        self.__dict__.update(kind=kind, keep=keep, hidden=hidden, added=added, id=id)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "hidden": len(self.hidden), "added": self.added}


@value_type
class Session(Value):
    """A session as its log folds: header, live messages, run state and values."""

    id: str
    project: str
    created_at: str
    updated_at: str
    title: str
    manual_title: str | None
    key: str | None
    parent: Parent | None
    tags: tuple[str, ...]
    metadata: dict[str, Any]
    messages: tuple[Message, ...]
    run: RunState
    values: dict[str, Any]
    version: int
    dropped: int = 0
    issues: tuple[LogIssue, ...] = ()
    read_only: bool = False
    deleted_at: str | None = None
    changes: tuple[Change, ...] = ()  # in effect, oldest first; `undo` reverts the last
    # format 2 (chit.store.fold): the greatest stamp of each machine's events,
    # what a hiding event written now has seen; the trash events in effect;
    # the message that overrode a trash which had not seen it (restored)
    seen: dict[str, str] = field(default_factory=dict)
    trashes: tuple[str, ...] = ()
    restored_by: str | None = None

    def __init__(
        self, id: str, project: str, created_at: str, updated_at: str, title: str, manual_title: str | None,
        key: str | None, parent: Parent | None, tags: tuple[str, ...], metadata: dict[str, Any],
        messages: tuple[Message, ...], run: RunState, values: dict[str, Any], version: int, dropped: int = 0,
        issues: tuple[LogIssue, ...] = (), read_only: bool = False, deleted_at: str | None = None,
        changes: tuple[Change, ...] = (), seen: dict[str, str] | None = None, trashes: tuple[str, ...] = (),
        restored_by: str | None = None,
    ) -> None:
        self.__dict__.update(
            id=id, project=project, created_at=created_at, updated_at=updated_at, title=title,
            manual_title=manual_title, key=key, parent=parent, tags=tags, metadata=metadata, messages=messages,
            run=run, values=values, version=version, dropped=dropped, issues=issues, read_only=read_only,
            deleted_at=deleted_at, changes=changes, seen={} if seen is None else seen, trashes=trashes,
            restored_by=restored_by,
        )

    @property
    def short_id(self) -> str:
        return short_id(self.id)

    @property
    def hidden(self) -> int:
        """Messages that repeated `undo` brings back (0 after `compact`)."""
        return sum(len(change.hidden) for change in self.changes)

    @property
    def turns(self) -> int:
        return sum(1 for m in self.messages if m.role == "user")

    @property
    def tokens(self) -> Tokens | None:
        """Token totals of the live messages that recorded any; None if none did."""
        counted = [m.tokens for m in self.messages if m.tokens is not None]
        if not counted:
            return None
        inputs = [t.input for t in counted if t.input is not None]
        outputs = [t.output for t in counted if t.output is not None]
        return Tokens(sum(inputs) if inputs else None, sum(outputs) if outputs else None)

    def header_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "short_id": self.short_id,
            "project": self.project,
            "title": self.title,
            "manual_title": self.manual_title is not None,
            "key": self.key,
            "parent": self.parent.as_dict() if self.parent else None,
            "tags": list(self.tags),
            "metadata": self.metadata,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "turns": self.turns,
            "message_count": len(self.messages),
            "tokens": self.tokens.as_dict() if self.tokens else None,
            "state": self.run.as_dict(),
            "values": self.values,
            "version": self.version,
            "dropped": self.dropped,
            "hidden": self.hidden,
            "undo": self.changes[-1].as_dict() if self.changes else None,
            "corrupt_lines": len(self.issues),
            "read_only": self.read_only,
            "deleted_at": self.deleted_at,
        }

    def as_dict(self) -> dict[str, Any]:
        data = self.header_dict()
        data["messages"] = [m.as_dict() for m in self.messages]
        return data

    def summary(self, project_name: str, project_slug: str | None = None) -> SessionSummary:
        return SessionSummary(
            id=self.id, project=self.project, project_name=project_name, title=self.title, tags=self.tags,
            turns=self.turns, messages=len(self.messages), created_at=self.created_at, updated_at=self.updated_at,
            state=self.run.state, key=self.key, parent_id=self.parent.id if self.parent else None,
            deleted_at=self.deleted_at, tokens=self.tokens, project_slug=project_slug,
        )


@value_type
class SessionSummary(Value):
    """What a listing shows of a session, without its messages."""

    id: str
    project: str
    project_name: str
    title: str
    tags: tuple[str, ...]
    turns: int
    messages: int
    created_at: str
    updated_at: str
    state: str
    key: str | None
    parent_id: str | None
    deleted_at: str | None = None
    agents: int = 0  # sub-agent sessions listed under this one
    tokens: Tokens | None = None  # totals of the live messages that recorded counts, as `Session.tokens`
    project_slug: str | None = None  # the project's directory: tells apart the copies of a session under two projects of one name

    def __init__(
        self, id: str, project: str, project_name: str, title: str, tags: tuple[str, ...], turns: int, messages: int,
        created_at: str, updated_at: str, state: str, key: str | None, parent_id: str | None,
        deleted_at: str | None = None, agents: int = 0, tokens: Tokens | None = None, project_slug: str | None = None,
    ) -> None:
        self.__dict__.update(
            id=id, project=project, project_name=project_name, title=title, tags=tags, turns=turns, messages=messages,
            created_at=created_at, updated_at=updated_at, state=state, key=key, parent_id=parent_id,
            deleted_at=deleted_at, agents=agents, tokens=tokens, project_slug=project_slug,
        )

    @property
    def short_id(self) -> str:
        return short_id(self.id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "short_id": self.short_id,
            "project": self.project,
            "project_name": self.project_name,
            "title": self.title,
            "tags": list(self.tags),
            "turns": self.turns,
            "message_count": self.messages,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "state": self.state,
            "key": self.key,
            "parent_id": self.parent_id,
            "deleted_at": self.deleted_at,
            "agents": self.agents,
            "tokens": self.tokens.as_dict() if self.tokens else None,
            "project_slug": self.project_slug,
        }


@value_type
class SearchHit(Value):
    """One message (or title) that matched a search, with a snippet."""

    id: str
    project: str
    project_name: str
    title: str
    updated_at: str
    turn: int | None
    role: str | None
    message_id: str | None
    ts: str
    snippet: str
    project_slug: str  # the project's directory: tells apart the copies of a session under two projects of one name

    def __init__(
        self, id: str, project: str, project_name: str, title: str, updated_at: str, turn: int | None,
        role: str | None, message_id: str | None, ts: str, snippet: str, project_slug: str,
    ) -> None:
        self.__dict__.update(
            id=id, project=project, project_name=project_name, title=title, updated_at=updated_at, turn=turn,
            role=role, message_id=message_id, ts=ts, snippet=snippet, project_slug=project_slug,
        )

    @property
    def short_id(self) -> str:
        return short_id(self.id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "short_id": self.short_id,
            "project": self.project,
            "project_name": self.project_name,
            "title": self.title,
            "updated_at": self.updated_at,
            "turn": self.turn,
            "role": self.role,
            "message_id": self.message_id,
            "ts": self.ts,
            "snippet": self.snippet, "project_slug": self.project_slug,
        }
