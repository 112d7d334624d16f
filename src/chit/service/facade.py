"""`Chit`, the public API: a small facade over the parts of the service.

Invariant: the public attributes of `Chit` (names without a leading `_`)
are exactly the names docs/api.md documents (tests/test_api_surface.py
compares them). Each method hands its arguments to one method of one part
(`chit.service.parts`), with that method's signature and docstring;
behaviour lives in the parts. Plumbing a caller inside chit needs (the
store, the index, which project holds a session) is reached through
`parts_of(chit)`, never through `Chit`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from chit.service.base import Context
from chit.service.finding import Finder
from chit.service.history import History
from chit.service.imports import Imports
from chit.service.lifecycle import Maintenance
from chit.service.lineage import Lineage
from chit.service.parts import Parts
from chit.service.projects_admin import ProjectAdmin
from chit.service.project_moves import ProjectMoves
from chit.service.queries import Queries
from chit.service.sessions import Sessions
from chit.service.snapshots import Transfer
from chit.service.stats import Usage

if TYPE_CHECKING:
    from chit.model import Project
    from chit.store.paths import Layout

P = ParamSpec("P")
R = TypeVar("R")


def _handed_to(part: str, method: Callable[Concatenate[Any, P], R]) -> Callable[Concatenate[Chit, P], R]:
    """A method of `Chit` that calls `method` on its part named `part`."""

    def call(self: Chit, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return method(getattr(self._parts, part), *args, **kwargs)

    functools.update_wrapper(call, method)
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

    project_counts = _handed_to("queries", Queries.project_counts)
    move_project = _handed_to("moves", ProjectMoves.move_project)
    rename_project = _handed_to("admin", ProjectAdmin.rename_project)
    remove_project = _handed_to("admin", ProjectAdmin.remove_project)
    relink_hint = _handed_to("moves", ProjectMoves.relink_hint)

    # -- creating and finding sessions, the current session ----------------------
    create = _handed_to("sessions", Sessions.create)
    ensure_keyed = _handed_to("sessions", Sessions.ensure_keyed)
    resolve = _handed_to("queries", Queries.resolve)
    get = _handed_to("queries", Queries.get)
    find = _handed_to("queries", Queries.find)
    list = _handed_to("queries", Queries.list)
    latest = _handed_to("queries", Queries.latest)
    agents = _handed_to("queries", Queries.agents)
    agent_parent = _handed_to("queries", Queries.agent_parent)
    search = _handed_to("queries", Queries.search)
    search_words = _handed_to("finder", Finder.search_words)
    search_groups = _handed_to("finder", Finder.search_groups)
    current = _handed_to("queries", Queries.current)
    set_current = _handed_to("queries", Queries.set_current)
    load = _handed_to("queries", Queries.load)
    end = _handed_to("queries", Queries.end)

    # -- lineage and usage -----------------------------------------------------------
    tree = _handed_to("lineage", Lineage.tree)
    children = _handed_to("lineage", Lineage.children)
    diff = _handed_to("lineage", Lineage.diff)
    stats = _handed_to("usage", Usage.stats)

    # -- messages, titles, tags, run state, values --------------------------------
    append = _handed_to("sessions", Sessions.append)
    append_many = _handed_to("sessions", Sessions.append_many)
    pop = _handed_to("sessions", Sessions.pop)
    rewind = _handed_to("sessions", Sessions.rewind)
    fork = _handed_to("sessions", Sessions.fork)
    undo = _handed_to("history", History.undo)
    update = _handed_to("history", History.update)
    save = _handed_to("history", History.save)
    rename = _handed_to("sessions", Sessions.rename)
    tag = _handed_to("sessions", Sessions.tag)
    untag = _handed_to("sessions", Sessions.untag)
    set_state = _handed_to("sessions", Sessions.set_state)
    set_value = _handed_to("sessions", Sessions.set_value)
    unset_value = _handed_to("sessions", Sessions.unset_value)

    # -- trash, cleanup, maintenance -----------------------------------------------
    delete = _handed_to("maintenance", Maintenance.delete)
    restore = _handed_to("maintenance", Maintenance.restore)
    trash = _handed_to("maintenance", Maintenance.trash)
    empty_trash = _handed_to("maintenance", Maintenance.empty_trash)
    cleanup = _handed_to("maintenance", Maintenance.cleanup)
    running = _handed_to("maintenance", Maintenance.running)
    stuck = _handed_to("maintenance", Maintenance.stuck)
    compact = _handed_to("maintenance", Maintenance.compact)
    doctor = _handed_to("maintenance", Maintenance.doctor)

    # -- export and import -----------------------------------------------------------
    export_snapshot = _handed_to("transfer", Transfer.export_snapshot)
    export_bytes = _handed_to("transfer", Transfer.export_bytes)
    export_to_file = _handed_to("transfer", Transfer.export_to_file)
    export_all = _handed_to("transfer", Transfer.export_all)
    import_snapshot = _handed_to("transfer", Transfer.import_snapshot)
    import_from = _handed_to("imports", Imports.import_from)


def parts_of(chit: Chit) -> Parts:
    """The parts behind `chit`, for chit's own command line and REPL (not
    part of the public API)."""
    return chit._parts
