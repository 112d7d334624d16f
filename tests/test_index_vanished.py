"""The index and a session directory that is gone while its project is
still recorded: every row the index kept for it must go too.

A project moved away leaves rows behind in the index (nothing refreshes a
project that is no longer recorded). A search drains their text, finds
their files gone and doubts them, which marks the directory to be checked
again. When the project is recorded again before its directory exists (a
move back cut short after it wrote the project record), a listing must
not show the old rows: a missing directory has no session.

The move back is cut short by a real child killed with SIGKILL as it
starts moving its first file (a profile hook sends the signal)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from killpoints import killed_at

from chit.api import Chit
from chit.service.facade import parts_of
from chit.store.sessions import Store

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def _killed_at_first_file(work: Callable[[], Any]) -> None:
    """Run `work` in a child killed (SIGKILL) as its first file move starts."""
    killed_at(lambda frame, event, arg: event == "call" and frame.f_code is Store.move.__code__, work)


def _listed(api: Chit) -> list[tuple[str, str]]:
    return sorted((s.id, s.project_name) for s in api.list(all_projects=True))


def _scanned(api: Chit) -> list[tuple[str, str]]:
    scope = parts_of(api).ctx.projects.all()
    return sorted((s.id, s.project_name) for s in parts_of(api).queries.scan_summaries(scope))


def test_a_doubted_directory_gone_while_its_project_is_recorded_lists_nothing(home: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for directory in (a, b):
        (directory / ".git").mkdir(parents=True)
    api = Chit(home, cwd=b)
    sid = api.create(title="left b").id
    api.append(sid, "user", "hello there")
    assert _listed(api) == [(sid, "b")]  # b's rows indexed, their text not yet
    api.move_project(str(b), a)
    api = Chit(home, cwd=a)
    assert [h.id for h in api.search("hello")] == [sid]  # drains b's old rows: their file is gone
    _killed_at_first_file(lambda: api.move_project(str(a), b))
    assert any(home.glob("projects/b-*/project.json")), "the cut move recorded b again"
    assert not any(home.glob("projects/b-*/sessions")), "and made no directory for its sessions yet"
    assert _scanned(api) == [(sid, "a")]
    assert _listed(api) == [(sid, "a")]
