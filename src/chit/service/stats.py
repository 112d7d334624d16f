"""Usage at a glance: sessions, turns, messages, tokens and cost.

Invariants:
- the figures are those of the live messages of the sessions in scope;
  `since`/`until` keep the messages written in that window, and a session
  counts where it has one of them;
- they come from the index (messages, turns and tokens per session and
  day, `chit.index.usage`) once it has read the files' new lines; the
  files are read only for what the index does not hold, a message's
  model: every session's for `by="model"`, and for cost only the sessions
  with a message that recorded tokens in the window (no other message
  costs anything). When the index cannot answer, every file is read;
- groups: by project, by model (a message without one is under "-"), or
  by day (the message's UTC date); `days` always holds the messages per
  day, for the activity chart;
- cost is counted only for models with a price (per million tokens in
  and out); `cost` is None when no message had a priced model;
- nothing here writes;
- counting the index's rows of many projects, one project at a time, and
  reading session files (each one's models, or its cost) are told past a
  second through `report_progress` (set by the command line).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from chit.errors import InvalidInput, NotFound
from chit.service.ticker import Report, told
from chit.service.when import window, within

if TYPE_CHECKING:
    from chit.index.db import Index
    from chit.index.usage import DayCount
    from chit.model import Message, Project
    from chit.service.base import Context

GROUPINGS: tuple[str, ...] = ("project", "model", "day")
UNKNOWN = "-"
report_progress: Report | None = None  # (what, done, total); the command line sets it


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
            self.charge(message, price)

    def add_counts(self, counts: DayCount) -> None:
        self.messages += counts.messages
        self.turns += counts.turns
        self.tokens_in += counts.tokens_in
        self.tokens_out += counts.tokens_out

    def charge(self, message: Message, price: Price | None) -> None:
        """Add what `message` cost, when it recorded tokens and its model has a price."""
        tokens = message.tokens
        if tokens is not None and price is not None:
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
        if by != "model":
            counts = self.ctx.indexed(lambda index: _counted(index, scope, start, end))
            if counts is not None:
                return self._from_counts(counts, scope, by, start, end, prices or {})
        return self._from_files(scope, by, start, end, prices or {})

    def _from_files(self, scope: list[Project], by: str | None, start: str | None, end: str | None,
                    prices: Mapping[str, Price]) -> Stats:
        """Every session of `scope` read from its file, one at a time (told
        past a second: every model's figures read a gigabyte)."""
        total = Figures()
        groups: dict[str, Figures] = {}
        days: dict[str, int] = {}
        listed = [(proj, session_id) for proj in scope for session_id in self.ctx.store.session_ids(proj.slug, False)]
        for proj, session_id in told(listed, "sessions read", report_progress):
            try:
                session = self.ctx.read_session(proj, session_id)
            except NotFound:
                continue  # deleted between listing and reading
            kept = [m for m in session.messages if within(m.ts, start, end)]
            if not kept:
                continue
            total.sessions += 1
            touched: set[str] = set()
            for message in kept:
                price = prices.get(message.model or "")
                total.add(message, price)
                days[message.ts[:10]] = days.get(message.ts[:10], 0) + 1
                if by is not None:
                    key = _key(by, proj, message)
                    groups.setdefault(key, Figures()).add(message, price)
                    touched.add(key)
            for key in touched:
                groups[key].sessions += 1
        return _stats(total, by, groups, days, start, end)

    def _from_counts(self, counts: list[DayCount], scope: list[Project], by: str | None, start: str | None,
                     end: str | None, prices: Mapping[str, Price]) -> Stats:
        """The index's counts per session and day; the files of the
        sessions that may have cost something are read for their models."""
        projects = {p.slug: p for p in scope}
        total = Figures()
        groups: dict[str, Figures] = {}
        days: dict[str, int] = {}
        sessions: set[tuple[str, str]] = set()
        touched: dict[str, set[tuple[str, str]]] = {}
        for row in counts:
            total.add_counts(row)
            days[row.day] = days.get(row.day, 0) + row.messages
            sessions.add((row.slug, row.session_id))
            if by is not None:
                key = projects[row.slug].name if by == "project" else row.day
                groups.setdefault(key, Figures()).add_counts(row)
                touched.setdefault(key, set()).add((row.slug, row.session_id))
        total.sessions = len(sessions)
        for key, found in touched.items():
            groups[key].sessions = len(found)
        if prices:
            priced = {(row.slug, row.session_id) for row in counts if row.counted}
            self._charge(sorted(priced), projects, by, start, end, prices, total, groups)
        return _stats(total, by, groups, days, start, end)

    def _charge(self, sessions: list[tuple[str, str]], projects: dict[str, Project], by: str | None, start: str | None,
                end: str | None, prices: Mapping[str, Price], total: Figures, groups: dict[str, Figures]) -> None:
        """Add the cost of these sessions' messages in the window (read from their files)."""
        for slug, session_id in told(sessions, "sessions read for their cost", report_progress):
            try:
                session = self.ctx.read_session(projects[slug], session_id)
            except NotFound:
                continue  # deleted since the index was read
            for message in session.messages:
                if message.tokens is None or not within(message.ts, start, end):
                    continue
                price = prices.get(message.model or "")
                total.charge(message, price)
                if by is not None:
                    groups.setdefault(_key(by, projects[slug], message), Figures()).charge(message, price)


def _counted(index: Index, scope: list[Project], start: str | None, end: str | None) -> list[DayCount]:
    """The index's counts for `scope`, once it has read the files' new lines."""
    from chit.index.usage import day_counts

    if not index.refresh([(p.slug, False) for p in scope]):
        return []  # no index and no session file
    counts: list[DayCount] = []
    for proj in told(scope, "projects counted", report_progress):  # one query each: a long count is told
        counts += day_counts(index, [proj.slug], start, end)
    return counts


def _stats(total: Figures, by: str | None, groups: dict[str, Figures], days: dict[str, int], start: str | None,
           end: str | None) -> Stats:
    """The result, groups in order: most messages first (days oldest first)."""
    ordered = sorted(groups.items(), key=lambda kv: kv[0] if by == "day" else (-kv[1].messages, kv[0]))
    return Stats(total, by, dict(ordered), dict(sorted(days.items())), start, end)


def _key(by: str, project: Project, message: Message) -> str:
    if by == "project":
        return project.name
    if by == "model":
        return message.model or UNKNOWN
    return message.ts[:10]
