"""A session's relatives from the index: its forks (the parent index) and
its sub-agents' sessions (a range on the key index), each a lookup whatever
the size of its project.

Invariants: like every answer of `chit.index.search`, from rows that
`Index.refresh` has just brought up to date, and exactly what a summary of
every session of the project would give, oldest first. Whether there is
any (`has_forks`, `has_agents`) needs only what `Index.refresh_if_changed`
keeps current: a fork or a sub-agent's session is a file of its own, its
parent and key in its header.
"""

from __future__ import annotations

from chit.index.db import Index
from chit.index.summary_rows import AGENTS_COUNT, SUMMARY_COLUMNS, summary_from_row
from chit.model import AFTER_AGENT_KEY, AGENT_KEY, Project, SessionSummary


def forks_of(index: Index, project: Project, session_id: str) -> list[SessionSummary]:
    """The live forks of a session in its project, oldest first: a lookup on
    the parent index, whatever the size of the project."""
    rows = index.conn.execute(
        f"SELECT {SUMMARY_COLUMNS}, {AGENTS_COUNT} FROM sessions s INDEXED BY sessions_parent"
        " WHERE s.parent_id = ? AND s.slug = ? AND s.trash = 0 ORDER BY s.created_at, s.id",
        (session_id, project.slug),
    )
    return [summary_from_row(row, project) for row in rows]


def has_forks(index: Index, slug: str, session_id: str) -> bool:
    """Whether a session has a live fork in its project."""
    row = index.conn.execute(
        "SELECT 1 FROM sessions INDEXED BY sessions_parent WHERE parent_id = ? AND slug = ? AND trash = 0 LIMIT 1",
        (session_id, slug),
    ).fetchone()
    return row is not None


def has_agents(index: Index, slug: str, key: str) -> bool:
    """Whether the session keyed `key` has a live sub-agent's session in its project."""
    row = index.conn.execute(
        "SELECT 1 FROM sessions INDEXED BY sessions_key WHERE key >= ? AND key < ? AND slug = ? AND trash = 0 LIMIT 1",
        (key + AGENT_KEY, key + AFTER_AGENT_KEY, slug),
    ).fetchone()
    return row is not None


def agents_of(index: Index, project: Project, key: str) -> list[SessionSummary]:
    """The live sub-agent sessions of the session keyed `key` in its project
    (keyed `<key>/agent-…`), oldest first: a range on the key index."""
    rows = index.conn.execute(
        f"SELECT {SUMMARY_COLUMNS}, {AGENTS_COUNT} FROM sessions s INDEXED BY sessions_key"
        " WHERE s.key >= ? AND s.key < ? AND s.slug = ? AND s.trash = 0 ORDER BY s.created_at, s.id",
        (key + AGENT_KEY, key + AFTER_AGENT_KEY, project.slug),
    )
    return [summary_from_row(row, project) for row in rows]
