"""Readable exports (md, html, txt) and `chit export --all`: real sessions in
a real store, the real program for the CLI."""

from __future__ import annotations

import os
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest

from chit.api import Chit
from chit.exporters import FORMATS, render
from chit.exporters.common import Block, blocks
from chit.service.export_all import title_slug

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes" \x1b[31mred\x1b[0m'
CODE = "```python\ndef greet(name):\n    return f\"hi {name}\"  # </code></pre><script>bad()</script>\n```"
LONG_CODE = "```\n" + "\n".join(f"line {i}" for i in range(60)) + "\n```"


@pytest.fixture
def session_id(api: Chit) -> str:
    s = api.create(title="Export <me> & test", tags=["demo"])
    api.append(s.id, "system", "You are terse.")
    api.append(s.id, "user", "Show me code " + HOSTILE)
    api.append(s.id, "assistant", f"Here it is:\n\n{CODE}\n\nAnd a `span <b>` inline.\n\n{LONG_CODE}")
    api.append(s.id, "tool", "total 0\n-rw------- secret.txt\n```\nbackticks inside\n```", metadata={"tool_name": "shell"})
    api.append(s.id, "assistant", "Found `secret.txt`.", metadata={"tool_calls": [{"name": "ls"}]})
    api.append(s.id, "user", "thanks")
    return s.id


def _export(api: Chit, sid: str, fmt: str) -> str:
    return api.export_bytes(sid, fmt)[1].decode("utf-8")


