"""The processes of the concurrency test (tests/test_concurrency.py): one
appender or editor each, forked from the test process (chit is imported
there already). Each is a process of its own with its own Chit; none uses
an object or a connection of the process it was forked from.

A worker says "ready" on its pipe, waits until the go pipe reaches end of
file (the test closes it: every worker starts at once, none polls), works,
and writes its report as the pipe's last line; on an error, the traceback.

The pace is the writers' progress, not the clock (`Pace`): an editor's
k-th of its `quota` operations waits until the writers have made k/quota
of their appends, and a writer waits while an editor (or the test's
reader) is more than `LAG` operations behind that schedule. So each does
a fixed number of operations, spread over the appends however busy the
machine is, and at most `LAG` + 1 of them after the last append."""

from __future__ import annotations

import json
import mmap
import multiprocessing
import os
import random
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chit.api import Chit
from chit.errors import InvalidInput

LAG = 2  # operations an editor or the reader may be behind its schedule before the writers wait
GONE = 1 << 30  # the count of a worker that failed: nobody waits for it
RECHECK = 0.5  # seconds a waiter sleeps at most between looks at the counts (a wake-up a race lost)


class Pace:
    """Counts shared by the forked processes (an anonymous shared mapping,
    made before the fork): each writer's appends, then each follower's
    (editor's or reader's) operations; each count is written by its one
    process only. A process that waits sleeps on its own semaphore, which
    the process that changed a count it waits on releases: waiting costs
    no CPU, however long the machine makes it."""

    def __init__(self, writers: int, appends: int, quotas: list[int]) -> None:
        self.writers, self.appends, self.quotas = writers, appends, quotas
        self.total = writers * appends
        self._memory = mmap.mmap(-1, 4 * (writers + len(quotas)))
        self.counts = memoryview(self._memory).cast("i")
        context = multiprocessing.get_context("fork")
        self.wakes = [context.Semaphore(0) for _ in range(writers + len(quotas))]

    def appended(self) -> int:
        return sum(self.counts[: self.writers])

    def done(self, follower: int) -> int:
        return self.counts[self.writers + follower]

    def due(self, follower: int) -> int:
        """The appends the writers have made before the follower's next operation."""
        return self.done(follower) * self.total // self.quotas[follower]

    def follow(self, follower: int, deadline: float) -> None:
        """Wait until the follower's next operation is due."""
        due = self.due(follower)
        self._wait(self.writers + follower, lambda: self.appended() >= due, deadline)

    def set_done(self, follower: int, count: int) -> None:
        self.counts[self.writers + follower] = count
        for writer in range(self.writers):
            self._wake(writer)

    def lead(self, writer: int, deadline: float) -> None:
        """Wait until no follower is more than LAG operations behind its
        schedule at this writer's next append."""
        i = self.counts[writer]
        self._wait(writer, lambda: all(self.done(f) >= quota * i // self.appends - LAG for f, quota in enumerate(self.quotas)), deadline)

    def set_appended(self, writer: int, count: int) -> None:
        self.counts[writer] = count
        appended = self.appended()
        for follower in range(len(self.quotas)):
            if appended >= self.due(follower):
                self._wake(self.writers + follower)

    def _wait(self, slot: int, ready: Callable[[], bool], deadline: float) -> None:
        while not ready():
            if time.monotonic() > deadline:
                raise TimeoutError("the other workers did not keep pace")
            self.wakes[slot].acquire(timeout=RECHECK)

    def _wake(self, slot: int) -> None:
        if self.wakes[slot].get_value() == 0:  # one wake-up is enough: the waiter looks again
            self.wakes[slot].release()


def work(api: Chit, sid: str, mode: str, number: int, pace: Pace, slot: int, deadline: float) -> dict[str, Any]:
    """Appends (slot: the writer's count), or the operations of an editor
    (slot: the follower's count); its report."""
    rng = random.Random(number)
    done = {"mode": mode, "ops": 0, "refused": 0, "during": 0}
    if mode == "append":
        for i in range(pace.appends):
            pace.lead(slot, deadline)
            role = "user" if i % 3 == 0 else "assistant"
            api.append(sid, role, f"w{number}-{i:04d} " + "x" * rng.choice((0, 10, 300)))
            pace.set_appended(slot, i + 1)
        done["ops"] = pace.appends
        return done
    while done["ops"] < pace.quotas[slot]:
        pace.follow(slot, deadline)
        during = pace.appended() < pace.total
        try:
            if mode == "rename":
                api.rename(sid, f"title {done['ops']}" if rng.random() < 0.9 else "")
            elif mode == "tag":
                tag = f"t{rng.randrange(6)}"
                api.tag(sid, tag) if rng.random() < 0.6 else api.untag(sid, tag)
            elif mode == "fork":
                turns = api.get(sid).turns
                at = rng.randrange(turns) if turns and rng.random() < 0.5 else None
                api.fork(sid, at=at)
            elif mode == "rewind":
                if rng.random() < 0.3:
                    api.pop(sid)
                else:
                    turns = api.get(sid).turns
                    api.rewind(sid, max(0, turns - rng.randint(1, 3)))
            elif mode == "undo":
                if rng.random() < 0.6:
                    api.undo(sid)
                else:  # a program saving the conversation it holds, cut and continued
                    held = list(api.get(sid).messages)  # Message objects: what it re-appends keeps their ids
                    api.update(sid, [*held[: rng.randint(1, max(1, len(held)))], {"role": "user", "content": f"u{done['ops']}"}])
            done["ops"] += 1
            done["during"] += during  # begun before the writers' last append
            pace.set_done(slot, done["ops"])
        except InvalidInput:
            done["refused"] += 1  # a turn that a concurrent rewind removed meanwhile: tried again
        time.sleep(rng.uniform(0, 0.01))
    return done


def forked_worker(
    home: Path, cwd: Path, sid: str, mode: str, number: int, pace: Pace, slot: int, go: tuple[int, int], deadline: float
) -> tuple[int, int]:
    """Fork one worker: (its pid, the read end of its pipe)."""
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid != 0:
        os.close(out_w)
        return pid, out_r
    code = 1
    try:  # the child: never returns into pytest
        os.close(out_r)
        os.close(go[1])  # else the go pipe never reaches end of file
        os.environ["CHIT_DURABILITY"] = "flush"
        api = Chit(home, cwd=cwd, durable=False, lock_timeout=60)
        os.write(out_w, b"ready\n")
        while os.read(go[0], 1):
            pass
        os.write(out_w, (json.dumps(work(api, sid, mode, number, pace, slot, deadline)) + "\n").encode())
        code = 0
    except BaseException:
        if mode == "append":
            pace.set_appended(slot, pace.appends)  # no follower waits for the appends of a failed writer
        else:
            pace.set_done(slot, GONE)
        os.write(out_w, traceback.format_exc().encode())
    finally:
        os._exit(code)
