"""Progress of long work, on stderr (docs/cli.md, "Progress").

Any command may have to build or catch up the index (after a large
import, or a first run over many sessions), and some run over every
session (`doctor`, `gc`, `rm`, `trash --empty`, `projects mv`). Work that
runs past a second reports what it is doing once a second, as
`chit: DOING: DONE of TOTAL WHAT` (the core decides when, through
`chit.index.progress` and `chit.service.ticker`; this module only says
it): rewritten in place on a terminal and ended by one newline, one line
per report otherwise; stdout is never touched, so `--json` output stays
clean.
"""

from __future__ import annotations

from collections.abc import Callable

from chit.render.environment import Environment


def show_index_progress(env: Environment) -> None:
    """Have the index report a long refresh on `env`'s stderr."""
    from chit.index import db

    db.report_progress = reporter(env, "indexing")


def reporter(env: Environment, doing: str) -> Callable[[str, int, int], None]:
    """A progress report of (what, done, total) on `env`'s stderr."""
    on_terminal = env.stderr_isatty
    stderr = env.stderr

    def report(what: str, done: int, total: int) -> None:
        if what == "done":
            if on_terminal:
                stderr.write("\n")
        else:
            count = f"{done:,}{f' of {total:,}' if total else ''} " if done >= 0 else ""  # -1: no count
            line = f"chit: {doing}: {count}{what}"
            stderr.write(f"\r{line[: terminal_width(env) - 1]}\x1b[K" if on_terminal else f"{line}\n")
        stderr.flush()

    return report


def terminal_width(env: Environment) -> int:
    """The terminal's width now: a line rewritten in place must not wrap
    (a carriage return goes back to the start of its last row only)."""
    import os

    try:
        return os.get_terminal_size(env.stderr.fileno()).columns or 80
    except (OSError, ValueError, AttributeError):
        return env.columns or 80
