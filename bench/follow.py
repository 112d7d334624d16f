"""A refresh after one source file grew: bytes read and time.

    python bench/follow.py [--mb 100] [--rounds 3]

Builds, in a scratch directory, one Claude Code transcript of about --mb
megabytes (the real tests/data/claude-code/tool_heavy.jsonl repeated as one
thread, each copy with new uuids and message ids), and one Codex rollout
grown the same way from tests/data/codex-desktop. For each: imports it
whole, then --rounds times appends one prompt and its reply and imports
again, reporting the median time and the bytes this process read
(`rchar` of /proc/self/io) for the first import and for a refresh.
With --steps N it instead follows each transcript as it grows N times by
one more copy of its real turns (Claude Code: new uuids, reply and tool
call ids in each copy), and reports the CPU time of each refresh (the
median of each tenth of the steps): flat when a follow's cost does not
grow with the session.
Nothing is asserted: the figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chit.api import Chit

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def read_chars() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


def claude_copy(records: list[dict[str, Any]], n: int, parent: str | None) -> tuple[list[bytes], str | None]:
    """One copy of a transcript with new uuids and message ids, its first
    record hung on `parent`; the lines and the copy's last conversation uuid."""
    ids: dict[str, str] = {}
    out, last = [], parent
    for record in records:
        r = json.loads(json.dumps(record))
        for field in ("uuid", "parentUuid"):
            if isinstance(r.get(field), str):
                r[field] = ids.setdefault(r[field], str(uuid.uuid4()))
        if r.get("parentUuid") is None and r.get("uuid") and n:
            r["parentUuid"] = parent
        message = r.get("message")
        if isinstance(message, dict) and isinstance(message.get("id"), str):
            message["id"] = f"{message['id']}-{n}"
        if r.get("type") in ("user", "assistant", "system") and isinstance(r.get("uuid"), str):
            last = r["uuid"]
        out.append(json.dumps(r).encode() + b"\n")
    return out, last


def build_claude(path: Path, megabytes: float) -> Callable[[int], None]:
    records = [json.loads(line) for line in (DATA / "claude-code" / "tool_heavy.jsonl").read_bytes().splitlines()]
    size, n, last = 0, 0, None
    with path.open("wb") as handle:
        while size < megabytes * 1e6:
            lines, last = claude_copy(records, n, last)
            handle.write(b"".join(lines))
            size += sum(map(len, lines))
            n += 1
    state = {"last": last}

    def grow(round_: int) -> None:
        prompt, reply = str(uuid.uuid4()), str(uuid.uuid4())
        common = {"isSidechain": False, "sessionId": records[-1].get("sessionId"), "cwd": records[-1].get("cwd"),
                  "timestamp": "2026-12-01T10:00:00.000Z"}
        lines = [
            {**common, "type": "user", "uuid": prompt, "parentUuid": state["last"],
             "message": {"role": "user", "content": f"one more question {round_}"}},
            {**common, "type": "assistant", "uuid": reply, "parentUuid": prompt,
             "message": {"id": f"msg_grow_{round_}", "role": "assistant", "model": "m",
                         "content": [{"type": "text", "text": "an answer"}],
                         "usage": {"input_tokens": 3, "output_tokens": 2}}},
        ]
        state["last"] = reply
        with path.open("ab") as handle:
            handle.write(b"".join(json.dumps(r).encode() + b"\n" for r in lines))

    return grow


def build_codex(path: Path, megabytes: float) -> Callable[[int], None]:
    source = sorted((DATA / "codex-desktop").glob("rollout-*.jsonl"))[-1].read_bytes().splitlines(keepends=True)
    head, body = source[0], [line for line in source[1:] if b'"session_meta"' not in line]
    size = 0
    with path.open("wb") as handle:
        handle.write(head)
        while size < megabytes * 1e6:
            handle.write(b"".join(body))
            size += sum(map(len, body))

    def grow(round_: int) -> None:
        turn = f"grow-{round_}"
        lines = [
            {"timestamp": "2026-12-01T10:00:00.000Z", "type": "turn_context", "payload": {"turn_id": turn, "model": "m"}},
            {"timestamp": "2026-12-01T10:00:01.000Z", "type": "response_item",
             "payload": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"more {round_}"}]}},
            {"timestamp": "2026-12-01T10:00:02.000Z", "type": "response_item",
             "payload": {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "done"}]}},
        ]
        with path.open("ab") as handle:
            handle.write(b"".join(json.dumps(r).encode() + b"\n" for r in lines))

    return grow


