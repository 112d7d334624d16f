"""Import refresh on a tree of 2,000 Claude Code transcripts.

    python bench/refresh.py [--sessions 2000] [--rounds 5] [--keep DIR]

Builds, in a scratch directory, a `projects/` tree of N transcripts copied
from the real ones in tests/data/claude-code (each copy a new session id,
spread over 40 working directories), then runs real `chit` programs:

- the first `chit import --from claude-code TREE` (every file read);
- the first `chit search` after it (the index must already be current);
- a refresh where nothing changed (`chit import` with no argument, the
  tree being an enabled source), median of --rounds;
- a refresh after one transcript grew by one line.

Prints each time in seconds. Nothing is asserted: the figures go to
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "claude-code"
CWD = b"/home/marco/projects/spotter"


def chit_cmd() -> list[str]:
    script = Path(sys.executable).with_name("chit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "chit"]


def build_tree(root: Path, sessions: int) -> list[Path]:
    """N transcripts under root/projects/<dir>/<new id>.jsonl."""
    originals = [p.read_bytes() for p in sorted(DATA.glob("*.jsonl"))]
    written = []
    for n in range(sessions):
        new_id = str(uuid.UUID(int=n + 1, version=4))
        data = originals[n % len(originals)].replace(CWD, b"/home/marco/projects/p%02d" % (n % 40))
        folder = root / "projects" / f"-home-marco-projects-p{n % 40:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{new_id}.jsonl"
        path.write_bytes(data)
        written.append(path)
    return written


def grow(path: Path) -> None:
    """Append one new prompt to a transcript, after its last record."""
    last = next(r for r in map(json.loads, reversed(path.read_bytes().splitlines())) if r.get("uuid"))
    prompt = {**{k: last[k] for k in ("sessionId", "cwd", "version") if k in last}, "parentUuid": last["uuid"], "isSidechain": False,
              "type": "user", "uuid": str(uuid.uuid4()), "timestamp": "2026-12-01T10:00:00.000Z",
              "message": {"role": "user", "content": "one more question"}}
    with path.open("ab") as handle:
        handle.write(json.dumps(prompt).encode() + b"\n")


def run(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([*chit_cmd(), *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    took = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"chit {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return took


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build in DIR and leave it there")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="chit-refresh-"))
    try:
        files = build_tree(root, args.sessions)
        env = {**os.environ, "CHIT_HOME": str(root / "home"), "NO_COLOR": "1"}
        env.pop("CHIT_PROJECT", None)
        tree = str(root / "projects")
        print(f"{len(files)} transcripts, {sum(p.stat().st_size for p in files) / 1e6:.0f} MB")
        print(f"first import:              {run(['import', '--from', 'claude-code', tree], env):7.2f} s")
        print(f"first search after it:     {run(['search', 'marigoldneverfound'], env):7.2f} s")
        run(["sources", "add", "claude-code", tree], env)
        unchanged = [run(["import"], env) for _ in range(args.rounds)]
        print(f"unchanged refresh (median): {statistics.median(unchanged):6.3f} s  (min {min(unchanged):.3f})")
        grow(files[7])
        print(f"refresh, one file grew:    {run(['import'], env):7.3f} s")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
