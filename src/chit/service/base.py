"""The context every part of the service shares (the store, the projects,
the index, the scope) and the checks of what users give.

Invariants: the service never prints and never exits; it returns model
objects or raises `ChitError`s. Every input from a user is validated
before anything touches the disk. A `Context` holds no open file, lock or
cache between calls, except the index connection (a disposable cache); the
scope (`project_name`, `create_project`) may be changed by its owner (the
REPL follows the session it shows), and every part sees the change.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from chit.errors import Ambiguous, ChitError, InvalidInput, NotFound, StorageError
from chit.model import ROLES, Project, Session
from chit.store.paths import PROJECT_ENV, Layout, default_home
from chit.store.projects import Projects
from chit.store.sessions import UUID_RE, Store, same_file

if TYPE_CHECKING:
    from chit.index.db import Index
    from chit.store.log import Log

T = TypeVar("T")
TEXT_MAX = 200
TAG_MAX = 64


def clean_line(value: str, what: str, limit: int = TEXT_MAX, allow_empty: bool = False) -> str:
    """One-line text (titles, keys): whitespace folded, no control chars."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text")
    if "\x00" in value:
        raise InvalidInput(f"{what} contains a NUL byte")
    text = " ".join(value.split())
    import unicodedata  # here: a read command checks no text (start-up time)

    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidInput(f"{what} contains control characters")
    if not text and not allow_empty:
        raise InvalidInput(f"{what} is empty")
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    check_encodable(text, what)
    return text


_CHECKED = 1 << 18  # characters of a long text checked at a time


def check_encodable(text: str, what: str) -> None:
    """Refuse a lone surrogate (U+D800-U+DFFF), which UTF-8 cannot encode.
    ASCII text (a flag CPython keeps) holds none. Strict UTF-16 refuses
    the same characters and encodes a slice at a time, a few MB at most,
    never a copy of a long message: 4 to 6 times faster than a pattern
    over the text (10 against 40-55 ms for 30 MB of CJK or Cyrillic)."""
    if text.isascii():
        return
    try:
        for start in range(0, len(text), _CHECKED):
            text[start : start + _CHECKED].encode("utf-16-le")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid Unicode (lone surrogate)") from None


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r} (expected one of: {', '.join(ROLES)})")
    return role


def check_tag(tag: str) -> str:
    if not isinstance(tag, str) or not tag:
        raise InvalidInput("tag is empty")
    if len(tag) > TAG_MAX:
        raise InvalidInput(f"tag {tag[:20]!r}… is longer than {TAG_MAX} characters")
    if any(ch.isspace() or ch == "," or not ch.isprintable() for ch in tag):
        raise InvalidInput(f"tag {tag!r} may not contain spaces, commas or control characters")
    check_encodable(tag, "tag")
    return tag


def check_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) for k in metadata):
        raise InvalidInput("metadata must be an object with text keys")
    import orjson

    try:
        orjson.dumps(metadata)
    except TypeError as exc:
        raise InvalidInput(f"metadata is not JSON-serialisable: {exc}") from None
    return dict(metadata)


def _working_directory() -> Path:
    try:
        return Path.cwd()
    except FileNotFoundError:
        raise StorageError("the working directory no longer exists; cd somewhere or pass -p NAME") from None


