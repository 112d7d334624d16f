"""A new session and `projects rm` of its empty project, at once, step by
step: the session is refused (CONFLICT) or created with its project
recorded; never a stray error, never a session without its project.

Each side is a real child process that a profile hook stops at a chosen
call until the test lets it go on, so the interleaving is the same on
every run: the writer has looked its project up; `projects rm` has
removed the record (holding the project's lock) but not yet the
directories; the writer goes on until it would create the temp file of
project.json (or until it waits); only then does the removal finish."""

from __future__ import annotations

import os
import select
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
import pytest

from chit.api import Chit
from chit.errors import ChitError, Conflict
from chit.service.projects_admin import ProjectAdmin
from chit.service.sessions import Sessions
from chit.store.files import create_temp
from chit.store.projects import Projects
from chit.store.sessions import _open_nofollow

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")

Stop = Callable[[FrameType], bool]


class Paused:
    """A child running `work`, stopped at each call a `stops` entry names
    (once each, in order) until `go` is called."""

    def __init__(self, work: Callable[[], Any], stops: list[Stop]) -> None:
        said_r, said_w = os.pipe()
        go_r, go_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(said_r)
            os.close(go_w)
            self._child(work, stops, said_w, go_r)
        os.close(said_w)
        os.close(go_r)
        self.said, self.go_fd = said_r, go_w

    @staticmethod
    def _child(work: Callable[[], Any], stops: list[Stop], said: int, go: int) -> None:
        pending = list(stops)

        def hook(frame: FrameType, event: str, arg: object) -> None:
            if event == "call" and pending and pending[0](frame):
                pending.pop(0)
                os.write(said, b"stopped\n")
                os.read(go, 1)

        outcome: dict[str, Any] = {}
        try:
            sys.setprofile(hook)
            try:
                work()
                outcome = {"ok": True}
            except ChitError as exc:
                outcome = {"code": exc.code, "message": str(exc)}
            finally:
                sys.setprofile(None)
        except BaseException as exc:  # a stray error: reported, the test fails on it
            outcome = {"stray": repr(exc)}
        finally:
            os.write(said, orjson.dumps(outcome) + b"\n")
            os._exit(0)

    def stopped(self, timeout: float) -> bool:
        """Whether the child reached its next stop within `timeout` seconds
        (False: it is waiting for something else, or finished)."""
        ready, _, _ = select.select([self.said], [], [], timeout)
        if not ready:
            return False
        line = _read_line(self.said)
        if line == b"stopped":
            return True
        self.outcome = orjson.loads(line)
        return False

    def go(self) -> None:
        os.write(self.go_fd, b"g")

    def finish(self) -> dict[str, Any]:
        """Let the child run to its end; what its work came to."""
        while not hasattr(self, "outcome"):
            self.go()
            self.stopped(30)
        os.waitpid(self.pid, 0)
        os.close(self.said)
        os.close(self.go_fd)
        return self.outcome  # type: ignore[no-any-return]


def _read_line(fd: int) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            break
        data += chunk
    return data.strip()


def _at(code: Any, test: Callable[[FrameType], bool] = lambda frame: True) -> Stop:
    return lambda frame: frame.f_code is code and test(frame)


def test_projects_rm_between_a_writers_lookup_and_its_record_never_gives_a_stray_error(home: Path, tmp_path: Path) -> None:
    api = Chit(home, cwd=tmp_path)
    api.delete(api.create(project="scratch").id)
    api.empty_trash("scratch")  # an empty, recorded project
    looked_up = _at(Projects.ensure.__code__)  # the old writer's first step after the lookup
    writing = _at(Sessions.write_new.__code__)  # or the writer's first, when it records nothing outside the lock
    temp_of_record = _at(create_temp.__code__, lambda frame: frame.f_locals["path"].name == "project.json")
    writer = Paused(
        lambda: Chit(home, cwd=tmp_path).create(project="scratch", title="raced"),
        [lambda frame: looked_up(frame) or writing(frame), temp_of_record],
    )
    assert writer.stopped(30), "the writer never looked its project up"
    remover = Paused(lambda: Chit(home, cwd=tmp_path).remove_project("scratch"), [_at(Path.rmdir.__code__)])
    assert remover.stopped(30), "projects rm never came to its directories"
    assert not any(home.glob("projects/*/project.json"))
    writer.go()
    writer.stopped(2)  # at its record's temp file, or waiting for the lock
    removed = remover.finish()
    created = writer.finish()
    assert removed == {"ok": True}
    assert created == {"ok": True} or created.get("code") == Conflict.code, created
    sessions = list(home.glob("projects/*/sessions/*.jsonl"))
    if created == {"ok": True}:
        assert len(sessions) == 1 and (sessions[0].parent.parent / "project.json").is_file()
        assert [s.title for s in Chit(home, cwd=tmp_path).list(project="scratch")] == ["raced"]
    else:
        assert sessions == []


def test_projects_rm_between_a_writers_directory_and_its_lock_file_refuses_the_writer_cleanly(home: Path, tmp_path: Path) -> None:
    api = Chit(home, cwd=tmp_path)
    api.delete(api.create(project="scratch").id)
    api.empty_trash("scratch")
    opening_lock = _at(_open_nofollow.__code__, lambda frame: frame.f_locals["path"].name == ".lock")
    writer = Paused(lambda: Chit(home, cwd=tmp_path).create(project="scratch", title="raced"), [opening_lock])
    assert writer.stopped(30), "the writer never came to the project's lock"
    assert Paused(lambda: Chit(home, cwd=tmp_path).remove_project("scratch"), []).finish() == {"ok": True}
    assert not any(home.glob("projects/*"))  # the directory made for the lock is gone with it
    created = writer.finish()
    assert created.get("code") == Conflict.code, created  # its project was removed: refused, nothing written
    assert not any(home.glob("projects/*/sessions/*.jsonl"))
