"""ls and search refresh the enabled sources first, when config.toml's
`[sources] refresh = N` is set and the last complete refresh is older than
N seconds.

Invariants: the refresh reads no more changed source files once BUDGET
seconds have passed (one per source at least; what is left waits for the
next command: it is not recorded as a complete refresh); it never fails
the command: a problem is one warning
line on stderr, and stdout carries only the command's own result.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from chit.errors import ChitError

if TYPE_CHECKING:
    from chit.cli.context import Cli

#: seconds of importing a refresh may add to ls or search
BUDGET = 0.15


def refresh_first(cli: Cli) -> None:
    """Refresh the enabled sources if the interval has passed since the last refresh."""
    config = cli.config
    enabled = [(tool, path) for tool, paths in config.sources.items() for path in paths]
    if config.refresh is None or not enabled:
        return
    imports = cli.parts.imports
    try:
        if not imports.refresh_due(config.refresh):
            return
        reports = imports.refresh(enabled, deadline=time.monotonic() + BUDGET)
    except ChitError as exc:
        cli.env.warn(f"refreshing the sources: {exc.message}")
        return
    imported = sum(r.imported for r in reports)
    updated = sum(r.updated for r in reports)
    problems = sum(r.errors for r in reports)
    hidden = sum(r.hidden for r in reports)
    if imported or updated or problems:
        tail = f", {hidden} message{'' if hidden == 1 else 's'} hidden (`chit undo` shows them)" if hidden else ""
        tail += f", {problems} problem(s) (`chit import` lists them)" if problems else ""
        cli.env.note(f"refreshed the sources: {imported} imported, {updated} updated{tail}")
