"""Progress of the index's long work, told through a (what, done, total)
callable that the command line sets (`chit.index.db.report_progress`).

A span is one refresh, or every refresh of a catch-up that brings many
projects up to date one at a time (`Index.reporting`): the user sees one
progress for the whole of it, never one per project.

Invariants:
- nothing is told during a span's first `after` seconds (a quick refresh
  stays silent), then at most once every `every` seconds, except that a
  change of phase already being told is told at once;
- over a span the counts only grow: the session files read and the
  messages whose text was added are summed over every refresh inside it;
- the total is the span's whole: the files read so far plus those its
  directories are still behind on, counted once when the first report is
  due (a quick span never pays for the count), and never below the files
  read (a file written meanwhile is read too);
- "done" is told once, at the span's end, only when something was told;
- a phase that is one long statement (FTS5's optimize) is told from a
  helper thread (`Span.waiting`) with the seconds it has run, so the line
  moves while the statement (and its commit) holds the main thread, the
  first tick as soon as a report is due; the thread is joined before the
  statement's caller goes on, so reports never overlap.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from chit.index.dirs import FileStat, snapshot

if TYPE_CHECKING:
    import sqlite3

    from chit.store.paths import Layout

#: (what, done, total or 0)
Report = Callable[[str, int, int], None]
#: a span of this process is being told (from its first report to its "done"): other
#: progress that would share its line waits (`chit.service.ticker.Ticker.waiting`)
telling = False


class Span:
    """What one span did so far, and when it last told it."""

    def __init__(self, report: Report | None, after: float, every: float, count_behind: Callable[[], int]) -> None:
        self.report = report
        self.after = after
        self.every = every
        self.count_behind = count_behind
        self.started = time.monotonic()
        self.shown_at = 0.0
        self.files_read = 0
        self.files_total: int | None = None
        self.text_added = 0  # by the transactions committed so far
        self.phase = ""
        self.phase_started = 0.0

    def file_read(self) -> None:
        self.files_read += 1
        self.tick()

    def text(self, committed: int, under_way: int = 0) -> None:
        """`committed` messages' text added by a finished transaction,
        `under_way` by the one still open."""
        self.text_added += committed
        self.tick(under_way)

    def enter(self, phase: str) -> None:
        """The span goes on with work counted by neither (compacting the
        text index): said at once if the span is being told."""
        self.phase = phase
        self.phase_started = time.monotonic()
        if self.shown_at:
            self.shown_at = 0.0  # due now
        self.tick()

    def tick(self, text_under_way: int = 0, counting: bool = True) -> None:
        """Tell the span if a report is due; `counting` False from the
        helper thread, which may not use the index's connection to count
        the files still behind (the total is then the files read)."""
        now = time.monotonic()
        if self.report is None or now - self.started < self.after or now - self.shown_at < self.every:
            return
        self.shown_at = now
        global telling
        telling = True
        if self.files_total is None and counting:
            self.files_total = self.files_read + self.count_behind()
        total = max(self.files_total or 0, self.files_read)
        text = self.text_added + text_under_way
        said = f"; {self.phase}, {now - self.phase_started:.0f} s" if self.phase else f", {text:,} messages indexed" if text else ""  # short: one terminal line
        self.report(f"session files read{said}", self.files_read, total)

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around one long statement of the current phase: the span is
        ticked from a helper thread (each tick telling the phase's seconds
        so far) until the statement returns."""
        if self.report is None:
            yield
            return
        due = self.shown_at + self.every - time.monotonic() if self.shown_at else self.started + self.after - time.monotonic()
        with telling_every(self.every, lambda: self.tick(counting=False), first=due + 0.01):  # the first tick as it falls due
            yield

    def finish(self) -> None:
        global telling
        if self.report is not None and self.shown_at:
            self.report("done", 0, 0)
            telling = False


def files_behind(conn: sqlite3.Connection, layout: Layout, dirs: Sequence[tuple[str, bool]]) -> int:
    """How many session files of these (slug, trash) directories a refresh
    would read now: those whose stat is not their row's."""
    behind = 0
    for slug, trash in dirs:
        snap, dfd = snapshot(layout, slug, trash)
        if dfd is not None:
            os.close(dfd)
        query = "SELECT id, size, mtime_ns, ino FROM sessions WHERE slug = ? AND trash = ?"
        rows = {row[0]: FileStat(*row) for row in conn.execute(query, (slug, int(trash)))}
        behind += sum(rows.get(file.id) != file for file in snap.files)
    return behind


def to_bar(progress: Callable[[int, int, str], None] | None) -> Report | None:
    """A span's reports as a (done, total, label) progress bar's updates
    (`chit import`'s): the files read of the total, labelled "indexing"
    (a bar has no room for more), the label set at once (before the
    first report is due); its end is the bar's, so "done" is not passed on."""
    if progress is None:
        return None
    bar = progress
    bar(0, 0, "indexing")

    def report(what: str, done: int, total: int) -> None:
        if what != "done":
            bar(done, total, "indexing")

    return report


@contextmanager
def telling_every(seconds: float, tell: Callable[[], None], first: float | None = None) -> Iterator[None]:
    """`tell()` every `seconds` from a helper thread until the block ends
    (a long step that cannot count its own progress); the first time after
    `first` seconds, when given (when the first report falls due)."""
    done = threading.Event()

    def keep_telling() -> None:
        wait = seconds if first is None else first
        while not done.wait(max(wait, 0.05)):
            tell()
            wait = seconds

    teller = threading.Thread(target=keep_telling, name="chit-progress", daemon=True)
    teller.start()
    try:
        yield
    finally:
        done.set()
        teller.join()
