"""A deterministic corpus of chat sessions, written through chit's own API.

    python bench/corpus.py OUT --sessions 100 [--projects 20] [--seed 7]

N sessions spread over P projects, 5 to 200 messages each: user prose,
assistant prose with code blocks, tool output with long-tailed sizes, and in
a few sessions a 5 MB tool output. Needle words are planted at known rates
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
    title_needle: int = 0
    ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions, "messages": self.messages, "bytes": self.bytes,
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
    count = max(1, target // 60)
    return "\n".join(rng.choices(pools.log_lines, k=count))


def _plant(rng: random.Random, text: str, needle: str) -> str:
    spelled = rng.choice([needle, needle.upper(), needle.capitalize()])
    if rng.random() < 0.2:
        spelled = f"x{spelled}y"  # a substring inside a longer word
    cut = rng.randint(0, len(text))
    while cut < len(text) and text[cut] not in " \n":
        cut += 1
    return f"{text[:cut]} {spelled} {text[cut:]}"


def session_snapshot(
    seed: int, n: int, project_count: int, big: bool, sizes: tuple[int, int] = (5, 200)
) -> tuple[str, dict[str, Any], dict[str, int]]:
    """(project name, snapshot session object, needles planted) of session n."""
    rng = random.Random(seed * 1_000_003 + n)
    pools = _pools(seed)
    project = f"proj{n % project_count:02d}"
    start = T0 + timedelta(seconds=n * 600 + rng.randint(0, 599), microseconds=rng.randint(0, 999_999))
    moment = start
    planted = {k: 0 for k in NEEDLES}
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
            content = "\n".join(rng.choices(pools.log_lines, k=BIG_OUTPUT // 60))
        elif role == "user":
            content = _prose(rng, pools, 20, 600)
        elif role == "assistant":
            content = _prose(rng, pools, 100, 4000)
            if rng.random() < 0.3:
                content += "\n\n" + rng.choice(pools.code) + "\n\n" + _prose(rng, pools, 40, 400)
        else:
            content = _tool_output(rng, pools)
        for needle, one_in in NEEDLES.items():
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
        body["title"] = f"Notes on {rng.choice(pools.sentences)[:40]} {TITLE_NEEDLE if rng.random() < 0.3 else ''}".strip()
    return project, body, planted


_POOLS: dict[int, Pools] = {}


def _pools(seed: int) -> Pools:
    if seed not in _POOLS:
        _POOLS[seed] = Pools.make(random.Random(seed))
    return _POOLS[seed]


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def generate(
    home: Path, sessions: int, *, projects: int = 20, seed: int = 7, big: int | None = None,
    sizes: tuple[int, int] = (5, 200), quiet: bool = True,
) -> Manifest:
    """Write the corpus into the store at `home` (durable=False: fast)."""
    from chit.api import Chit
    from chit.exporters import SNAPSHOT_FORMAT, SNAPSHOT_VERSION, checksum

    big_count = big if big is not None else max(1, sessions // 1000)
    big_every = max(1, sessions // big_count) if big_count else 0
    manifest = Manifest()
    apis: dict[str, Chit] = {}
    started = time.monotonic()
    for n in range(sessions):
        is_big = bool(big_every) and n % big_every == big_every // 2 and n // big_every < big_count
        project, body, planted = session_snapshot(seed, n, projects, is_big, sizes)
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
    last = apis[session_snapshot(seed, sessions - 1, projects, False)[0]]
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
    args = parser.parse_args()
    manifest = generate(args.out, args.sessions, projects=args.projects, seed=args.seed, big=args.big, quiet=False)
    print(orjson.dumps(manifest.as_dict(), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
