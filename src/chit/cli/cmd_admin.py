"""Commands for keeping the store: rm, restore, trash, state, gc, compact,
doctor, index."""

# No `from __future__ import annotations` here: Typer reads these annotations
# when it builds a command, and real objects spare it evaluating strings.

from typing import Annotated, Optional

import orjson
import typer

from chit.cli.context import Cli
from chit.cli.options import AllFlag, JsonFlag, JsonlFlag, ProjectOpt, RefArg, RequiredRef, SinceOpt, UntilOpt, commands
from chit.cli.parse import duration
from chit.errors import ExitStatus, InvalidInput, UsageError
from chit.model import SessionSummary
from chit.render.environment import Environment
from chit.render.result import Result, saying


def _summaries(items: list[SessionSummary], verb: str) -> Result:
    said = saying(*(f"{verb} {s.short_id}  {s.title}" for s in items))  # into a pipe without rich

    def human(env: Environment) -> None:
        said(env)
        if not items:
            env.note(f"nothing {verb.lower()}")

    return Result.listing((s.as_dict() for s in items), human)


app = commands()


def _tell_progress(cli: Cli, doing: str) -> None:
    """A run over many sessions, and the index it brings up to date first,
    told on stderr past a second (`chit.cli.progress`)."""
    from chit.cli.progress import reporter, show_index_progress
    from chit.service import lifecycle

    show_index_progress(cli.env)
    lifecycle.report_progress = reporter(cli.env, doing)


