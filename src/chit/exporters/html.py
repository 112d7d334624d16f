"""The `html` export: one self-contained page.

Invariants:
- every piece of session text goes through `html.escape` (or Pygments,
  which escapes too) before it reaches the page; the page has no script,
  and its Content-Security-Policy forbids scripts and every request
  (`default-src 'none'`), so even a bug here could not make it load or run
  anything;
- no external requests: the styles are inline, there are no images or fonts;
- light and dark colours follow `prefers-color-scheme`;
- fenced code is highlighted with Pygments (imported only here, so only an
  html export pays for it); tool messages, long code blocks and long system
  messages are folded in `<details>` (rules in `chit.exporters.common`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from html import escape

from chit import __version__
from chit.exporters.common import (
    LONG_CODE_LINES,
    LONG_SYSTEM_LINES,
    Block,
    blocks,
    counted,
    ending,
    failure,
    is_tool,
    label,
    line_count,
    lines_of,
    preview,
    thinking,
    turns,
)
from chit.model import Message, Session, now
from chit.visible import visible

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)

_CSS = """
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --card: #f6f8fa; --code: #f6f8fa; --user: #1a7f37; --assistant: #0969da; --system: #9a6700; --tool: #8250df; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d;
    --card: #151b23; --code: #161b22; --user: #3fb950; --assistant: #4493f8; --system: #d29922; --tool: #ab7df8; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.page { max-width: 52rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; overflow-wrap: anywhere; }
