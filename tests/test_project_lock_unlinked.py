"""The project lock counts only while its file is the one at its path.

`projects rm` unlinks the project's `.lock` while holding it. A process
that had opened that file and waited would otherwise get a lock nobody
else can see, and a third process opening the new `.lock` would hold the
project at the same time. Three openers in one process (flock locks
belong to each open file, so threads contend as processes do), stepped in
the order that made the fault."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from chit.errors import Conflict, Locked
from chit.store.paths import Layout
from chit.store.sessions import Store

@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_a_waiter_on_an_unlinked_lock_file_never_holds_the_project_beside_another(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    store = Store(layout, durable=False, timeout=5.0)
    lock_file = layout.project_dir("p") / ".lock"
    inside = threading.Event()
    refused: list[Conflict] = []
    leave = threading.Event()

    def waiter() -> None:
        try:
            with store.project_lock("p"):
                inside.set()
                leave.wait(10)
        except Conflict as exc:
            refused.append(exc)

    with store.project_lock("p"):
        thread = threading.Thread(target=waiter)
        thread.start()
        deadline = time.monotonic() + 60  # far above need: the loop ends when it happens
        while not _has_open_twice(lock_file) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert _has_open_twice(lock_file), "the waiter never opened the lock file"
        os.unlink(lock_file)  # what `projects rm` does, still holding the lock
        os.rmdir(lock_file.parent)
    try:
        deadline = time.monotonic() + 60  # far above need: the loop ends when it happens
        while not (inside.is_set() or refused) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert inside.is_set() or refused, "the waiter neither got the lock nor was refused"
        third = Store(layout, durable=False, timeout=0.3)
        try:
            with third.project_lock("p"):
                assert not inside.is_set(), "two holders of one project's lock"
        except Locked:
            assert inside.is_set()
        assert not refused or "moved or removed" in str(refused[0])
    finally:
        leave.set()
        thread.join(10)

def _has_open_twice(path: Path) -> bool:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == str(path)
        except OSError:
            pass
    return count >= 2
