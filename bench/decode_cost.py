"""What reading a session costs beyond decoding its JSON: the checks of
each record's fields (chit.store.codec) against orjson's decoding of the
line; the checks should cost less, or `chit load --json` of a long session
pays more for checking than for parsing. CPU time, best of several
rounds, so the ratio holds on a loaded machine.

    python bench/decode_cost.py
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson

from chit.store import codec

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def real_message_lines() -> list[bytes]:
    """Stamped message lines, each holding up to 1,000 characters of a line
    of the real transcripts in tests/data as its text (the benchmark's long
    session averages about 950 bytes a line)."""
    texts = [line.decode()[:1000] for path in sorted((DATA / "claude-code").glob("*.jsonl")) for line in path.read_bytes().splitlines() if line]
    return [
        codec.encode({
            "type": "message", "hlc": f"{1796559741014 + n}.000000", "by": "473abf300b7f0996", "id": str(uuid.UUID(int=n)),
            "role": "user" if n % 2 == 0 else "assistant", "content": text, "ts": "2026-12-06T12:22:21.014373Z",
            "model": None if n % 2 == 0 else "echo", "tokens": None if n % 2 == 0 else {"input": 3, "output": n},
        }).rstrip(b"\n")
        for n, text in enumerate(texts * 20)
    ]


def best_cpu(work: Callable[[], object], rounds: int = 7) -> float:
    times = []
    for _ in range(rounds):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    lines = real_message_lines()
    assert len(lines) > 500
    records = [orjson.loads(line) for line in lines]
    assert [codec.decode_event(line) for line in lines] == records  # every line is a valid record, returned as decoded
    parse = best_cpu(lambda: [orjson.loads(line) for line in lines])
    check = best_cpu(lambda: [codec._event(record, codec.FORMAT_VERSION) for record in records])
    print(f"{len(lines)} message lines: checks {check * 1000:.1f} ms, decoding {parse * 1000:.1f} ms ({check / parse:.2f}x)")


if __name__ == "__main__":
    main()
