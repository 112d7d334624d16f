"""Creating new session files under the project's lock: one at a time
(`Sessions.write_new_file`) or many under one hold of the lock (`Creating`,
an import's).

Invariants:
- a session created with a key is created under the project's lock, once
  its key was found in none of the project's live sessions; every chit
  create that checks a key takes that lock (`project_held`), so while one
  holds it, no other chit process can create a keyed session there;
- the project's record exists when its first session file appears
  (written under the lock, and never taken away under it);
- `Creating` reads the project's keys once a hold (from the index after a
  refresh of the project, else from every header line; a project holding
  no session file has none, and nothing is read) and adds each
  session it creates to them, so each create checks its key against all
  of them without a refresh of its own. Each create changes the project's
  directory, which made a `find_key` per create stat every file of the
  project: M sessions imported into a project of N cost O(N·M); a hold
  lasts until it created a quarter of the sessions the project held at
  its start (at least `HOLD_MIN`), which makes it O(N + M), or `HOLD_FOR`
  seconds, so another chit waits for the lock about that long (plus what
  its caller does between two creates: an import's read of one source
  file, after which `pause` lets an ended hold go);
- a file another program puts in the directory (it takes no lock) is seen
  by the next hold's read of the keys, as it was by the next `find_key`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from itertools import chain
from typing import TYPE_CHECKING, Any

from chit.errors import Conflict, ProjectGone
from chit.model import Message, Project, now
from chit.service.queries import keyed_headers
from chit.store import codec
from chit.store.fold import message_to_record

if TYPE_CHECKING:
    from contextlib import ExitStack

    from chit.index.db import Index
    from chit.service.base import Context

HOLD_MIN = 64  # sessions a hold may create, whatever the project holds
HOLD_FOR = 1.0  # seconds a hold lasts at most (then the next create takes the lock again)


def key_taken(scope: Project, key: str) -> Conflict:
    return Conflict(f"project {scope.name!r} already has a session with key {key!r}")


def new_records(
    scope: Project, session_id: str, title: str | None, key: str | None, metadata: dict[str, Any],
    messages: list[Message], tags: list[str], parent: dict[str, Any] | None,
    created_at: str | None = None, values: Mapping[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """The records of a new session file, header first, made as the
    store writes them (a long session is in memory as its messages only)."""
    header = {
        "type": "session", "version": codec.FORMAT_VERSION, "id": session_id, "project": scope.key,
        "created_at": created_at or now(), "parent": parent, "key": key, "title": title, "metadata": metadata,
    }
    stamp = now()
    return chain(
        [header],
        (message_to_record(m) for m in messages),
        [{"type": "tag", "tags": tags, "ts": header["created_at"]}] if tags else [],
        ({"type": "set", "key": k, "value": v, "ts": stamp} for k, v in (values or {}).items()),
    )


@contextmanager
def project_held(ctx: Context, scope: Project) -> Iterator[None]:
    """The project's lock held, with its record found still there or
    written now (a new project's)."""
    recorded = ctx.projects.get(scope.slug) is not None
    fresh = not ctx.layout.project_dir(scope.slug).exists()
    try:
        with ctx.store.project_lock(scope.slug):
            if ctx.projects.get(scope.slug) is None:
                if recorded:  # `projects mv` or `projects rm` took it away while we waited
                    raise ProjectGone("")
                _record_project(ctx, scope, fresh)  # new, or removed before we looked: the session never lacks it
            yield
    except ProjectGone:
        raise Conflict(
            f"project {scope.name!r} was moved or removed while this session was being created; nothing was written, run the command again"
        ) from None


def _record_project(ctx: Context, scope: Project, fresh: bool) -> None:
    """Write the project's record, under its lock. When that fails (a
    full disk), a directory made for the lock goes with its lock file,
    as `projects rm` removes them: the store is left as it was."""
    try:
        ctx.projects.ensure(scope)
    except BaseException:
        if fresh:
            directory = ctx.layout.project_dir(scope.slug)
            (directory / ".lock").unlink(missing_ok=True)
            try:
                directory.rmdir()
            except OSError:
                pass  # something else is in it now
        raise


def project_keys(ctx: Context, scope: Project) -> tuple[dict[str, str], int]:
    """Every key of the project's live sessions -> the id `find_key` gives
    it, and how many sessions the project holds: from the index once its
    rows of the project are current, else from every header line
    (`Queries.scan_key`'s reading)."""

    def from_index(index: Index) -> dict[str, str] | None:
        from chit.index.refs import keys_in

        return keys_in(index, scope.slug) if index.refresh_if_changed([scope.slug]) else None

    sessions = len(ctx.store.session_ids(scope.slug))
    if not sessions:  # a new project's first hold: no key to find, no index to refresh
        return {}, 0
    found = ctx.indexed(from_index)
    if found is None:
        found = {}
        for key, session_id in keyed_headers(ctx.store, scope.slug):
            if isinstance(key, str):
                found.setdefault(key, session_id)
    return found, sessions


class Creating:
    """Keyed sessions created in one project, many under each hold of its
    lock; `close` (or the end of a `with`) lets the lock go."""

    def __init__(self, ctx: Context, scope: Project) -> None:
        self.ctx = ctx
        self.scope = scope
        self._held: ExitStack | None = None
        self._keys: dict[str, str] = {}
        self._left = 0
        self._until = 0.0

    def __enter__(self) -> Creating:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def create(
        self, session_id: str, title: str | None, key: str, metadata: dict[str, Any], messages: list[Message],
        created_at: str | None = None,
    ) -> str:
        """Write a new session with `key`, unless the project has one
        (`Conflict`); its id."""
        if self._held is None or self._left <= 0 or time.monotonic() >= self._until:
            self._hold()
        if key in self._keys:
            raise key_taken(self.scope, key)
        records = new_records(self.scope, session_id, title, key, metadata, messages, [], None, created_at)
        self.ctx.store.create(self.scope.slug, session_id, records)
        self._keys[key] = session_id
        self._left -= 1
        return session_id

    def holder(self, key: str) -> str | None:
        """The session that has `key`, as this hold last read or made it."""
        return self._keys.get(key)

    def pause(self) -> None:
        """Let the lock go if this hold is over, as the next create would:
        a caller that reads between creates (the next file of an import)
        does not keep others waiting meanwhile."""
        if self._left <= 0 or time.monotonic() >= self._until:
            self.close()

    def _hold(self) -> None:
        from contextlib import ExitStack

        self.close()
        with ExitStack() as stack:
            stack.enter_context(project_held(self.ctx, self.scope))
            self._keys, sessions = project_keys(self.ctx, self.scope)
            self._left = max(HOLD_MIN, sessions // 4)
            self._until = time.monotonic() + HOLD_FOR
            self._held = stack.pop_all()

    def close(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.close()
