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

import difflib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from chit.errors import InvalidInput
from chit.model import Message, Project, Session, SessionSummary
from chit.value import Value, value_type

if TYPE_CHECKING:
    from chit.index.db import Index
    from chit.service.base import Context
    from chit.service.queries import Queries


@value_type
class TreeNode(Value):
    """A session in a fork tree: its summary, the turn it was forked at
    (None for a root, or a fork of an empty session) and its forks, oldest first."""

    summary: SessionSummary
    fork_turn: int | None
    children: tuple[TreeNode, ...] = ()

    def __init__(self, summary: SessionSummary, fork_turn: int | None, children: tuple[TreeNode, ...] = ()) -> None:
        self.__dict__.update(summary=summary, fork_turn=fork_turn, children=children)

    def walk(self, depth: int = 0) -> Iterator[tuple[int, TreeNode]]:
        """(depth, node) of this node and every descendant, depth first."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)


@value_type
class Tree(Value):
    """The fork trees asked for; `focus` is the session asked about (None with --all)."""

    roots: tuple[TreeNode, ...]
    focus: str | None = None

    def __init__(self, roots: tuple[TreeNode, ...], focus: str | None = None) -> None:
        self.__dict__.update(roots=roots, focus=focus)

    def as_dict(self) -> dict[str, Any]:
        nodes = []
        edges = []
        for root in self.roots:
            for depth, node in root.walk():
                nodes.append({**node.summary.as_dict(), "depth": depth, "fork_turn": node.fork_turn, "focus": node.summary.id == self.focus})
                edges += [{"parent": node.summary.id, "child": c.summary.id, "turn": c.fork_turn} for c in node.children]
        return {"focus": self.focus, "nodes": nodes, "edges": edges}


@value_type
class TurnPair(Value):
    """One turn that differs: its messages in each session (empty where a
    session has no such turn)."""

    turn: int | None
    a: tuple[Message, ...]
    b: tuple[Message, ...]

    def __init__(self, turn: int | None, a: tuple[Message, ...], b: tuple[Message, ...]) -> None:
        self.__dict__.update(turn=turn, a=a, b=b)

    def as_dict(self) -> dict[str, Any]:
        return {"turn": self.turn, "a": [m.as_dict() for m in self.a], "b": [m.as_dict() for m in self.b]}


@value_type
class SessionDiff(Value):
    """Two sessions compared turn by turn. `shared` turns are equal in
    both (the fork point is the last of them, `fork_turn`); `turns` are
    the ones after it, paired by position; `recorded` is the fork turn one
    session's header gives when the other is its parent."""

    a: SessionSummary
    b: SessionSummary
    shared: int
    fork_turn: int | None
    recorded: dict[str, Any] | None
    turns: tuple[TurnPair, ...] = ()

    def __init__(
        self, a: SessionSummary, b: SessionSummary, shared: int, fork_turn: int | None, recorded: dict[str, Any] | None,
        turns: tuple[TurnPair, ...] = (),
    ) -> None:
        self.__dict__.update(a=a, b=b, shared=shared, fork_turn=fork_turn, recorded=recorded, turns=turns)

    @property
    def unified(self) -> list[str]:
        """The differing turns as a unified diff of the messages' text, lines without ends."""
        before = [line for pair in self.turns for line in _message_lines(pair.turn, pair.a)]
        after = [line for pair in self.turns for line in _message_lines(pair.turn, pair.b)]
        return list(difflib.unified_diff(before, after, self.a.short_id, self.b.short_id, lineterm=""))

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.as_dict(),
            "b": self.b.as_dict(),
            "shared_turns": self.shared,
            "fork_turn": self.fork_turn,
            "recorded_fork": self.recorded,
            "turns": [t.as_dict() for t in self.turns],
            "diff": "\n".join(self.unified),
        }


