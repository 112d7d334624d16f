"""A long index refresh reports its progress (chit.index.db); `ls` and
`search` print the reports on stderr (chit.cli.progress)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from chit.api import Chit
from chit.index import db
from chit.index.progress import Span
from chit.service.facade import parts_of
from terminal_progress import on_a_terminal, told

TEXTS = ("Alle Menschen sind frei", "Все люди рождаются свободными", "人人生而自由", "Tous les êtres humains", "Todos los seres humanos")


def test_a_long_refresh_reports_its_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past PROGRESS_AFTER, a refresh reports every PROGRESS_EVERY what it
    did, then "done"."""
    api = Chit(tmp_path / "home", cwd=tmp_path)
    for n, text in enumerate(TEXTS):
        api.create(messages=[{"role": "user", "content": f"message {n} {text}"}])
    parts_of(api).ctx.index.close()
    api.layout.index_file.unlink(missing_ok=True)  # a first build
    reports: list[tuple[str, int, int]] = []
    monkeypatch.setattr(db, "PROGRESS_AFTER", 0.0)
    monkeypatch.setattr(db, "PROGRESS_EVERY", 0.0)
    monkeypatch.setattr(db, "report_progress", lambda what, done, total: reports.append((what, done, total)))
    fresh = Chit(api.layout.home, cwd=tmp_path)
    assert len(fresh.search("message", limit=None)) == 5
    assert reports[:5] == [("session files read", n, 5) for n in range(1, 6)]
    assert reports[-2] == ("session files read, 5 messages indexed", 5, 5)
    assert reports[-1] == ("done", 0, 0)


def test_a_quick_refresh_reports_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = Chit(tmp_path / "home", cwd=tmp_path)
    api.create(messages=[{"role": "user", "content": "one message"}])
    reports: list[tuple[str, int, int]] = []
    monkeypatch.setattr(db, "report_progress", lambda what, done, total: reports.append((what, done, total)))
    assert len(Chit(api.layout.home, cwd=tmp_path).search("message")) == 1
    assert reports == []


# -- one progress over a whole catch-up, on a real terminal ---------------------

PROJECTS = ("alpha", "beta", "gamma")
PER_PROJECT = 4
AT_ONCE = {"chit.index.db.PROGRESS_AFTER": 0.0, "chit.index.db.PROGRESS_EVERY": 0.0}  # every report told


def _store_of_projects(tmp_path: Path) -> Path:
    """PROJECTS, PER_PROJECT sessions each, and no index: a catch-up from nothing."""
    home = tmp_path / "home"
    for project in PROJECTS:
        api = Chit(home, cwd=tmp_path, project=project)
        for n in range(PER_PROJECT):
            api.create(messages=[{"role": "user", "content": f"{project} {n} {TEXTS[n % len(TEXTS)]}"}])
        parts_of(api).ctx.index.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{home / 'index.sqlite'}{suffix}").unlink(missing_ok=True)
    return home


def test_chit_index_tells_one_progress_over_every_project(tmp_path: Path) -> None:
    """`chit index` brings the projects up to date one at a time, but its
    progress is one: the files read only grow, over the whole store's total,
    and the terminal is left one final line."""
    import re

    home = _store_of_projects(tmp_path)
    status, out, seen = on_a_terminal(["index"], home, tmp_path, AT_ONCE)
    assert status == 0 and b"12 session file(s) read" in out
    reports = told(seen, "chit: indexing:")
    counts = [tuple(map(int, m.groups())) for m in (re.match(r"chit: indexing: (\d+) of (\d+) session files read", r) for r in reports) if m]
    assert len(counts) == len(reports) and counts, reports
    whole = len(PROJECTS) * PER_PROJECT
    assert {total for _, total in counts} == {whole}, counts  # the store's total, not one project's
    read = [done for done, _ in counts]
    assert read == sorted(read) and read[0] == 1 and read[-1] == whole, read  # never back to 0 at the next project
    texts = [int(m.group(1)) for m in (re.search(r", (\d+) messages indexed", r) for r in reports) if m]
    assert texts == sorted(texts) and texts[-1] == whole, texts
    assert seen.count(b"\n") == 1 and seen.endswith(b"\n"), seen  # one final line, left by the "done" of the one progress


