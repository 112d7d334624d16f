"""One program run with its own figures: peak resident size and CPU time.

A process's peak resident size starts at that of the process it was forked
(or vforked) from, even across exec, so a program started straight from a
test carries the test's own peak. Each program therefore runs as the child
of a small wrapper (`python -S`, nothing imported but os: about 12 ms of
CPU), which reports what os.wait4 says of that one child.

Invariants:
- the figures are the child's alone (and those of any children it waited
  for), never the test's, the wrapper's or another measurement's;
- CPU time (user + system) is what a bound on "fast enough" is held to: on
  a loaded machine the wall time of the same work grows with the load, its
  CPU time hardly;
- the child's stdout goes to /dev/null, its stderr to the caller.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

WRAPPER = """
import os, sys
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ, file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)
"""


@dataclass
class Measured:
    code: int
    cpu: float  # user + system seconds
    peak: int  # peak RSS in bytes
    err: bytes


def run_measured(args: list[str], cwd: Path, env: dict[str, str], stdin: bytes = b"", timeout: float = 300) -> Measured:
    """Run `args` (its first an absolute path) with `stdin`; its exit code,
    CPU time, peak RSS and stderr."""
    proc = subprocess.run([sys.executable, "-S", "-c", WRAPPER, *args], cwd=cwd, env=env, input=stdin, capture_output=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-500:].decode("utf-8", "replace")
    code, cpu, peak = proc.stdout.decode().split()
    return Measured(int(code), float(cpu), int(peak), proc.stderr)
