"""A long index refresh reports its progress (chit.index.db); `ls` and
`search` print the reports on stderr (chit.cli.progress)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chit.api import Chit
from chit.index import db
from chit.service.facade import parts_of

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
    assert reports[:5] == [("session files read", n, 0) for n in range(1, 6)]
    assert reports[-2] == ("messages' text indexed", 5, 5)
    assert reports[-1] == ("done", 0, 0)


def test_a_quick_refresh_reports_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = Chit(tmp_path / "home", cwd=tmp_path)
    api.create(messages=[{"role": "user", "content": "one message"}])
    reports: list[tuple[str, int, int]] = []
    monkeypatch.setattr(db, "report_progress", lambda what, done, total: reports.append((what, done, total)))
    assert len(Chit(api.layout.home, cwd=tmp_path).search("message")) == 1
    assert reports == []
