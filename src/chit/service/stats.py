"""Usage at a glance: sessions, turns, messages, tokens and cost.

Invariants:
- the figures come from the live messages of the sessions in scope, read
  from their files (a message's model and tokens are not in the index);
  `since`/`until` keep the messages written in that window, and a session
  counts where it has one of them;
- groups: by project, by model (a message without one is under "-"), or
  by day (the message's UTC date); `days` always holds the messages per
  day, for the activity chart;
- cost is counted only for models with a price (per million tokens in
  and out); `cost` is None when no message had a priced model;
- nothing here writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from chit.errors import InvalidInput
from chit.service.when import window, within

if TYPE_CHECKING:
    from chit.model import Message, Project
    from chit.service.base import Context

GROUPINGS: tuple[str, ...] = ("project", "model", "day")
UNKNOWN = "-"


@dataclass(frozen=True)
class Price:
    """What a model costs, per million tokens."""

    input: float
    output: float


@dataclass
class Figures:
    """Totals for one group (or all)."""

    sessions: int = 0
    turns: int = 0
    messages: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = None

    def add(self, message: Message, price: Price | None) -> None:
        self.messages += 1
        self.turns += message.role == "user"
        tokens = message.tokens
        if tokens is not None:
            self.tokens_in += tokens.input or 0
            self.tokens_out += tokens.output or 0
            if price is not None:
                spent = ((tokens.input or 0) * price.input + (tokens.output or 0) * price.output) / 1_000_000
                self.cost = (self.cost or 0.0) + spent

    def as_dict(self) -> dict[str, Any]:
        cost = None if self.cost is None else round(self.cost, 6)
        return {"sessions": self.sessions, "turns": self.turns, "messages": self.messages,
                "tokens_in": self.tokens_in, "tokens_out": self.tokens_out, "cost": cost}


@dataclass(frozen=True)
class Stats:
    """The totals, each group's (in order: most messages first, days oldest
    first) and messages per day."""

    total: Figures
    by: str | None
    groups: dict[str, Figures] = field(default_factory=dict)
    days: dict[str, int] = field(default_factory=dict)
    since: str | None = None
    until: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "total": self.total.as_dict(),
            "by": self.by,
            "groups": [{"key": k, **f.as_dict()} for k, f in self.groups.items()],
            "days": [{"day": d, "messages": n} for d, n in self.days.items()],
        }


class Usage:
    """The stats of the sessions in a scope."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def stats(
        self,
        project: str | None = None,
        *,
        all_projects: bool = False,
        since: str | None = None,
        until: str | None = None,
        by: str | None = None,
        prices: Mapping[str, Price] | None = None,
    ) -> Stats:
        """Sessions, turns, messages, tokens and cost of the project in scope
        (or every project), within `since`/`until`, grouped `by` project,
        model or day; `prices` by model name."""
        if by is not None and by not in GROUPINGS:
            raise InvalidInput(f"unknown grouping {by!r} (expected one of: {', '.join(GROUPINGS)})")
        start, end = window(since, until, datetime.now(timezone.utc))
        scope = self.ctx.projects.all() if all_projects else [self.ctx.project(project)]
        total = Figures()
        groups: dict[str, Figures] = {}
        days: dict[str, int] = {}
        for proj in scope:
            for session in self.ctx.sessions_in(proj):
                kept = [m for m in session.messages if within(m.ts, start, end)]
                if not kept:
                    continue
                total.sessions += 1
                touched: set[str] = set()
                for message in kept:
                    price = (prices or {}).get(message.model or "")
                    total.add(message, price)
                    days[message.ts[:10]] = days.get(message.ts[:10], 0) + 1
                    if by is not None:
                        key = _key(by, proj, message)
                        groups.setdefault(key, Figures()).add(message, price)
                        touched.add(key)
                for key in touched:
                    groups[key].sessions += 1
        ordered = sorted(groups.items(), key=lambda kv: kv[0] if by == "day" else (-kv[1].messages, kv[0]))
        return Stats(total, by, dict(ordered), dict(sorted(days.items())), start, end)


def _key(by: str, project: Project, message: Message) -> str:
    if by == "project":
        return project.name
    if by == "model":
        return message.model or UNKNOWN
    return message.ts[:10]
