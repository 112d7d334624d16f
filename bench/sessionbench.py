"""One long session (6,000 messages, 5.7 MB of bench/corpus.py's default,
synthetic profile: made-up prose, code and tool output): what a REPL
turn, human `show` and `load --json` cost on it. Every figure is CPU
time (user + system), the median of interleaved rounds: on a shared
machine the wall clock measures the other programs as much as chit.

- A REPL turn runs in-process (`loop.handle`, as the REPL does for a typed
  line) against the offline `echo` model with no delay, so its time is
  chit's own: read the conversation, append, set the run state, refresh
  the toolbar. Compared with the same turn on a 10-message session.
- `chit show ID` (human, to a file) and `chit load ID --json` are timed as
  commands, with a bare `json.loads` of the session file's lines in a
  fresh Python as the yardstick, and `load --json` of the 10-message
  session (start-up and the fixed work).

Standalone, with the code of another source tree timed in the same rounds:

    python bench/sessionbench.py --rounds 21 --before OLD/src
"""

from __future__ import annotations

import argparse
import compileall
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import corpus
from measure import CWD, Table, Timing, load_average, log, ms

LONG_MESSAGES = 6_000  # 5.7 MB of the synthetic profile's messages
_BARE = "import json, sys\nwith open(sys.argv[1], 'rb') as f:\n    [json.loads(line) for line in f]\n"


def long_session(out: Path, messages: int = LONG_MESSAGES) -> tuple[Path, str, Path]:
    """(CHIT_HOME, session id, session file) of the long session, made once."""
    from chit.api import Chit

    home = out / f"long-session-{messages}" / "home"
    if not home.exists():
        log(f"generating a {messages:,}-message session…")
        corpus.generate(home, 1, projects=1, seed=5, sizes=(messages, messages), big=0)
        short = Chit(home, cwd=CWD, project="proj00").create(title="short")
        for n in range(10):
            Chit(home, cwd=CWD, project="proj00").append(short.id, "user" if n % 2 == 0 else "assistant", f"short message {n}")
    api = Chit(home, cwd=CWD, project="proj00")
    found = {s.title: s.id for s in api.list(limit=None)}
    session_id = next(i for t, i in found.items() if t != "short")
    path = next(home.rglob(f"{session_id}.jsonl"))
    return home, session_id, path


def short_session(home: Path) -> str:
    from chit.api import Chit

    return next(s.id for s in Chit(home, cwd=CWD, project="proj00").list(limit=None) if s.title == "short")


def bench_long_session(table: Table, chit: list[str], out: Path, repeat: int, before: Path | None = None) -> None:
    home, session_id, path = long_session(out)
    size = path.stat().st_size / 1e6
    with tempfile.TemporaryDirectory() as scratch:  # the turns append: to a copy, so every run times the same sessions
        copy = Path(scratch) / "home"
        shutil.copytree(home, copy)
        long_turn, short_turn = _repl_turns(copy, session_id, repeat * 2)
    added = long_turn - short_turn
    table.add(
        f"REPL turn on a {size:.1f} MB session (echo model, no delay), in-process, CPU",
        ms(long_turn), f"10-message session {ms(short_turn)}", f"+{added * 1000:.1f} ms", "≤ 30 ms", long_turn <= 0.030,
    )
    versions = {"": _env(home, None)}
    if before is not None:
        versions[" (before)"] = _env(home, before)
    commands: dict[str, tuple[list[str], dict[str, str]]] = {"bare": ([sys.executable, "-c", _BARE, str(path)], versions[""])}
    short_id = short_session(home)
    for tag, env in versions.items():
        commands[f"show{tag}"] = ([*chit, "show", session_id, "--no-pager"], env)
        commands[f"show json{tag}"] = ([*chit, "show", session_id, "--json"], env)
        commands[f"load json{tag}"] = ([*chit, "load", session_id, "--json"], env)
        commands[f"load short{tag}"] = ([*chit, "load", short_id, "--json"], env)
    t = cpu_rounds(commands, repeat)
    bare = t["bare"]
    for tag in versions:
        show, load, short = t[f"show{tag}"], t[f"load json{tag}"], t[f"load short{tag}"]
        table.add(f"human `chit show ID` of the {size:.1f} MB session{tag}, CPU", ms(show), f"`--json` {ms(t[f'show json{tag}'])}",
                  f"{show / t[f'show json{tag}']:.1f}×", "≤ 1 s", show <= 1.0)
        table.add(f"`chit load ID --json` of the {size:.1f} MB session{tag}, CPU", ms(load), f"bare `json.loads` of its lines {ms(bare)}",
                  f"{load / bare:.2f}×", "≤ 2×", load <= 2 * bare)
        table.add(f"`chit load ID --json` of the 10-message session{tag}, CPU", ms(short), f"bare `json.loads` {ms(bare)}",
                  f"{short / bare:.2f}×", "", None)


