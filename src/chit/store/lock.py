"""Advisory file locks with a deadline.

Invariants: locks are `flock` locks, so the kernel drops them when the
holder dies (a lock left by a killed process is recovered by the next
writer, with no stale lock files to clean). Waiting is bounded: past the
deadline `Locked` is raised, never an endless hang.
"""

from __future__ import annotations

import fcntl
import os
import time

from chit.errors import Locked

DEFAULT_TIMEOUT = 10.0
TIMEOUT_ENV = "CHIT_LOCK_TIMEOUT"


def lock_timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV)
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
    return DEFAULT_TIMEOUT


def acquire(fd: int, what: str, timeout: float) -> None:
    """Take an exclusive lock on `fd`, polling until `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise Locked(f"{what} is locked by another chit process (waited {timeout:g}s)") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.02)


def try_acquire(fd: int) -> bool:
    """Take an exclusive lock on `fd` if it is free now; False if it is held."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
