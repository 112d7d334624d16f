"""How sessions relate: fork trees, children, and two sessions compared.

Invariants:
- a tree is built from the recorded parentage (`parent` in each header)
  among the live sessions of one project; a session whose parent is gone
  (trashed, removed) is a root;
- `diff` finds the shared prefix by content, turn by turn (role and text
  of every message), never by the recorded parentage alone, so a fork,
  a copy and two unrelated sessions all compare; the recorded fork turn
  is given beside it when one session is the other's parent;
- nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from chit.errors import InvalidInput
from chit.model import Project, Session, SessionSummary

if TYPE_CHECKING:
    from chit.index.db import Index
    from chit.service.base import Context
    from chit.service.queries import Queries
    from chit.service.trees import SessionDiff, Tree


class Lineage:
    """Fork trees and comparisons over the sessions `queries` reads."""

    def __init__(self, ctx: Context, queries: Queries) -> None:
        self.ctx = ctx
        self.queries = queries

    def tree(self, ref: str | None = None, project: str | None = None, *, all_trees: bool = False) -> Tree:
        """The fork tree holding the session REF names (from its root down),
        or with `all_trees` every tree of the project holding a fork."""
        from chit.service.trees import Tree, fork_turns_of, members, roots_of

        if all_trees:
            scope = self.ctx.project(project)
            forks = self._forks(scope)
            trees = roots_of(self.queries.select_summaries([scope], agents=False, ids=members(forks)), fork_turns_of(forks))
            return Tree(tuple(r for r in trees if r.children))
        scope, session_id = self.queries.locate_ref(ref, project)
        session = self.ctx.read_session(scope, session_id)
        forks = self._forks(scope)
        found = self.queries.select_summaries([scope], ids=members(forks) | {session.id})  # sub-agents' sessions too: REF may name one
        by_id = {s.id: s for s in found}
        top = session.id
        seen = {top}
        while (parent := by_id[top].parent_id if top in by_id else None) in by_id and parent not in seen:
            assert parent is not None
            seen.add(parent)
            top = parent
        trees = roots_of(found, fork_turns_of(forks))
        return Tree(tuple(r for r in trees if r.summary.id == top), focus=session.id)

    def children(self, session: Session) -> list[SessionSummary]:
        """The live forks of `session` in its project, oldest first: from the
        index's parent lookup, or by listing the project when it cannot answer."""
        scope = self.ctx.locate(session.id)

        def from_index(index: Index) -> list[SessionSummary]:
            from chit.index.relatives import forks_of, has_forks

            if not index.refresh_if_changed([scope.slug]):
                return []
            if not has_forks(index, scope.slug, session.id):  # nearly always: no summary to bring up to date
                return []
            return forks_of(index, scope, session.id) if index.refresh([(scope.slug, False)]) else []

        found = self.ctx.indexed(from_index)
        if found is not None:
            return found
        every = self.queries.select_summaries([scope])
        return sorted((s for s in every if s.parent_id == session.id), key=lambda s: (s.created_at, s.id))

    def fork_counts(self, summaries: Sequence[SessionSummary]) -> dict[str, int]:
        """Number of live forks of each of `summaries`, by id (a session
        without forks is left out): from the index's parent lookup, or by
        listing their projects when the index cannot answer."""
        projects = {p.key: p for p in self.ctx.projects.all()}
        projects.update({p.slug: p for p in projects.values()})
        parents = {s.id: projects[s.project].slug for s in summaries if s.project in projects}

        def from_index(index: Index) -> dict[str, int]:
            from chit.index.search import fork_counts

            scope = [projects[slug] for slug in set(parents.values())]
            behind = self.queries.listing_lag(index, scope)
            if behind is not None:
                from chit.service.list_fresh import fork_counts_lagging

                return fork_counts_lagging(self.ctx, index, behind, parents)
            if not index.refresh([(slug, False) for slug in set(parents.values())]):
                return {}
            return fork_counts(index, parents)

        found = self.ctx.indexed(from_index)
        if found is not None:
            return found
        counts: dict[str, int] = {}
        scope = list({projects[slug].slug: projects[slug] for slug in parents.values()}.values())
        for s in self.queries.select_summaries(scope):
            if s.parent_id in parents:
                counts[s.parent_id] = counts.get(s.parent_id, 0) + 1
        return counts

    def diff(self, a: str, b: str, project: str | None = None) -> SessionDiff:
        """Sessions `a` and `b` compared turn by turn (see `SessionDiff`)."""
        from chit.service.trees import SessionDiff, TurnPair, recorded_fork, same_turns, turns_of

        first = self.queries.resolve(a, project)
        second = self.queries.resolve(b, project)
        if first.id == second.id:
            raise InvalidInput(f"both references name session {first.short_id}; give two sessions")
        left, right = turns_of(first.messages), turns_of(second.messages)
        shared = 0
        while shared < min(len(left), len(right)) and same_turns(left[shared][1], right[shared][1]):
            shared += 1
        fork_turn = left[shared - 1][0] if shared else None
        pairs = []
        for i in range(shared, max(len(left), len(right))):
            turn = left[i][0] if i < len(left) else right[i][0]
            pairs.append(TurnPair(turn, left[i][1] if i < len(left) else (), right[i][1] if i < len(right) else ()))
        return SessionDiff(
            self._summary(first), self._summary(second), shared, fork_turn, recorded_fork(first, second), tuple(pairs)
        )

    def _summary(self, session: Session) -> SessionSummary:
        where = self.ctx.locate(session.id)
        return session.summary(where.name, where.slug)

    def _forks(self, scope: Project) -> dict[str, tuple[str | None, int | None]]:
        """The parent's id and the recorded fork turn of each session with a
        parent, by id (header lines only: a tree is folded for its members only)."""
        forks: dict[str, tuple[str | None, int | None]] = {}
        for session_id in self.ctx.store.session_ids(scope.slug):
            header = self.ctx.store.read_header(scope.slug, session_id)
            parent = header.get("parent") if header else None
            if isinstance(parent, dict):
                turn, parent_id = parent.get("turn"), parent.get("id")
                forks[session_id] = (
                    parent_id if isinstance(parent_id, str) else None,
                    turn if isinstance(turn, int) and not isinstance(turn, bool) else None,
                )
        return forks
