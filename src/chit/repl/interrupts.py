"""Ctrl-C held back while the REPL records a reply.

Invariant: inside `held()`, SIGINT only sets `Held.pressed`; the block runs
to its end, so a reply and the run state after it are written whole and
the REPL never dies between them. The caller decides what a press meant
(for a reply: show only its end). Outside the main thread (tests driving
the REPL from a worker) it holds nothing, as signals go to the main thread.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Held:
    """Whether Ctrl-C was pressed while held."""

    def __init__(self) -> None:
        self.pressed = False

    def press(self, signum: int, frame: FrameType | None) -> None:
        self.pressed = True


@contextmanager
def held() -> Iterator[Held]:
    state = Held()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = signal.signal(signal.SIGINT, state.press)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)
