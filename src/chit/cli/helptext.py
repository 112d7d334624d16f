"""Help screens in the plain style of git, gh and uv, drawn from the same
declarations as the rest of the command line.

Typer's own screens show its internal types (`<str>`, `<bool>`), put an
optional argument's metavar in a second pair of brackets (`[[REF]]`) and a
required one in braces (`{REF}`), and draw boxes that fall apart in a
narrow terminal. Every chit command is a `HelpCommand` or a `HelpGroup`,
which render `--help` as plain text instead.

Invariants:
- an argument is shown by its metavar exactly as declared (`[REF]`,
  `TAG...`, `[REF] CONTENT`): the text the man page and docs/cli.md show;
  an option by its names and, if it takes a value, its metavar;
- a command's summary is the first paragraph of its help, shown whole;
- no line is wider than the terminal (down to MIN_WIDTH columns) and no
  word is cut: where two columns do not fit, a term's text goes under it.
"""

from __future__ import annotations

import inspect
import shutil
import textwrap
from collections.abc import Iterable
from typing import Any

from typer.core import TyperCommand, TyperGroup

MIN_WIDTH = 30
MAX_WIDTH = 100
TERM_MAX = 26  # a longer term gets a line of its own
TEXT_MIN = 24  # narrower than this, texts go under their terms
INDENT = "  "
_GLUE = "\0"  # a space that wrapping keeps: `[default: 20]` stays on one line

Rows = list[tuple[str, str]]


class HelpCommand(TyperCommand):
    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage_pieces(self, ctx)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        formatter.write(render(self, ctx))


class HelpGroup(TyperGroup):
    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage_pieces(self, ctx)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        formatter.write(render(self, ctx))


def width() -> int:
    """The terminal's width (COLUMNS when set), kept between MIN_WIDTH and MAX_WIDTH."""
    return max(MIN_WIDTH, min(MAX_WIDTH, shutil.get_terminal_size((80, 24)).columns))


def paragraphs(help_text: str | None) -> list[str]:
    """The paragraphs of a docstring, each on one line."""
    text = inspect.cleandoc(help_text or "").partition("\f")[0]
    return [" ".join(block.split()) for block in text.split("\n\n") if block.strip()]


def summary(command: Any) -> str:
    found = paragraphs(command.help)
    return found[0] if found else ""


def render(command: Any, ctx: Any) -> str:
    """The whole help screen of `command`."""
    columns = width()
    out = [_usage(command, ctx, columns)]
    for paragraph in paragraphs(command.help):
        out.append("")
        out.append(_wrap(paragraph, columns, "", ""))
    for title, rows, wide in _sections(command, ctx):
        if rows:
            out.append("")
            out.append(f"{title}:")
            out.extend(_definitions(rows, columns, wide))
    return "\n".join(out) + "\n"


def _usage(command: Any, ctx: Any, columns: int) -> str:
    """`Usage: chit CMD [OPTIONS] ARGS`, wrapped under its start; where the
    command's path leaves too little room, the rest goes on the next lines."""
    head, rest = f"Usage: {ctx.command_path}", " " * 7
    pieces = " ".join(_usage_pieces(command, ctx))
    if columns - len(head) > TEXT_MIN // 2:
        return _wrap(pieces, columns, head + " ", rest)
    return head + "\n" + _wrap(pieces, columns, rest, rest)


def _sections(command: Any, ctx: Any) -> Iterable[tuple[str, Rows, int | None]]:
    """(title, rows, width of the terms' column or None for the widest term)."""
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    yield "Arguments", [(argument_term(p), _help(p)) for p in params if p.param_type_name == "argument"], None
    yield "Options", [(option_term(p), _help(p)) for p in params if p.param_type_name == "option"], None
    panels: dict[str, Rows] = {}
    for name, sub in _subcommands(command, ctx):
        if not sub.hidden:
            panels.setdefault(getattr(sub, "rich_help_panel", None) or "Commands", []).append((name, summary(sub)))
    widest = max((len(name) for rows in panels.values() for name, _ in rows), default=0)
    for title, rows in panels.items():
        yield title, rows, widest  # command lists line up across panels


