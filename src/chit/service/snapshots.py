"""Export sessions to files and snapshots; import snapshots back.

Invariants: an export never overwrites an existing file unless forced, and
never writes through a symbolic link (a forced export replaces the link
itself, atomically); an import verifies the snapshot's checksum and every
field before writing anything, keeps the session id unless it collides
with a session anywhere in the store (then an id derived from it and the
snapshot's checksum is given, the same for every import of that snapshot,
or, for an identical duplicate, nothing is written and `Conflict` is
raised: two imports of one snapshot, in turn or at once, into one project
or two, end alike: the id is chosen and the file created under the
store's `ids_lock`); an import is all or nothing: the session file,
messages, tags and state values together, appears whole (written aside and
linked into place) or not at all.
"""

from __future__ import annotations

import errno
import os
import stat
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from chit import exporters
from chit.errors import ChitError, Conflict, InvalidData, InvalidInput, NotFound
from chit.store.fold import message_from_record
from chit.model import Message, Project, Session, SessionSummary, format_ts, parse_ts
from chit.service.base import Context, check_metadata, check_tag, clean_line
from chit.service.queries import Queries
from chit.service.sessions import KEY_MAX, Sessions, _as_message, new_id
from chit.store.files import FILE_MODE, os_errors, write_atomic
from chit.store.sessions import UUID_RE

if TYPE_CHECKING:
    from chit.service.results import ExportedFile, ImportResult

#: ids derived in turn for a snapshot whose own id is taken, before a random one
_DERIVED_IDS = 16


def _field(body: dict[str, Any], name: str, kinds: tuple[type, ...], optional: bool = False) -> Any:
    value = body.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, kinds):
        raise InvalidData(f"snapshot field {name!r} is missing or has the wrong type")
    return value


