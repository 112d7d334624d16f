"""Time from starting `chit` in a terminal to a ready prompt.

Runs chit in a pseudo-terminal (as a person's terminal would), waits for
the prompt character to appear on its screen, then leaves with Ctrl-D.
Prints the median of N runs; target: under 400 ms.

    python bench/repl_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time

PROMPT = "›".encode()
TARGET_MS = 400.0


def one_run(home: str, workdir: str) -> float:
    primary, secondary = pty.openpty()
    env = {**os.environ, "CHIT_HOME": home, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chit", "chat", "--model", "echo"],
        stdin=secondary, stdout=secondary, stderr=secondary, cwd=workdir, env=env, close_fds=True,
    )
    os.close(secondary)
    seen = b""
    elapsed = float("nan")
    deadline = started + 10
    try:
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(primary, 65536)
                except OSError:
                    break
                if PROMPT in seen:
                    elapsed = (time.perf_counter() - started) * 1000
                    break
        os.write(primary, b"\x04")
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    return elapsed


def measure(runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as workdir:
        one_run(home, workdir)  # warm the file cache and bytecode
        times = [one_run(home, workdir) for _ in range(runs)]
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times), "runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    result = measure(parser.parse_args().runs)
    verdict = "met" if result["median_ms"] < TARGET_MS else "NOT met"
    print(f"chit start → ready prompt: median {result['median_ms']:.0f} ms "
          f"(min {result['min_ms']:.0f}, max {result['max_ms']:.0f}, {result['runs']} runs); target < {TARGET_MS:.0f} ms: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
