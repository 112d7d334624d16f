"""The service as separate parts over one shared context.

    ctx          the store, the projects, the index and the scope (`base.Context`)
    queries      reading: resolve a REF, list, find, search, the current session
    finder       search by words and phrases, hits grouped by session
    sessions     writing: create, append, cut back, fork, titles, tags, state
    history      undo, and replacing a session's messages (update, save)
    maintenance  trash, restore, cleanup, running/stuck, compact, doctor
    transfer     exports, snapshots out and back in
    imports      other tools' sessions
    lineage      fork trees, forks of a session, two sessions compared
    usage        stats: sessions, turns, messages, tokens and cost
    moves        projects that move; admin: projects renamed or removed

A part holds the context and the parts it builds on, never state of its
own between calls, so any number of them can share one context. Each part
is built, and its module imported, when it is first asked for: a command
that only reads loads `queries` and what it builds on, never a writer
(start-up time; tests/test_house_rules.py checks it). The
public API (`chit.api.Chit`) is a facade over these parts; chit's own
command line and REPL use the parts directly where they need more than the
API offers (which project holds a session, a REF's id without reading it).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from chit.service.base import Context

if TYPE_CHECKING:
    from chit.service.finding import Finder
    from chit.service.history import History
    from chit.service.imports import Imports
    from chit.service.lifecycle import Maintenance
    from chit.service.lineage import Lineage
    from chit.service.project_moves import ProjectMoves
    from chit.service.projects_admin import ProjectAdmin
    from chit.service.queries import Queries
    from chit.service.sessions import Sessions
    from chit.service.snapshots import Transfer
    from chit.service.stats import Usage


class Parts:
    """Every part of the service, composed over `ctx`, each built on first use."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @cached_property
    def queries(self) -> Queries:
        from chit.service.queries import Queries

        return Queries(self.ctx)

    @cached_property
    def sessions(self) -> Sessions:
        from chit.service.sessions import Sessions

        return Sessions(self.ctx, self.queries)

    @cached_property
    def history(self) -> History:
        from chit.service.history import History

        return History(self.ctx, self.sessions)

    @cached_property
    def maintenance(self) -> Maintenance:
        from chit.service.lifecycle import Maintenance

        return Maintenance(self.ctx, self.queries, self.sessions)

    @cached_property
    def transfer(self) -> Transfer:
        from chit.service.snapshots import Transfer

        return Transfer(self.ctx, self.queries, self.sessions)

    @cached_property
    def imports(self) -> Imports:
        from chit.service.imports import Imports

        return Imports(self.ctx, self.queries, self.sessions)

    @cached_property
    def moves(self) -> ProjectMoves:
        from chit.service.project_moves import ProjectMoves

        return ProjectMoves(self.ctx, self.queries)

    @cached_property
    def admin(self) -> ProjectAdmin:
        from chit.service.projects_admin import ProjectAdmin

        return ProjectAdmin(self.ctx, self.moves)

    @cached_property
    def finder(self) -> Finder:
        from chit.service.finding import Finder

        return Finder(self.queries)

    @cached_property
    def lineage(self) -> Lineage:
        from chit.service.lineage import Lineage

        return Lineage(self.ctx, self.queries)

    @cached_property
    def usage(self) -> Usage:
        from chit.service.stats import Usage

        return Usage(self.ctx)