def _subcommands(command: Any, ctx: Any) -> Iterable[tuple[str, Any]]:
    """(name, subcommand) for each subcommand help lists; a group with an
    `outline(name)` (chit's root) gives what help shows of each without
    building it."""
    if not getattr(command, "commands", None):
        return
    outline = getattr(command, "outline", None)
    for name in command.list_commands(ctx):
        sub = outline(name) if outline is not None else command.get_command(ctx, name)
        if sub is not None:
            yield name, sub


def argument_term(param: Any) -> str:
    """An argument as the usage line shows it: its metavar as declared."""
    if param.metavar:
        return str(param.metavar)
    name = param.name.upper() + ("..." if param.nargs == -1 else "")
    return name if param.required else f"[{name}]"


def option_term(param: Any) -> str:
    """`-p, --project NAME`; a long-only option lines up with the long names."""
    names = [*param.opts, *param.secondary_opts]
    short = [n for n in names if not n.startswith("--")]
    long = [n for n in names if n.startswith("--")]
    term = ", ".join(short + long) if short else "    " + ", ".join(long)
    if not param.is_flag and not getattr(param, "count", False):
        term += " " + (param.metavar or param.name.upper())
    return term


def _help(param: Any) -> str:
    text = " ".join((getattr(param, "help", None) or "").split())
    extras = []
    envvar = getattr(param, "envvar", None)
    if envvar and getattr(param, "show_envvar", False):
        extras.append(f"env: {envvar if isinstance(envvar, str) else ', '.join(envvar)}")
    default = _default(param)
    if default:
        extras.append(f"default: {default}")
    return " ".join([text, *(f"[{extra}]".replace(" ", _GLUE) for extra in extras)]).strip()


def _default(param: Any) -> str:
    shown = getattr(param, "show_default", False)
    if isinstance(shown, str):
        return shown
    value = param.default
    if not shown or getattr(param, "is_flag", False) or value is None or callable(value) or value in ((), []):
        return ""
    return str(getattr(value, "value", value))


def _usage_pieces(command: Any, ctx: Any) -> list[str]:
    pieces = [command.options_metavar] if command.options_metavar else []
    pieces += [argument_term(p) for p in command.get_params(ctx) if p.param_type_name == "argument" and not p.hidden]
    if getattr(command, "commands", None):
        pieces.append("[COMMAND] [ARGS]..." if command.invoke_without_command else "COMMAND [ARGS]...")
    return pieces


def _definitions(rows: Rows, columns: int, wide: int | None = None) -> list[str]:
    """Two columns (term, text) where the text gets TEXT_MIN columns; else
    each text under its term. The terms' column is as `wide` as given, else
    as the widest term (up to TERM_MAX)."""
    text_at = len(INDENT) + min(TERM_MAX, wide or max(len(term) for term, _ in rows)) + 2
    side_by_side = columns - text_at >= TEXT_MIN
    if not side_by_side:
        text_at = len(INDENT) * 3
    out = []
    for term, text in rows:
        head = INDENT + (term if side_by_side else term.lstrip())
        if side_by_side and len(head) + 2 <= text_at and text:
            out.append(_wrap(text, columns, head.ljust(text_at), " " * text_at))
            continue
        out.append(head)
        if text:
            out.append(_wrap(text, columns, " " * text_at, " " * text_at))
    return out


def _wrap(text: str, columns: int, first: str, rest: str) -> str:
    wrapped = textwrap.fill(
        text, columns, initial_indent=first, subsequent_indent=rest, break_long_words=False, break_on_hyphens=False
    )
    return (wrapped or first.rstrip()).replace(_GLUE, " ")
