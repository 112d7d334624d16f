"""The slash commands. Each parses its argument text and makes the same
service call as the matching shell command; output goes to the REPL's
console; every failure is a `ChitError` (one line, the REPL goes on).

Options are parsed by `chit.repl.args` and spelt as in the shell command
named in `SHELL_TWINS` (a test holds the two to the same spelling).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chit import exporters
from chit.errors import InvalidInput, NotFound, UsageError
from chit.model import age
from chit.repl import chat
from chit.repl.args import Option, parse, split
from chit.repl.registry import COMMANDS, slash
from chit.repl.state import Repl

#: The shell command whose options each slash command with options shares.
SHELL_TWINS = {"list": "ls", "search": "search", "fork": "fork", "export": "export"}

_LIMIT = Option(("-n", "--limit"), "limit", "N")
_TAG = Option(("-t", "--tag"), "tag", "TAG")
_LIST_OPTIONS = (_LIMIT, _TAG)
_SEARCH_OPTIONS = (_LIMIT, Option(("-r", "--role"), "role", "ROLE"), _TAG)
_FORK_OPTIONS = (Option(("--at",), "at", "N"), Option(("--title",), "title", "TITLE"))
_EXPORT_OPTIONS = (
    Option(("-f", "--format"), "format", "FORMAT"),
    Option(("-o", "--output"), "output", "PATH"),
    Option(("--force",), "force"),
)


def _words(text: str) -> list[str]:
    return split(text)


def _count(text: str | None, default: int) -> int:
    if text is None:
        return default
    if not text.isdigit():
        raise InvalidInput(f"N must be a whole number, not {text!r}")
    return int(text)


def _current(repl: Repl) -> str:
    if repl.session_id is None:
        raise NotFound("no session yet: type a message first, or /load one")
    return repl.session_id


def _turn(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"turn must be a whole number, not {text!r}") from None


@slash("help", "[COMMAND]")
def help_(repl: Repl, args: str) -> None:
    """List the commands, or explain one."""
    from chit.render import repl_tables
    from chit.repl.registry import lookup

    chosen = [lookup(args.lstrip("/"))] if args else sorted(COMMANDS.values(), key=lambda c: c.name)
    repl_tables.commands(repl.console, [(f"/{command.name} {command.usage}".rstrip(), command.help) for command in chosen])
    if not args:
        repl.note("Enter sends; Alt-Enter (or Esc, Enter) adds a line; Ctrl-C stops a reply; Ctrl-D leaves.")


@slash("new")
def new(repl: Repl, args: str) -> None:
    """Start a new session (created with your first message)."""
    repl.session_id = None
    repl.service.end()
    repl.refresh_status()
    repl.note("new session")


def _print_listing(repl: Repl, rows: list[tuple[str, str, str]]) -> None:
    from chit.render import repl_tables

    repl_tables.sessions(repl.console, rows)
    repl.listing = [r[0] for r in rows]
    if rows:
        repl.note("/load N opens the Nth of these")


@contextmanager
def _catching_up(repl: Repl, progress: bool = False) -> Iterator[None]:
    """A listing meanwhile that finds the index far behind says so, starts
    the catch-up in the background as `chit ls` does and (with `progress`)
    notes its reading once past a second; never after it, so nothing is
    told under the picker's screen or a completion menu."""
    from chit.service.catchup import listing_lags
    from chit.service import list_fresh

    def report(what: str, done: int, total: int) -> None:
        if what != "done":
            repl.note(f"listing: {done:,} of {total:,} {what}")

    queries = repl.parts.queries
    listing_lags(queries, repl.config.index_background, repl.note, report if progress else None)
    try:
        yield
    finally:
        queries.on_listing_lagging = None
        list_fresh.report_progress = None


