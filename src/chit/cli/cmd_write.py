"""Commands that change a session: new, append, fork, rewind, pop, undo,
replace, rename, tag, untag. Each: parse, one service call, render."""

# No `from __future__ import annotations` here: Typer reads these annotations
# when it builds a command, and real objects spare it evaluating strings.

import codecs
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from chit.cli.context import Cli
from chit.cli.options import JsonFlag, ProjectOpt, RefArg, RequiredRef, commands
from chit.cli.parse import pairs
from chit.errors import ChitError, InvalidInput, NotFound, UsageError
from chit.render.result import Result, saying
from chit.store.sessions import id_prefix_shaped

if TYPE_CHECKING:
    from chit.model import Change, Session


def _confirm(session: "Session", text: str) -> Result:
    return Result(session.header_dict(), saying(text))


def ref_and_value(args: list[str], what: str) -> tuple[str | None, str]:
    """`[REF] VALUE`: one argument is the value, two are REF then value."""
    if len(args) == 1:
        return None, args[0]
    if len(args) == 2:
        return args[0], args[1]
    raise UsageError(f"expected [REF] {what}, got {len(args)} arguments")


LONE_ID_MIN = 4  # shorter hex words ("add", "bad") are too often plain text


def looks_like_id(text: str) -> bool:
    """Whether `text` has the shape of a session id, `ctx_<id>` or an id
    prefix of at least LONE_ID_MIN hex digits (whether a session has it
    is for `locate_ref` to say)."""
    lowered = text.strip().lower()
    lowered = lowered[4:] if lowered.startswith("ctx_") else lowered
    return len(lowered.replace("-", "")) >= LONE_ID_MIN and id_prefix_shaped(lowered)


def refuse_lone_id(cli: Cli, command: str, value: str, what: str) -> None:
    """A lone VALUE that is the id (or a unique id prefix) of a session is
    almost surely a REF whose VALUE was forgotten (`chit rename 2388`):
    a usage error that shows both intended forms, not a silent write."""
    if not looks_like_id(value):
        return
    try:
        _, session_id = cli.parts.queries.locate_ref(value)
    except ChitError:
        return  # no session or several: the value is just text
    raise UsageError(
        f"{value!r} is the id of session {session_id[:8]}; to change that session: chit {command} {value} {what} "
        f"(to use {value!r} itself as the {what.lower()}, name the session first: chit {command} REF {value})"
    )


app = commands()


