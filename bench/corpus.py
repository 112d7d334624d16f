"""A deterministic corpus of chat sessions, written through chit's own API.

    python bench/corpus.py OUT --sessions 100 [--projects 20] [--seed 7] [--profile real]

N sessions spread over P projects, 5 to 200 messages each: user prose,
assistant prose with code blocks, tool output with long-tailed sizes, and in
one session of every thousand a 5 MB tool output. Two profiles: `real`
(the default) draws every piece from real text (bench/realtext.py: the
standard library's sources in several languages, its docs and docstrings,
its non-ASCII test data, the real transcripts of tests/data), with
non-ASCII text in most sessions; `synthetic` strings made-up syllables
(ASCII only). Needle words are planted at known rates
(see NEEDLES); the manifest (printed, and kept by bench/run.py) records how many messages
and manual titles hold each, so search results can be checked. Some
sessions are renamed, tagged, rewound and popped, so the index sees every
kind of event. The same seed always gives the same sessions (ids, text and
timestamps); only the times of the rename/rewind/pop events are "now".
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)
# needle -> share of messages that carry it (one in N); written in mixed case
NEEDLES = {"xylophonequartz": 0, "quokkanebula": 1000, "zephyrmosaic": 100, "lanternfjord": 10}
# the real profile also plants a word with a casefold pair (ß / SS), spelled
# either way, and a word only ever inside the 5 MB outputs (one per output)
CASEFOLD_NEEDLE = "fußgängerbrücke"
REAL_NEEDLES = {**NEEDLES, CASEFOLD_NEEDLE: 500}
BIG_NEEDLE = "vortexmarmalade"
PROFILES = ("real", "synthetic")
TITLE_NEEDLE = "marigoldtitle"
BIG_OUTPUT = 5 * 1024 * 1024
TAGS = ["work", "home", "bug", "idea", "draft"]
_SYLLABLES = "ka lo mi ne ru ta shi po ve an el or um it en as ba de fi go hu ja ke li mo nu pa qi ro su ti".split()


def _words(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(n)]


@dataclass
class Pools:
    """Text pieces drawn on for every message (generated once per seed)."""

    sentences: list[str]
    code: list[str]
    log_lines: list[str]
    nonascii: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    @classmethod
    def real(cls, rng: random.Random) -> Pools:
        import realtext

        text = realtext.harvest()
        sentences = text.prose + text.messages * 4  # real chat text weighs more
        code = []
        for language, source in rng.sample(text.sources, min(600, len(text.sources))):
            lines = source.splitlines()
            start = rng.randrange(max(1, len(lines) - 10))
            code.append(f"```{language}\n" + "\n".join(lines[start:start + rng.randint(5, 40)]) + "\n```")
        return cls(sentences, code, text.lines, text.nonascii, [s for _, s in text.sources])

    @classmethod
    def make(cls, rng: random.Random) -> Pools:
        vocab = _words(rng, 4000)
        weights = [1 / (i + 1) for i in range(len(vocab))]  # Zipf-like
        sentences = []
        for _ in range(3000):
            words = rng.choices(vocab, weights, k=rng.randint(4, 22))
            sentences.append(" ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!"]))
        code = []
        for _ in range(300):
            name = rng.choice(vocab)
            body = "\n".join(f"    {rng.choice(vocab)} = {rng.choice(vocab)}({rng.randint(0, 99)})" for _ in range(rng.randint(2, 12)))
            code.append(f"```python\ndef {name}({rng.choice(vocab)}):\n{body}\n    return {rng.choice(vocab)}\n```")
        log_lines = [
            f"{rng.choice(['INFO', 'DEBUG', 'WARN', 'ERROR'])} [{rng.choice(vocab)}] {' '.join(rng.choices(vocab, k=rng.randint(3, 10)))} id={rng.randint(0, 10**6)}"
            for _ in range(2000)
        ]
        return cls(sentences, code, log_lines)


@dataclass
class Manifest:
    sessions: int = 0
    messages: int = 0
    bytes: int = 0
    needles: dict[str, int] = field(default_factory=lambda: {n: 0 for n in NEEDLES})
    profile: str = "real"
    title_needle: int = 0
    ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions, "messages": self.messages, "bytes": self.bytes, "profile": self.profile,
            "needles": self.needles, "title_needle": {TITLE_NEEDLE: self.title_needle},
        }


def _prose(rng: random.Random, pools: Pools, low: int, high: int) -> str:
    target = int(min(high, max(low, rng.lognormvariate(6.15, 0.9))))
    parts: list[str] = []
    size = 0
    while size < target:
        piece = rng.choice(pools.sentences)
        parts.append(piece)
        size += len(piece) + 1
    return " ".join(parts)


def _tool_output(rng: random.Random, pools: Pools) -> str:
    target = int(min(200_000, 240 * rng.paretovariate(1.1)))  # long tail
    if pools.sources:  # a real file, or the part of one a tool would print
        return _cat(rng, pools, target)
    count = max(1, target // 60)
    return "\n".join(rng.choices(pools.log_lines, k=count))


def _cat(rng: random.Random, pools: Pools, target: int) -> str:
    """About `target` characters of real files, as `cat` would print them."""
    parts: list[str] = []
    size = 0
    while size < target:
        source = rng.choice(pools.sources)
        start = rng.randrange(max(1, len(source) - (target - size)))
        start = source.find("\n", start) + 1 if start else 0
        piece = source[start:start + target - size]
        parts.append(piece)
        size += len(piece) + 1
    return "\n".join(parts)


def _big_output(rng: random.Random, pools: Pools) -> str:
    if not pools.sources:
        return "\n".join(rng.choices(pools.log_lines, k=BIG_OUTPUT // 60))
    half = _cat(rng, pools, BIG_OUTPUT // 2)
    return f"{half}\n# {BIG_NEEDLE}\n{_cat(rng, pools, BIG_OUTPUT // 2)}"


def _plant(rng: random.Random, text: str, needle: str) -> str:
    spelled = rng.choice([needle, needle.upper(), needle.capitalize()])  # "ß".upper() is "SS"
    if rng.random() < 0.2:
        spelled = f"x{spelled}y"  # a substring inside a longer word
    return _plant_text(rng, text, spelled)


def _plant_text(rng: random.Random, text: str, spelled: str) -> str:
    cut = rng.randint(0, len(text))
    while cut < len(text) and text[cut] not in " \n":
        cut += 1
    return f"{text[:cut]} {spelled} {text[cut:]}"


def session_snapshot(
    seed: int, n: int, project_count: int, big: bool, sizes: tuple[int, int] = (5, 200), profile: str = "real"
) -> tuple[str, dict[str, Any], dict[str, int]]:
    """(project name, snapshot session object, needles planted) of session n."""
    rng = random.Random(seed * 1_000_003 + n)
    pools = _pools(seed, profile)
    needles = REAL_NEEDLES if profile == "real" else NEEDLES
    # most real sessions hold non-ASCII text: one line in the first prompt,
    # and now and then in any message
    nonascii_first = bool(pools.nonascii) and rng.random() < 0.8
    project = f"proj{n % project_count:02d}"
    start = T0 + timedelta(seconds=n * 600 + rng.randint(0, 599), microseconds=rng.randint(0, 999_999))
    moment = start
    planted = {k: 0 for k in needles}
    if big and profile == "real":
        planted[BIG_NEEDLE] = 1
    messages = []
    count = rng.randint(*sizes)
    roles = ["user"]
    while len(roles) < count:
        roles.append("assistant")
        if rng.random() < 0.3 and len(roles) < count:
            roles.append("tool")
        if len(roles) < count:
            roles.append("user")
    big_at = rng.randrange(len(roles)) if big else -1
    for i, role in enumerate(roles):
        moment += timedelta(seconds=rng.randint(2, 300), microseconds=rng.randint(0, 999_999))
        if i == big_at:
            role = "tool"
            content = _big_output(rng, pools)
        elif role == "user":
            content = _prose(rng, pools, 20, 600)
        elif role == "assistant":
            content = _prose(rng, pools, 100, 4000)
            if rng.random() < 0.3:
                content += "\n\n" + rng.choice(pools.code) + "\n\n" + _prose(rng, pools, 40, 400)
        else:
            content = _tool_output(rng, pools)
        if pools.nonascii and ((i == 0 and nonascii_first) or rng.random() < 0.05):
            content = _plant_text(rng, content, rng.choice(pools.nonascii))
        for needle, one_in in needles.items():
            if one_in and rng.randrange(one_in) == 0:
                content = _plant(rng, content, needle)
                planted[needle] += 1
        messages.append({"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "role": role, "content": content, "ts": _ts(moment)})
    body: dict[str, Any] = {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "created_at": _ts(start),
        "messages": messages,
        "tags": sorted(set(rng.sample(TAGS, rng.randint(0, 2)))),
        "metadata": {"corpus": seed},
        "title": None,
    }
    if rng.random() < 0.1:
        words = "".join(c for c in " ".join(rng.choice(pools.sentences).split()) if c.isprintable())  # a title is one line
        body["title"] = f"Notes on {words[:40]} {TITLE_NEEDLE if rng.random() < 0.3 else ''}".strip()
    return project, body, planted


_POOLS: dict[tuple[int, str], Pools] = {}


def _pools(seed: int, profile: str) -> Pools:
    if (seed, profile) not in _POOLS:
        rng = random.Random(seed)
        _POOLS[seed, profile] = Pools.real(rng) if profile == "real" else Pools.make(rng)
    return _POOLS[seed, profile]


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def generate(
    home: Path, sessions: int, *, projects: int = 20, seed: int = 7, big: int | None = None,
    sizes: tuple[int, int] = (5, 200), quiet: bool = True, profile: str = "synthetic",
) -> Manifest:
    """Write the corpus into the store at `home` (durable=False: fast)."""
    from chit.api import Chit
    from chit.exporters import SNAPSHOT_FORMAT, SNAPSHOT_VERSION, checksum

    big_count = big if big is not None else max(1, sessions // 1000)
    big_every = max(1, sessions // big_count) if big_count else 0
    manifest = Manifest(profile=profile)
    if profile == "real":
        manifest.needles = {n: 0 for n in (*REAL_NEEDLES, BIG_NEEDLE)}
    apis: dict[str, Chit] = {}
    started = time.monotonic()
    for n in range(sessions):
        is_big = bool(big_every) and n % big_every == big_every // 2 and n // big_every < big_count
        project, body, planted = session_snapshot(seed, n, projects, is_big, sizes, profile)
        api = apis.get(project)
        if api is None:
            api = apis[project] = Chit(home, cwd=home, project=project, durable=False)
        doc = {"format": SNAPSHOT_FORMAT, "version": SNAPSHOT_VERSION, "exported_at": body["created_at"], "checksum": checksum(body), "session": body}
        session = api.import_snapshot(doc, project).session
        rng = random.Random(seed * 7919 + n)
        if rng.random() < 0.03:  # rewound and popped: extra turns that then disappear
            api.append(session.id, "user", "a question that will be rewound")
            api.append(session.id, "assistant", "an answer that will be rewound")
            api.rewind(session.id, session.turns - 1)
            api.append(session.id, "user", "a message that will be popped")
            api.pop(session.id)
        if rng.random() < 0.02:
            api.rename(session.id, f"Renamed {TITLE_NEEDLE} session {n}")
            manifest.title_needle += 1
        elif body["title"] and TITLE_NEEDLE in body["title"]:
            manifest.title_needle += 1
        manifest.sessions += 1
        manifest.messages += len(body["messages"])
        manifest.bytes += sum(len(m["content"]) for m in body["messages"])
        manifest.ids.append(session.id)
        for needle, count in planted.items():
            manifest.needles[needle] += count
        if not quiet and (n + 1) % 500 == 0:
            print(f"  {n + 1}/{sessions} sessions, {manifest.bytes / 1e6:.0f} MB of text, {time.monotonic() - started:.0f}s", file=sys.stderr)
    # one needle in exactly one message: the last session's first user message
    last = apis[f"proj{(sessions - 1) % projects:02d}"]
    last.append(manifest.ids[-1], "user", "Have you seen the XylophoneQuartz before?")
    manifest.needles["xylophonequartz"] += 1
    manifest.messages += 1
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the store (CHIT_HOME) to write")
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--big", type=int, default=None, help="sessions with a 5 MB tool output")
    parser.add_argument("--profile", choices=PROFILES, default="real")
    args = parser.parse_args()
    manifest = generate(args.out, args.sessions, projects=args.projects, seed=args.seed, big=args.big, quiet=False, profile=args.profile)
    print(orjson.dumps(manifest.as_dict(), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
