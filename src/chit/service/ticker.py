"""Progress of one pass over many session files (a listing or a search
reading the files the index is behind on), told on stderr by the command
line through a `report` callable.

Invariant: nothing is told during the pass's first PROGRESS_AFTER seconds
(a quick pass stays silent), then at most once every PROGRESS_EVERY; the
closing "done" is told only when something was told before it.
A pass that first lists what it will do (gc, emptying the trash) starts
its clock before the listing: the listing, one long query, is told from a
helper thread with the seconds it has run and no count (done -1), and
the thread is joined before the pass goes on, so reports never overlap,
and it says nothing while the index tells its own catch-up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

PROGRESS_AFTER = 1.0  # seconds a pass runs before it reports
PROGRESS_EVERY = 1.0

#: (what, done, total); done -1: no count, only what is under way
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
        """End what was told (once: a second call tells nothing)."""
        if self.report is not None and self.shown:
            self.shown = 0.0
            self.report("done", 0, 0)

    @contextmanager
    def waiting(self, what: str) -> Iterator[None]:
        """Around work that cannot count (`what`, e.g. listing the
        sessions): told as `what` and its seconds so far, from a helper
        thread, while the work holds this one."""
        if self.report is None:
            yield
            return
        from chit.index import progress as index_progress

        started = time.monotonic()

        def tell() -> None:
            now = time.monotonic()
            if index_progress.telling:  # the index catching up under the listing: its line, not ours
                return
            if self.report is not None and now - self.started >= PROGRESS_AFTER and now - self.shown >= PROGRESS_EVERY:
                self.shown = now
                self.report(f"{what}, {now - started:.0f} s", -1, 0)

        tell()
        due = max(self.started + PROGRESS_AFTER, self.shown + PROGRESS_EVERY) - time.monotonic()
        with index_progress.telling_every(PROGRESS_EVERY, tell, first=due + 0.01):  # the first report as it falls due
            yield


@contextmanager
def told_while(what: str, report: Report | None, ticker: Ticker | None = None) -> Iterator[None]:
    """Around one long step that cannot count (`what`, e.g. a search
    through the index): its seconds told past PROGRESS_AFTER (of
    `ticker`'s clock, when given: it started before the step), its line
    ended after it."""
    ticker = ticker or Ticker(0, "", report)
    try:
        with ticker.waiting(what):
            yield
    finally:
        ticker.finish()


def told(items: Sequence[Item], what: str, report: Report | None, ticker: Ticker | None = None) -> Iterator[Item]:
    """`items` one by one, telling `report` past PROGRESS_AFTER how many of
    them the caller is done with (a run over many sessions: rm, gc,
    emptying the trash, moving a project); with `ticker`, the pass goes on
    under that one's clock (it listed the items)."""
    if ticker is None:
        ticker = Ticker(len(items), what, report)
    else:
        ticker.phase(what, len(items))
    try:
        for done, item in enumerate(items):
            ticker.tick(done)
            yield item
        ticker.tick(len(items))
    finally:
        ticker.finish()