def parse_snapshot(data: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """Validate a snapshot document; returns its `session` object."""
    return _verified(data)[0]


def _verified(data: bytes | str | dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A valid snapshot document's `session` object and its checksum."""
    if isinstance(data, dict):
        doc: Any = data
    else:
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise InvalidData("snapshot is not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != exporters.SNAPSHOT_FORMAT:
        raise InvalidData("not a chit snapshot (no \"format\": \"chit-snapshot\")")
    version = doc.get("version")
    if not isinstance(version, int) or version > exporters.SNAPSHOT_VERSION:
        raise InvalidData(f"unsupported snapshot version {version!r}")
    body = doc.get("session")
    if not isinstance(body, dict):
        raise InvalidData("snapshot has no session object")
    try:
        expected = exporters.checksum(body)
    except TypeError:  # orjson writes no deeper than 254 levels: chit could not store it either
        raise InvalidData("snapshot is nested too deeply to be a chit snapshot") from None
    if doc.get("checksum") != expected:
        raise InvalidData("snapshot checksum does not match its content (file altered or truncated)")
    session_id = _field(body, "id", (str,))
    if not UUID_RE.match(session_id):
        raise InvalidData("snapshot session id is not a UUID")
    _field(body, "created_at", (str,))
    _field(body, "messages", (list,))
    for name, kinds in (("title", (str,)), ("key", (str,)), ("tags", (list,)), ("metadata", (dict,)), ("values", (dict,)), ("parent", (dict,))):
        _field(body, name, kinds, optional=True)
    return body, expected


class Transfer:
    """Sessions out of the store (snapshots, renderings, files) and
    snapshots back in."""

    def __init__(self, ctx: Context, queries: Queries, sessions: Sessions) -> None:
        self.ctx = ctx
        self.queries = queries
        self.sessions = sessions
        self.store = ctx.store
        self.projects = ctx.projects

    def export_snapshot(self, ref: str | None) -> dict[str, Any]:
        session = self.queries.resolve(ref)
        return exporters.snapshot(session, self.ctx.locate(session.id).name)

    def export_bytes(self, ref: str | None, fmt: str, *, redacted: dict[str, int] | None = None) -> tuple[Session, bytes]:
        """The session rendered in `fmt`. With `redacted` (a dict), secrets
        are replaced by markers (`chit.redact`) and counted into it by kind."""
        if fmt not in exporters.FORMATS:
            raise InvalidInput(f"unknown format {fmt!r} (expected one of: {', '.join(exporters.FORMATS)})")
        session = self.queries.resolve(ref)
        shown = session
        if redacted is not None:
            from chit.redact import redact_session

            shown = redact_session(session, redacted)
        return session, exporters.render(shown, self.ctx.locate(session.id).name, fmt)

    def export_to_file(
        self, ref: str | None, fmt: str, path: str | Path, force: bool = False, *, redacted: dict[str, int] | None = None
    ) -> Path:
        """Write an export; refuses to overwrite unless `force`; `redacted` as for `export_bytes`."""
        target = Path(path)
        _, data = self.export_bytes(ref, fmt, redacted=redacted)
        if not target.parent.is_dir():
            raise NotFound(f"directory does not exist: {target.parent}")
        if target.is_dir():
            raise InvalidInput(f"{target} is a directory; give a file name")
        if force:
            if _special(target):
                raise InvalidInput(f"{target} is not a regular file; refusing to replace it")
            with os_errors(f"write {target}"):
                write_atomic(target, data, self.store.durable)
            return target
        with os_errors(f"write {target}"):
            try:
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
            except FileExistsError:
                raise Conflict(f"{target} already exists; use --force to overwrite it") from None
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise Conflict(f"{target} already exists; use --force to overwrite it") from None
                raise
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
            except BaseException:
                target.unlink(missing_ok=True)
                raise
        return target

    def export_all(
        self,
        directory: str | Path,
        fmt: str = "md",
        *,
        all_projects: bool = True,
        project: str | None = None,
        force: bool = False,
        progress: Callable[[int, int], None] | None = None,
        since: str | None = None,
        until: str | None = None,
        redacted: dict[str, int] | None = None,
    ) -> list[ExportedFile]:
        """Export every live session into `directory`, one file each (see
        `chit.service.export_all`); with `since`/`until`, those last
        updated in that window (read as `list` reads them); `redacted` as
        for `export_bytes`, counting over every file."""
        from chit.service.export_all import export_all

        def listing() -> list[SessionSummary]:
            return self.queries.list(project, all_projects=all_projects, agents=True, since=since, until=until)

        def export_one(ref: str, fmt: str, path: Path, force: bool) -> Path:
            return self.export_to_file(ref, fmt, path, force, redacted=redacted)

        return export_all(export_one, listing, directory, fmt, force=force, progress=progress)

    def import_snapshot(
        self, data: bytes | str | dict[str, Any], project: str | None = None, *, new_id_always: bool = False
    ) -> ImportResult:
        """Store a snapshot as a session in the project in scope."""
        from chit.service.results import ExportedFile, ImportResult

        body, checksum = _verified(data)
        try:
            messages = [_as_message(message_from_record(_message_record(r))) for r in body["messages"]]
            tags = [check_tag(t) for t in body.get("tags") or []]
            title = clean_line(body["title"], "title") if body.get("title") else None
            key = clean_line(body["key"], "key", KEY_MAX) if body.get("key") is not None else None
            parent = _parent(body.get("parent"))
            try:
                parse_ts(body["created_at"])
            except ValueError:
                raise InvalidData("snapshot created_at is not an RFC 3339 timestamp") from None
            values = check_metadata({clean_line(k, "key", KEY_MAX): v for k, v in (body.get("values") or {}).items()})
            metadata = check_metadata(body.get("metadata"))
            scope = self.ctx.project(project, create=True)
        except ChitError as exc:
            if isinstance(exc, InvalidInput):
                raise InvalidData(f"snapshot has an invalid message or field: {exc.message}") from None
            raise
        # the id chosen and its file created by one import at a time, whatever the project (a new id is random)
        with nullcontext() if new_id_always else self.store.ids_lock():
            session_id, kept_key = self._claim(body, checksum, messages, scope, key, new_id_always)
            try:
                session = self.sessions.write_new(
                    scope,
                    title,
                    kept_key,
                    metadata,
                    messages,
                    tags,
                    parent,
                    True,
                    session_id=session_id,
                    created_at=utc_timestamp(body["created_at"], "created_at"),
                    values=values,
                )
            except Conflict:  # another import of it took the key meanwhile: as if it came first
                self._refuse_if_imported(session_id, messages)
                raise
        return ImportResult(session, session_id != body["id"])  # as write_new read it back: not read again

    def _claim(
        self, body: dict[str, Any], checksum: str, messages: list[Message], scope: Project, key: str | None, new_id_always: bool,
    ) -> tuple[str, str | None]:
        """The id and key the imported session gets: a new id, or the
        snapshot's own (`_free_id`); the key unless another session of the
        project has it (then `Conflict` if the id is the snapshot's own,
        else no key)."""
        session_id = new_id() if new_id_always else self._free_id(body, checksum, messages)
        if key is not None and self.queries.find_key(scope, key) is not None:
            if session_id == body["id"]:
                raise Conflict(f"project {scope.name!r} already has a session with key {key!r}")
            return session_id, None
        return session_id, key

    def _free_id(self, body: dict[str, Any], checksum: str, messages: list[Message]) -> str:
        """The snapshot's id, or when a session has it (live or in the
        trash) an id derived from it and the snapshot's `checksum`, the same
        for every import of the snapshot (again while that one is taken).
        `Conflict` when the live session with one of those ids holds
        exactly these messages: the snapshot is imported already."""
        session_id = body["id"]
        for _ in range(_DERIVED_IDS):
            if not self._exists_anywhere(session_id):
                return str(session_id)
            self._refuse_if_imported(session_id, messages)
            session_id = str(uuid.uuid5(uuid.UUID(session_id), checksum))
        return new_id()

    def _refuse_if_imported(self, session_id: str, messages: list[Message]) -> None:
        existing = self._find_anywhere(session_id)
        if existing is not None and _same_messages(existing, messages):
            raise Conflict(f"snapshot already imported as session {session_id[:8]}")

    def _exists_anywhere(self, session_id: str) -> bool:
        return any(self.store.exists(s, session_id) for s in self.store.project_slugs()) or any(
            self.store.exists(s, session_id, trash=True) for s in self.store.trash_slugs()
        )

    def _find_anywhere(self, session_id: str) -> Session | None:
        try:
            return self.queries.get(session_id)
        except NotFound:
            return None


def _special(target: Path) -> bool:
    """A device, pipe or socket (never replaced, even with --force; a
    symbolic link is: the link itself is replaced, never its target)."""
    try:
        mode = target.lstat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISLNK(mode))


def _parent(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value.get("id"), str) or not UUID_RE.match(value["id"]):
        raise InvalidData("snapshot parent has no valid id")
    turn = value.get("turn")
    if turn is not None and (isinstance(turn, bool) or not isinstance(turn, int) or turn < 0):
        raise InvalidData("snapshot parent turn is not a whole number")
    return {"id": value["id"], "turn": turn}


def _message_record(record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise InvalidData("snapshot message is not an object")
    for name in ("id", "role", "content", "ts"):
        if not isinstance(record.get(name), str):
            raise InvalidData(f"snapshot message field {name!r} is missing or has the wrong type")
    return {**record, "ts": utc_timestamp(record["ts"], "message ts")}


def utc_timestamp(text: str, what: str) -> str:
    """A snapshot's RFC 3339 timestamp in chit's own UTC form (`...Z`)."""
    try:
        return format_ts(parse_ts(text))
    except ValueError:
        raise InvalidData(f"snapshot {what} is not an RFC 3339 timestamp: {text[:40]!r}") from None


def _same_messages(existing: Session, messages: list[Message]) -> bool:
    """Whether a stored session already holds exactly these messages."""
    return [(m.id, m.role, m.content) for m in existing.messages] == [(m.id, m.role, m.content) for m in messages]
