"""`chit stats` at scale: wall time, CPU time and bytes read, in-process.

    python bench/statsbench.py DIR [--sessions 10000] [--projects 20]

DIR is a store as bench/picker.py builds it (built here when missing).
Each case runs `Chit.stats` over every project once with the index already
current (one `ls` first), and reports the wall and CPU time and the bytes
this process read meanwhile (`rchar` of /proc/self/io: files and the
index alike, whether from the disk or the page cache). Run it once, not in
a loop.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

CASES: tuple[tuple[str, dict[str, object]], ...] = (
    ("all projects", {}),
    ("--by project", {"by": "project"}),
    ("--by day --since 30d", {"by": "day", "since": "30d"}),
    ("with prices", {"prices": "yes"}),
    ("--by model", {"by": "model"}),
)


def read_bytes() -> int:
    with open("/proc/self/io", encoding="ascii") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("rchar:"))


def main() -> int:
    from picker import build

    parser = argparse.ArgumentParser()
    parser.add_argument("dir", type=Path)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--projects", type=int, default=20)
    args = parser.parse_args()
    build(args.dir, args.sessions, args.projects)
    from chit.api import Chit
    from chit.service.stats import Price

    chit = Chit(args.dir, project="proj00")
    chit.list(all_projects=True)  # the index current, as after any command
    print(f"{args.sessions} sessions over {args.projects} projects; load average {' '.join(f'{n:.1f}' for n in os.getloadavg())}")
    for name, options in CASES:
        kwargs = dict(options)
        if kwargs.pop("prices", None):
            kwargs["prices"] = {"big": Price(2.0, 10.0)}
        start, cpu, read = time.perf_counter(), time.process_time(), read_bytes()
        found = chit.stats(all_projects=True, **kwargs)  # type: ignore[arg-type]
        took, cpu_took, bytes_read = time.perf_counter() - start, time.process_time() - cpu, read_bytes() - read
        print(f"  {name}: {took * 1000:.0f} ms wall, {cpu_took * 1000:.0f} ms CPU, {bytes_read / 1e6:.1f} MB read"
              f" ({found.total.sessions} sessions, {found.total.messages} messages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
