"""Fork trees and two sessions compared: the values `Lineage.tree` and
`Lineage.diff` return (chit.service.lineage) and the functions building
them from summaries and messages. A module apart: `show` and `load`, which
only look up a session's forks, build none of these classes.

Invariants: as chit.service.lineage states them (a tree from the
recorded parentage among one project's live sessions; a diff by content,
turn by turn); nothing here reads or writes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from typing import Any

from chit.model import Message, Session, SessionSummary
from chit.value import Value, value_type


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



def members(forks: dict[str, tuple[str | None, int | None]]) -> frozenset[str]:
    """The sessions of every fork tree: each fork and each parent."""
    return frozenset(forks) | {parent for parent, _ in forks.values() if parent is not None}


def fork_turns_of(forks: dict[str, tuple[str | None, int | None]]) -> dict[str, int | None]:
    """The recorded fork turn of each fork, by id."""
    return {session_id: turn for session_id, (_, turn) in forks.items()}


def roots_of(found: Sequence[SessionSummary], fork_turns: dict[str, int | None]) -> list[TreeNode]:
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


def turns_of(messages: Sequence[Message]) -> list[tuple[int | None, tuple[Message, ...]]]:
    """Messages grouped into turns, in order: (turn number, its messages)."""
    groups: list[tuple[int | None, list[Message]]] = []
    for message in messages:
        if not groups or groups[-1][0] != message.turn:
            groups.append((message.turn, []))
        groups[-1][1].append(message)
    return [(turn, tuple(found)) for turn, found in groups]


def same_turns(a: Sequence[Message], b: Sequence[Message]) -> bool:
    """Whether two turns hold the same messages (role and text)."""
    return [(m.role, m.content) for m in a] == [(m.role, m.content) for m in b]


def recorded_fork(a: Session, b: Session) -> dict[str, Any] | None:
    """The fork one session's header records when the other is its parent."""
    for parent, child in ((a, b), (b, a)):
        if child.parent is not None and child.parent.id == parent.id:
            return {"parent": parent.id, "child": child.id, "turn": child.parent.turn}
    return None


def _message_lines(turn: int | None, messages: Sequence[Message]) -> Iterator[str]:
    for message in messages:
        yield f"## {'preamble' if turn is None else f'turn {turn}'} · {message.role}"
        yield from message.content.splitlines() or [""]
