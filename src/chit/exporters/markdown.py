"""The `md` export: a readable transcript with `## Turn N` headings.

Invariants: message text is kept as written (code blocks included), except
that a code block left open is closed so it cannot swallow the rest of the
transcript, tag-like `<` in prose is written `&lt;` so a Markdown viewer
never runs a message as HTML, and a single newline inside a paragraph
gets a hard line break (a trailing backslash), so a viewer shows the lines
as the terminal and chat apps do (CommonMark would join them). Tool
messages are folded in `<details>`, their text in a fence longer than any
backtick run inside.
"""

from __future__ import annotations

import functools
import html
import re
from typing import TYPE_CHECKING

from chit.exporters.common import blocks, ending, failure, fold_summary, is_tool, label, lines_of, longest_run, thinking, turns
from chit.visible import visible
from chit.model import Message, Session

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

_TAGLIKE = re.compile(r"<(?=[A-Za-z/!?])")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)


def _safe_prose(text: str) -> str:
    """Escape tag-like `<` outside inline code spans."""
    out: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_TAGLIKE.sub("&lt;", text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_TAGLIKE.sub("&lt;", text[last:]))
    return "".join(out)


def _mark(text: str) -> str:
    """A mark as its own emphasised line; `*` and `_` in the reason are
    escaped so they cannot end the emphasis."""
    shown = _safe_prose(visible(text)).replace("*", "\\*").replace("_", "\\_")
    return f"*[{shown}]*"


@functools.cache
def _parser() -> "MarkdownIt":
    """rich's Markdown parser, with its options, made once (making one
    builds its rule chains, which cost 40 times parsing a paragraph);
    without its inline pass, which `_breaks` runs only where it is needed."""
    from markdown_it import MarkdownIt

    return MarkdownIt().enable(["strikethrough", "table"]).disable("inline")


def _has_two_lines_running(text: str) -> bool:
    """Whether two lines in a row are not blank (spaces and tabs only), as
    a paragraph of two lines needs; a CR counts as one."""
    if "\r" in text:
        return True
    after_text = False
    for line in text.split("\n"):
        has_text = line.strip(" \t") != ""
        if has_text and after_text:
            return True
        after_text = has_text
    return False


def _breaks(content: str, env: dict[str, object]) -> int:
    """Soft and hard breaks in a paragraph's inline `content`. Without a
    backtick, `[` or `<`, no code span, link or inline HTML can hold a line
    break, so each one is a break: counted without the inline parse."""
    if "`" not in content and "[" not in content and "<" not in content:
        return content.count("\n")
    parser = _parser()
    children: list[Token] = []
    parser.inline.parse(content, parser, env, children)
    return sum(1 for child in children if child.type in ("softbreak", "hardbreak"))


def _hard_breaks(text: str) -> str:
    """Prose with a backslash at the end of each line a paragraph goes on
    after (its soft breaks, found as the terminal's Markdown parser finds
    them). A paragraph with a line break that is neither soft nor hard (in
    a code span or inline HTML) is left as it is."""
    if not _has_two_lines_running(text):
        return text  # every paragraph is one line
    env: dict[str, object] = {}  # the link references the block pass finds, read by the inline one
    tokens = _parser().parse(text, env)
    lines = text.split("\n")
    for before, token in zip(tokens, tokens[1:]):
        if before.type != "paragraph_open" or token.type != "inline" or not token.map:
            continue
        first, past = token.map
        if past - first < 2 or _breaks(token.content, env) != past - first - 1:
            continue
        for number in range(first, past - 1):
            line = lines[number]
            body = line.removesuffix("\r")
            if not (body.endswith("\\") or body.endswith("  ")):  # not already a hard break
                lines[number] = body + "\\" + line[len(body) :]
    return "\n".join(lines)


def _fence(text: str, lang: str = "") -> str:
    fence = "`" * max(3, longest_run(text, "`") + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def _body(content: str) -> str:
    parts: list[str] = []
    for block in blocks(visible(content)):
        if block.lang is None:
            parts.append(_hard_breaks(_safe_prose(block.text)))
        else:
            parts.append(_fence(block.text, block.lang))
    return "\n".join(parts)


def _thinking(message: Message) -> list[str]:
    """The reasoning that preceded `message`, folded ([] without any)."""
    reasoning = thinking(message)
    if not reasoning:
        return []
    return [
        "<details>", f"<summary>thinking ({lines_of(reasoning)})</summary>", "",
        _fence(visible(reasoning.strip()), "text"), "", "</details>", "",
    ]


def to_markdown(session: Session, project_name: str) -> str:
    out = [f"# {_safe_prose(visible(session.title))}", ""]
    out.append(f"- id: `{session.id}`")
    out.append(f"- project: {_safe_prose(visible(project_name))}")
    out.append(f"- created: {session.created_at}")
    out.append(f"- updated: {session.updated_at}")
    if session.tags:
        out.append("- tags: " + _safe_prose(visible(", ".join(session.tags))))
    if session.parent:
        out.append(f"- forked from: `{session.parent.id}` at turn {session.parent.turn}")
    out.append("")
    for turn, messages in turns(session.messages):
        out.append("## Preamble" if turn is None else f"## Turn {turn}")
        out.append("")
        for message in messages:
            if is_tool(message):
                out.extend(_thinking(message))  # a tool call has no heading: its reasoning comes just before it
                out.append("<details>")
                out.append(f"<summary>{html.escape(visible(fold_summary(message)))}</summary>")
                out.append("")
                out.append(_fence(visible(message.content.rstrip("\n")), "text"))
                out.append("")
                out.append("</details>")
            else:
                out.append(f"### {_safe_prose(visible(label(message)))}")
                out.append("")
                out.extend(_thinking(message))  # under its own message's heading
                out.append(_body(message.content))
                if mark := ending(message):
                    out.extend(["", _mark(mark)])
            out.append("")
    if mark := failure(session):
        out.extend([_mark(mark), ""])
    return "\n".join(out).rstrip("\n") + "\n"
