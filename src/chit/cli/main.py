"""`chit` entry point: run the app and map every failure to one line and
its exit code (docs/architecture.md, rule 3; the codes in docs/cli.md).

Invariant: no traceback reaches a user for a foreseeable fault; an
unforeseen one prints one line (the traceback only with CHIT_DEBUG=1).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from chit.errors import ChitError, ExitStatus


def _wants_json(argv: Sequence[str]) -> bool:
    options = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in options or "--jsonl" in options


def _report(payload: dict[str, object], as_json: bool) -> None:
    if as_json:
        from chit.render.json_out import emit_error

        emit_error(payload)
    else:
        from chit.visible import visible

        sys.stderr.write(f"chit: error: {visible(str(payload['message']))}\n")


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    sys.exit(run(args))


def run(args: list[str]) -> int:
    """Run chit with `args`; returns the exit status."""
    if args[:1] == ["__complete"]:  # the completion scripts' protocol: fast, silent
        from chit.cli.complete import run as complete

        return complete(args[1:])
    if args == ["--version"]:  # the answer needs no command line parser
        from chit import __version__

        sys.stdout.write(f"chit {__version__}\n")
        return int(ExitStatus.OK)
    as_json = _wants_json(args)
    status = _guarded(lambda: run_typer(args, as_json), as_json)
    _conflict_notice()
    return status


def _conflict_notice() -> None:
    """One line on stderr when the index's refreshes saw conflict copies
    that a file-sync tool left in the store (see chit.service.conflicts)."""
    db = sys.modules.get("chit.index.db")  # no refresh ran if the index was never loaded
    total = sum(db.conflict_copies.values()) if db is not None else 0
    if total:
        copies = "conflict copy" if total == 1 else "conflict copies"
        sys.stderr.write(f"chit: warning: {total} {copies} from a file-sync tool in the store; run `chit doctor --repair` to merge them\n")
        sys.stderr.flush()


def run_typer(args: list[str], as_json: bool) -> int:
    """Run `args` through the Typer app; usage errors and help are answered
    here, chit's own errors go up to `_guarded`."""
    import typer
    from typer.main import get_command

    from chit.cli.app import app

    stdout = sys.stdout
    try:
        result = get_command(app).main(args=args, prog_name="chit", standalone_mode=False)
        return result if isinstance(result, int) else int(ExitStatus.OK)
    except typer.Abort:
        sys.stderr.write("\n")
        return int(ExitStatus.INTERRUPTED)
    except typer.TyperException as exc:  # click's errors: usage errors exit 2, as chit's do
        ctx = getattr(exc, "ctx", None)
        if exc.exit_code == ExitStatus.USAGE:
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            _report({"code": "USAGE", "message": exc.format_message() + hint}, as_json)
        else:
            _report({"code": "ERROR", "message": exc.format_message()}, as_json)
        return exc.exit_code
    except SystemExit:
        if sys.stdout is not stdout:  # typer met a closed pipe: it wraps stdout and exits 1; chit exits 0
            _silence_stdout()
            return int(ExitStatus.OK)
        raise


def _guarded(work: Callable[[], int], as_json: bool) -> int:
    """`work()`, with every failure turned into one line and its exit code."""
    try:
        return work()
    except ChitError as exc:
        _report(exc.to_dict(), as_json)
        return int(exc.exit_status)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return int(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        _silence_stdout()
        return int(ExitStatus.OK)
    except Exception as exc:  # an unforeseen fault: one line, no locals
        if os.environ.get("CHIT_DEBUG"):
            raise
        _report({"code": "INTERNAL", "message": f"internal error: {type(exc).__name__}: {exc} (set CHIT_DEBUG=1 for a traceback)"}, as_json)
        return int(ExitStatus.ERROR)


def _silence_stdout() -> None:
    """After a closed pipe, stop Python from complaining at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
