"""Ctrl-C held back while the REPL records a reply, and never lost while
one streams in.

Invariants: inside `held()`, SIGINT only sets `Held.pressed`; the block runs
to its end, so a reply and the run state after it are written whole and
the REPL never dies between them. The caller decides what a press meant
(for a reply: show only its end). Inside `noticed()`, SIGINT raises
KeyboardInterrupt as usual and also sets `Held.pressed`: Python runs a
signal handler wherever the main thread next checks for signals, and one
that runs inside a finalizer or a garbage-collector callback has its
exception printed and dropped; the flag stays for the caller to check at
its own steps. Outside the main thread (tests driving the REPL from a
worker) both do nothing, as signals go to the main thread.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType


class Held:
    """Whether Ctrl-C was pressed while held."""

    def __init__(self) -> None:
        self.pressed = False

    def press(self, signum: int, frame: FrameType | None) -> None:
        self.pressed = True

    def press_and_interrupt(self, signum: int, frame: FrameType | None) -> None:
        self.pressed = True
        raise KeyboardInterrupt


@contextmanager
def held() -> Iterator[Held]:
    state = Held()
    with _handled(state.press):
        yield state


@contextmanager
def noticed() -> Iterator[Held]:
    state = Held()
    with _handled(state.press_and_interrupt):
        yield state


@contextmanager
def _handled(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """SIGINT goes to `handler` for the block (in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
