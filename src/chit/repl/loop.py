"""The REPL loop: read a line, run a slash command or chat, repeat.

Invariants: Ctrl-C at the prompt clears the line, Ctrl-D (or /quit)
leaves; no error ends the loop — each is one line and the prompt returns.
Without a terminal on stdin the same loop reads plain lines, so the REPL
can be scripted (`printf 'hi\\n/rename X\\n' | chit chat`); scripted, errors
go to stderr, and the script runs to its end: then a line that named no
slash command makes the exit status 2, else a turn the model failed 7.
The consoles it draws on, and the lines a script gives it, come from the
caller (the command's Environment): the loop never makes a console from
the process's variables or reads `sys.stdin` itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console

from chit.api import Chit
from chit.config import Config
from chit.errors import ChitError, ExitStatus
from chit.repl import chat, commands  # noqa: F401  (registers the slash commands)
from chit.repl.registry import dispatch
from chit.repl.state import Repl


def make_repl(service: Chit, config: Config, session_id: str | None, model: str | None, console: Console) -> Repl:
    repl = Repl(service=service, config=config, console=console)
    repl.model = config.resolve_model(model)
    repl.switch(session_id)
    return repl


def handle(repl: Repl, line: str) -> None:
    """One input: a slash command, or a message for the model."""
    text = line.strip()
    if not text:
        return
    try:
        if text.startswith("//"):
            chat.send(repl, line.lstrip()[1:])
        elif text.startswith("/"):
            dispatch(repl, text)
        else:
            chat.send(repl, line.strip("\n"))
    except ChitError as exc:
        repl.error(exc.message)


def greet(repl: Repl) -> None:
    for problem in repl.config.problems:
        repl.error(f"config: {problem}")
    session = repl.session()
    where = f"{session.short_id} {session.title}" if session else "a new session"
    model = repl.model.label if repl.model else "no model set up (/model echo to try chit offline)"
    repl.note(f"chit · {where} · {model} · /help for commands, Ctrl-D to leave")


def run(repl: Repl, **io: Any) -> None:
    """The interactive loop on a terminal (or on `io` input/output in tests)."""
    from chit.repl import prompt

    session = prompt.build(repl, **io)
    greet(repl)
    while repl.running:
        try:
            line = session.prompt()
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        try:
            handle(repl, line)
        except KeyboardInterrupt:  # a command stopped part way: the REPL goes on
            repl.note("[interrupted]")


def run_plain(repl: Repl, lines: Iterable[str], errors: Console) -> int:
    """The same loop over plain `lines` (stdin, not a terminal), errors on
    `errors` (a console on stderr). No error stops the script (the lines
    after it still run); the exit status then says what went wrong: 2 for a
    line that named no slash command (a mistake in the script), else 7 if
    the model failed a turn."""
    repl.errors = errors
    for line in lines:
        handle(repl, line)
        if not repl.running:
            break
    if repl.unknown_command:
        return int(ExitStatus.USAGE)
    return int(ExitStatus.PROVIDER) if repl.model_failed else int(ExitStatus.OK)
