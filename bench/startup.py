"""chit's start-up, against `python -c "import typer"`, on an empty store.

    python bench/startup.py               # 21 interleaved rounds
    python bench/startup.py --rounds 31
    python bench/startup.py --no-help     # only the commands with their own targets

Runs `python -c "import typer"`, `chit --version`, `chit ls --json`,
`chit show X`, `chit search x` and every command's `--help`, one after the
other, round after round (the order rotates each round), after a warm-up
round that also writes the bytecode caches (PYTHONDONTWRITEBYTECODE is
dropped: an installed chit has them). Prints each command's median and its
min–max, its ratio to `import typer`, and whether the targets are met:
`--version` ≤ 0.5×; `ls --json`, `show`, `search` ≤ 1.4×; every command ≤ 1.6×.
Beside the wall time, each command's CPU time (user + system, from
getrusage of the child) and its ratio: on a machine busy with other work
the wall time is mostly waiting for a core, while the CPU time still says
what the command itself costs.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"--version": 0.5, "ls --json": 1.4, "show X": 1.4, "search x": 1.4}
ANY_COMMAND = 1.6


def chit_cmd() -> list[str]:
    script = Path(sys.executable).with_name("chit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "chit"]


def help_lines() -> list[str]:
    """`CMD --help` for every command and subcommand of the app."""
    from typer.main import get_command

    from chit.cli.app import build

    root = get_command(build())
    lines = ["--help"]
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        lines.append(f"{name} --help")
        lines.extend(f"{name} {sub} --help" for sub in getattr(command, "commands", {}))
    return lines


def once(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """The wall time and the CPU time (user + system) of one run of `cmd`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--no-help", action="store_true", help="leave out every command's --help")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="chit-startup-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIT_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(CHIT_HOME=str(work / "home"), COLUMNS="80")
    chit = chit_cmd()
    commands = {"import typer": [sys.executable, "-c", "import typer"]}
    commands.update({line: [*chit, *line.split()] for line in [*TARGETS, *([] if args.no_help else help_lines())]})
    names = list(commands)
    times: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    try:
        for name in names:  # warm-up: bytecode caches, page cache
            once(commands[name], env, work)
        for round_ in range(args.rounds):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                wall, used = once(commands[name], env, work)
                times[name].append(wall)
                cpu[name].append(used)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(times, cpu, args.rounds)
    return 0


def report(times: dict[str, list[float]], cpu: dict[str, list[float]], rounds: int) -> None:
    typer = statistics.median(times["import typer"])
    typer_cpu = statistics.median(cpu["import typer"])
    load = " ".join(f"{n:.2f}" for n in os.getloadavg())
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; load average {load}; "
          f"{platform.python_implementation()} {platform.python_version()}; medians of {rounds} interleaved rounds")
    print("| command | median | min–max | × import typer | target | met | CPU median | CPU × import typer |")
    print("|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for name, values in times.items():
        median = statistics.median(values)
        ratio = median / typer
        if name != "import typer":
            worst = max(worst, ratio)
        target = TARGETS.get(name, ANY_COMMAND if name != "import typer" else None)
        met = "–" if target is None else ("yes" if ratio <= target else "**no**")
        shown = "`python -c \"import typer\"`" if name == "import typer" else f"`chit {name}`"
        print(f"| {shown} | {median * 1000:.1f} ms | {min(values) * 1000:.1f}–{max(values) * 1000:.1f} ms | {ratio:.2f}× | "
              f"{'' if target is None else f'≤ {target}×'} | {met} | {statistics.median(cpu[name]) * 1000:.1f} ms | "
              f"{statistics.median(cpu[name]) / typer_cpu:.2f}× |")
    print(f"slowest command: {worst:.2f}× import typer (target ≤ {ANY_COMMAND}×: {'met' if worst <= ANY_COMMAND else 'NOT met'})")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
