"""A session's summary as the index's `sessions` table holds it: the
columns every summary query selects and the one function that turns such
a row into a `SessionSummary`.

Invariants: `SUMMARY_COLUMNS` are the first 17 columns of the row
`summary_from_row` reads, in that order, from the table aliased `s`;
`AGENTS_COUNT`, when selected, is the 18th; without it the summary counts
no sub-agents. Shared by `chit.index.search` (listings, one session) and
`chit.index.relatives` (forks, sub-agents), so both give the same summary
of the same row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from chit.model import AFTER_AGENT_KEY, AGENT_KEY, Project, SessionSummary, Tokens, derive_title

SUMMARY_COLUMNS = (
    "s.slug, s.id, s.project, s.manual_title, s.first_title, s.tags, s.turns, s.messages, s.created_at,"
    " s.updated_at, s.state, s.key, s.parent_id, s.deleted_at, s.tokens, s.tokens_in, s.tokens_out"
)
"""The columns of a summary row, from the `sessions` table aliased `s`."""

# named INDEXED BY, since SQLite otherwise walks every session of the
# project for each listed row (10 ms for 20 rows of a 700-session project)
AGENTS_COUNT = (
    f"CASE WHEN s.key IS NULL THEN 0 ELSE (SELECT count(*) FROM sessions c INDEXED BY sessions_key"
    f" WHERE c.key >= s.key || '{AGENT_KEY}' AND c.key < s.key || '{AFTER_AGENT_KEY}'"
    " AND c.slug = s.slug AND c.trash = 0) END"
)
"""An expression counting the live sub-agent sessions of row `s` (keyed
`<key>/agent-…` in the same project): a range on the key index, AGENT_KEY
up to the string just after it."""


def session_title(manual: str | None, first: str | None) -> str:
    """A session's title from its row: the manual title if set, else the
    title derived from its first message, else the default title."""
    if manual is not None:
        return manual
    return first if first is not None else derive_title(None)


def summary_from_row(row: Sequence[Any], project: Project) -> SessionSummary:
    """The summary of a row of `SUMMARY_COLUMNS` (then, optionally,
    `AGENTS_COUNT`) of a session of `project`."""
    slug, sid, key, manual, first, tags, turns, count, created, updated, run, skey, parent, deleted, counted, tin, tout = row[:17]
    return SessionSummary(
        id=sid, project=key if key is not None else project.key, project_name=project.name,
        title=session_title(manual, first), tags=tuple(orjson.loads(tags)), turns=turns, messages=count,
        created_at=created, updated_at=updated, state=run, key=skey, parent_id=parent, deleted_at=deleted,
        tokens=Tokens(tin, tout) if counted else None,
        agents=row[17] if len(row) > 17 and row[17] else 0, project_slug=slug,
    )