@app.command("rm", rich_help_panel="Keep the store")
def rm(
    ctx: typer.Context,
    refs: Annotated[list[str], typer.Argument(metavar="REF...", help="The sessions to move to the trash.")],
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Move sessions to the trash (`chit restore` brings them back)."""
    cli: Cli = ctx.obj.use(json, project)
    _tell_progress(cli, "rm")
    removed = cli.parts.maintenance.delete_all(refs)
    return _summaries(removed, "Trashed")


@app.command("restore", rich_help_panel="Keep the store")
def restore(ctx: typer.Context, ref: RequiredRef, json: JsonFlag = False) -> Result:
    """Bring a session back from the trash.

    A session whose id is live in another project too (a `projects mv`
    cut short; `chit doctor` reports it) is not brought back: exit 6,
    nothing changed, as when a copy is live in its own project; rm that
    copy first.
    """
    cli: Cli = ctx.obj.use(json)
    session = cli.service.restore(ref)
    return Result(session.header_dict(), saying(f"restored {session.short_id}  {session.title}"))


@app.command("trash", rich_help_panel="Keep the store")
def trash(
    ctx: typer.Context,
    all_projects: AllFlag = False,
    empty: Annotated[bool, typer.Option("--empty", help="Delete trashed sessions for good.")] = False,
    older_than: Annotated[Optional[str], typer.Option("--older-than", metavar="AGE", help="With --empty: only those trashed more than AGE ago (e.g. 30d).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --empty.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="With --empty: show what would go.")] = False,
    everywhere: Annotated[
        bool, typer.Option("--everywhere", help="With --empty: the next sync removes them from the sync remote and every other machine too.")
    ] = False,
    project: ProjectOpt = None,
    json: JsonFlag = False,
    jsonl: JsonlFlag = False,
) -> Result:
    """List the trash, or empty it with --empty."""
    cli: Cli = ctx.obj.use(json, project, jsonl)
    if not empty:
        if older_than is not None or dry_run or everywhere:
            raise InvalidInput("--older-than, --dry-run and --everywhere go with --empty")
        items = cli.service.trash(all_projects=all_projects)

        def human(env: Environment) -> None:
            from chit.render import human

            human.trashed(env, items)

        return Result.listing((s.as_dict() for s in items), human)
    age = duration(older_than) if older_than else None
    _tell_progress(cli, "trash")
    if not (yes or dry_run):
        doomed = cli.service.empty_trash(all_projects=all_projects, older_than=age, dry_run=True)
        if doomed and not cli.env.stdin_isatty:
            raise InvalidInput("emptying the trash cannot be undone; add --yes to confirm")
        if doomed and not typer.confirm(f"Delete {len(doomed)} trashed session(s) for good?", err=True):
            return Result()  # declined: nothing deleted, nothing printed
    gone = cli.service.empty_trash(all_projects=all_projects, older_than=age, dry_run=dry_run, everywhere=everywhere)
    return _summaries(gone, "Would delete" if dry_run else "Deleted")


@app.command("state", rich_help_panel="Edit")
def state(
    ctx: typer.Context,
    ref: RefArg = None,
    new_state: Annotated[Optional[str], typer.Argument(metavar="[STATE]", help="The state to set: idle, running or error.")] = None,
    turn_id: Annotated[Optional[str], typer.Option("--turn-id", metavar="ID", help="With running: the turn's id (default: a new one).")] = None,
    error: Annotated[Optional[str], typer.Option("--error", metavar="TEXT", help="With error: what went wrong.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", metavar="KEY=VALUE", help="Set a value in the session's state map.")] = None,
    unset: Annotated[Optional[list[str]], typer.Option("--unset", metavar="KEY", help="Remove a value from the state map.")] = None,
    running: Annotated[bool, typer.Option("--running", help="List running sessions (all projects).")] = False,
    stuck: Annotated[Optional[str], typer.Option("--stuck", metavar="AGE", help="List sessions running for longer than AGE (e.g. 10m).")] = None,
    project: ProjectOpt = None,
    json: JsonFlag = False,
    jsonl: JsonlFlag = False,
) -> Result:
    """Show or set a session's run state and state map.

    With --running or --stuck, list running sessions instead."""
    cli: Cli = ctx.obj.use(json, project, jsonl)
    service = cli.service
    if running or stuck is not None:
        if ref is not None or new_state is not None or set_ or unset:
            raise InvalidInput("--running and --stuck list sessions; they take no REF or changes")
        found = service.stuck(duration(stuck)) if stuck is not None else service.running()

        def listing(env: Environment) -> None:
            from chit.render import human

            human.sessions(env, [s.summary(cli.parts.ctx.locate(s.id).name) for s in found], show_project=True, empty="none")

        return Result.listing((s.header_dict() for s in found), listing)
    if jsonl:
        raise InvalidInput("--jsonl goes with --running or --stuck (a list)")
    from chit.cli.parse import pairs
    from chit.model import STATES

    if new_state is None and ref in STATES:  # `chit state running`: STATE of the current session
        ref, new_state = None, ref
    if new_state is None and (turn_id is not None or error is not None):
        raise InvalidInput("--turn-id and --error go with a STATE")
    values = pairs(set_, "--set")
    session = cli.parts.sessions.change_run(ref, new_state, turn_id=turn_id, error=error, values=values, unset=unset or ())
    data = {"id": session.id, **session.run.as_dict(), "values": session.values}

    run = session.run
    extra = f" turn {run.turn_id}" if run.turn_id else ""
    extra += f" since {run.since}" if run.since else ""
    extra += f" error: {run.error}" if run.error else ""
    stored = [f"  {key} = {orjson.dumps(value).decode()}" for key, value in session.values.items()]
    return Result(data, saying(f"{session.short_id} {run.state}{extra}", *stored))


@app.command("gc", rich_help_panel="Keep the store")
def gc(
    ctx: typer.Context,
    older_than: Annotated[Optional[str], typer.Option("--older-than", metavar="AGE", help="Trash sessions idle for longer than AGE (e.g. 90d).")] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would be trashed.")] = False,
    all_projects: AllFlag = False,
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Move stale sessions to the trash (running ones are kept).

    Give --older-than, --until or both; --since narrows to sessions last
    updated from then on."""
    cli: Cli = ctx.obj.use(json, project)
    if older_than is None and until is None:
        raise UsageError("give --older-than AGE or --until WHEN; gc never trashes every session (see `chit gc --help`)")
    ttl = duration(older_than) if older_than is not None else None
    _tell_progress(cli, "gc")
    stale = cli.service.cleanup(ttl, all_projects=all_projects, dry_run=dry_run, since=since, until=until)
    return _summaries(stale, "Would trash" if dry_run else "Trashed")


@app.command("compact", rich_help_panel="Keep the store")
def compact(ctx: typer.Context, ref: RefArg = None, project: ProjectOpt = None, json: JsonFlag = False) -> Result:
    """Rewrite a session file without hidden messages and bad lines.

    What rewind, pop and replace hid is dropped for good: after it, `chit undo` has nothing to bring back."""
    cli: Cli = ctx.obj.use(json, project)
    report = cli.service.compact(ref)
    said = (
        f"{report.id[:8]}: dropped {report.messages_dropped} message(s) and {report.lines_dropped} bad line(s); "
        f"{report.bytes_before} → {report.bytes_after} bytes"
    )
    return Result(report.as_dict(), saying(said))


@app.command("doctor", rich_help_panel="Keep the store")
def doctor(
    ctx: typer.Context,
    repair: Annotated[bool, typer.Option("--repair", help="Fix what can be fixed (compacts damaged sessions, rebuilds index rows).")] = False,
    json: JsonFlag = False,
) -> Result:
    """Check every session file, and the index against them.

    Exits 5 if problems remain; --repair fixes what it can."""
    cli: Cli = ctx.obj.use(json)
    from chit.cli.progress import reporter, show_index_progress
    from chit.service import doctor as checking

    show_index_progress(cli.env)  # the index is brought up to date before it is compared
    checking.report_progress = reporter(cli.env, "doctor")
    report = cli.service.doctor(repair=repair)
    from chit.index import db

    db.conflict_copies.clear()  # the report names them: no warning line besides

    findings = [f"{f'{f.path}:{f.line}' if f.line else f.path}: {f.problem}" + (" (repaired)" if f.repaired else "") for f in report.findings]
    summary = (
        f"{report.sessions_checked} session(s) checked, {report.index_checked} index row(s) compared, "
        f"{len(report.findings)} problem(s)" + ("" if report.ok else "; run `chit doctor --repair`")
    )
    return Result(report.as_dict(), saying(*findings, summary), status=int(ExitStatus.OK if report.ok else ExitStatus.INVALID))


@app.command("index", rich_help_panel="Keep the store")
def index(
    ctx: typer.Context,
    background: Annotated[bool, typer.Option("--background", help="Run at a low priority, without progress; end at once if another catch-up runs (what a search starts).")] = False,
    json: JsonFlag = False,
) -> Result:
    """Bring the search index up to date with the session files now.

    A search that finds the index far behind (a store copied or restored,
    an index deleted) answers from the files and starts this in the
    background; run it yourself when that is turned off."""
    cli: Cli = ctx.obj.use(json)
    if background:
        import os

        os.nice(10)
    else:
        from chit.cli.progress import show_index_progress

        show_index_progress(cli.env)
    from chit.service.catchup import catch_up

    slugs = [p.slug for p in cli.parts.ctx.projects.all()]
    read = cli.parts.ctx.indexed(lambda index: catch_up(index, slugs, wait=not background))
    data = {"files_read": read, "running_elsewhere": read is None and background}
    said = "another catch-up is running" if read is None else f"index up to date ({read:,} session file(s) read)"
    return Result(data, saying(said))
