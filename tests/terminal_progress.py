"""Running chit with its stderr on a pseudo-terminal, to read the progress
it told there (each report rewritten in place with a carriage return).

The wrapper sets a module's timing constants before chit's entry point
runs, so a small store shows every report a large one would (`patch`:
"module.NAME" -> value)."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path


def on_a_terminal(
    args: list[str], home: Path, cwd: Path, patch: dict[str, float], env: dict[str, str] | None = None, columns: int = 0
) -> tuple[int, bytes, bytes]:
    """Run chit with its stderr on a pseudo-terminal (`columns` wide, when
    given): (exit status, stdout, what the terminal got)."""
    sets = "".join(f"import {name.rsplit('.', 1)[0]}; {name} = {value!r}; " for name, value in patch.items())
    program = f"{sets}from chit.cli.main import main; main()"
    controller, terminal = os.openpty()
    if columns:
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    full_env = {**os.environ, "CHIT_HOME": str(home), "TERM": "xterm", "COLUMNS": "200", **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-c", program, *args], stdout=subprocess.PIPE, stderr=terminal, stdin=subprocess.DEVNULL, cwd=cwd, env=full_env
    )
    os.close(terminal)
    seen = read_until_closed(controller, proc, 120)
    os.close(controller)
    out = proc.stdout.read() if proc.stdout else b""
    if proc.stdout:
        proc.stdout.close()
    return proc.wait(timeout=120), out, seen


def read_until_closed(controller: int, proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    """All `proc` writes to the terminal whose controlling side is
    `controller`, until it closes its side or exits (or `timeout` passes)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                data = os.read(controller, 65536)
            except OSError:  # the child closed its side
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    return b"".join(chunks)


def told(seen: bytes, prefix: str) -> list[str]:
    """The progress lines starting with `prefix` a terminal was told, in order."""
    parts = seen.decode("utf-8", "replace").replace("\n", "\r").split("\r")
    return [part.replace("\x1b[K", "").strip() for part in parts if part.startswith(prefix)]