def measure(tool: str, folder: Path, grow: Callable[[int], None], rounds: int, home: Path) -> None:
    api = Chit(home, cwd=folder)
    size = sum(p.stat().st_size for p in folder.iterdir())
    read, started = read_chars(), time.perf_counter()
    api.import_from(tool, folder)
    print(f"{tool}: {size / 1e6:.1f} MB; first import {time.perf_counter() - started:.2f} s, read {(read_chars() - read) / 1e6:.1f} MB")
    times, reads, followed = [], [], 0
    for n in range(rounds):
        grow(n)
        read, started = read_chars(), time.perf_counter()
        report = api.import_from(tool, folder)
        times.append(time.perf_counter() - started)
        reads.append(read_chars() - read)
        followed += getattr(report, "followed", 0)
    print(f"  refresh after growth (median of {rounds}): {statistics.median(times) * 1000:.0f} ms, "
          f"read {statistics.median(reads) / 1e6:.2f} MB; followed {followed} of {rounds}")


def copies(tool: str, path: Path) -> Callable[[int], None]:
    """Appends copy n of the real transcript's turns to `path` (the first
    one makes the file)."""
    if tool == "claude-code":
        records = [json.loads(line) for line in (DATA / "claude-code" / "tool_heavy.jsonl").read_bytes().splitlines()]
        state: dict[str, Any] = {"last": None}

        def grow_claude(n: int) -> None:
            lines, state["last"] = claude_copy(records, n, state["last"])
            calls = re.compile(rb'"(toolu_[A-Za-z0-9]+)"')  # each copy's tool calls are new calls
            with path.open("ab") as handle:
                handle.write(b"".join(calls.sub(lambda m: b'"%s-%d"' % (m.group(1), n), line) for line in lines))

        return grow_claude
    source = sorted((DATA / "codex-desktop").glob("rollout-*.jsonl"))[-1].read_bytes().splitlines(keepends=True)
    body = [line for line in source[1:] if b'"session_meta"' not in line]
    path.write_bytes(source[0])

    def grow_codex(n: int) -> None:
        with path.open("ab") as handle:
            handle.write(b"".join(body))

    return grow_codex


def measure_steps(tool: str, folder: Path, name: str, steps: int, home: Path) -> None:
    grow = copies(tool, folder / name)
    api = Chit(home, cwd=folder, durable=False)
    grow(0)
    api.import_from(tool, folder)
    cpu, followed = [], 0
    for n in range(1, steps + 1):
        grow(n)
        started = time.process_time()
        followed += api.import_from(tool, folder).followed
        cpu.append(time.process_time() - started)
    tenth = max(1, steps // 10)
    medians = [statistics.median(cpu[i : i + tenth]) * 1000 for i in range(0, steps, tenth)]
    size = (folder / name).stat().st_size
    print(f"{tool}: {steps} steps to {size / 1e6:.1f} MB, followed {followed}; CPU a refresh, ms (median of each "
          f"{tenth}): {' '.join(f'{m:.1f}' for m in medians)}; all steps {sum(cpu):.2f} s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=0, help="follow each transcript through this many growths")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="chit-follow-"))
    try:
        if args.steps:
            rollout = "rollout-2026-02-23T20-34-25-019c8bfe-ec25-79e0-97d7-bda6a9c575ff.jsonl"
            for tool, name in (("claude-code", f"{uuid.uuid4()}.jsonl"), ("codex", rollout)):
                (root / tool).mkdir()
                measure_steps(tool, root / tool, name, args.steps, root / f"home-{tool}")
            return 0
        (root / "claude").mkdir()
        grow = build_claude(root / "claude" / f"{uuid.uuid4()}.jsonl", args.mb)
        measure("claude-code", root / "claude", grow, args.rounds, root / "home-claude")
        (root / "codex").mkdir()
        grow = build_codex(root / "codex" / "rollout-2026-02-23T20-34-25-019c8bfe-ec25-79e0-97d7-bda6a9c575ff.jsonl", args.mb)
        measure("codex", root / "codex", grow, args.rounds, root / "home-codex")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
