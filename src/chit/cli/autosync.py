"""The automatic sync of `[sync] auto = true`: after a REPL session ends and
before `chit resume` opens one, `chit sync` runs as a child process.

Invariants: the user waits at most `[sync] timeout` seconds; a sync still
running then goes on in the background (its own process group, so a
Ctrl-C at the prompt does not cut it short) and the sync lock keeps it
apart from the next one; its outcome is never an error of the command
that started it, only a note on stderr. Nothing runs when this store does
not sync.
"""

from __future__ import annotations

import os
import subprocess
import sys

from chit.cli.context import Cli


def auto_sync(cli: Cli, when: str) -> None:
    """Run `chit sync` if the config asks for it and this store syncs."""
    config = cli.config
    if not config.sync_auto:
        return
    sync_dir = cli.parts.ctx.layout.sync
    if not (sync_dir / "state.json").is_file():
        return
    log = sync_dir / "auto.log"
    try:
        with open(log, "wb") as output:
            os.chmod(log, 0o600)
            child = subprocess.Popen(
                [sys.executable, "-m", "chit", "sync"],
                stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                env={**os.environ, "CHIT_HOME": str(cli.parts.ctx.layout.home)},
                start_new_session=True,
            )
    except OSError as exc:
        cli.env.warn(f"automatic sync {when} could not start: {exc.strerror}")
        return
    try:
        status = child.wait(timeout=config.sync_timeout)
    except subprocess.TimeoutExpired:
        cli.env.note(f"chit: note: the sync {when} is still running in the background (see `chit sync status`)")
        return
    if status != 0:
        cli.env.warn(f"automatic sync {when} failed: {_last_line(log)}")


def _last_line(log: os.PathLike[str]) -> str:
    try:
        lines = [line for line in open(log, encoding="utf-8", errors="replace").read().splitlines() if line.strip()]
    except OSError:
        return "no output"
    return lines[-1].removeprefix("chit: error: ") if lines else "no output"
