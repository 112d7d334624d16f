"""The writers the crash tests kill (tests/test_crash.py), in a module of
its own that imports chit alone: the rounds that exec a fresh interpreter,
and the warm process the other rounds are forked from
(tests/kill_launcher.py), start them without importing pytest and the test
modules."""

from __future__ import annotations

import os
import random

from chit.api import Chit


def content_for(seq: int, size: int) -> str:
    return f"m{seq}:" + "x" * size


def writer_loop(home: str, cwd: str, session_id: str, out_fd: int, seed: int) -> None:
    """Append until killed; write "id seq size" to `out_fd` after each append returned."""
    api = Chit(home, cwd=cwd)  # durable: fsync on every append
    rng = random.Random(seed)
    seq = seed * 1_000_000
    while True:
        seq += 1
        size = rng.choice((10, 200, 4000)) if rng.random() < 0.92 else rng.randint(1, 4) * 1024 * 1024
        role = "user" if seq % 2 else "assistant"
        message = api.append(session_id, role, content_for(seq, size))
        os.write(out_fd, f"{message.id} {seq} {size}\n".encode())
        roll = rng.random()
        if roll < 0.04:
            api.compact(session_id)
        elif roll < 0.08:
            api.tag(session_id, f"t{seq % 5}")


def trash_loop(home: str, cwd: str, session_id: str, out_fd: int, seed: int) -> None:
    """Append, and now and then move the session to the trash and back."""
    api = Chit(home, cwd=cwd)
    rng = random.Random(seed)
    seq = seed * 1_000_000
    while True:
        seq += 1
        message = api.append(session_id, "user", content_for(seq, 10))
        os.write(out_fd, f"{message.id} {seq} 10\n".encode())
        if rng.random() < 0.5:
            api.delete(session_id)
            api.restore(session_id)
