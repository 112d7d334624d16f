"""The processes of the concurrency test (tests/test_concurrency.py): one
appender or editor each, forked from the test process (chit is imported
there already). Each is a process of its own with its own Chit; none uses
an object or a connection of the process it was forked from.

A worker says "ready" on its pipe, waits until the go pipe reaches end of
file (the test closes it: every worker starts at once, none polls), works,
and writes its report as the pipe's last line; on an error, the traceback."""

from __future__ import annotations

import json
import os
import random
import time
import traceback
from pathlib import Path
from typing import Any

from chit.api import Chit
from chit.errors import InvalidInput


def work(api: Chit, sid: str, mode: str, number: int, appends: int, stop: Path) -> dict[str, Any]:
    rng = random.Random(number)
    done = {"mode": mode, "ops": 0, "refused": 0}
    if mode == "append":
        for i in range(appends):
            role = "user" if i % 3 == 0 else "assistant"
            api.append(sid, role, f"w{number}-{i:04d} " + "x" * rng.choice((0, 10, 300)))
            done["ops"] += 1
        return done
    while not stop.exists():
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
        except InvalidInput:
            done["refused"] += 1  # a turn that a concurrent rewind removed meanwhile
        time.sleep(rng.uniform(0, 0.01))
    return done


def forked_worker(home: Path, cwd: Path, sid: str, mode: str, number: int, appends: int, go: tuple[int, int], stop: Path) -> tuple[int, int]:
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
        os.write(out_w, (json.dumps(work(api, sid, mode, number, appends, stop)) + "\n").encode())
        code = 0
    except BaseException:
        os.write(out_w, traceback.format_exc().encode())
    finally:
        os._exit(code)
