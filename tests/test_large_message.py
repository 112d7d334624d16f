"""One very long message: every command that reads it stays within a small
multiple of its size (3× plus 50 MB) and `show` prints it in seconds.

Each command runs as a real `chit` process whose own peak resident size
and CPU time are measured when it ends (tests/measured.py). "In seconds"
is CPU time, which a loaded machine hardly changes (its wall time grows
with the load). The default run uses a 20 MB message; `CHIT_LONG=1` adds
100 MB (350 MB at most for ls, search and show, show within 5 s).

The text is words, some with accented Latin letters, so it is 1 byte a
character in Python. Letters past U+00FF make Python hold 2 bytes a
character (Cyrillic, CJK): those messages are held to a bound in
proportion to their size over what the same command takes for a small
session (30 MB by default; with `CHIT_LONG=1`, 100 MB within 350 MB).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from itertools import accumulate
from pathlib import Path

import pytest

from chit.api import Chit
from chit.model import derive_title
from conftest import run_cli
from measured import run_measured

MB = 1 << 20
CYRILLIC = ["привет", "мир", "сообщение", "Москва", "ёжик", "и", "«кавычки»", "\"цитата\"", "таб\tтам", "длинное"]
CJK = ["你好", "世界", "中文字符", "测试", "日本語のテキスト", "한국어", "漢字", "。", "「引用」", "\"引\"", "表\t格"]
WORDS = ["alpha", "beta", "gamma", "Straße", "naïve", "façade", "smörgåsbord", "code()", "x=1;", "the", "of",
         "and", "résumé", "ünïcödé", "Ølæg", "«quoted»", "über", "señor", "\"quoted\"", "tab\there", "back\\slash"]
LINE_WORDS = range(3, 19)


def text_of(size: int, words: list[str] = WORDS) -> str:
    """At least `size` bytes of UTF-8 text (at most a block of 2,000 lines
    more): lines of 3 to 18 random words, drawn a block at a time, and
    joined once with the space or newline after each word (not a join per line)."""
    rng = random.Random(size)
    blocks = []
    total = -1
    while total < size:
        counts = rng.choices(LINE_WORDS, k=2000)
        drawn = rng.choices(words, k=sum(counts))
        spaced = [" "] * (2 * len(drawn) - 1)
        spaced[::2] = drawn
        for end in accumulate(counts[:-1]):
            spaced[2 * end - 1] = "\n"  # after the line's last word
        block = "".join(spaced)
        blocks.append(block)
        total += len(block.encode()) + 1
    return "\n".join(blocks)


def measure(args: list[str], cwd: Path, stdin: bytes = b"") -> tuple[float, int]:
    """(CPU seconds, peak RSS in bytes) of one `chit` command in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k != "CHIT_DEBUG"}
    done = run_measured([sys.executable, "-m", "chit", *args], cwd, env, stdin)
    assert done.code == 0, (args, done.err[-500:].decode("utf-8", "replace"))
    return done.cpu, done.peak


def append(session_id: str, cwd: Path, text: str) -> None:
    """An append whose time and peak are not measured: a forked `chit`
    (tests/forkserver.py) spares an interpreter's start-up."""
    done = run_cli(["append", session_id, "-"], stdin=text.encode(), cwd=cwd)
    assert done.code == 0, done.err[-500:]


