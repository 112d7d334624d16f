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


def command_name(args: Sequence[str]) -> str | None:
    """The subcommand `args` ask for, past the global options; None when
    they ask for the top-level help or no command."""
    position = 0
    while position < len(args):
        arg = args[position]
        if arg in ("-p", "--project"):
            position += 2
        elif arg in ("-h", "--help", "--"):
            return None
        elif arg.startswith("-"):
            position += 1
        else:
            return arg
    return None


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
    from chit.cli.fastpath import plan

    fast = plan(args)  # plain `ls`, `show` and `search` lines skip loading typer
    return _guarded(fast if fast is not None else lambda: run_typer(args, as_json), as_json)


def run_typer(args: list[str], as_json: bool) -> int:
    """Run `args` through the Typer app; usage errors and help are answered
    here, chit's own errors go up to `_guarded`."""
    from typer import exceptions as typer_exc
    from typer import main as typer_main
    from typer._click import exceptions as click_exc

    from chit.cli.app import build
    from chit.cli.fastparam import install

    try:
        command = typer_main.get_command(build(only=command_name(args)))
        install(command)  # plain options skip pydantic: start-up time
        result = command.main(args=args, prog_name="chit", standalone_mode=False)
        return result if isinstance(result, int) else int(ExitStatus.OK)
    except click_exc.NoArgsIsHelpError as exc:
        if exc.message:  # plain (non-rich) help comes back as the message
            sys.stdout.write(exc.message + "\n")
        return int(ExitStatus.OK)
    except click_exc.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        _report({"code": "USAGE", "message": exc.format_message() + hint}, as_json)
        return int(ExitStatus.USAGE)
    except typer_exc.Abort:
        sys.stderr.write("\n")
        return int(ExitStatus.INTERRUPTED)
    except click_exc.ClickException as exc:
        _report({"code": "ERROR", "message": exc.format_message()}, as_json)
        return exc.exit_code
    except SystemExit:
        from typer._click.utils import PacifyFlushWrapper

        if isinstance(sys.stdout, PacifyFlushWrapper):  # typer met a closed pipe and exits 1: chit exits 0
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