@app.command("new", rich_help_panel="Sessions")
def new(
    ctx: typer.Context,
    title: Annotated[Optional[str], typer.Argument(metavar="[TITLE]", help="The title (default: from the first user message).", show_default=False)] = None,
    key: Annotated[Optional[str], typer.Option("--key", "-k", metavar="KEY", help="A unique key to find this session by.")] = None,
    tag: Annotated[Optional[list[str]], typer.Option("--tag", "-t", metavar="TAG", help="Add this tag (repeatable).")] = None,
    meta: Annotated[Optional[list[str]], typer.Option("--meta", metavar="KEY=VALUE", help="Metadata; a VALUE that is valid JSON keeps its type (repeatable).")] = None,
    system: Annotated[Optional[str], typer.Option("--system", metavar="TEXT", help="Start with this system message.")] = None,
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Start a new session and make it current.

    Prints the new session's id."""
    cli: Cli = ctx.obj.use(json, project)
    initial = [{"role": "system", "content": system}] if system else []
    session = cli.service.create(title=title, key=key, tags=tag or (), metadata=pairs(meta), messages=initial)
    return Result(session.header_dict(), saying(session.id))


@app.command("append", rich_help_panel="Sessions")
def append(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(metavar="[REF] CONTENT", help="The session (default: the current one) and the message text (- reads it from stdin).")],
    role: Annotated[str, typer.Option("--role", "-r", metavar="ROLE", help="Who wrote the message: system, user, assistant or tool.")] = "user",
    key: Annotated[Optional[str], typer.Option("--key", "-k", metavar="KEY", help="Append to the session with this key, creating it on first use.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", metavar="MODEL", help="Model that wrote the message.")] = None,
    invocation: Annotated[Optional[str], typer.Option("--invocation-id", metavar="ID", help="Group the messages of one model call or tool run under ID.")] = None,
    input_tokens: Annotated[Optional[int], typer.Option("--input-tokens", min=0, metavar="N", help="Prompt tokens the model call used.")] = None,
    output_tokens: Annotated[Optional[int], typer.Option("--output-tokens", min=0, metavar="N", help="Tokens the model call produced.")] = None,
    meta: Annotated[Optional[list[str]], typer.Option("--meta", metavar="KEY=VALUE", help="Metadata; a VALUE that is valid JSON keeps its type (repeatable).")] = None,
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Append a message to a session.

    A script can pipe a reply in: give - as CONTENT to read it from stdin."""
    cli: Cli = ctx.obj.use(json, project)
    ref, content = ref_and_value(args, "CONTENT")
    if key is not None and ref is not None:
        raise InvalidInput("give either a REF or --key, not both")
    if ref is None and key is None:
        refuse_lone_id(cli, "append", content, "CONTENT")
    if content == "-":
        content = _read_stdin(cli)
    tokens = (input_tokens, output_tokens) if input_tokens is not None or output_tokens is not None else None
    metadata = pairs(meta)
    service = cli.service
    if key is not None:
        from chit.service.sessions import make_message

        # validate the message before --key may create its session
        make_message(role, content, invocation_id=invocation, model=model, tokens=tokens, metadata=metadata)
        ref = service.ensure_keyed(key).id
    try:
        _, session_id = cli.parts.queries.locate_ref(ref)
    except NotFound as exc:
        from chit.model import ROLES

        if ref in ROLES:
            raise NotFound(f"{exc.message} (to set the role, use --role {ref})") from None
        raise
    session_id = _continued(cli, session_id)
    message = service.append(session_id, role, content, invocation_id=invocation, model=model, tokens=tokens, metadata=metadata)
    return Result({"session_id": session_id, **message.as_dict()}, saying(message.id))


def _continued(cli: Cli, session_id: str) -> str:
    """Where a message, rewind, pop or replace for `session_id` goes: a
    session imported from another tool is continued in its fork (made now,
    and said so)."""
    target, fork = cli.parts.sessions.continue_in(session_id)
    if fork is not None:
        cli.env.note(f"{session_id[:8]} is imported and follows its source; continuing in a fork of it: {fork.id[:8]} (now the current session)")
    return target


@app.command("fork", rich_help_panel="Edit")
def fork(
    ctx: typer.Context,
    ref: RefArg = None,
    at: Annotated[Optional[int], typer.Option("--at", metavar="TURN", help="Copy turns 0..TURN (default: all).")] = None,
    title: Annotated[Optional[str], typer.Option("--title", metavar="TITLE", help='The new title (default: the old one followed by " (fork)").')] = None,
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Copy a session (up to a turn) into a new one and make it current."""
    cli: Cli = ctx.obj.use(json, project)
    session = cli.service.fork(ref, at=at, title=title)
    return Result(session.header_dict(), saying(session.id))

# negative turns such as -1 are arguments (refused with a clear message), not unknown options
@app.command("rewind", rich_help_panel="Edit", context_settings={"ignore_unknown_options": True})
def rewind(
    ctx: typer.Context,
    args: Annotated[Optional[list[str]], typer.Argument(metavar="[REF] [TURN]", help="The session (default: the current one) and the last turn to keep; the preamble always stays.")] = None,
    invocation: Annotated[Optional[str], typer.Option("--invocation", metavar="ID", help="Keep everything through this invocation id instead.")] = None,
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Drop the turns after TURN.

    `chit undo` brings them back, until `chit compact`."""
    cli: Cli = ctx.obj.use(json, project)
    values = list(args or [])
    if invocation is not None:
        if len(values) > 1:
            raise UsageError("with --invocation, give at most a REF")
        ref, turn = (values[0] if values else None), None
    else:
        if not values:
            raise UsageError("give the turn to rewind to (or --invocation ID)")
        ref, raw = ref_and_value(values, "TURN")
        turn = _turn(raw)
    from chit.service.sessions import check_turn, is_mirror

    scope, named_id = cli.parts.queries.locate_ref(ref)
    if is_mirror(cli.parts.ctx.store.read_header(scope.slug, named_id) or {}):
        # refused before an imported session is forked for it (any other is
        # checked by `rewind`, under the lock, with the same words)
        named = cli.parts.ctx.read_session(scope, named_id)
        if turn is not None:
            check_turn(turn, named)
        elif not any(m.invocation_id == invocation for m in named.messages):
            raise NotFound(f"no message with invocation id {invocation!r} in session {named.short_id}")
    target = _continued(cli, named_id)
    dropped = cli.service.rewind(target, turn, invocation_id=invocation)
    session = cli.service.resolve(target)
    data = {"id": session.id, "dropped": dropped, "turns": session.turns, "messages": len(session.messages)}
    return Result(data, saying(f"dropped {dropped} message(s); {session.short_id} now has {session.turns} turn(s)"))


@app.command("pop", rich_help_panel="Edit")
def pop(ctx: typer.Context, ref: RefArg = None, project: ProjectOpt = None, json: JsonFlag = False) -> Result:
    """Drop the last message.

    `chit undo` brings it back, until `chit compact`."""
    cli: Cli = ctx.obj.use(json, project)
    session_id = _continued(cli, cli.parts.queries.locate_ref(ref)[1])
    popped = cli.service.pop(session_id)
    return Result({"id": session_id, "popped": popped}, saying("dropped the last message" if popped else "no message to drop"))


@app.command("undo", rich_help_panel="Edit")
def undo(ctx: typer.Context, ref: RefArg = None, project: ProjectOpt = None, json: JsonFlag = False) -> Result:
    """Bring back what the last rewind, pop or replace hid.

    Run it again to undo the change before that one. It works until `chit compact`."""
    cli: Cli = ctx.obj.use(json, project)
    session_id = cli.parts.queries.locate_ref(ref)[1]
    change = cli.service.undo(session_id)
    session = cli.service.resolve(session_id)
    data = {
        "id": session.id,
        "undone": change.kind if change else None,
        "restored": len(change.hidden) if change else 0,
        "removed": change.added if change else 0,
        "messages": len(session.messages),
        "turns": session.turns,
        "hidden": session.hidden,
    }
    return Result(data, saying(_undone(change, session)))


@app.command("replace", rich_help_panel="Edit")
def replace(
    ctx: typer.Context,
    ref: RequiredRef,
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="The messages: a JSON array, JSON Lines, or `chit show --json` output; - reads stdin.")],
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Make a session hold exactly the messages in FILE.

    The common start is kept and what differs is hidden (`chit undo` brings it back)."""
    cli: Cli = ctx.obj.use(json, project)
    from chit.service.history import check_messages, parse_messages

    data = cli.env.stdin.buffer.read() if source == "-" else _read_file(source)
    data = data.removeprefix(codecs.BOM_UTF8)  # an editor's byte order mark (Notepad) is no part of the JSON
    messages = parse_messages(data)
    check_messages(messages)  # refused before an imported session is forked for it
    before = cli.service.resolve(_continued(cli, cli.parts.queries.locate_ref(ref)[1]))
    session = cli.service.update(before.id, messages)
    hidden = session.hidden - before.hidden
    note = f"; {hidden} hidden (`chit undo` brings them back)" if hidden > 0 else ""
    text = f"{session.short_id}: {len(session.messages)} message(s), {session.turns} turn(s){note}"
    return Result(session.header_dict(), saying(text))


@app.command("rename", rich_help_panel="Edit")
def rename(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(metavar="[REF] TITLE", help='The session (default: the current one) and its new title; "" clears it.')],
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Set a session's title ("" returns to the automatic one)."""
    cli: Cli = ctx.obj.use(json, project)
    ref, title = ref_and_value(args, "TITLE")
    if ref is None:
        refuse_lone_id(cli, "rename", title, "TITLE")
    session = cli.service.rename(ref, title)
    return _confirm(session, f"{session.short_id}: {session.title}")


@app.command("tag", rich_help_panel="Edit")
def tag(
    ctx: typer.Context,
    ref: RequiredRef,
    tags: Annotated[list[str], typer.Argument(metavar="TAG...", help="The tags to add.")],
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Add tags to a session."""
    cli: Cli = ctx.obj.use(json, project)
    session = cli.service.tag(ref, *tags)
    return _confirm(session, f"{session.short_id}: {', '.join(session.tags) or '(no tags)'}")


@app.command("untag", rich_help_panel="Edit")
def untag(
    ctx: typer.Context,
    ref: RequiredRef,
    tags: Annotated[list[str], typer.Argument(metavar="TAG...", help="The tags to remove.")],
    project: ProjectOpt = None,
    json: JsonFlag = False,
) -> Result:
    """Remove tags from a session."""
    cli: Cli = ctx.obj.use(json, project)
    had = cli.service.resolve(ref).tags
    session = cli.service.untag(ref, *tags)
    absent = [t for t in dict.fromkeys(tags) if t not in had]
    if absent:
        cli.env.warn(f"session {session.short_id} had no tag {', '.join(map(repr, absent))}")
    return _confirm(session, f"{session.short_id}: {', '.join(session.tags) or '(no tags)'}")


def _undone(change: "Change | None", session: "Session") -> str:
    if change is None:
        return f"nothing to undo in {session.short_id}"
    text = f"brought back {len(change.hidden)} message(s) hidden by {change.kind}"
    if change.added:
        text += f", hid the {change.added} it added"
    return f"{text}; {session.short_id} now has {session.turns} turn(s)"


def _read_file(source: str) -> bytes:
    from chit.store.files import read_named

    try:
        return read_named(source)
    except FileNotFoundError:
        raise NotFound(f"no such file: {source}") from None
    except IsADirectoryError:
        raise InvalidInput(f"{source} is a directory") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {source}: {exc.strerror}") from None


def _turn(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"turn must be a whole number, not {raw!r}") from None


def _read_stdin(cli: Cli) -> str:
    data = cli.env.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("stdin is not valid UTF-8") from None