h2 { font-size: 1rem; color: var(--muted); text-transform: uppercase; letter-spacing: .05em;
  border-bottom: 1px solid var(--line); margin: 2rem 0 .75rem; padding-bottom: .25rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: 0;
  color: var(--muted); font-size: .9rem; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
.msg { background: var(--card); border: 1px solid var(--line); border-left: 4px solid var(--line);
  border-radius: 6px; margin: .75rem 0; padding: .6rem .9rem; }
.msg.user { border-left-color: var(--user); }
.msg.assistant { border-left-color: var(--assistant); }
.msg.system { border-left-color: var(--system); }
.msg.tool { border-left-color: var(--tool); }
.who { font-weight: 600; font-size: .9rem; }
.mark { color: #b45309; font-style: italic; }
.user .who { color: var(--user); }
.assistant .who { color: var(--assistant); }
.system .who { color: var(--system); }
.tool .who { color: var(--tool); }
.who time, summary time { color: var(--muted); font-weight: 400; font-size: .85rem; margin-left: .5rem; }
.prose { white-space: pre-wrap; overflow-wrap: anywhere; margin: .4rem 0; }
code, pre { font: .875rem/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
:not(pre) > code { background: var(--code); border: 1px solid var(--line); border-radius: 4px; padding: 0 .25em; }
pre { background: var(--code); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem;
  overflow-x: auto; margin: .4rem 0; }
pre.out { white-space: pre-wrap; overflow-wrap: anywhere; }
details > summary { cursor: pointer; }
details.msg > summary { list-style-position: inside; }
details.code > summary, details.thinking > summary { color: var(--muted); font-size: .85rem; }
details.thinking { margin: .3rem 0; }
details.thinking .prose { color: var(--muted); font-style: italic; }
code.preview { display: block; color: var(--muted); font-size: .8rem; border: 0; background: none;
  padding: 0 0 0 1.1rem; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.count { color: var(--muted); font-weight: 400; font-size: .85rem; }
.empty { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: .8rem; margin-top: 3rem; border-top: 1px solid var(--line); padding-top: .5rem; }
"""


@lru_cache(maxsize=1)
def _highlight_css() -> str:
    from pygments.formatters import HtmlFormatter

    light = HtmlFormatter(style="default").get_style_defs(".hl")
    dark = HtmlFormatter(style="github-dark").get_style_defs(".hl")
    # Pygments colours its own background; the page's code background wins.
    return (
        f"@media not (prefers-color-scheme: dark) {{\n{light}\n}}\n"
        f"@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"
        ".hl, pre.hl { background: var(--code); }\n"
    )


def _highlight(code: str, lang: str) -> str:
    """Escaped, highlighted HTML for `code` (plain escaped text if `lang` is unknown)."""
    from pygments import highlight

    return str(highlight(code, _lexer(lang), _formatter()))


# One formatter for the page and one lexer per language: making them was
# half the cost of a short code block (the formatter builds its style's
# class table, the lexer is looked up by name). Neither keeps state between
# `highlight` calls.
@lru_cache(maxsize=1)
def _formatter() -> Any:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(nowrap=True)


@lru_cache(maxsize=64)
def _lexer(lang: str) -> Any:
    from pygments.lexers import TextLexer, get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(lang, stripnl=False, ensurenl=False) if lang else TextLexer()
    except ClassNotFound:
        return TextLexer()


def _prose(text: str) -> str:
    """Escaped prose, with `inline code` spans as <code>."""
    out: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(f"<code>{escape(match.group(2))}</code>")
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def _code_block(block: Block) -> str:
    lang = block.lang or ""
    pre = f'<pre class="hl"><code>{_highlight(block.text, lang)}</code></pre>'
    lines = line_count(block.text)
    if lines <= LONG_CODE_LINES:
        return pre
    what = escape(lang or "code")
    return f'<details class="code"><summary>{what} · {lines} lines</summary>{pre}</details>'


def _body(content: str) -> str:
    parts = []
    for block in blocks(visible(content)):
        if block.is_code:
            parts.append(_code_block(block))
        elif block.text.strip():
            parts.append(f'<div class="prose">{_prose(block.text.strip(chr(10)))}</div>')
    return "\n".join(parts)


def _when(ts: str) -> str:
    shown = ts[:16].replace("T", " ") + " UTC" if len(ts) >= 16 else ts
    return f'<time datetime="{escape(ts)}">{escape(shown)}</time>'


def _message(message: Message, number: int) -> str:
    role = message.role if message.role in ("user", "assistant", "system", "tool") else "tool"
    anchor = f'id="m{number}"'
    reasoning = thinking(message)
    folded_thinking = (
        f'<details class="thinking"><summary>thinking ({lines_of(reasoning)})</summary>'
        f'<div class="prose">{escape(visible(reasoning.strip()))}</div></details>\n'
        if reasoning else ""
    )
    if is_tool(message):
        shown = preview(message.content)
        summary = (f'<span class="who">{escape(label(message))}</span>'
                   f' <span class="count">({escape(counted(message))})</span> {_when(message.ts)}'
                   + (f' <code class="preview">{escape(shown)}</code>' if shown else ""))
        body = f'{folded_thinking}<pre class="out">{escape(visible(message.content))}</pre>'
        kind = "tool" if role == "tool" else f"tool {role}"
        return f'<details class="msg {kind}" {anchor}><summary>{summary}</summary>\n{body}\n</details>'
    who = f'<div class="who">{escape(visible(label(message)))} {_when(message.ts)}</div>'
    body = folded_thinking + _body(message.content)
    if mark := ending(message):
        body += f'\n<p class="mark">[{escape(visible(mark))}]</p>'
    if role == "system" and line_count(message.content) > LONG_SYSTEM_LINES:
        return (
            f'<details class="msg system" {anchor}><summary><span class="who">{escape(visible(label(message)))}</span>'
            f' <span class="count">({escape(counted(message))})</span></summary>\n{body}\n</details>'
        )
    return f'<article class="msg {role}" {anchor}>{who}\n{body}\n</article>'


def to_html(session: Session, project_name: str) -> str:
    title = escape(visible(session.title))
    meta = [("id", session.id), ("project", project_name), ("created", session.created_at), ("updated", session.updated_at),
            ("messages", f"{len(session.messages)} in {session.turns} turn{'' if session.turns == 1 else 's'}")]
    if session.tags:
        meta.append(("tags", ", ".join(session.tags)))
    if session.parent:
        meta.append(("forked from", f"{session.parent.id} at turn {session.parent.turn}"))
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f'<meta name="generator" content="chit {escape(__version__)}">',
        f"<title>{title}</title>",
        f"<style>{_CSS}{_highlight_css()}</style>",
        "</head>",
        "<body>",
        '<div class="page">',
        f"<header><h1>{title}</h1>",
        '<dl class="meta">',
        *(f"<dt>{escape(name)}</dt><dd>{escape(visible(value))}</dd>" for name, value in meta),
        "</dl></header>",
        "<main>",
    ]
    number = 0
    for turn, messages in turns(session.messages):
        section = "preamble" if turn is None else f"turn-{turn}"
        heading = "Preamble" if turn is None else f"Turn {turn}"
        out.append(f'<section class="turn" id="{section}"><h2>{heading}</h2>')
        for message in messages:
            number += 1
            out.append(_message(message, number))
        out.append("</section>")
    if mark := failure(session):
        out.append(f'<p class="mark">[{escape(visible(mark))}]</p>')
    if not session.messages:
        out.append('<p class="empty">No messages yet.</p>')
    out += [
        "</main>",
        f"<footer>Exported by chit {escape(__version__)} at {escape(now())}.</footer>",
        "</div>",
        "</body>",
        "</html>",
    ]
    return "\n".join(out) + "\n"