def _env(home: Path, source: Path | None) -> dict[str, str]:
    """The environment of a timed command; `source`: a tree of chit's code
    to run instead of the installed one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIT_") and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env.update(CHIT_HOME=str(home), COLUMNS="100")
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return env


def cpu_once(cmd: list[str], env: dict[str, str]) -> float:
    """CPU seconds (user + system) of one run of `cmd`."""
    child = subprocess.Popen(cmd, env=env, cwd=CWD, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"failed ({os.waitstatus_to_exitcode(status)}): {' '.join(cmd)}")
    return usage.ru_utime + usage.ru_stime


def cpu_rounds(commands: dict[str, tuple[list[str], dict[str, str]]], repeat: int) -> dict[str, Timing]:
    """Median CPU seconds (with the min and max) of each command, run in
    turn, round after round (the order rotates), after one warm-up run each."""
    names = list(commands)
    times: dict[str, list[float]] = {name: [] for name in names}
    for name in names:
        cpu_once(*commands[name])
    for round_ in range(repeat):
        for name in names[round_ % len(names):] + names[: round_ % len(names)]:
            times[name].append(cpu_once(*commands[name]))
    return {name: Timing.of(values) for name, values in times.items()}


def _repl_turns(home: Path, session_id: str, repeat: int) -> tuple[Timing, Timing]:
    """CPU seconds of one REPL turn on the long and on the short session
    (medians, the two sessions' turns interleaved)."""
    from rich.console import Console

    from chit.api import Chit
    from chit.config import Config
    from chit.repl import loop

    os.environ["CHIT_ECHO_DELAY"] = "0"
    api = Chit(home, cwd=CWD, project="proj00")
    times: dict[str, list[float]] = {session_id: [], short_session(home): []}
    repls = {}
    for sid in times:
        console = Console(file=io.StringIO(), width=100)
        repls[sid] = loop.make_repl(api, Config(path=home / "config.toml"), sid, "echo", console=console)
    for n in range(repeat + 1):
        for sid, repl in repls.items():
            started = time.process_time()
            loop.handle(repl, f"a question, round {n}")
            if n:  # the first one warms up
                times[sid].append(time.process_time() - started)
            repl.console.file = io.StringIO()
    long_turn, short_turn = (Timing.of(t) for t in times.values())
    return long_turn, short_turn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--before", type=Path, default=None, help="a source tree (its src/ directory) of chit to time in the same rounds")
    args = parser.parse_args()
    import chit

    for tree in (Path(chit.__file__).parent, args.before):
        if tree is not None:
            compileall.compile_dir(str(tree), quiet=1)  # as an installed chit has it
    CWD.mkdir(parents=True, exist_ok=True)
    script = Path(sys.executable).with_name("chit")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "chit"]
    loadavg = load_average()
    table = Table()
    bench_long_session(table, command, Path(__file__).resolve().parent / "out", args.rounds, args.before)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; load average {loadavg} at the start, "
          f"{load_average()} at the end; CPU time, medians of {args.rounds} interleaved rounds (min–max)\n\n{table.markdown()}")


if __name__ == "__main__":
    main()
