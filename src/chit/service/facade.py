"""`Chit`, the public API: a small facade over the parts of the service.

Invariant: the public attributes of `Chit` (names without a leading `_`)
are exactly the names docs/api.md documents (tests/test_api_surface.py
compares them). Each method only hands its arguments to one part
(`chit.service.parts`); behaviour lives in the parts. Plumbing a caller
inside chit needs (the store, the index, which project holds a session) is
reached through `parts_of(chit)`, never through `Chit`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chit.service.base import Context
from chit.service.parts import Parts

if TYPE_CHECKING:
    from chit.model import Change, Message, Project, RunState, SearchHit, Session, SessionSummary, Tokens
    from chit.paths import Layout
    from chit.service.imports import ProgressFn
    from chit.service.results import (
        CompactReport,
        DoctorReport,
        ExportedFile,
        ImportReport,
        ImportResult,
        MoveReport,
        RelinkHint,
    )

class Chit:
    """The session store and every operation on it (docs/api.md).

    Construct with `home=` to use another store than `$CHIT_HOME` (or the
    platform data dir), `cwd=` to pick the project by directory, `project=`
    to name a project (like `-p`), `durable=False` to skip fsync, and
    `lock_timeout=` (seconds) for writers waiting on a busy session.
    """

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
        ctx = Context(home, cwd=cwd, project=project, durable=durable, lock_timeout=lock_timeout, create_project=create_project)
        self._parts = Parts(ctx)

    @property
    def layout(self) -> Layout:
        """Where the store's files are (`layout.home`: the store directory)."""
        return self._parts.ctx.layout

    # -- projects -------------------------------------------------------
    def project(self, name: str | None = None) -> Project:
        return self._parts.ctx.project(name)

    def project_counts(self, include_empty: bool = True) -> list[tuple[Project, int]]:
        return self._parts.queries.project_counts(include_empty)

    def find_project(self, spec: str) -> Project:
        return self._parts.moves.find_project(spec)

    def move_project(self, old: str, new: str | Path) -> MoveReport:
        return self._parts.moves.move_project(old, new)

    def rename_project(self, spec: str, new_name: str) -> Project:
        return self._parts.admin.rename_project(spec, new_name)

    def remove_project(self, spec: str) -> Project:
        return self._parts.admin.remove_project(spec)

    def relink_hint(self) -> RelinkHint | None:
        return self._parts.moves.relink_hint()

    # -- creating and finding sessions -----------------------------------
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
        return self._parts.sessions.create(
            project, title=title, key=key, metadata=metadata, messages=messages, tags=tags, make_current=make_current
        )

    def ensure_keyed(self, key: str, project: str | None = None, title: str | None = None) -> Session:
        return self._parts.sessions.ensure_keyed(key, project, title)

    def resolve(self, ref: str | None = None, project: str | None = None) -> Session:
        return self._parts.queries.resolve(ref, project)

    def get(self, session_id: str) -> Session:
        return self._parts.queries.get(session_id)

    def find(self, prefix: str, project: str | None = None, all_projects: bool = False) -> list[SessionSummary]:
        return self._parts.queries.find(prefix, project, all_projects)

    def list(
        self,
        project: str | None = None,
        *,
        all_projects: bool = False,
        limit: int | None = None,
        tag: str | None = None,
        state: str | None = None,
    ) -> list[SessionSummary]:
        return self._parts.queries.list(project, all_projects=all_projects, limit=limit, tag=tag, state=state)

    def latest(self, project: str | None = None) -> Session | None:
        return self._parts.queries.latest(project)

    def search(
        self,
        query: str,
        project: str | None = None,
        *,
        limit: int | None = 20,
        role: str | None = None,
        tag: str | None = None,
    ) -> builtins.list[SearchHit]:
        return self._parts.queries.search(query, project, limit=limit, role=role, tag=tag)

    # -- the current session ----------------------------------------------
    def current(self, project: str | None = None) -> Session | None:
        return self._parts.queries.current(project)

    def set_current(self, session: Session | str) -> None:
        self._parts.queries.set_current(session)

    def load(self, ref: str | None = None, project: str | None = None) -> Session:
        return self._parts.queries.load(ref, project)

    def end(self, project: str | None = None) -> bool:
        return self._parts.queries.end(project)

    # -- messages ------------------------------------------------------------
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
        return self._parts.sessions.append(
            ref, role, content, invocation_id=invocation_id, model=model, tokens=tokens, metadata=metadata
        )

    def append_many(self, ref: str | None, messages: Iterable[Message | Mapping[str, Any]]) -> builtins.list[Message]:
        return self._parts.sessions.append_many(ref, messages)

    def pop(self, ref: str | None = None) -> bool:
        return self._parts.sessions.pop(ref)

    def rewind(self, ref: str | None, turn: int | None = None, *, invocation_id: str | None = None) -> int:
        return self._parts.sessions.rewind(ref, turn, invocation_id=invocation_id)

    def undo(self, ref: str | None = None) -> Change | None:
        return self._parts.history.undo(ref)

    def update(self, ref: str | None, messages: Iterable[Message | Mapping[str, Any]]) -> Session:
        return self._parts.history.update(ref, messages)

    def save(self, session: Session) -> Session:
        return self._parts.history.save(session)

    def fork(self, ref: str | None = None, at: int | None = None, title: str | None = None) -> Session:
        return self._parts.sessions.fork(ref, at, title)

    # -- titles, tags, run state, values -------------------------------------
    def rename(self, ref: str | None, title: str) -> Session:
        return self._parts.sessions.rename(ref, title)

    def tag(self, ref: str | None, *tags: str) -> Session:
        return self._parts.sessions.tag(ref, *tags)

    def untag(self, ref: str | None, *tags: str) -> Session:
        return self._parts.sessions.untag(ref, *tags)

    def set_state(self, ref: str | None, state: str, *, turn_id: str | None = None, error: str | None = None) -> RunState:
        return self._parts.sessions.set_state(ref, state, turn_id=turn_id, error=error)

    def running(self, project: str | None = None, *, all_projects: bool = True) -> builtins.list[Session]:
        return self._parts.maintenance.running(project, all_projects=all_projects)

    def stuck(self, threshold: float, project: str | None = None, *, all_projects: bool = True) -> builtins.list[Session]:
        return self._parts.maintenance.stuck(threshold, project, all_projects=all_projects)

    def set_value(self, ref: str | None, key: str, value: Any) -> Session:
        return self._parts.sessions.set_value(ref, key, value)

    def unset_value(self, ref: str | None, key: str) -> Session:
        return self._parts.sessions.unset_value(ref, key)

    # -- trash, cleanup, maintenance -------------------------------------------
    def delete(self, ref: str | None) -> Session:
        return self._parts.maintenance.delete(ref)

    def restore(self, ref: str) -> Session:
        return self._parts.maintenance.restore(ref)

    def trash(self, project: str | None = None, *, all_projects: bool = False) -> builtins.list[SessionSummary]:
        return self._parts.maintenance.trash(project, all_projects=all_projects)

    def empty_trash(
        self, project: str | None = None, *, all_projects: bool = False, older_than: float | None = None, dry_run: bool = False
    ) -> builtins.list[SessionSummary]:
        return self._parts.maintenance.empty_trash(project, all_projects=all_projects, older_than=older_than, dry_run=dry_run)

    def cleanup(
        self, ttl: float, project: str | None = None, *, all_projects: bool = False, dry_run: bool = False
    ) -> builtins.list[SessionSummary]:
        return self._parts.maintenance.cleanup(ttl, project, all_projects=all_projects, dry_run=dry_run)

    def compact(self, ref: str | None) -> CompactReport:
        return self._parts.maintenance.compact(ref)

    def doctor(self, repair: bool = False) -> DoctorReport:
        return self._parts.maintenance.doctor(repair)

    # -- export and import -----------------------------------------------------
    def export_snapshot(self, ref: str | None) -> dict[str, Any]:
        return self._parts.transfer.export_snapshot(ref)

    def export_bytes(self, ref: str | None, fmt: str) -> tuple[Session, bytes]:
        return self._parts.transfer.export_bytes(ref, fmt)

    def export_to_file(self, ref: str | None, fmt: str, path: str | Path, force: bool = False) -> Path:
        return self._parts.transfer.export_to_file(ref, fmt, path, force)

    def export_all(
        self,
        directory: str | Path,
        fmt: str = "md",
        *,
        all_projects: bool = True,
        project: str | None = None,
        force: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> builtins.list[ExportedFile]:
        return self._parts.transfer.export_all(
            directory, fmt, all_projects=all_projects, project=project, force=force, progress=progress
        )

    def import_snapshot(
        self, data: bytes | str | dict[str, Any], project: str | None = None, *, new_id_always: bool = False
    ) -> ImportResult:
        return self._parts.transfer.import_snapshot(data, project, new_id_always=new_id_always)

    def import_from(
        self, source: str, path: str | Path | None = None, project: str | None = None, *, progress: ProgressFn | None = None
    ) -> ImportReport:
        return self._parts.imports.import_from(source, path, project, progress=progress)


def parts_of(chit: Chit) -> Parts:
    """The parts behind `chit`, for chit's own command line and REPL (not
    part of the public API)."""
    return chit._parts