@slash("list", "[N] [-t TAG]", options=_LIST_OPTIONS)
def list_(repl: Repl, args: str) -> None:
    """List this project's sessions, newest first."""
    parsed = parse("list", args, _LIST_OPTIONS)
    if len(parsed.words) > 1:
        raise UsageError("usage: /list [N] [-t TAG]")
    limit = _count(parsed.text("limit") or (parsed.words[0] if parsed.words else None), 20)
    with _catching_up(repl, progress=True):
        found = repl.service.list(limit=limit, tag=parsed.text("tag"))
    if not found:
        repl.note("no sessions yet")
    _print_listing(repl, [(s.id, s.title, f"{s.turns} turn{'' if s.turns == 1 else 's'} · {age(s.updated_at)}") for s in found])


@slash("search", "QUERY [-n N] [-r ROLE] [-t TAG]", options=_SEARCH_OPTIONS)
def search(repl: Repl, args: str) -> None:
    """Search every project's messages; then /load N."""
    parsed = parse("search", args, _SEARCH_OPTIONS)
    if not parsed.words:
        raise UsageError("usage: /search QUERY [-n N] [-r ROLE] [-t TAG] (quote a query that starts with -, after --)")
    query = " ".join(parsed.words)
    hits = repl.service.search(query, limit=_count(parsed.text("limit"), 20), role=parsed.text("role"), tag=parsed.text("tag"))
    if not hits:
        repl.note("no matches")
    _print_listing(repl, [(h.id, h.title, h.snippet) for h in hits])


@slash("load", "[REF|N]", completes="session")
def load(repl: Repl, args: str) -> None:
    """Switch to a session: id prefix, key, N from /list or /search; none: pick."""
    if not args:
        _pick(repl)
        return
    ref = args.lstrip("#")
    if ref.isdigit() and repl.listing and 1 <= int(ref) <= len(repl.listing) and (args.startswith("#") or len(ref) <= 2):
        ref = repl.listing[int(ref) - 1]
    session = repl.service.resolve(ref)
    repl.switch(session.id)
    repl.say(f"loaded {session.short_id}: {session.title} ({session.turns} turns) — /show prints it")


@slash("resume", "[REF|N]", completes="session")
def resume(repl: Repl, args: str) -> None:
    """As /load: with no REF, choose the session in the picker."""
    load(repl, args)


def _pick(repl: Repl) -> None:
    """Open the session picker; switch to the session chosen in it."""
    from chit.repl.picker.app import choose
    from chit.repl.picker.state import Picker

    with _catching_up(repl):
        picker = Picker(repl.service)  # its first listing; the rest is listed under the picker's screen
    chosen = choose(picker)
    if chosen is None:
        return
    session = repl.service.get(chosen)
    repl.switch(session.id)
    repl.say(f"loaded {session.short_id}: {session.title} ({session.turns} turns) — /show prints it")


@slash("fork", "[--at N] [TITLE]", options=_FORK_OPTIONS)
def fork(repl: Repl, args: str) -> None:
    """Copy this session (up to turn N) into a new one and switch to it."""
    parsed = parse("fork", args, _FORK_OPTIONS)
    at = parsed.text("at")
    title = parsed.text("title") or " ".join(parsed.words) or None
    session = repl.service.fork(_current(repl), at=None if at is None else _turn(at), title=title)
    repl.switch(session.id)
    repl.say(f"forked into {session.short_id}: {session.title}")


@slash("rewind", "N")
def rewind(repl: Repl, args: str) -> None:
    """Keep turns 0..N, drop the rest (recoverable until compact)."""
    if not args:
        raise UsageError("usage: /rewind N")
    dropped = repl.service.rewind(chat.continued(repl, _current(repl)), _turn(args))
    repl.refresh_status()
    repl.say(f"dropped {dropped} message(s)")


@slash("undo")
def undo(repl: Repl, args: str) -> None:
    """Bring back what the last rewind, pop or retry hid (as `chit undo`)."""
    change = repl.service.undo(_current(repl))
    repl.refresh_status()
    if change is None:
        repl.say("nothing to undo")
    else:
        repl.say(f"brought back {len(change.hidden)} message(s) hidden by {change.kind}")


@slash("retry")
def retry(repl: Repl, args: str) -> None:
    """Ask again for the last reply."""
    session = repl.parts.history.reopen_turn(chat.continued(repl, _current(repl)))
    chat.complete(repl, session.messages[-1].invocation_id)


