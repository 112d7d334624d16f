"""Measuring: commands run interleaved, medians with their spread, peak
RSS from a small probe process, and the table the run prints."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CWD = Path(tempfile.gettempdir()) / "chit-bench-cwd"  # outside any git work tree


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Timing(float):
    """A median in seconds that also knows the fastest and slowest run."""

    lo: float
    hi: float

    @classmethod
    def of(cls, values: list[float]) -> Timing:
        timing = cls(statistics.median(values))
        timing.lo, timing.hi = min(values), max(values)
        return timing


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def once(cmd: list[str], env: dict[str, str], check: bool = True) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=CWD, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if check and done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr.decode()[-2000:]}")
    return elapsed


def once_with_cpu(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user and system) of one run of `cmd`.
    The CPU figure is the command's own (os.wait4), so it hardly moves
    with what else the machine is running."""
    started = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, cwd=CWD, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    error = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"failed ({child.returncode}): {' '.join(cmd)}\n{error.decode()[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


def interleaved_with_cpu(commands: dict[str, tuple[list[str], dict[str, str]]], repeat: int) -> tuple[dict[str, Timing], dict[str, Timing]]:
    """`interleaved`, giving the median CPU time of the same runs too:
    (wall, CPU)."""
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for name in names:
        once_with_cpu(*commands[name])
    for round_ in range(repeat):
        order = names[round_ % len(names):] + names[: round_ % len(names)]
        for name in order:
            elapsed, used = once_with_cpu(*commands[name])
            wall[name].append(elapsed)
            cpu[name].append(used)
    return {n: Timing.of(v) for n, v in wall.items()}, {n: Timing.of(v) for n, v in cpu.items()}


def interleaved(commands: dict[str, tuple[list[str], dict[str, str]]], repeat: int, check: dict[str, bool] | None = None) -> dict[str, Timing]:
    """Median seconds (with the min and max) of each command, run in turn,
    round after round (the order rotates each round), after one warm-up
    run each."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for name in names:
        once(*commands[name], check=(check or {}).get(name, True))
    for round_ in range(repeat):
        order = names[round_ % len(names):] + names[: round_ % len(names)]
        for name in order:
            times[name].append(once(*commands[name], check=(check or {}).get(name, True)))
    return {name: Timing.of(values) for name, values in times.items()}


# Started from this (large) process, a child's ru_maxrss would start at our
# own resident size: Linux carries the parent's high-water mark across
# fork/vfork and exec. A small interpreter in between spawns the command, so
# the figure is the command's own (or the probe's, about 10 MB, if larger).
_RSS_PROBE = (
    "import os, sys\n"
    "pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ,"
    " file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0), (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n"
)


def peak_rss_mb(cmd: list[str], env: dict[str, str]) -> float:
    done = subprocess.run([sys.executable, "-I", "-S", "-c", _RSS_PROBE, *cmd], env=env, cwd=CWD, capture_output=True, check=True)
    code, kb = (int(n) for n in done.stdout.split())
    if code != 0:
        raise SystemExit(f"failed ({code}): {' '.join(cmd)}")
    return kb / 1024


class Table:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, name: str, chit: str, other: str, ratio: str, target: str, met: bool | None, note: str = "") -> None:
        self.rows.append({"benchmark": name, "chit": chit, "compared with": other, "ratio": ratio, "target": target, "met": met, "note": note})
        mark = {True: "yes", False: "NO", None: "-"}[met]
        log(f"  {name}: {chit} | {other} | {ratio} | {target} | {mark}")

    def markdown(self) -> str:
        lines = ["| benchmark | chit | compared with | ratio | target | met |", "|---|---|---|---|---|---|"]
        for r in self.rows:
            mark = {True: "yes", False: "**no**", None: "–"}[r["met"]]
            lines.append(f"| {r['benchmark']} | {r['chit']} | {r['compared with']} | {r['ratio']} | {r['target']} | {mark} |")
        return "\n".join(lines)


def ms(seconds: float) -> str:
    """'12.3 ms', with the spread of a Timing: '12.3 ms (11.9–14.0)'."""
    text = _ms(seconds)
    if isinstance(seconds, Timing) and seconds.hi > seconds.lo:
        text += f" ({_ms(seconds.lo, unit=False)}–{_ms(seconds.hi, unit=False)})"
    return text


def _ms(seconds: float, unit: bool = True) -> str:
    if seconds < 10:
        return f"{seconds * 1000:.1f}" + (" ms" if unit else "")
    return f"{seconds:.1f}" + (" s" if unit else "")


