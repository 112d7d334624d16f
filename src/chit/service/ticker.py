"""Progress of one pass over many session files (a listing or a search
reading the files the index is behind on), told on stderr by the command
line through a `report` callable.

Invariant: nothing is told during the pass's first PROGRESS_AFTER seconds
(a quick pass stays silent), then at most once every PROGRESS_EVERY; the
closing "done" is told only when something was told before it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

PROGRESS_AFTER = 1.0  # seconds a pass runs before it reports
PROGRESS_EVERY = 1.0

#: (what, done, total)
Report = Callable[[str, int, int], None]
Item = TypeVar("Item")


class Ticker:
    def __init__(self, total: int, what: str, report: Report | None) -> None:
        self.total = total
        self.what = what
        self.report = report
        self.started = time.monotonic()
        self.shown = 0.0

    def tick(self, done: int) -> None:
        """`done` of the total files are read."""
        now = time.monotonic()
        if self.report is not None and now - self.started >= PROGRESS_AFTER and now - self.shown >= PROGRESS_EVERY:
            self.shown = now
            self.report(self.what, done, self.total)

    def phase(self, what: str, total: int) -> None:
        """The pass goes on with other work (`what`, `total` of it); its
        clock runs on, so a pass already reporting goes on reporting."""
        self.what, self.total = what, total

    def finish(self) -> None:
        if self.report is not None and self.shown:
            self.report("done", 0, 0)


def told(items: Sequence[Item], what: str, report: Report | None) -> Iterator[Item]:
    """`items` one by one, telling `report` past PROGRESS_AFTER how many of
    them the caller is done with (a run over many sessions: rm, gc,
    emptying the trash, moving a project)."""
    ticker = Ticker(len(items), what, report)
    try:
        for done, item in enumerate(items):
            ticker.tick(done)
            yield item
        ticker.tick(len(items))
    finally:
        ticker.finish()