class _Collector(HTMLParser):
    """Every tag, attribute and text node of a page, as a browser parses them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_formats_are_the_documented_ones() -> None:
    assert FORMATS == ("json", "jsonl", "md", "html", "txt")


def test_html_escapes_every_message_and_runs_nothing(api: Chit, session_id: str) -> None:
    page = _export(api, session_id, "html")
    parsed = _Collector()
    parsed.feed(page)
    names = [tag for tag, _ in parsed.tags]
    assert "script" not in names and "img" not in names and "iframe" not in names
    assert not any(k.startswith("on") for _, attrs in parsed.tags for k in attrs)
    text = "".join(parsed.text)
    assert '<script>alert("x")</script>' in text  # shown as text, exactly
    assert "</code></pre><script>bad()</script>" in text
    assert "Export <me> & test" in text
    assert "\x1b" not in page and "\u241b[31mred" in text  # terminal escapes made visible
    csp = [a for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in (csp[0]["content"] or "")


def test_html_is_self_contained(api: Chit, session_id: str) -> None:
    page = _export(api, session_id, "html")
    parsed = _Collector()
    parsed.feed(page)
    for tag, attrs in parsed.tags:
        for name in ("src", "href", "action", "poster", "data"):
            assert name not in attrs, (tag, attrs)
    assert not re.search(r"url\(|@import|https?://", page.split("<body>")[0])
    assert "prefers-color-scheme: dark" in page


def test_html_highlights_code_and_folds_tools_and_long_blocks(api: Chit, session_id: str) -> None:
    page = _export(api, session_id, "html")
    assert '<span class="k">def</span>' in page  # Pygments tokens
    tool = re.search(r'<details class="msg tool"[^>]*><summary>(.*?)</summary>', page, re.S)
    assert tool and "tool · shell" in tool.group(1) and "(5 lines)" in tool.group(1)
    call = re.search(r'<details class="msg tool assistant"[^>]*><summary>(.*?)</summary>', page, re.S)
    assert call and "assistant" in call.group(1)  # an assistant message that calls a tool folds too
    assert re.search(r'<details class="code"><summary>code · 60 lines</summary>', page)
    assert "<code>span &lt;b&gt;</code>" in page
    assert page.count('<section class="turn"') == 3  # preamble, turn 0, turn 1


def test_markdown_keeps_code_and_folds_tools(api: Chit, session_id: str) -> None:
    md = _export(api, session_id, "md")
    assert "```python\ndef greet(name):" in md  # code block kept as written
    details = re.search(r"<details>\n<summary>(.*?)</summary>\n\n(`{3,})text\n(.*?)\n\2\n\n</details>", md, re.S)
    assert details, md
    assert details.group(1) == "tool · shell (5 lines): total 0"
    assert len(details.group(2)) == 4 and "```\nbackticks inside\n```" in details.group(3)  # the fence outgrows the content's
    assert "&lt;script>alert" in md  # tag-like text cannot become HTML in a viewer
    assert "`span <b>`" in md  # ... but inline code is left alone
    assert md.startswith("# Export &lt;me> & test\n")
    for heading in ("## Preamble", "## Turn 0", "## Turn 1"):
        assert f"\n{heading}\n" in md


def test_imported_tool_calls_results_and_thinking(api: Chit) -> None:
    """The metadata the importers write: tool_kind, tool_name, tool_error, thinking."""
    s = api.create(title="agent run")
    api.append(s.id, "user", "list the files")
    api.append(s.id, "tool", '{"command": ["ls", "-la"]}', metadata={"tool_kind": "call", "tool_name": "Bash", "tool_call_id": "c1",
                                                                    "thinking": "The user wants a listing.\nUse ls."})
    api.append(s.id, "tool", "ls: cannot open <dir>", metadata={"tool_kind": "result", "tool_name": "Bash", "tool_call_id": "c1", "tool_error": True})
    api.append(s.id, "assistant", "The directory is unreadable.", model="m-1", metadata={"thinking": "It failed."})
    md = _export(api, s.id, "md")
    summaries = re.findall(r"<summary>(.*?)</summary>", md)
    assert summaries == [
        "thinking (2 lines)",
        'tool · Bash · call (1 line): {&quot;command&quot;: [&quot;ls&quot;, &quot;-la&quot;]}',
        "tool · Bash · error (1 line): ls: cannot open &lt;dir&gt;",
        "thinking (1 line)",
    ]
    assert "### assistant · m-1" in md and "Use ls." in md
    page = _export(api, s.id, "html")
    assert page.count('<details class="thinking">') == 2
    assert '<span class="who">tool · Bash · call</span>' in page
    assert '<code class="preview">ls: cannot open &lt;dir&gt;</code>' in page
    txt = _export(api, s.id, "txt")
    assert "[thinking]\nThe user wants a listing." in txt and "[tool · Bash · error]" in txt


def test_markdown_folds_a_reply_s_thinking_under_its_own_heading(api: Chit) -> None:
    s = api.create(title="thinking")
    api.append(s.id, "user", "first")
    api.append(s.id, "assistant", "one", metadata={"thinking": "about one"})
    api.append(s.id, "user", "second")
    api.append(s.id, "assistant", "two", metadata={"thinking": "about two"})
    md = _export(api, s.id, "md")
    headings = [m.start() for m in re.finditer(r"^### ", md, re.M)]
    for reasoning, body in (("about one", "\none\n"), ("about two", "\ntwo\n")):
        at = md.index(reasoning)
        heading = max(h for h in headings if h < at)
        assert md[heading:].startswith("### assistant") and at < md.index(body, heading)


def test_markdown_closes_a_code_block_left_open(api: Chit) -> None:
    s = api.create(title="open fence")
    api.append(s.id, "user", "broken:\n```js\nlet x = 1")
    api.append(s.id, "assistant", "after")
    md = _export(api, s.id, "md")
    assert "```js\nlet x = 1\n```\n" in md
    assert md.index("let x = 1") < md.index("### assistant")


def test_markdown_keeps_single_newlines_as_line_breaks(api: Chit) -> None:
    """Chat text shows each line on its own (the terminal too); CommonMark
    joins a paragraph's lines, so the export writes them as hard breaks."""
    from markdown_it import MarkdownIt

    s = api.create(title="poem")
    api.append(s.id, "user", "Roses are red\nViolets are blue\n\n- one\n  still one\n- two\n\n> quoted\n> twice")
    api.append(s.id, "assistant", "Code:\n```\nkeep\nas is\n```\na | b\n--|--\n1 | 2\n\nalready  \nhard")
    md = _export(api, s.id, "md")
    page = MarkdownIt().enable("table").render(md)
    for first, second in (("Roses are red", "Violets are blue"), ("one", "still one"), ("quoted", "twice"), ("already", "hard")):
        assert f"{first}<br />\n{second}" in page, (first, md)
    assert "```\nkeep\nas is\n```" in md and "<code>keep\nas is\n</code>" in page  # code as written
    assert "<table>" in page and "\\" not in md.split("a | b")[1].split("already")[0]
    assert "already  \nhard" in md


