"""`chit` entry point: run the app and map every failure to one line and
its exit code (docs/architecture.md, rule 3; the codes in docs/cli.md).

`run(args, env)` runs one command line in this process, on the streams of
`env` (a `chit.render.environment.Environment`; the real process's when
none is given) and returns its exit status: `main` is `run` on sys.argv.

Invariants: no traceback reaches a user for a foreseeable fault; an
unforeseen one prints one line (the traceback only with CHIT_DEBUG=1).
A command's `Result` is printed once, here, after the command returned.
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

from chit.errors import ChitError, ExitStatus

if TYPE_CHECKING:
    from chit.render.environment import Environment


def _wants_json(argv: Sequence[str]) -> bool:
    options = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in options or "--jsonl" in options


def _report(env: Environment, payload: dict[str, object], as_json: bool) -> None:
    if as_json:
        from chit.render.json_out import emit_error

        emit_error(env, payload)
    else:
        env.error(str(payload["message"]))


def main(argv: Sequence[str] | None = None) -> NoReturn:
    args = list(sys.argv[1:] if argv is None else argv)
    _leave(run(args))


def _leave(status: int) -> NoReturn:
    """End the program with `status`: at once when Python's shutdown has
    nothing left to do but free what the process holds (its streams
    flushed, no other thread, no exit handler registered: `atexit`,
    `weakref.finalize`, logging's), which was about 5 ms of every command's
    CPU time; otherwise through that shutdown, as any program."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe or stream: the shutdown deals with it as before
        sys.exit(status)
    threading = sys.modules.get("threading")  # (never imported: no thread was started through it)
    handlers = getattr(atexit, "_ncallbacks", None)  # CPython's count of exit handlers: without it, the whole shutdown
    if handlers is not None and (threading is None or threading.active_count() == 1) and not handlers():
        connections = sys.modules.get("chit.index.connections")
        if connections is not None:
            connections.close_written()  # what freeing them did: the log of their writes folded in
        os._exit(status)
    sys.exit(status)


def run(args: list[str], env: Environment | None = None) -> int:
    """Run chit with `args` on `env`; returns the exit status."""
    if args[:1] == ["__complete"]:  # the completion scripts' protocol: fast, silent
        from chit.cli.complete import run as complete

        return complete(args[1:], sys.stdout if env is None else env.stdout)
    if args == ["--version"]:  # the answer needs no command line parser (nor an Environment)
        from chit import __version__

        out = sys.stdout if env is None else env.stdout
        out.write(f"chit {__version__}\n")
        out.flush()
        return int(ExitStatus.OK)
    if env is None:
        from chit.render.environment import Environment

        env = Environment.from_process()
    as_json = _wants_json(args)
    status = _guarded(env, lambda: run_typer(args, as_json, env), as_json)
    _conflict_notice(env)
    return status


def _conflict_notice(env: Environment) -> None:
    """One line on stderr when the index's refreshes saw conflict copies
    that a file-sync tool left in the store (see chit.service.conflicts)."""
    db = sys.modules.get("chit.index.db")  # no refresh ran if the index was never loaded
    total = sum(db.conflict_copies.values()) if db is not None else 0
    if total:
        copies = "conflict copy" if total == 1 else "conflict copies"
        env.stderr.write(f"chit: warning: {total} {copies} from a file-sync tool in the store; run `chit doctor --repair` to merge them\n")
        env.stderr.flush()


def run_typer(args: list[str], as_json: bool, env: Environment) -> int:
    """Run `args` through the Typer app and print the command's result;
    usage errors and help are answered here, chit's own errors go up to
    `_guarded`."""
    with _start_up_imports():
        import typer

        from chit.cli.app import root
        from chit.cli.context import Cli
        from chit.render.result import Result, show

    cli = Cli(env)
    stdout = sys.stdout
    try:
        with _click_streams(env):
            result = root.main(args=args, prog_name="chit", standalone_mode=False, obj=cli)
        if isinstance(result, Result):
            return show(result, env, cli.mode, cli.colour)
        return result if isinstance(result, int) else int(ExitStatus.OK)
    except typer.Abort:
        env.stderr.write("\n")
        return int(ExitStatus.INTERRUPTED)
    except typer.TyperException as exc:  # click's errors: usage errors exit 2, as chit's do
        ctx = getattr(exc, "ctx", None)
        if exc.exit_code == ExitStatus.USAGE:
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            _report(env, {"code": "USAGE", "message": exc.format_message() + hint}, as_json)
        else:
            _report(env, {"code": "ERROR", "message": exc.format_message()}, as_json)
        return exc.exit_code
    except SystemExit:
        if sys.stdout is not stdout:  # typer met a closed pipe: it wraps stdout and exits 1; chit exits 0
            _silence_stdout(env)
            return int(ExitStatus.OK)
        raise


@contextmanager
def _start_up_imports() -> Iterator[None]:
    """Typer and chit's app imported with the garbage collector paused, and
    then frozen out of its sight: they live as long as the process, and the
    collector walking them again and again was about a tenth of a short
    command's CPU time. The first time in a process only (then the
    modules are there and nothing is imported)."""
    if "chit.cli.app" in sys.modules:
        yield
        return
    from chit import collector

    with collector.paused(freeze=True):
        yield


@contextmanager
def _click_streams(env: Environment) -> Iterator[None]:
    """Typer (click) writes help and prompts to sys.stdout and sys.stderr
    and reads answers from sys.stdin: for the run, those are env's."""
    saved = sys.stdin, sys.stdout, sys.stderr
    if saved == (env.stdin, env.stdout, env.stderr):
        yield
        return
    sys.stdin, sys.stdout, sys.stderr = env.stdin, env.stdout, env.stderr
    try:
        yield
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved


def _guarded(env: Environment, work: Callable[[], int], as_json: bool) -> int:
    """`work()`, with every failure turned into one line and its exit code."""
    try:
        return work()
    except ChitError as exc:
        _report(env, exc.to_dict(), as_json)
        return int(exc.exit_status)
    except KeyboardInterrupt:
        env.stderr.write("\n")
        return int(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        _silence_stdout(env)
        return int(ExitStatus.OK)
    except Exception as exc:  # an unforeseen fault: one line, no locals
        if env.variables.get("CHIT_DEBUG"):
            raise
        _report(env, {"code": "INTERNAL", "message": f"internal error: {type(exc).__name__}: {exc} (set CHIT_DEBUG=1 for a traceback)"}, as_json)
        return int(ExitStatus.ERROR)


def _silence_stdout(env: Environment) -> None:
    """After a closed pipe, stop Python from complaining at exit."""
    try:
        descriptor = env.stdout.fileno()
    except (OSError, ValueError):  # not a file (an in-memory stream): nothing will complain
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
