"""The orders `list` gives sessions in (`ls --sort`).

Invariant: every order is a stable sort of the newest-first listing, so
sessions equal in the key stay newest first (then by id).
"""

from __future__ import annotations

from chit.model import SessionSummary, Tokens

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