def test_markdown_of_many_one_line_paragraphs_is_not_parsed(api: Chit) -> None:
    """A reply of 8,000 one-line paragraphs has no line to break: the md
    export finds that without parsing it (parsed, 0.2 s of CPU; now about
    0.01 s), and writes it as it was."""
    text = "\n\n".join(f"Paragraph {i} of a long answer, on one line: item {i} is fine." for i in range(8000))
    s = api.create(title="long")
    api.append(s.id, "assistant", text)
    session = api.get(s.id)
    render(session, "p", "md")  # the parser made once, outside the figure
    start = time.process_time()
    md = render(session, "p", "md").decode("utf-8")
    assert time.process_time() - start < 0.06
    assert f"### assistant\n\n{text}\n" in md


def test_text_export_is_plain_and_complete(api: Chit, session_id: str) -> None:
    txt = _export(api, session_id, "txt")
    assert txt.startswith("Export <me> & test\n\nid ")
    assert "── turn 0 " in txt and "── preamble " in txt
    assert "[tool · shell]" in txt and "backticks inside" in txt  # nothing folded
    assert "\x1b" not in txt and "\u241b[31mred" in txt
    assert "<details>" not in txt


def test_fenced_code_parsing() -> None:
    parts = blocks("a\n~~~~ rust extra\nfn main() {}\n```\nstill code\n~~~~\nb\n```")
    assert [(p.text, p.lang, p.closed) for p in parts] == [
        ("a", None, True),
        ("fn main() {}\n```\nstill code", "rust", True),
        ("b", None, True),
        ("", "", False),
    ]
    assert blocks("inline ```code``` only")[0].lang is None
    for text in ("", "\n", "a\n  ``\n~~ b\n\n", "`` `\n~ ~~", "x\r\n" * 3):  # no three in a row: one run of prose, whole
        assert blocks(text) == [blocks(text + "\n```")[0]] == [Block(text)], repr(text)


def test_every_format_renders_an_empty_session(api: Chit) -> None:
    s = api.create(title="empty")
    for fmt in FORMATS:
        assert render(api.get(s.id), "p", fmt)


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Plan a trip: Paris → Lyon", "plan-a-trip-paris-lyon"),
        ("../../etc/passwd", "etc-passwd"),
        ("日本語", ""),
        ("Ünïcödé", "unicode"),
        ("Refactor the parser so that it handles very long titles gracefully", "refactor-the-parser-so-that-it-handles-very-long"),
        ("x" * 80, "x" * 50),
    ],
)
def test_title_slugs_are_safe(title: str, slug: str) -> None:
    assert title_slug(title) == slug


