"""The picker at scale: open time and per-keystroke filter+render time.

    python bench/picker.py DIR [--sessions 10000] [--projects 20]

Builds DIR (once) as a store of N short sessions over P projects through
chit's API, then, in-process, opens the picker's prompt-toolkit app on a
pipe input and a dummy output: the open time is loading the summaries and
drawing the first screen; each keystroke is one character typed into the
filter, its filter and a full redraw timed together: several queries
typed and erased (over 200 keys), then a content search, which runs once
typing pauses: for it the time from the last key to the hits drawn is
given too. It prints the
median, 95th percentile and maximum, and the load average before and
after. Run it once, not in a loop: it prints the figures
docs/benchmarks.md quotes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path

WORDS = ("parser cache deploy invoice kernel lambda migrate network oauth python "
         "quantum refactor schema tensor upload vector webhook yaml zipfile bench").split()


def _usage(n: int) -> dict[str, object]:
    """What one reply in four records of its model and tokens (for bench/statsbench.py)."""
    if n % 4:
        return {}
    return {"model": ("big", "small")[n % 8 // 4], "tokens": {"input": 1000 + n, "output": 100 + n % 50}}


def build(home: Path, sessions: int, projects: int) -> None:
    """A store of `sessions` two-message sessions, one reply in four with a
    model and tokens (skipped when it exists)."""
    from chit.api import Chit

    marker = home / ".built"
    if marker.exists():
        return
    rng = random.Random(7)
    chit = Chit(home, durable=False, create_project=True)
    for n in range(sessions):
        project = f"proj{n % projects:02d}"
        words = rng.sample(WORDS, 3)
        session = chit.create(project, title=f"{' '.join(words)} {n}", tags=[rng.choice(["work", "home", "bug"])],
                              make_current=False)
        chit.append_many(session.id, [{"role": "user", "content": f"how do I {words[0]} the {words[1]}?"},
                                      {"role": "assistant", "content": f"Use {words[2]} with care ({n}).",
                                       **_usage(n)}])
    marker.write_text("ok")


# typed one after another, each then erased: 212 keys; a query that shares
# nothing with the one before starts from an empty filter
QUERIES = ("qntm ref", "parser cache", "deploy 123", "vector yaml", "kernel lambda 9", "bug tensor",
           "wbhk upld", "proj07 migrate", "zipfile", "quantum refactor 77", "oauth", "schema bench 4")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def load() -> str:
    return " ".join(f"{n:.1f}" for n in os.getloadavg())


def measure(home: Path, queries: tuple[str, ...], all_projects: bool) -> None:
    """Open the picker on a pipe and time the first screen, then each key."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from chit.api import Chit
    from chit.repl.picker.app import PickerApp
    from chit.repl.picker.state import Picker

    async def drive() -> None:
        drawn = asyncio.Event()
        stamps: list[float] = []  # when each screen was drawn
        cpu: list[float] = []  # this process's CPU time then
        whole: list[bool] = []  # whether it showed every session

        def stamp(_: object) -> None:
            stamps.append(time.perf_counter())
            cpu.append(time.process_time())
            whole.append(picker.complete)
            drawn.set()

        with create_pipe_input() as pipe:
            start = time.perf_counter()
            picker = Picker(Chit(home, project="proj00"), all_projects=all_projects)
            app = PickerApp(picker, input=pipe, output=DummyOutput())
            app.app.after_render += stamp
            running = asyncio.ensure_future(app.run_async())
            while not any(whole):
                drawn.clear()
                await drawn.wait()
            opened, listed = stamps[0] - start, stamps[whole.index(True)] - start
            count = len(picker.entries)
            times, cpu_times, found_after = [], [], []
            notes: list[str] = []
            keys: list[str] = []
            for typed in queries:
                for key in [*typed, *"\x7f" * len(typed)]:  # type it, then erase it
                    drawn.clear()
                    sent, sent_cpu = time.perf_counter(), time.process_time()
                    pipe.send_text(key)
                    await drawn.wait()
                    keys.append(key)
                    times.append(stamps[-1] - sent)
                    cpu_times.append(cpu[-1] - sent_cpu)
                    if len(keys) % (2 * len(typed)) == len(typed) and picker.content_mode:  # typed: wait for its hits
                        while picker.search_pending:
                            drawn.clear()
                            await drawn.wait()
                        found_after.append(stamps[-1] - sent)
            if not all_projects:  # Tab: every project's sessions
                drawn.clear()
                sent, before = time.perf_counter(), len(stamps)
                pipe.send_text("\t")
                await drawn.wait()
                while not any(whole[before:]):
                    drawn.clear()
                    await drawn.wait()
                whole_at = stamps[before + whole[before:].index(True)]
                notes.append(f"  Tab to every project: screen in {(stamps[before] - sent) * 1000:.0f} ms, "
                             f"every session listed {(whole_at - sent) * 1000:.0f} ms")
            pipe.send_text("\x03")
            await running
        scope = "all projects" if all_projects else "one project"
        print(f"{scope}: {count} sessions; first screen {opened * 1000:.0f} ms, every session listed "
              f"{listed * 1000:.0f} ms; load average {load()}")
        for name, values in (("wall", times), ("CPU", cpu_times)):
            print(f"  keystroke (filter + screen), {name}: median {statistics.median(values) * 1000:.1f} ms, "
                  f"p95 {percentile(values, 0.95) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms over {len(values)} keys")
        for note in notes:
            print(note)
        if found_after:
            print("  hits drawn after the last key of each content query (a pause, the search, a screen), ms:",
                  " ".join(f"{t * 1000:.0f}" for t in found_after))
        slowest = sorted(range(len(times)), key=lambda n: -times[n])[:5]
        slowest += sorted(set(range(len(times))) - set(slowest), key=lambda n: -cpu_times[n])[:5]
        print("  slowest keys (n: key, wall/CPU ms):",
              ", ".join(f"{n}: {keys[n]!r} {times[n] * 1000:.0f}/{cpu_times[n] * 1000:.0f}" for n in slowest))

    asyncio.run(drive())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", type=Path)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--projects", type=int, default=20)
    args = parser.parse_args()
    start = time.perf_counter()
    build(args.dir, args.sessions, args.projects)
    print(f"store ready in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    import chit.repl.picker.app  # noqa: F401

    print(f"picker modules imported in {(time.perf_counter() - start) * 1000:.0f} ms")
    print(f"load average {load()}")
    measure(args.dir, QUERIES, all_projects=False)
    measure(args.dir, QUERIES, all_projects=True)
    print("content search (a leading /), all projects:")
    measure(args.dir, ("/quantum", "/the deploy", "/kernel"), all_projects=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
