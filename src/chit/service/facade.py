"""`Chit`, the public API: a small facade over the parts of the service.

Invariant: the public attributes of `Chit` (names without a leading `_`)
are exactly the names docs/api.md documents (tests/test_api_surface.py
compares them). Each method hands its arguments to one method of one part
(`chit.service.parts`) and has, for the type checker, that method's
signature; behaviour lives in the parts, and so do the docstrings
(docs/api.md describes each method). A part, and its module, is loaded
on the first call of one of its methods, so that `Chit` costs a command
only the parts it uses. Plumbing a caller inside chit needs (the
store, the index, which project holds a session) is reached through
`parts_of(chit)`, never through `Chit`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from chit.service.base import Context
from chit.service.parts import Parts

if TYPE_CHECKING:
    from chit.model import Project
    from chit.store.paths import Layout

P = ParamSpec("P")
R = TypeVar("R")


def _handed_to(method_of: Callable[[Parts], Callable[P, R]]) -> Callable[Concatenate[Chit, P], R]:
    """A method of `Chit` that calls the part method `method_of(parts)`."""

    def call(self: Chit, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return method_of(self._parts)(*args, **kwargs)

    return call


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

    # -- projects ---------------------------------------------------------------
    def project(self, name: str | None = None) -> Project:
        """The named project, else the configured one, else the cwd's (never created here)."""
        return self._parts.ctx.project(name)

    def find_project(self, spec: str) -> Project:
        """A project by name, slug, alias, or by a path it has (or had)."""
        return self._parts.moves.find_project(spec)

    project_counts = _handed_to(lambda parts: parts.queries.project_counts)
    move_project = _handed_to(lambda parts: parts.moves.move_project)
    rename_project = _handed_to(lambda parts: parts.admin.rename_project)
    remove_project = _handed_to(lambda parts: parts.admin.remove_project)
    relink_hint = _handed_to(lambda parts: parts.moves.relink_hint)

    # -- creating and finding sessions, the current session ----------------------
    create = _handed_to(lambda parts: parts.sessions.create)
    ensure_keyed = _handed_to(lambda parts: parts.sessions.ensure_keyed)
    resolve = _handed_to(lambda parts: parts.queries.resolve)
    get = _handed_to(lambda parts: parts.queries.get)
    find = _handed_to(lambda parts: parts.queries.find)
    list = _handed_to(lambda parts: parts.queries.list)
    latest = _handed_to(lambda parts: parts.queries.latest)
    agents = _handed_to(lambda parts: parts.queries.agents)
    agent_parent = _handed_to(lambda parts: parts.queries.agent_parent)
    search = _handed_to(lambda parts: parts.queries.search)
    search_words = _handed_to(lambda parts: parts.finder.search_words)
    search_groups = _handed_to(lambda parts: parts.finder.search_groups)
    current = _handed_to(lambda parts: parts.queries.current)
    set_current = _handed_to(lambda parts: parts.queries.set_current)
    load = _handed_to(lambda parts: parts.queries.load)
    end = _handed_to(lambda parts: parts.queries.end)

    # -- lineage and usage -----------------------------------------------------------
    tree = _handed_to(lambda parts: parts.lineage.tree)
    children = _handed_to(lambda parts: parts.lineage.children)
    diff = _handed_to(lambda parts: parts.lineage.diff)
    stats = _handed_to(lambda parts: parts.usage.stats)

    # -- messages, titles, tags, run state, values --------------------------------
    append = _handed_to(lambda parts: parts.sessions.append)
    append_many = _handed_to(lambda parts: parts.sessions.append_many)
    pop = _handed_to(lambda parts: parts.sessions.pop)
    rewind = _handed_to(lambda parts: parts.sessions.rewind)
    fork = _handed_to(lambda parts: parts.sessions.fork)
    undo = _handed_to(lambda parts: parts.history.undo)
    update = _handed_to(lambda parts: parts.history.update)
    save = _handed_to(lambda parts: parts.history.save)
    rename = _handed_to(lambda parts: parts.sessions.rename)
    tag = _handed_to(lambda parts: parts.sessions.tag)
    untag = _handed_to(lambda parts: parts.sessions.untag)
    set_state = _handed_to(lambda parts: parts.sessions.set_state)
    set_value = _handed_to(lambda parts: parts.sessions.set_value)
    unset_value = _handed_to(lambda parts: parts.sessions.unset_value)

    # -- trash, cleanup, maintenance -----------------------------------------------
    delete = _handed_to(lambda parts: parts.maintenance.delete)
    restore = _handed_to(lambda parts: parts.maintenance.restore)
    trash = _handed_to(lambda parts: parts.maintenance.trash)
    empty_trash = _handed_to(lambda parts: parts.maintenance.empty_trash)
    cleanup = _handed_to(lambda parts: parts.maintenance.cleanup)
    running = _handed_to(lambda parts: parts.maintenance.running)
    stuck = _handed_to(lambda parts: parts.maintenance.stuck)
    compact = _handed_to(lambda parts: parts.maintenance.compact)
    doctor = _handed_to(lambda parts: parts.maintenance.doctor)

    # -- export and import -----------------------------------------------------------
    export_snapshot = _handed_to(lambda parts: parts.transfer.export_snapshot)
    export_bytes = _handed_to(lambda parts: parts.transfer.export_bytes)
    export_to_file = _handed_to(lambda parts: parts.transfer.export_to_file)
    export_all = _handed_to(lambda parts: parts.transfer.export_all)
    import_snapshot = _handed_to(lambda parts: parts.transfer.import_snapshot)
    import_from = _handed_to(lambda parts: parts.imports.import_from)


def parts_of(chit: Chit) -> Parts:
    """The parts behind `chit`, for chit's own command line and REPL (not
    part of the public API)."""
    return chit._parts
