"""A catch-up of the index in the background, started by a search or a
listing (`ls`, `tree`, the picker, the REPL's `/list`) that found the index
far behind (the way `git gc --auto` detaches).

Invariants: at most one catch-up works at a time (`chit index` holds
`index.catchup`; one started while another runs finds it held and ends at
once); the child (`chit.service.catchup.start`) is detached (its own
session, no terminal, no inherited streams), runs at a lower priority and
never outlives its work; config.toml's `[index] background = false` turns
it off. The search or listing that starts it never waits for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chit.cli.context import Cli
    from chit.service.catchup import Lag


def when_lagging(cli: Cli) -> None:
    """Have a search that finds the index far behind say so on stderr and
    start a catch-up in the background (unless config.toml turns it off)."""

    def lagging(lag: Lag) -> None:
        from chit.cli.progress import reporter
        from chit.service import filescan
        from chit.service.catchup import running

        filescan.report_progress = reporter(cli.env, "searching")
        index = cli.parts.ctx.index
        starting = cli.config.index_background and not running(index)
        if starting:
            from chit.service.catchup import start

            start(str(index.layout.home))
        if cli.hints:
            what = "catching up in the background" if cli.config.index_background else "run `chit index` to catch up"
            cli.env.note(f"the index is behind on {len(lag.files):,} session file(s) ({lag.bytes / 1e6:,.0f} MB): searching them directly; {what}")

    cli.parts.queries.on_lagging = lagging


def when_listing_lagging(cli: Cli, progress: bool = True) -> None:
    """Have a listing that finds the index's rows far behind say so on
    stderr, report its reading once past a second (with `progress`: not
    under a full-screen picker), and start a catch-up in the background
    (unless config.toml turns it off)."""
    from chit.cli.progress import reporter
    from chit.service.catchup import listing_lags

    note = cli.env.note if cli.hints else None
    listing_lags(cli.parts.queries, cli.config.index_background, note, reporter(cli.env, "listing") if progress else None)
