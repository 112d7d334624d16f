"""Writes this directory's session and the `chit load --json` output
expected of it (run once, by the chit of the time; the test reads the
files, it does not run this).

A store with one project ("golden"): a long session whose file starts in
format 1 (messages, a rewind, a pop, an undo, a replace, written as an old
chit wrote them) and goes on in format 2 (appends, rewinds, pops, undos,
a replace, renames, tags, run state, values, messages with tokens,
metadata, control characters and text past U+FFFF), and a fork of it.

    python tests/data/chit-long/make.py OUT_DIR
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

from chit.api import Chit

LONG = "6a0c3f8e-41d2-4b7a-9c55-2e8f1d3b7a90"
OLD_TS = "2025-03-01T09:{:02d}:{:02d}.000000Z"


def format1_file(path: Path) -> None:
    """A format-1 session file, as chit wrote them before stamped events."""
    records: list[dict[str, object]] = [
        {"type": "session", "version": 1, "id": LONG, "project": "name:golden", "created_at": "2025-03-01T09:00:00.000000Z",
         "parent": None, "key": "golden-long", "metadata": {"source": "make.py", "nested": {"a": [1, 2, {"b": None}]}}},
        {"type": "message", "id": "f1-sys", "role": "system", "content": "You are terse.", "ts": OLD_TS.format(0, 1)},
    ]
    for n in range(120):
        records.append({"type": "message", "id": f"f1-{n}", "role": "user" if n % 2 == 0 else "assistant",
                        "content": f"old message {n}: " + "lorem ipsum " * (n % 7), "ts": OLD_TS.format(1 + n // 60, n % 60),
                        **({"tokens": {"input": n, "output": 2 * n}, "model": "old-model"} if n % 2 else {})})
    records += [
        {"type": "rewind", "keep": 101, "change": "f1-c1", "ts": OLD_TS.format(3, 0)},
        {"type": "pop", "change": "f1-c2", "ts": OLD_TS.format(3, 1)},
        {"type": "rewind", "keep": 100, "undo": "f1-c2", "ts": OLD_TS.format(3, 2)},
        {"type": "message", "id": "f1-c2-back", "role": "assistant", "content": "old message 99, brought back", "ts": OLD_TS.format(3, 3)},
        {"type": "rewind", "keep": 90, "change": "f1-c3", "replace": True, "adds": 2, "ts": OLD_TS.format(3, 4)},
        {"type": "message", "id": "f1-r1", "role": "user", "content": "replaced question", "ts": OLD_TS.format(3, 5)},
        {"type": "message", "id": "f1-r2", "role": "assistant", "content": "replaced answer", "ts": OLD_TS.format(3, 6)},
        {"type": "tag", "tags": ["old", "golden"], "ts": OLD_TS.format(3, 7)},
        {"type": "rename", "title": "an old title", "ts": OLD_TS.format(3, 8)},
    ]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


def grow(api: Chit, rng: random.Random) -> None:
    """Format-2 events on top: a long conversation with every kind of change."""
    texts = ["plain", "tab\there", "escape \x1b[31mred\x1b[0m", "emoji 🦜 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "quote \" back \\ slash", "line\nbreaks\r\n"]
    for round_ in range(12):
        batch = []
        for n in range(60):
            message: dict[str, object] = {"role": "user" if n % 2 == 0 else "assistant",
                                          "content": f"r{round_} m{n} {rng.choice(texts)} " + "word " * rng.randrange(40)}
            if n % 5 == 1:
                message["tokens"] = {"input": rng.randrange(1000), "output": None if n % 10 == 1 else rng.randrange(500)}
                message["model"] = "model-x"
            if n % 7 == 3:
                message["metadata"] = {"tool": "t", "args": {"deep": [1, [2, [3]]]}, "n": n}
            if n % 11 == 4:
                message["invocation_id"] = f"inv-{round_}-{n}"
            batch.append(message)
        api.append_many(LONG, batch)
        session = api.get(LONG)
        turns = sum(1 for m in session.messages if m.role == "user")
        step = round_ % 4
        if step == 0:
            api.rewind(LONG, turns - 5)
        elif step == 1:
            api.pop(LONG)
            api.pop(LONG)
            api.undo(LONG)
        elif step == 2:
            kept = list(session.messages[:-6]) + [{"role": "user", "content": f"replace {round_}"}, {"role": "assistant", "content": "new"}]
            api.update(LONG, kept)
            if round_ % 8 == 2:
                api.undo(LONG)
        else:
            api.rewind(LONG, turns - 3)
            api.undo(LONG)
        if round_ == 5:
            api.rename(LONG, "the golden session")
            api.tag(LONG, "long", "rewinds")
            api.untag(LONG, "old")
            api.set_value(LONG, "model", {"name": "model-x", "temperature": 0.2})
        if round_ == 9:
            api.set_state(LONG, "running", turn_id="turn-9")
    api.set_state(LONG, "idle")
    api.fork(LONG, at=3, title="a fork of the golden session")


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        api = Chit(home, cwd=Path(scratch), project="golden", durable=False)
        placeholder = api.create(title="placeholder")  # makes the project
        sessions = home / "projects" / next(p.name for p in (home / "projects").iterdir()) / "sessions"
        api.delete(placeholder.id)
        format1_file(sessions / f"{LONG}.jsonl")
        grow(api, random.Random(7))
        shutil.copytree(home / "projects", out / "projects")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHIT_")}
        env.update(CHIT_HOME=str(home), COLUMNS="100")
        chit = Path(sys.executable).with_name("chit")
        loaded = subprocess.run([str(chit), "-p", "golden", "load", LONG, "--json"], env=env, cwd=scratch, capture_output=True, check=True)
        (out / "load.json").write_bytes(loaded.stdout)


if __name__ == "__main__":
    main()