def test_export_all_writes_one_safe_file_per_session(cli, api: Chit, tmp_path: Path) -> None:
    a = api.create(title="../../escape me").id
    api.append(a, "user", "first")
    b = api.create(title="日本語").id
    other = Chit(api.layout.home, project="elsewhere")
    c = other.create(title="Other project").id
    out = tmp_path / "exports"
    r = cli("export", "--all", "-f", "html", "-o", str(out))
    assert r.code == 0, r.err
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{a[:8]}-escape-me.html", f"{b[:8]}.html", f"{c[:8]}-other-project.html"])
    assert sorted(r.out.splitlines()) == sorted(str(out / n) for n in names)
    assert "exported 3 sessions" in r.err and "\x1b" not in r.err  # no progress bar off a terminal
    assert {oct(p.stat().st_mode & 0o777) for p in out.iterdir()} == {"0o600"}
    assert "first" in (out / f"{a[:8]}-escape-me.html").read_text()

    again = cli("export", "--all", "-f", "html", "-o", str(out))
    assert again.code == 6 and "--force" in again.err
    only = cli("export", "--all", "-p", "elsewhere", "-f", "json", "-o", str(tmp_path / "one"), "--json")
    assert only.code == 0, only.err
    doc = orjson.loads(only.out)
    assert doc["format"] == "json" and [f["id"] for f in doc["files"]] == [c]
    assert orjson.loads(Path(doc["files"][0]["path"]).read_bytes())["session"]["id"] == c
    forced = cli("export", "--all", "-f", "html", "-o", str(out), "--force")
    assert forced.code == 0


def test_export_all_refuses_before_writing_anything(cli, api: Chit, tmp_path: Path) -> None:
    first = api.create(title="one").id
    api.create(title="two")
    out = tmp_path / "exports"
    out.mkdir()
    (out / f"{first[:8]}-one.md").write_text("mine")
    r = cli("export", "--all", "-o", str(out))
    assert r.code == 6
    assert sorted(p.name for p in out.iterdir()) == [f"{first[:8]}-one.md"]
    assert (out / f"{first[:8]}-one.md").read_text() == "mine"


@pytest.mark.parametrize(
    ("args", "code"),
    [(["--all"], 2), (["--all", "abc", "-o", "{OUT}"], 2), (["-o", "{TMP}"], 2), (["--all", "-o", "{FILE}"], 5), (["--all", "-o", "{OUT}", "-f", "pdf"], 5)],
)
def test_export_all_usage_errors(cli, api: Chit, tmp_path: Path, args: list[str], code: int) -> None:
    api.create(title="x")
    (tmp_path / "file").write_text("")
    filled = [a.replace("{OUT}", str(tmp_path / "out")).replace("{TMP}", str(tmp_path)).replace("{FILE}", str(tmp_path / "file")) for a in args]
    r = cli("export", *filled)
    assert r.code == code, r.err
    assert not (tmp_path / "out").exists()


def test_export_all_progress_callback(api: Chit, tmp_path: Path) -> None:
    for i in range(3):
        api.create(title=f"s{i}")
    seen: list[tuple[int, int]] = []
    files = api.export_all(tmp_path / "out", "txt", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert all(f.path.read_text().startswith(f"s") for f in files)
    assert os.path.isdir(tmp_path / "out")


def test_html_code_blocks_highlight_as_with_a_fresh_formatter_and_lexer_each(api: Chit) -> None:
    """The page reuses one Pygments formatter and one lexer per language:
    every block comes out as highlighting it alone would make it, whatever
    came before it (a language, an unknown one, none)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import TextLexer, get_lexer_by_name

    fences = [("python", "def f(x):\n    return x  # <b>\n"), ("nosuchlang", "a < b && c\n"), ("", "plain <i>\n"),
              ("js", "let s = '</script>';\n"), ("python", "class A:\n    pass\n")]
    text = "\n\n".join(f"```{lang}\n{code}```" for lang, code in fences)
    sid = api.create(title="code", messages=[{"role": "assistant", "content": text}]).id
    page = _export(api, sid, "html")
    for lang, code in fences:
        try:
            lexer = get_lexer_by_name(lang, stripnl=False, ensurenl=False) if lang else TextLexer()
        except Exception:
            lexer = TextLexer()
        alone = highlight(code, lexer, HtmlFormatter(nowrap=True))
        assert f'<pre class="hl"><code>{alone}</code></pre>' in page, lang
