"""`chit sync`: one history on every machine, through a git remote
(docs/sync.md). `init` and `clone` set it up; `status` says how it stands."""

# No `from __future__ import annotations` here: Typer reads these annotations
# when it builds a command, and real objects spare it evaluating strings.

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from chit.cli.context import Cli
from chit.cli.options import JsonFlag, commands
from chit.render.environment import Environment
from chit.render.result import Result, saying

if TYPE_CHECKING:
    from chit.sync.run import Sync, SyncReport

app = commands(
    name="sync",
    invoke_without_command=True,
    no_args_is_help=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_help_panel="Move data",
)

RemoteArg = Annotated[str, typer.Argument(metavar="REMOTE", help="A private git remote: an ssh or https URL, or a path to a bare repository.")]
REPORTED = (("new", "new"), ("grown", "grown"), ("changed", "changed"), ("restored", "restored"), ("trashed", "trashed"),
    ("emptied", "emptied"), ("kept", "kept"),
)


@contextmanager
def _syncing(cli: Cli, sending: bool = True) -> Iterator["Sync"]:
    """The sync of this store; its progress line is cleared at the end, a
    failure's too (the error then starts a line of its own)."""
    from chit.cli.progress import show_index_progress
    from chit.service.facade import parts_of
    from chit.sync.run import Sync

    show_index_progress(cli.env)  # the index of what a sync wrote is brought up to date before it answers
    progress = _Progress(cli.env)
    try:
        yield Sync(parts_of(cli.service).ctx, progress, redact=sending and cli.config.sync_redact)
    finally:
        progress.clear()


PROGRESS_AFTER = 1.0  # seconds a sync runs before it tells its progress
PROGRESS_EVERY = 1.0  # seconds between two counts of the same step


class _Progress:
    """Progress on stderr once a sync has run past a second: rewritten in
    place on a terminal, a line every second otherwise. A new step (a
    commit, a push) is told at once: it may be the long one. Counts are
    of sessions, but git's own within a step ("pushing: writing objects")."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.started = time.monotonic()
        self.last = 0.0
        self.step = ""

    def __call__(self, what: str, done: int, total: int) -> None:
        from chit.cli.progress import terminal_width

        moment = time.monotonic()
        this_step = what.split(":")[0]
        if moment - self.started < PROGRESS_AFTER or (moment - self.last < PROGRESS_EVERY and this_step == self.step):
            return
        self.last, self.step = moment, this_step
        count = f" {done:,} of {total:,}{'' if ':' in what else ' sessions'}" if total else ""
        line = f"chit: sync: {what}{count}"
        self.env.stderr.write(f"\r{line[: terminal_width(self.env) - 1]}\x1b[K" if self.env.stderr_isatty else f"{line}\n")
        self.env.stderr.flush()

    def clear(self) -> None:
        """Take the line away (on a terminal, if one was shown)."""
        if self.last and self.env.stderr_isatty:
            self.env.stderr.write("\r\x1b[K")
            self.env.stderr.flush()


def _shown(report: "SyncReport") -> Result:
    """The report; its lines printed without rich off a terminal (`saying`):
    an automatic sync writes to a log, a script's to a pipe."""
    data = report.as_dict()
    counts = [f"{len(data[key])} {word}" for key, word in REPORTED if data[key]]
    sent = f"{report.sent} session{'' if report.sent == 1 else 's'} sent"
    said = saying(
        f"synced with {report.remote}: {sent}; " + (", ".join(counts) if counts else "nothing came in"),
        *(f"  {word:<8} {item['short_id']}  {item['project']}: {item['title']}" for key, word in REPORTED for item in data[key]),
    )

    def human(env: Environment) -> None:
        said(env)
        for path in data["skipped"]:
            env.note(f"skipped {path}: its project cannot be made here (see docs/sync.md)")

    return Result(data, human)


@app.callback()
def sync(ctx: typer.Context, json: JsonFlag = False) -> Optional[Result]:
    """Sync sessions with a private git remote (docs/sync.md).

    Without a subcommand: export, commit, fetch, merge, push (retrying a
    push that lost a race), import. Reports sessions new, grown, changed,
    restored, trashed, emptied (trash emptied everywhere) and kept (written
    here or elsewhere after an emptying everywhere that did not see it)."""
    cli: Cli = ctx.obj.use(json)
    cli.hints = False
    if ctx.invoked_subcommand is not None:
        return None
    with _syncing(cli) as syncer:
        return _shown(syncer.run())


@app.command("init")
def init(ctx: typer.Context, remote: RemoteArg, json: JsonFlag = False) -> Result:
    """Start syncing this store with REMOTE, a private git remote.

    Refuses an http:// remote: transcripts hold secrets; use ssh or https
    and a private repository."""
    cli: Cli = ctx.obj.use(json)
    with _syncing(cli) as syncer:
        return _shown(syncer.init(remote))


@app.command("clone")
def clone(ctx: typer.Context, remote: RemoteArg, json: JsonFlag = False) -> Result:
    """Start syncing this store from REMOTE, set up elsewhere by `sync init`."""
    cli: Cli = ctx.obj.use(json)
    with _syncing(cli) as syncer:
        return _shown(syncer.clone(remote))


@app.command("status")
def status(ctx: typer.Context, json: JsonFlag = False) -> Result:
    """Where this store syncs to, and what changed since the last sync."""
    cli: Cli = ctx.obj.use(json)
    with _syncing(cli, sending=False) as syncer:
        found = syncer.status()
    data: dict[str, Any] = found.as_dict()

    if not found.configured:
        return Result(data, saying("not syncing: run `chit sync init REMOTE` (or `chit sync clone REMOTE`)"))
    return Result(data, saying(f"syncing with {found.remote}, at {(found.commit or '')[:12]}; {found.pending} session file(s) changed since the last sync"))
