"""The first search after a store grew far past its index: time to the
first line on stdout and to the end, CPU time and peak RSS of the command.

    python bench/corpus.py OUT --sessions 5000 --projects 20   # about 0.85 GB, no index
    python bench/first_search.py OUT search lanternfjord        # a common word (one message in 10)
    python bench/first_search.py OUT search quokkanebula --json # a rare one (one in 1,000)
    python bench/first_search.py OUT search xylophonequartz     # a word no message holds

`--src DIR` (before OUT) runs the chit whose sources are in DIR (another checkout) to
compare. Copy the store for each run that must start without an index:
the first search of a chit that builds the index leaves one behind, and
the catch-up a search starts in the background does too (turn it off
with `[index] background = false` in OUT/config.toml to time the search
alone). On a shared machine, compare CPU times and note the load.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("home")
    parser.add_argument("--src", default=None, help="the chit sources to run (default: the installed one)")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    env = {**os.environ, "CHIT_HOME": options.home}
    if options.src:
        env["PYTHONPATH"] = options.src
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "chit", *options.args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert child.stdout is not None and child.stderr is not None
    first = None
    lines = 0
    for _ in child.stdout:
        if first is None:
            first = time.monotonic() - started
        lines += 1
    said = child.stderr.read().decode("utf-8", "replace")
    child.wait()
    took = time.monotonic() - started
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    first_text = "none" if first is None else f"{first:.2f} s"
    print(
        f"{' '.join(options.args)}: first line {first_text}, done {took:.2f} s, CPU {used.ru_utime + used.ru_stime:.2f} s,"
        f" peak RSS {used.ru_maxrss / 1024:.0f} MB, {lines} lines, exit {child.returncode}, load {os.getloadavg()[0]:.1f}"
    )
    sys.stderr.write(said[-400:])


if __name__ == "__main__":
    main()
