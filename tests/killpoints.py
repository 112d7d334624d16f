"""Kill a forked child with SIGKILL at a chosen point of its work: the
first Python call (or C call) that `at` picks. The parent checks that the
kill, not the work's end, stopped the child."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

Point = Callable[[FrameType, str, object], bool]  # (frame, profile event, arg) -> kill here


def killed_at(at: Point, work: Callable[[], Any]) -> None:
    """Run `work` in a forked child killed as it reaches the point `at`."""
    pid = os.fork()
    if pid == 0:
        def hook(frame: FrameType, event: str, arg: object) -> None:
            if at(frame, event, arg):
                os.kill(os.getpid(), signal.SIGKILL)

        try:
            sys.setprofile(hook)
            work()
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status), "the child was not killed at its point"