def check(api: Chit, home: Path, workdir: Path, size: int, words: list[str] = WORDS, word: str = "señor") -> dict[str, tuple[float, int]]:
    session = api.create(title=None, messages=[])
    figures = {"append": measure(["append", session.id, "-"], workdir, text_of(size, words).encode())}
    for name in os.listdir(home):
        if name.startswith("index"):
            os.unlink(home / name)  # ls builds the index from the file, search its text
    commands = {"ls": ["ls"], "search": ["search", word], "search-none": ["search", "zzqqxx"], "show": ["show", session.id, "--no-pager"]}
    for name, args in commands.items():
        figures[name] = measure(args, workdir)
    assert len(api.get(session.id).messages[0].content.encode()) >= size
    print(json.dumps({k: (round(s, 2), p // MB) for k, (s, p) in figures.items()}))
    limit = 3 * size + 50 * MB
    for name, (seconds, peak) in figures.items():
        assert peak <= limit, f"{name}: {peak // MB} MB for a {size // MB} MB message (limit {limit // MB} MB)"
    assert figures["show"][0] <= 5, figures["show"]  # CPU seconds (0.4 s for 20 MB, at a load of 20)
    return figures


def test_a_20_mb_message_keeps_memory_within_3x(api: Chit, home: Path, workdir: Path) -> None:
    check(api, home, workdir, 20 * MB)


@pytest.mark.skipif(not os.environ.get("CHIT_LONG"), reason="100 MB: set CHIT_LONG=1")
def test_a_100_mb_message_keeps_memory_within_3x(api: Chit, home: Path, workdir: Path) -> None:
    check(api, home, workdir, 100 * MB)


def figures_past_u00ff(api: Chit, home: Path, workdir: Path, size: int, words: list[str]) -> dict[str, tuple[float, int]]:
    """Time and peak RSS of ls, search (a word in the text, a word not in
    it) and show for one message of `size` bytes, less what each takes for
    a small session."""
    small = api.create(title=None, messages=[])
    append(small.id, workdir, " ".join(words))  # search finds it too
    commands = {"ls": ["ls"], "search": ["search", words[2]], "search-none": ["search", "zzqqxx"], "show": ["show", small.id, "--no-pager"]}
    base = {name: measure(args, workdir)[1] for name, args in commands.items()}
    api.delete(small.id)
    session = api.create(title=None, messages=[])
    append(session.id, workdir, text_of(size, words))
    commands["show"] = ["show", session.id, "--no-pager"]
    figures = {}
    for name, args in commands.items():
        for entry in os.listdir(home):
            if entry.startswith("index"):
                os.unlink(home / entry)  # ls builds the index from the file, search its text
        seconds, peak = measure(args, workdir)
        figures[name] = (seconds, peak - base[name])
    print(json.dumps({k: (round(s, 2), p // MB) for k, (s, p) in figures.items()}))
    return figures


@pytest.mark.parametrize("words", [CYRILLIC, CJK], ids=["cyrillic", "cjk"])
def test_a_long_message_past_u00ff_is_decoded_in_pieces(api: Chit, home: Path, workdir: Path, words: list[str]) -> None:
    """Python holds these letters at 2 bytes each. Decoding a line whole
    held the line, orjson's copy of it and the text at once (2.7 to 3 times
    the message over a small session, for every command). Read a piece at
    a time, ls and search hold the file's bytes (the title and the words
    need no whole text; search also builds its text index), show the bytes
    and the text."""
    size = 30 * MB
    for name, (seconds, extra) in figures_past_u00ff(api, home, workdir, size, words).items():
        # decoding whole cost 2.7 to 3 times the message; show holds the
        # bytes and the text (2 bytes a letter here): 2.5 times and a little
        bound = {"ls": 1.5, "show": 2.6}.get(name, 2.0)
        assert extra <= bound * size, f"{name}: {extra // MB} MB over a small session for a {size // MB} MB message"


@pytest.mark.skipif(not os.environ.get("CHIT_LONG"), reason="100 MB: set CHIT_LONG=1")
@pytest.mark.parametrize("words", [CYRILLIC, CJK], ids=["cyrillic", "cjk"])
def test_a_100_mb_message_past_u00ff_keeps_memory_within_3x(api: Chit, home: Path, workdir: Path, words: list[str]) -> None:
    check(api, home, workdir, 100 * MB, words, words[2])


def test_the_title_of_a_long_message_reads_only_its_start() -> None:
    body = "  \n " + "word " * 10_000_000  # 50 MB: splitting it all takes a second and a GB
    started = time.thread_time()  # CPU time: a loaded machine may stop this thread for longer than the bound
    title = derive_title(body)
    assert time.thread_time() - started < 0.05  # 0.2 ms the first time, 0.01 ms after; split() took 0.7 s
    assert title == ("word " * 12).strip() + "…"
    assert derive_title(" " * 10_000_000 + "late") == "late" and derive_title("x" * 10_000_000) == "x" * 60 + "…"