def test_an_import_indexes_every_project_under_one_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index an import brings up to date, project after project, is told
    to the import's progress as one: files read only grow, over the total of
    every project it wrote (those its own lookups have not indexed yet)."""
    from importer_sources import Claude

    source = tmp_path / "claude"
    source.mkdir()
    cwds = [str(tmp_path / project) for project in PROJECTS for _ in range(PER_PROJECT)]
    for n, cwd in enumerate(cwds):
        chat = Claude(cwd=cwd)
        chat.user(f"prompt {n}")
        chat.say(f"answer {n}", f"m{n}")
        chat.write(source / f"{n}-{chat.session_id}.jsonl")
    monkeypatch.setattr(db, "PROGRESS_AFTER", 0.0)
    monkeypatch.setattr(db, "PROGRESS_EVERY", 0.0)
    calls: list[tuple[int, int, str]] = []
    api = Chit(tmp_path / "home", cwd=tmp_path)
    report = api.import_from("claude-code", str(source), progress=lambda done, total, label: calls.append((done, total, label)))
    assert report.imported == len(cwds)
    indexing = [(done, total) for done, total, label in calls if label == "indexing" and total]
    totals = {total for _, total in indexing}
    assert len(totals) == 1 and min(totals) >= len(PROJECTS), calls  # one total, over every project written
    read = [done for done, _ in indexing]
    assert read == sorted(read) and read[-1] == min(totals), calls


def test_a_long_statement_of_a_phase_is_told_while_it_runs() -> None:
    reports: list[tuple[str, int, int]] = []
    span = Span(lambda what, done, total: reports.append((what, done, total)), after=0.0, every=0.1, count_behind=lambda: 0)
    span.file_read()
    span.enter("finishing the text index")
    with span.waiting():
        time.sleep(0.45)  # the statement: nothing on this thread ticks the span
    phase_lines = [what for what, _done, _total in reports if "finishing" in what]
    assert len(phase_lines) >= 3, reports
    assert phase_lines[0].endswith("finishing the text index, 0 s"), phase_lines
    assert all(done == 1 and total == 1 for _what, done, total in reports), reports


def test_waiting_without_a_report_starts_no_thread() -> None:
    span = Span(None, after=0.0, every=0.1, count_behind=lambda: 0)
    before = threading.active_count()
    with span.waiting():
        assert threading.active_count() == before


def test_a_long_statement_is_told_as_soon_as_a_report_falls_due() -> None:
    """A statement that starts just before a report is due is told then,
    not a whole `every` after it began (the index's finishing steps, each
    one such statement, left 2.5 s between reports on a 1 GB build)."""
    reports: list[str] = []
    span = Span(lambda what, done, total: reports.append(what), after=0.0, every=1.0, count_behind=lambda: 0)
    span.enter("finishing the text index")  # told at once: the next report due in a second
    span.shown_at -= 0.8  # told 0.8 s ago: the next is due in 0.2 s
    with span.waiting():
        time.sleep(0.6)
    span.finish()
    assert len(reports) == 3 and reports[-1] == "done", reports  # the first tick at 0.2 s (before: at 1 s, after the statement)


def test_a_ticker_tells_a_long_step_as_soon_as_a_report_falls_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for a command's own step (a listing, laying out a table):
    its first report when the command has run a second, however late in
    that second the step began."""
    from chit.index import progress
    from chit.service import ticker as ticking

    monkeypatch.setattr(progress, "telling", False)  # no span of the index under way
    monkeypatch.setattr(ticking, "PROGRESS_AFTER", 0.3)
    monkeypatch.setattr(ticking, "PROGRESS_EVERY", 5.0)
    reports: list[str] = []
    ticker = ticking.Ticker(0, "", lambda what, done, total: reports.append(what))
    ticker.started -= 0.1  # the command began 0.1 s ago: its first report due in 0.2 s
    with ticker.waiting("laying out 3 rows"):
        time.sleep(0.6)
    assert reports == ["laying out 3 rows, 0 s"], reports  # (before: none, the first tick 5 s after the step began)