class Context:
    """State every part of the service needs: the store, the projects, the
    index and the scope (which project a call without `project=` means)."""

    def __init__(
        self,
        home: str | Path | None = None,
        *,
        cwd: str | Path | None = None,
        project: str | None = None,
        durable: bool | None = None,
        lock_timeout: float | None = None,
        create_project: bool = False,
    ) -> None:
        self.layout = Layout(Path(home).expanduser().absolute() if home else default_home())
        self.store = Store(self.layout, durable, lock_timeout)
        self.projects = Projects(self.store)
        self.cwd = Path(cwd) if cwd else _working_directory()
        env_project = os.environ.get(PROJECT_ENV) or None
        self.project_name: str | None = project if project is not None else env_project
        # a command that writes (the REPL) takes an unknown project name as a
        # new, still empty project; it is recorded with its first session
        self.create_project = create_project
        # a listing or search that finds the index far behind brings it up to
        # date first, as `chit index` does (the API: no terminal to tell, and
        # nothing left running behind the program's back); the command line
        # turns this off: it answers from the files and catches up in the background
        self.catch_up_here = True
        self._index: Index | None = None

    # -- projects -------------------------------------------------------
    def project(self, name: str | None = None, create: bool = False) -> Project:
        """The named project, else the configured one, else the cwd's."""
        chosen = name if name is not None else self.project_name
        if chosen is None:
            return self.projects.for_directory(self.cwd)
        try:
            return self.projects.named(chosen, create or (name is None and self.create_project))
        except NotFound:
            raise NotFound(f"no project named {chosen!r}{self._closest_project(chosen)} (see `chit projects`)") from None

    def _closest_project(self, name: str) -> str:
        """"; did you mean 'x'?" for the known project name nearest `name`."""
        import difflib

        known = {n for p in self.projects.all() for n in (p.name, *p.aliases) if not n.startswith(("/", "name:"))}
        close = difflib.get_close_matches(name, sorted(known), n=1)
        return f"; did you mean {close[0]!r}?" if close else ""

    def project_by_slug(self, slug: str) -> Project:
        return self.projects.get(slug) or Project(key=slug, name=slug, slug=slug, path=None, created_at="")

    def locate(self, session_id: str, trash: bool = False, project: str | None = None) -> Project:
        """The project holding a session id (in sessions/ or in trash/). An
        id under several projects (a `projects mv` cut short; `chit doctor`
        reports it) is the copy of the project `project` (else the scope's
        `project_name`, else the working directory) names; outside all of
        them, one file under every name is the first, and different files
        are `Ambiguous`."""
        if not isinstance(session_id, str) or not UUID_RE.match(session_id):
            raise InvalidInput(f"not a full session id: {session_id!r} (resolve() takes prefixes and keys)")
        holders = self.store.holders(session_id, trash)
        if not holders:
            raise NotFound(f"no session with id {session_id}")
        if len(holders) == 1:
            return self.project_by_slug(holders[0])
        return self._copy_in_scope(session_id, holders, trash, project)

    def _copy_in_scope(self, session_id: str, holders: list[str], trash: bool, project: str | None) -> Project:
        """Of the projects holding one session id, the one a command means."""
        chosen = project if project is not None else self.project_name
        try:
            scope = self.project(chosen) if chosen is not None else self.projects.for_directory(self.cwd)
        except ChitError:  # an unknown or ambiguous name, a working directory gone: no project in scope
            scope = None
        if scope is not None and scope.slug in holders:
            return self.project_by_slug(scope.slug)  # a link there is refused as it is read
        # a symbolic link is never followed: it holds no copy, unless every name is one
        holders = [slug for slug in holders if not self.store.session_path(slug, session_id, trash).is_symlink()] or holders
        if len(holders) == 1:
            return self.project_by_slug(holders[0])
        first = self.store.session_path(holders[0], session_id, trash)
        if all(same_file(first, self.store.session_path(slug, session_id, trash)) for slug in holders[1:]):
            return self.project_by_slug(holders[0])  # one file: every name reads and writes it
        found = [self.project_by_slug(slug) for slug in holders]
        listed = ", ".join(f"{p.name} ({p.slug})" for p in found)
        advice = "give -p NAME to choose one" if chosen is None else f"project {chosen!r} holds no copy: give -p with one of them"
        raise Ambiguous(
            f"session {session_id[:8]} is in {len(found)} projects as different files: {listed}; {advice} (see `chit doctor`)",
            candidates=[{"id": session_id, "short_id": session_id[:8], "project": p.name, "project_slug": p.slug} for p in found],
        )

    # -- sessions -------------------------------------------------------
    def read_session(self, project: Project, session_id: str, trash: bool = False) -> Session:
        from chit import collector

        with collector.paused():  # (the read too: a record a line)
            return folded(self.store.read(project.slug, session_id, project.key, trash))

    def sessions_in(self, project: Project, trash: bool = False) -> list[Session]:
        found = []
        for session_id in self.store.session_ids(project.slug, trash):
            try:
                found.append(self.read_session(project, session_id, trash))
            except NotFound:
                continue  # deleted between listing and reading
        return found

    # -- index ----------------------------------------------------------
    @property
    def index(self) -> Index:
        if self._index is None:
            from chit.index.db import Index

            self._index = Index(self.layout)
        return self._index

    def indexed(self, work: Callable[[Index], T]) -> T | None:
        """`work(index)`, or None when the index cannot answer and the caller
        must read the files. A corrupt or foreign index is thrown away and
        rebuilt; a search that raced a rewrite is retried."""
        import sqlite3

        from chit.index import Stale
        from chit.index.db import ForeignIndex

        index = self.index
        for _ in range(3):
            try:
                with index.lock:
                    return work(index)
            except Stale:
                continue
            except sqlite3.ProgrammingError:
                raise
            except (sqlite3.DatabaseError, ForeignIndex) as exc:
                if not _damaged(exc):
                    if _busy_or_refused(exc):
                        return None  # locked, read-only, full disk…: the files still answer
                    raise
                try:
                    index.rebuild()
                except (OSError, sqlite3.Error):
                    return None
            except OSError:
                return None  # reading the files will say what is wrong
        return None


def _damaged(exc: Exception) -> bool:
    """Whether an index error means the index file itself is bad."""
    name = getattr(exc, "sqlite_errorname", None)
    if name is None or name in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
        return True
    text = str(exc)
    return name == "SQLITE_ERROR" and (text.startswith("no such ") or "malformed" in text)


def _busy_or_refused(exc: Exception) -> bool:
    """An error of the environment, not of chit's SQL (which is re-raised)."""
    name = str(getattr(exc, "sqlite_errorname", ""))
    return name != "SQLITE_ERROR" and not name.startswith(("SQLITE_MISUSE", "SQLITE_RANGE", "SQLITE_CONSTRAINT"))


def folded(log: Log) -> Session:
    """The session a log holds (read, or after a write `LockedSession.read_again`)."""
    from chit import collector
    from chit.store.fold import fold  # here: a listing folds no session (start-up time)

    with collector.paused():  # a record, an entry and a Message a line, none in a cycle
        return fold(log.header, log.events, log.issues, log.read_only)