class Lineage:
    """Fork trees and comparisons over the sessions `queries` reads."""

    def __init__(self, ctx: Context, queries: Queries) -> None:
        self.ctx = ctx
        self.queries = queries

    def tree(self, ref: str | None = None, project: str | None = None, *, all_trees: bool = False) -> Tree:
        """The fork tree holding the session REF names (from its root down),
        or with `all_trees` every tree of the project holding a fork."""
        if all_trees:
            scope = self.ctx.project(project)
            forks = self._forks(scope)
            roots = _roots(self.queries.select_summaries([scope], agents=False, ids=_members(forks)), _fork_turns_of(forks))
            return Tree(tuple(r for r in roots if r.children))
        session = self.queries.resolve(ref, project)
        scope = self.ctx.locate(session.id)
        forks = self._forks(scope)
        found = self.queries.select_summaries([scope], ids=_members(forks) | {session.id})  # sub-agents' sessions too: REF may name one
        by_id = {s.id: s for s in found}
        top = session.id
        seen = {top}
        while (parent := by_id[top].parent_id if top in by_id else None) in by_id and parent not in seen:
            assert parent is not None
            seen.add(parent)
            top = parent
        roots = _roots(found, _fork_turns_of(forks))
        return Tree(tuple(r for r in roots if r.summary.id == top), focus=session.id)

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
        first = self.queries.resolve(a, project)
        second = self.queries.resolve(b, project)
        if first.id == second.id:
            raise InvalidInput(f"both references name session {first.short_id}; give two sessions")
        left, right = _turns(first.messages), _turns(second.messages)
        shared = 0
        while shared < min(len(left), len(right)) and _same(left[shared][1], right[shared][1]):
            shared += 1
        fork_turn = left[shared - 1][0] if shared else None
        pairs = []
        for i in range(shared, max(len(left), len(right))):
            turn = left[i][0] if i < len(left) else right[i][0]
            pairs.append(TurnPair(turn, left[i][1] if i < len(left) else (), right[i][1] if i < len(right) else ()))
        return SessionDiff(
            self._summary(first), self._summary(second), shared, fork_turn, _recorded(first, second), tuple(pairs)
        )

    def _summary(self, session: Session) -> SessionSummary:
        return session.summary(self.ctx.locate(session.id).name)

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


def _members(forks: dict[str, tuple[str | None, int | None]]) -> frozenset[str]:
    """The sessions of every fork tree: each fork and each parent."""
    return frozenset(forks) | {parent for parent, _ in forks.values() if parent is not None}


def _fork_turns_of(forks: dict[str, tuple[str | None, int | None]]) -> dict[str, int | None]:
    return {session_id: turn for session_id, (_, turn) in forks.items()}


def _roots(found: Sequence[SessionSummary], fork_turns: dict[str, int | None]) -> list[TreeNode]:
    """The trees of `found`: roots newest first, each node's forks oldest first."""
    ids = {s.id for s in found}
    kids: dict[str, list[SessionSummary]] = {}
    for s in found:
        if s.parent_id is not None and s.parent_id in ids and s.parent_id != s.id:
            kids.setdefault(s.parent_id, []).append(s)

    def build(s: SessionSummary, path: frozenset[str]) -> TreeNode:
        below = sorted(kids.get(s.id, ()), key=lambda c: (c.created_at, c.id))
        return TreeNode(s, fork_turns.get(s.id), tuple(build(c, path | {c.id}) for c in below if c.id not in path))

    return [build(s, frozenset({s.id})) for s in found if s.parent_id is None or s.parent_id not in ids or s.parent_id == s.id]


def _turns(messages: Sequence[Message]) -> list[tuple[int | None, tuple[Message, ...]]]:
    """Messages grouped into turns, in order: (turn number, its messages)."""
    groups: list[tuple[int | None, list[Message]]] = []
    for message in messages:
        if not groups or groups[-1][0] != message.turn:
            groups.append((message.turn, []))
        groups[-1][1].append(message)
    return [(turn, tuple(found)) for turn, found in groups]


def _same(a: Sequence[Message], b: Sequence[Message]) -> bool:
    return [(m.role, m.content) for m in a] == [(m.role, m.content) for m in b]


def _recorded(a: Session, b: Session) -> dict[str, Any] | None:
    for parent, child in ((a, b), (b, a)):
        if child.parent is not None and child.parent.id == parent.id:
            return {"parent": parent.id, "child": child.id, "turn": child.parent.turn}
    return None


def _message_lines(turn: int | None, messages: Sequence[Message]) -> Iterator[str]:
    for message in messages:
        yield f"## {'preamble' if turn is None else f'turn {turn}'} · {message.role}"
        yield from message.content.splitlines() or [""]
