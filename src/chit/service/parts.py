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
own between calls, so any number of them can share one context. The
public API (`chit.api.Chit`) is a facade over these parts; chit's own
command line and REPL use the parts directly where they need more than the
API offers (which project holds a session, a REF's id without reading it).
"""

from __future__ import annotations

from chit.service.base import Context
from chit.service.history import History
from chit.service.finding import Finder
from chit.service.imports import Imports
from chit.service.lifecycle import Maintenance
from chit.service.lineage import Lineage
from chit.service.projects_admin import ProjectAdmin
from chit.service.project_moves import ProjectMoves
from chit.service.queries import Queries
from chit.service.sessions import Sessions
from chit.service.snapshots import Transfer
from chit.service.stats import Usage


class Parts:
    """Every part of the service, composed over `ctx`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.queries = Queries(ctx)
        self.sessions = Sessions(ctx, self.queries)
        self.history = History(ctx, self.sessions)
        self.maintenance = Maintenance(ctx, self.queries, self.sessions)
        self.transfer = Transfer(ctx, self.queries, self.sessions)
        self.imports = Imports(ctx, self.queries, self.sessions)
        self.moves = ProjectMoves(ctx, self.queries)
        self.admin = ProjectAdmin(ctx, self.moves)
        self.finder = Finder(self.queries)
        self.lineage = Lineage(ctx, self.queries)
        self.usage = Usage(ctx)
