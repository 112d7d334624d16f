"""The CPU each test costs, its own and its children's, to find where the
suite's time goes.

Load it as a plugin with a directory to write to; every pytest process
(each xdist worker) appends one JSON line a test to its own file there:

    CHIT_CPU_PROFILE=DIR python -m pytest -p tests.cpu_profile -p no:cacheprovider

then rank the test files by CPU (or the tests, with `--tests`):

    python tests/cpu_profile.py DIR [--tests] [N]

"Self" is the test process's user+system time, "children" that of the
processes it started and waited for (the `chit` programs, helper scripts,
git, Chromium), and of the `chit` programs its fork server started for it
(the server reports each one's CPU); a daemon nobody waits for (a tmux
server, a catch-up left running in the background) is in neither. The fork
server's own CPU (its start-up and its forks, not its children's) lands on
the test during which it is stopped: a worker's last. Wall time on a shared machine
says little; CPU time does.
"""

from __future__ import annotations

import collections
import json
import os
import resource
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import IO

import pytest

_out: IO[str] | None = None


def _cpu() -> tuple[float, float]:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime + _forked_cpu()


def _forked_cpu() -> float:
    """The CPU of the `chit` calls forked by this process's fork server that
    its RUSAGE_CHILDREN does not count yet (tests/forkserver.py)."""
    forkserver = sys.modules.get("forkserver")
    return forkserver.unreaped_children_cpu() if forkserver is not None else 0.0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    global _out
    folder = os.environ.get("CHIT_CPU_PROFILE")
    if not folder:
        yield
        return
    if _out is None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        _out = open(Path(folder) / f"cpu-{os.getpid()}.jsonl", "a")  # kept open for the whole run
    own, children = _cpu()
    started = time.monotonic()
    yield
    own_after, children_after = _cpu()
    record = {"id": item.nodeid, "wall": time.monotonic() - started, "self": own_after - own, "children": children_after - children}
    _out.write(json.dumps(record) + "\n")
    _out.flush()


def rank(folder: Path, by_test: bool = False, top: int = 30) -> list[str]:
    """The heaviest test files (or tests) by CPU, one line each."""
    totals: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for path in sorted(folder.glob("cpu-*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            name = record["id"] if by_test else record["id"].split("::")[0]
            total = totals[name]
            total[0] += record["self"]
            total[1] += record["children"]
            total[2] += record["wall"]
            total[3] += 1
    lines = [f"{'cpu':>7} {'self':>7} {'child':>7} {'wall':>7} {'tests':>5}"]
    for name, (own, children, wall, count) in sorted(totals.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))[:top]:
        lines.append(f"{own + children:7.1f} {own:7.1f} {children:7.1f} {wall:7.1f} {int(count):5d} {name}")
    return lines


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--tests"]
    print("\n".join(rank(Path(arguments[0]), "--tests" in sys.argv, int(arguments[1]) if len(arguments) > 1 else 30)))
