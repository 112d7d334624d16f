"""`chit import`: bring sessions into the store — a snapshot, or every
session of another tool (`--from claude-code|codex|chatgpt|llm|gemini|opencode`)."""

# No `from __future__ import annotations` here: Typer reads these annotations
# when it builds a command, and real objects spare it evaluating strings.

import codecs
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from chit.cli.context import Cli
from chit.cli.options import JsonFlag, ProjectOpt, commands
from chit.errors import InvalidData, InvalidInput, NotFound, UsageError
from chit.render.environment import Environment
from chit.render.result import Result, saying
from chit.visible import visible

if TYPE_CHECKING:
    from chit.service.results import ImportReport

SOURCES = ("claude-code", "codex", "chatgpt", "llm", "gemini", "opencode")  # as chit.importers.NAMES; a test keeps them equal
PROBLEMS_LISTED = 10
HINT = " (see `chit import --help`)"


def _complete_source(incomplete: str) -> list[str]:
    return [s for s in SOURCES if s.startswith(incomplete)]


app = commands()


@app.command("import", rich_help_panel="Move data")
def import_(
    ctx: typer.Context,
    source: Annotated[
        Optional[str],
        typer.Argument(
            metavar="[FILE|PATH]",
            help="A snapshot from `chit export -f json` (- for stdin); with --from, where the tool's data is (default: where the tool keeps it).",
            show_default=False,
        ),
    ] = None,
    from_: Annotated[
        Optional[str],
        typer.Option(
            "--from",
            metavar="TOOL",
            help="Import every session of another tool: claude-code, codex, chatgpt (give its export: the .zip, its folder or conversations.json), llm, gemini or opencode. Re-running updates what changed.",
            autocompletion=_complete_source,
        ),
    ] = None,
    new_id: Annotated[bool, typer.Option("--new-id", help="Always give the session a new id (snapshots only).")] = False,
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Import a session snapshot, or another tool's sessions.

    With --from TOOL, it imports every session of claude-code, codex, chatgpt, llm, gemini or opencode; running it again updates what changed. With no argument, it refreshes every source `chit sources` lists as enabled."""
    cli: Cli = ctx.obj.use(json, project)
    if from_ is not None:
        if new_id:
            raise UsageError("--new-id is for snapshots; an import --from keeps one session per source session" + HINT)
        return _import_from(cli, from_, source)
    if source is None:
        if new_id:
            raise UsageError("--new-id is for snapshots; give the snapshot FILE" + HINT)
        return _refresh(cli)
    data = cli.env.stdin.buffer.read() if source == "-" else _read_file(source)
    data = data.removeprefix(codecs.BOM_UTF8)  # an editor's byte order mark (Notepad) is no part of the JSON
    result = cli.service.import_snapshot(data, new_id_always=new_id)
    note = " (new id: the original is already in the store)" if result.id_changed and not new_id else ""
    return Result(result.as_dict(), saying(f"{result.session.id}{note}"))


def _import_from(cli: Cli, tool: str, path: str | None) -> Result:
    from chit import importers

    if tool not in importers.NAMES:
        raise InvalidInput(f"unknown tool {tool!r} for --from (expected one of: {', '.join(importers.NAMES)})")
    if path is None and importers.get(tool).default_path() is None:
        raise UsageError(f"--from {tool} needs the file to read, e.g. `chit import --from chatgpt conversations.json`" + HINT)
    if path == "-":
        raise UsageError("--from reads files; give a path, not -" + HINT)
    service = cli.service
    with _progress_bar(cli.env, f"importing from {tool}") as progress:
        report = service.import_from(tool, path, progress=progress)
    _summary(cli.env, report)
    return Result(report.as_dict(), saying(*_listed(report)))


def _refresh(cli: Cli) -> Result:
    """`chit import` alone: every source enabled in config.toml, each
    session in the project of its own working directory."""
    enabled = [(tool, path) for tool, paths in cli.config.sources.items() for path in paths]
    if not enabled:
        raise UsageError(
            "no source is enabled: give a snapshot FILE, --from TOOL, or enable tools with `chit sources add TOOL`" + HINT
        )
    with _progress_bar(cli.env, "refreshing") as progress:
        reports = cli.parts.imports.refresh(enabled, progress=progress)
    for report in reports:
        _summary(cli.env, report)
    return Result({"sources": [r.as_dict() for r in reports]}, saying(*(line for r in reports for line in _listed(r))))


@contextmanager
def _progress_bar(env: Environment, what: str) -> Iterator[Callable[[int, int, str], None] | None]:
    """A rich progress bar on stderr when it is a terminal; else nothing."""
    if not env.stderr_isatty:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn(what), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}", markup=False))
    with Progress(*columns, console=env.console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=None)

        def update(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label[:40])

        yield update


def _summary(env: Environment, report: "ImportReport") -> None:
    """Problems and the counts, on stderr (never part of the result)."""
    for problem in report.problems[:PROBLEMS_LISTED]:
        where = f"{problem.path}:{problem.line}" if problem.line else problem.path
        env.warn(f"{where}: {problem.reason}")
    if report.errors > PROBLEMS_LISTED:
        env.warn(f"… and {report.errors - PROBLEMS_LISTED} more problem(s) (--json lists up to 200)")
    for entry in report.sessions:
        if entry.action == "skipped" and entry.reason == "changed in chit":
            env.warn(f"{entry.key}: changed in chit since it was imported; left as it is ({(entry.id or '')[:8]})")
    reasons = ", ".join(f"{n} {r}" for r, n in sorted(report.skipped_reasons.items()))
    env.stderr.write(
        visible(
            f"{report.source}: imported {report.imported}, updated {report.updated}, skipped {report.skipped}"
            f"{f' ({reasons})' if reasons else ''}, errors {report.errors}"
        )
        + "\n"
    )
    env.stderr.flush()


def _listed(report: "ImportReport") -> Iterator[str]:
    """A line for each session imported or updated."""
    for entry in report.sessions:
        if entry.action in ("imported", "updated"):
            short = (entry.id or "").replace("-", "")[:8]
            done = [
                f"{_messages(entry.shown_again)} shown again" if entry.shown_again else "",
                f"{_messages(entry.changed)} changed in place" if entry.changed else "",
                f"{_messages(entry.hidden)} hidden, `chit undo` shows them" if entry.hidden else "",
            ]
            counts = [c for c in done if c] if any(done) and not entry.messages else [_messages(entry.messages), *filter(None, done)]
            yield f"{entry.action} {short}  {entry.title}  ({', '.join([str(entry.project), *counts])})"


def _messages(count: int) -> str:
    return f"{count} message{'' if count == 1 else 's'}"


def _read_file(source: str) -> bytes:
    from chit.store.files import read_named

    try:
        return read_named(source)
    except FileNotFoundError:
        raise NotFound(f"no such file: {source}") from None
    except IsADirectoryError:
        raise InvalidInput(f"{source} is a directory") from None
    except OSError as exc:
        raise InvalidData(f"cannot read {source}: {exc.strerror}") from None
