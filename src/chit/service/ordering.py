"""The orders `list` gives sessions in (`ls --sort`).

Invariant: every order is a stable sort of the newest-first listing, so
sessions equal in the key stay newest first (then by id).
"""

from __future__ import annotations

from typing import NamedTuple

from chit.model import SessionSummary, Tokens, is_agent_key
from chit.service.when import within

#: `list`'s orders: each most first, ties newest first then by id
SORTS: tuple[str, ...] = ("updated", "created", "turns", "tokens")


def sort_summaries(found: list[SessionSummary], sort: str) -> list[SessionSummary]:
    """`found` (newest first) in the order `sort` names; a stable sort, so
    equal keys keep their newest-first order."""
    if sort == "created":
        return sorted(found, key=lambda s: s.created_at, reverse=True)
    if sort == "turns":
        return sorted(found, key=lambda s: s.turns, reverse=True)
    if sort == "tokens":
        return sorted(found, key=lambda s: token_total(s.tokens), reverse=True)
    return found


def token_total(tokens: Tokens | None) -> int:
    """Input plus output tokens (a count no message reported is 0)."""
    return 0 if tokens is None else (tokens.input or 0) + (tokens.output or 0)


class Narrowing(NamedTuple):
    """What a listing keeps of the sessions (every tag, a run state, last
    update within [since, until], sub-agents or not), in which order
    (`sort`) and how many (`limit`; None: all)."""

    tags: tuple[str, ...] = ()
    state: str | None = None
    since: str | None = None
    until: str | None = None
    sort: str = "updated"
    limit: int | None = None
    agents: bool = True
    ids: frozenset[str] | None = None  # only these sessions (None: every one)

    @property
    def plain(self) -> bool:
        """Whether the index's rows, newest first, answer with `limit` as it is."""
        return len(self.tags) <= 1 and self.since is None and self.until is None and self.sort == "updated" and self.ids is None

    def keeps(self, summary: SessionSummary) -> bool:
        return (
            set(self.tags) <= set(summary.tags)
            and (self.state is None or summary.state == self.state)
            and within(summary.updated_at, self.since, self.until)
            and (self.agents or not is_agent_key(summary.key))
            and (self.ids is None or summary.id in self.ids)
        )

    def ordered(self, found: list[SessionSummary]) -> list[SessionSummary]:
        """The sessions of `found` it keeps, in its order, at most `limit`."""
        kept = sorted((s for s in found if self.keeps(s)), key=lambda s: s.id)
        kept.sort(key=lambda s: s.updated_at, reverse=True)
        kept = sort_summaries(kept, self.sort)
        return kept if self.limit is None else kept[: self.limit]