@slash("rename", "TITLE")
def rename(repl: Repl, args: str) -> None:
    """Set this session's title ("" clears it)."""
    title = "" if args in ('""', "''") else args
    session = repl.service.rename(repl.ensure_session(), title)
    repl.refresh_status()
    repl.say(f"title: {session.title}")


@slash("tag", "TAG...", completes="tag")
def tag(repl: Repl, args: str) -> None:
    """Add tags to this session."""
    session = repl.service.tag(repl.ensure_session(), *_words(args))
    repl.say("tags: " + (", ".join(session.tags) or "(none)"))


@slash("untag", "TAG...", completes="tag")
def untag(repl: Repl, args: str) -> None:
    """Remove tags from this session."""
    session = repl.service.untag(_current(repl), *_words(args))
    repl.say("tags: " + (", ".join(session.tags) or "(none)"))


@slash("show")
def show(repl: Repl, args: str) -> None:
    """Print this session's transcript."""
    from chit.render import human

    session = repl.service.get(_current(repl))
    human.transcript(repl.console, session, repl.parts.ctx.locate(session.id).name, pager=None)


@slash("export", "FORMAT [PATH] [--force]", completes="format", options=_EXPORT_OPTIONS)
def export(repl: Repl, args: str) -> None:
    """Write this session to a file (json, jsonl, md…); --force overwrites."""
    parsed = parse("export", args, _EXPORT_OPTIONS)
    words = list(parsed.words)
    fmt = parsed.text("format") or (words.pop(0) if words else None)
    output = parsed.text("output") or (words.pop(0) if words else None)
    if fmt is None or words:
        raise UsageError(f"usage: /export FORMAT [PATH] [--force] (formats: {', '.join(exporters.FORMATS)})")
    session_id = _current(repl)
    path = Path(output).expanduser() if output else Path(f"chit-{session_id[:8]}.{fmt}")
    if path.is_dir():
        raise UsageError(f"{path} is a directory; give a file name")
    written = repl.service.export_to_file(session_id, fmt, path, force=parsed.flag("force"))
    repl.say(f"wrote {written}")


@slash("model", "[NAME]", completes="model")
def model(repl: Repl, args: str) -> None:
    """Switch model, or list the configured ones and the endpoint's."""
    from chit.repl import models
    from chit.urls import shown

    if args:
        spec = models.spec_for(args, repl.config, repl.endpoints or []) or repl.config.resolve_model(args)
        if spec is None:
            raise InvalidInput(f"unknown model {args!r}")
        missing = spec.missing_key()
        if missing:
            raise InvalidInput(missing)
        repl.model = spec
        repl.refresh_status()
        repl.say(f"model: {spec.label}")
        return
    repl.say(f"model: {repl.model.label if repl.model else 'none'}")
    repl.say(f"configured: {', '.join(repl.config.model_names())}")
    repl.endpoints = models.survey(repl.config, repl.model)
    for endpoint in repl.endpoints:
        if endpoint.problem:
            repl.error(endpoint.problem)
        else:
            repl.say(f"at {shown(endpoint.spec.base_url)}: {', '.join(endpoint.models) or '(none listed)'}")
    repl.note("/model NAME switches (Tab completes the names)")


@slash("system", "TEXT")
def system(repl: Repl, args: str) -> None:
    """Add a system message to this session."""
    if not args:
        raise UsageError("usage: /system TEXT")
    repl.service.append(chat.continued(repl, repl.ensure_session()), "system", args)
    repl.refresh_status()
    repl.say("system message added")


@slash("delete")
def delete(repl: Repl, args: str) -> None:
    """Move this session to the trash (chit restore brings it back)."""
    session = repl.service.delete(_current(repl))
    repl.session_id = None
    repl.refresh_status()
    repl.say(f"moved {session.short_id} to the trash (chit restore {session.short_id})")


@slash("quit")
def quit_(repl: Repl, args: str) -> None:
    """Leave the REPL (Ctrl-D works too)."""
    repl.running = False
