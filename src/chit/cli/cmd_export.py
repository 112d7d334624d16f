"""`chit export`: one session, or every session with --all, as a snapshot,
JSON Lines, Markdown, HTML or plain text."""

# No `from __future__ import annotations` here: Typer reads these annotations
# when it builds a command, and real objects spare it evaluating strings.

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from chit.cli.context import Cli
from chit.cli.options import JsonFlag, ProjectOpt, RefArg, SinceOpt, UntilOpt, commands
from chit.errors import UsageError
from chit.exporters import FORMATS
from chit.render.environment import Environment
from chit.render.result import Result, saying

_FORMAT_HELP = f"The format: {', '.join(FORMATS[:-1])} or {FORMATS[-1]}; json is a snapshot `chit import` takes back."


@contextmanager
def _progress_bar(env: Environment, what: str) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr when it is a terminal; else nothing."""
    if not env.stderr_isatty:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), console=env.console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


app = commands()


@app.command("export", rich_help_panel="Move data")
def export(
    ctx: typer.Context,
    ref: RefArg = None,
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help=_FORMAT_HELP)] = "md",
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", metavar="PATH", help="Write to the file PATH instead of stdout (with --all: into the directory PATH).")
    ] = None,
    all_sessions: Annotated[
        bool, typer.Option("--all", "-a", help="Export every session (of every project, or of -p's) into -o's directory, one file each.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
    redact: Annotated[
        bool, typer.Option("--redact", help="Replace API keys, tokens and private keys found by well-known patterns with a marker; say what was replaced.")
    ] = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Export a session as Markdown, HTML, text or JSON.

    With -f json, it writes a snapshot that `chit import` takes back; with --all, every session goes into a directory, one file each."""
    cli: Cli = ctx.obj.use(json, project)
    redacted: dict[str, int] | None = {} if redact else None
    if all_sessions:
        if ref is not None:
            raise UsageError("--all exports every session; it takes no REF")
        if output is None:
            raise UsageError("--all needs -o DIR, the directory to write into")
        return _export_all(cli, fmt, output, force, since, until, redacted)
    if since is not None or until is not None:
        raise UsageError("--since and --until choose sessions for --all")
    if output is None:
        session, data = cli.service.export_bytes(ref, fmt, redacted=redacted)
        cli.warn_damaged(session)
        if cli.json and fmt != "json":  # --json: one JSON document (a snapshot already is one)
            return Result(_with_redacted({"id": session.id, "format": fmt, "content": data.decode("utf-8")}, redacted))

        def human(env: Environment) -> None:
            _tell_redacted(env, redacted)
            _write(env, data, fmt)

        return Result(human=human)
    if output.is_dir():
        raise UsageError(f"{output} is a directory; give a file name (or use --all to export every session into it)")
    path = cli.service.export_to_file(ref, fmt, output, force=force, redacted=redacted)
    if not cli.json:
        _tell_redacted(cli.env, redacted)
    return Result(_with_redacted({"path": str(path), "format": fmt}, redacted), saying(str(path)))


def _write(env: Environment, data: bytes, fmt: str) -> None:
    """The export's bytes on stdout, as they are (made safe for a terminal)."""
    env.stdout.flush()
    env.stdout.buffer.write(_for_terminal(data, fmt) if env.stdout_isatty else data)
    env.stdout.buffer.flush()


def _with_redacted(data: dict[str, object], redacted: dict[str, int] | None) -> dict[str, object]:
    """A --json result, with what --redact replaced (kind -> count) when asked."""
    if redacted is not None:
        from chit.redact import ordered

        data["redacted"] = dict(ordered(redacted))
    return data


def _tell_redacted(env: Environment, redacted: dict[str, int] | None) -> None:
    """What --redact replaced, on stderr (stdout holds the export)."""
    if redacted is None:
        return
    from chit.redact import ordered

    found = ordered(redacted)
    if not found:
        env.note("redacted nothing: no secret matched the patterns")
        return
    total = sum(count for _, count in found)
    env.note(f"redacted {total} secret{'' if total == 1 else 's'}: " + ", ".join(f"{kind} {count}" for kind, count in found))


_C1 = re.compile("[\x80-\x9f]")


def _for_terminal(data: bytes, fmt: str) -> bytes:
    """An export bound for a terminal. md and txt already show control
    characters visibly; JSON escapes C0 controls but leaves C1 controls
    (which some terminals obey like ESC) raw: they are written as `\\u`
    escapes, which decode to the same text."""
    if fmt not in ("json", "jsonl"):
        return data
    text = data.decode("utf-8")
    return _C1.sub(lambda match: f"\\u{ord(match.group()):04x}", text).encode("utf-8")


def _export_all(
    cli: Cli, fmt: str, directory: Path, force: bool, since: str | None, until: str | None, redacted: dict[str, int] | None
) -> Result:
    service = cli.service
    everywhere = cli.parts.ctx.project_name is None
    with _progress_bar(cli.env, "exporting") as progress:
        files = service.export_all(
            directory, fmt, all_projects=everywhere, force=force, progress=progress, since=since, until=until, redacted=redacted
        )
    data = _with_redacted({"directory": str(directory), "format": fmt, "files": [f.as_dict() for f in files]}, redacted)
    if not cli.json:
        _tell_redacted(cli.env, redacted)

    def human(env: Environment) -> None:
        saying(*(str(f.path) for f in files))(env)
        env.note(f"exported {len(files)} session{'' if len(files) == 1 else 's'} to {directory}")

    return Result(data, human)
