"""One long session (about 6 MB of real text, bench/corpus.py): what a
REPL turn, human `show` and `load --json` cost on it.

- A REPL turn runs in-process (`loop.handle`, as the REPL does for a typed
  line) against the offline `echo` model with no delay, so its time is
  chit's own: read the conversation, append, set the run state, refresh
  the toolbar. Compared with the same turn on a 10-message session.
- `chit show ID` (human, to a file) and `chit load ID --json` are timed as
  commands, with a bare `json.loads` of the session file's lines in a
  fresh Python as the yardstick.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from pathlib import Path

import corpus
from measure import CWD, Table, interleaved, log, ms

LONG_MESSAGES = 3_700  # about 6 MB of the real profile's messages
_BARE = "import json, sys\nwith open(sys.argv[1], 'rb') as f:\n    [json.loads(line) for line in f]\n"


def long_session(out: Path) -> tuple[Path, str, Path]:
    """(CHIT_HOME, session id, session file) of the long session, made once."""
    from chit.api import Chit

    home = out / "long-session" / "home"
    if not home.exists():
        log(f"generating a {LONG_MESSAGES:,}-message session…")
        corpus.generate(home, 1, projects=1, seed=5, sizes=(LONG_MESSAGES, LONG_MESSAGES), big=0)
        short = Chit(home, cwd=CWD, project="proj00").create(title="short")
        for n in range(10):
            Chit(home, cwd=CWD, project="proj00").append(short.id, "user" if n % 2 == 0 else "assistant", f"short message {n}")
    api = Chit(home, cwd=CWD, project="proj00")
    found = {s.title: s.id for s in api.list(limit=None)}
    session_id = next(i for t, i in found.items() if t != "short")
    path = next(home.rglob(f"{session_id}.jsonl"))
    return home, session_id, path


def bench_long_session(table: Table, chit: list[str], out: Path, repeat: int) -> None:
    home, session_id, path = long_session(out)
    size = path.stat().st_size / 1e6
    long_turn, short_turn = _repl_turns(home, session_id, repeat * 2)
    added = long_turn - short_turn
    table.add(
        f"REPL turn on a {size:.1f} MB session (echo model, no delay), in-process",
        f"{long_turn * 1000:.1f} ms", f"10-message session {short_turn * 1000:.1f} ms", f"+{added * 1000:.1f} ms", "≤ 30 ms", long_turn <= 0.030,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIT_")}
    env.update(CHIT_HOME=str(home), COLUMNS="100")
    t = interleaved({
        "show": ([*chit, "show", session_id, "--no-pager"], env),
        "show json": ([*chit, "show", session_id, "--json"], env),
        "load json": ([*chit, "load", session_id, "--json"], env),
        "bare": ([sys.executable, "-c", _BARE, str(path)], env),
    }, repeat)
    table.add(f"human `chit show ID` of the {size:.1f} MB session", ms(t["show"]), f"`--json` {ms(t['show json'])}", f"{t['show'] / t['show json']:.1f}×", "≤ 1 s", t["show"] <= 1.0)
    ratio = t["load json"] / t["bare"]
    table.add(
        f"`chit load ID --json` of the {size:.1f} MB session", ms(t["load json"]), f"bare `json.loads` of its lines {ms(t['bare'])}",
        f"{ratio:.2f}×", "≤ 2×", ratio <= 2,
    )


def _repl_turns(home: Path, session_id: str, repeat: int) -> tuple[float, float]:
    """Median seconds of one REPL turn on the long and on the short session."""
    from rich.console import Console

    from chit.api import Chit
    from chit.config import Config
    from chit.repl import loop

    os.environ["CHIT_ECHO_DELAY"] = "0"
    api = Chit(home, cwd=CWD, project="proj00")
    short_id = next(s.id for s in api.list(limit=None) if s.title == "short")
    times: dict[str, list[float]] = {session_id: [], short_id: []}
    repls = {}
    for sid in times:
        console = Console(file=io.StringIO(), width=100)
        repls[sid] = loop.make_repl(api, Config(path=home / "config.toml"), sid, "echo", console=console)
    for n in range(repeat + 1):
        for sid, repl in repls.items():
            started = time.perf_counter()
            loop.handle(repl, f"a question, round {n}")
            if n:  # the first one warms up
                times[sid].append(time.perf_counter() - started)
            repl.console.file = io.StringIO()
    return statistics.median(times[session_id]), statistics.median(times[short_id])
