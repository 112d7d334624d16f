"""Every chit benchmark in one run, side by side with its peers.

    python bench/run.py                  # 100 sessions, real text: a few minutes
    python bench/run.py --size large     # 10,000 sessions, about 1 GB (the first run builds it)
    python bench/run.py --scale 30000    # only ls/show/search with 30,000 sessions against 1,000

Builds what it needs under bench/out/ (kept between runs, git-ignored): the
corpus (bench/corpus.py, written through chit's API; `--profile real`,
the default, samples real text, `synthetic` made-up words), one-project
stores of 10 and N sessions, a long session of about 6 MB, an empty store,
and a virtual environment with the peer `llm` whose logs.db holds the same
conversations (bench/llm_load.py). Search results are checked against a
brute-force scan before anything is timed (bench/searchbench.py). Each
comparison runs its commands interleaved, round after round, and reports
medians with their spread (min–max) measured in the same run; the header
gives the machine and its load average at the start; the table ends with
each target met or not. `--no-llm` skips the peer (no network needed).
Results also go to bench/out/<size>/results.json.
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402
from measure import CWD, Table, interleaved, interleaved_with_cpu, load_average, log, ms, once, peak_rss_mb  # noqa: E402
from searchbench import bench_search  # noqa: E402
from sessionbench import bench_long_session  # noqa: E402

SIZES: dict[str, dict[str, Any]] = {
    "small": {"sessions": 100, "flat": 100, "long": 10_000, "repeat": 5, "slow_repeat": 3},
    "large": {"sessions": 10_000, "flat": 10_000, "long": 100_000, "repeat": 15, "slow_repeat": 5},
    # about 0.85 GB of real text: search against rg at the size it is meant for, in minutes
    "gb": {"sessions": 5_000, "flat": 100, "long": 10_000, "repeat": 5, "slow_repeat": 1},
}
SCALE_BASE = 1_000  # `--scale N` compares N sessions with this many
# half the messages of the other corpora: about 100 KB a session, 3 GB at 30,000
SCALE_SIZES = (5, 100)
def chit_cmd() -> list[str]:
    script = Path(sys.executable).with_name("chit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "chit"]


def chit_package() -> str:
    import chit

    return str(chit.__file__)


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIT_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(CHIT_HOME=str(home), **extra)
    return env


# -- preparing the stores ----------------------------------------------------


def store(
    name: str, sessions: int, *, projects: int, seed: int, sizes: tuple[int, int] = (5, 200), big: int | None = None, profile: str = "real",
) -> tuple[Path, dict[str, Any]]:
    """A generated store under bench/out/<name>, made once and kept."""
    root = OUT / name
    params = {
        "sessions": sessions, "projects": projects, "seed": seed, "sizes": list(sizes), "big": big, "corpus": _corpus_version(),
        "profile": profile, "python": platform.python_version(),  # the real profile samples this Python's standard library
    }
    manifest_path = root / "manifest.json"
    if manifest_path.exists():
        manifest = orjson.loads(manifest_path.read_bytes())
        if manifest.get("params") == params:
            return root / "home", manifest
    shutil.rmtree(root, ignore_errors=True)
    log(f"generating {name}: {sessions} sessions…")
    started = time.monotonic()
    made = corpus.generate(root / "home", sessions, projects=projects, seed=seed, big=big, sizes=sizes, quiet=False, profile=profile)
    manifest = {**made.as_dict(), "params": params, "generate_seconds": round(time.monotonic() - started, 1)}
    manifest["disk_bytes"] = sum(p.stat().st_size for p in (root / "home").rglob("*.jsonl"))
    manifest_path.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return root / "home", manifest


def _corpus_version() -> str:
    import hashlib

    digest = hashlib.sha256()
    for name in ("corpus.py", "realtext.py"):
        digest.update((BENCH / name).read_bytes())
    return digest.hexdigest()[:12]


def llm_setup(home: Path, name: str) -> tuple[list[str], dict[str, str]] | None:
    """The peer: llm in its own venv, with the corpus in its logs.db."""
    venv = OUT / "llm-venv"
    python = venv / "bin" / "python"
    if not (venv / "bin" / "llm").exists():
        log("installing llm into bench/out/llm-venv…")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", "llm"], check=False)
        if done.returncode != 0:
            log("could not install llm: skipping the peer")
            return None
    user_dir = OUT / name / "llm"
    db = user_dir / "logs.db"
    stamp = user_dir / "loaded-from"
    if not db.exists() or not stamp.exists() or stamp.read_text() != (home.parent / "manifest.json").read_text():
        log("loading the corpus into llm's logs.db…")
        subprocess.run([str(python), str(BENCH / "llm_load.py"), str(home), str(db)], check=True, stdout=sys.stderr)
        stamp.write_text((home.parent / "manifest.json").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIT_")}
    env["LLM_USER_PATH"] = str(user_dir)
    return [str(venv / "bin" / "llm")], env


# -- the benchmarks ------------------------------------------------------------


def bench_startup(table: Table, chit: list[str], repeat: int) -> None:
    """The start-up targets; bench/startup.py measures every command's."""
    empty = OUT / "empty-home"
    shutil.rmtree(empty, ignore_errors=True)
    env = env_for(empty)
    t = interleaved({
        "typer": ([sys.executable, "-c", "import typer"], env),
        "version": ([*chit, "--version"], env),
        "ls": ([*chit, "ls", "--json"], env),
        "projects": ([*chit, "projects", "--json"], env),
    }, repeat * 2)
    typer = f"`python -c \"import typer\"` {ms(t['typer'])}"
    table.add("startup: `chit --version`", ms(t["version"]), typer, f"{t['version'] / t['typer']:.2f}×", "≤ 0.5×", t["version"] / t["typer"] <= 0.5)
    table.add("startup: `chit ls --json`, empty store", ms(t["ls"]), typer, f"{t['ls'] / t['typer']:.2f}×", "≤ 1.4×", t["ls"] / t["typer"] <= 1.4)
    table.add("startup: `chit projects --json`, empty store", ms(t["projects"]), typer, f"{t['projects'] / t['typer']:.2f}×", "≤ 1.6×", t["projects"] / t["typer"] <= 1.6)


def bench_scaling(table: Table, chit: list[str], small: Path, big: Path, n: int, repeat: int) -> None:
    from chit.api import Chit
    from chit.service.facade import parts_of

    prefixes = {}
    for home in (small, big):
        prefixes[home] = Chit(home, cwd=CWD, project="proj00").list(limit=1)[0].id[:8]
    ls = {label: ([*chit, "ls", "-n", "20", "--json", "-p", "proj00"], env_for(home)) for label, home in (("10", small), (str(n), big))}
    t = interleaved(ls, repeat)
    ratio = t[str(n)] / t["10"]
    table.add(f"`chit ls -n 20 --json`, {n:,} vs 10 sessions", ms(t[str(n)]), f"10 sessions {ms(t['10'])}", f"{ratio:.2f}×", "≤ 1.25×", ratio <= 1.25)
    show = {label: ([*chit, "show", prefixes[home], "--json", "-p", "proj00"], env_for(home)) for label, home in (("10", small), (str(n), big))}
    t = interleaved(show, repeat)
    ratio = t[str(n)] / t["10"]
    table.add(f"`chit show PREFIX --json`, {n:,} vs 10 sessions", ms(t[str(n)]), f"10 sessions {ms(t['10'])}", f"{ratio:.2f}×", "≤ 1.25×", ratio <= 1.25)
    api = Chit(big, cwd=CWD, project="proj00")
    dirs = [(api.project().slug, False)]
    costs = []
    for _ in range(repeat):
        started = time.perf_counter()
        parts_of(api).ctx.index.refresh(dirs, full=True)
        costs.append(time.perf_counter() - started)
    table.add(
        f"index: a full check of {n:,} files (after a directory change; at least once a minute)",
        ms(statistics.median(costs)), "", "", "reported", None,
    )
    rss = peak_rss_mb([*chit, "ls", "-n", "20", "--json", "-p", "proj00"], env_for(big))
    table.add(f"peak RSS of `chit ls`, {n:,} sessions", f"{rss:.0f} MB", "", "", "≤ 80 MB", rss <= 80)


def bench_flat(table: Table, chit: list[str], small: tuple[Path, dict[str, Any]], big: tuple[Path, dict[str, Any]], repeat: int) -> None:
    """`ls -n 20`, `show PREFIX` and a search for a rare word over the whole
    corpus of N sessions against the same commands over 1,000 of them. The
    smaller corpus is the first 1,000 sessions of the larger (the same
    seed), so `show` shows the same session in both. Wall and CPU time of
    the same runs; the target is judged on CPU time, which the other work
    of a shared machine moves much less."""
    from chit.api import Chit

    (few, few_manifest), (many, many_manifest) = small, big
    n, m = many_manifest["sessions"], few_manifest["sessions"]
    prefix = Chit(few, cwd=CWD, project="proj00").list(limit=1)[0].id[:8]
    label = f"{n:,} sessions ({many_manifest['disk_bytes'] / 1e9:.1f} GB) vs {m:,} ({few_manifest['disk_bytes'] / 1e9:.2f} GB)"
    commands = {
        "`chit ls -n 20 --json -p proj00`": ["ls", "-n", "20", "--json", "-p", "proj00"],
        "`chit show PREFIX --json -p proj00`": ["show", prefix, "--json", "-p", "proj00"],
        "`chit search quokkanebula --json --limit 20`": ["search", "quokkanebula", "--json", "--limit", "20"],
    }
    for name, args in commands.items():
        runs = {str(home): ([*chit, *args], env_for(home)) for home in (few, many)}
        wall, cpu = interleaved_with_cpu(runs, repeat)
        ratio, cpu_ratio = wall[str(many)] / wall[str(few)], cpu[str(many)] / cpu[str(few)]
        table.add(
            f"{name}, {label}", f"{ms(wall[str(many)])}; CPU {ms(cpu[str(many)])}",
            f"{m:,} sessions {ms(wall[str(few)])}; CPU {ms(cpu[str(few)])}",
            f"{ratio:.2f}×; CPU {cpu_ratio:.2f}×", "≤ 1.25× (CPU)", cpu_ratio <= 1.25,
        )


def bench_vs_llm(table: Table, chit: list[str], home: Path, peer: tuple[list[str], dict[str, str]] | None, repeat: int) -> None:
    if peer is None:
        table.add("`chit ls --all -n 20 --json` vs `llm logs list -n 20 --json`", "", "llm not installed", "", "≥ 4× faster", None)
        return
    llm, llm_env = peer
    t = interleaved({"chit": ([*chit, "ls", "--all", "-n", "20", "--json"], env_for(home)), "llm": ([*llm, "logs", "list", "-n", "20", "--json"], llm_env)}, repeat)
    speedup = t["llm"] / t["chit"]
    table.add("`chit ls --all -n 20 --json` vs `llm logs list -n 20 --json`", ms(t["chit"]), f"llm {ms(t['llm'])}", f"{speedup:.1f}× faster", "≥ 4× faster", speedup >= 4)


def bench_index(table: Table, chit: list[str], home: Path) -> None:
    from chit.api import Chit
    from chit.service.facade import parts_of

    index = home / "index.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    # the listing part in-process: a `chit ls` this far behind answers from the
    # files and starts the whole build in the background, which would leave
    # `chit index` below only waiting for it
    api = Chit(home, cwd=CWD, project="proj00", durable=False)
    dirs = [(p.slug, False) for p in parts_of(api).ctx.projects.all()]
    started = time.perf_counter()
    parts_of(api).ctx.index.refresh(dirs, text=False)
    listing = time.perf_counter() - started
    parts_of(api).ctx.index.close()
    cpu_before = _children_cpu()
    # `chit index`, not a first search: a search that finds the index this
    # far behind answers from the files and leaves the build to a catch-up
    # in the background
    text = once([*chit, "index", "--json"], env_for(home))
    text_cpu = _children_cpu() - cpu_before
    size = sum(Path(f"{index}{s}").stat().st_size for s in ("", "-wal") if Path(f"{index}{s}").exists())
    corpus_mb = sum(p.stat().st_size for p in (home / "projects").rglob("*.jsonl")) / 1e6
    table.add("index: full build (listing part in-process, then `chit index`)", ms(listing + text), f"listing part {ms(listing)}, text part {ms(text)}", f"{size / 1e6:.0f} MB on disk", "reported", None)
    table.add(
        "index: text part, MB of corpus per second (wall; CPU)", f"{corpus_mb / text:.1f} MB/s",
        f"{corpus_mb / text_cpu:.1f} MB/s of CPU", "", "≥ 40 MB/s", corpus_mb / text >= 40,
    )
    table.add("index: size on disk against the corpus", f"{size / 1e6:.1f} MB", f"corpus {corpus_mb:.1f} MB", f"{100 * size / 1e6 / corpus_mb:.0f} %", "≤ 35 %", size / 1e6 <= 0.35 * corpus_mb)
    api = Chit(home, cwd=CWD, project="proj00", durable=False)
    parts_of(api).ctx.index.refresh(dirs, text=True)
    target = api.list(limit=1)[0].id
    costs = []
    for n in range(15):
        api.append(target, "assistant", f"index refresh probe {n}")
        started = time.perf_counter()
        parts_of(api).ctx.index.refresh(dirs, text=True)
        costs.append(time.perf_counter() - started)
        api.pop(target)  # the corpus keeps its planted counts
    cost = statistics.median(costs)
    table.add("index: refresh after one append (every project)", ms(cost), "", "", "≤ 50 ms", cost <= 0.050)


def _children_cpu() -> float:
    """CPU seconds (user and system) of the children this process waited for."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_append(table: Table, long: int, repeat: int) -> None:
    from chit.api import Chit
    from chit.errors import ChitError

    home = OUT / f"append-{long}"
    api = Chit(home, cwd=CWD, project="append", durable=False)
    try:
        sessions = {s.title: s.id for s in api.list(limit=None)}
    except ChitError:  # not made yet
        sessions = {}
    if "long" not in sessions or len(api.get(sessions["long"]).messages) < long:
        shutil.rmtree(home, ignore_errors=True)
        api = Chit(home, cwd=CWD, project="append", durable=False)
        log(f"building a {long:,}-message session…")
        sessions = {"short": api.create(title="short").id, "long": api.create(title="long").id}
        for n in range(10):
            api.append(sessions["short"], "user", f"short message {n}")
        for n in range(long):
            api.append(sessions["long"], "user" if n % 2 == 0 else "assistant", f"long message {n}")
    for durable, label in ((True, "fsync (default)"), (False, "CHIT_DURABILITY=flush")):
        writer = Chit(home, cwd=CWD, project="append", durable=durable)
        per: dict[str, list[float]] = {"short": [], "long": []}
        for n in range(repeat * 20):
            for which in ("short", "long") if n % 2 == 0 else ("long", "short"):
                started = time.perf_counter()
                writer.append(sessions[which], "user", "flat?")
                per[which].append(time.perf_counter() - started)
        short, longer = statistics.median(per["short"]), statistics.median(per["long"])
        table.add(f"append, {long:,}- vs 10-message session, {label}", ms(longer), f"10 messages {ms(short)}", f"{longer / short:.2f}×", "≤ 1.2×", longer / short <= 1.2)
        fresh = writer.create(title=f"throughput {label}").id
        count = 2000
        started = time.perf_counter()
        for n in range(count):
            writer.append(fresh, "user", f"message {n}")
        rate = count / (time.perf_counter() - started)
        table.add(f"appends per second in-process, {label}", f"{rate:,.0f}/s", "", "", "≥ 5,000/s", rate >= 5000)
        batch = 50
        started = time.perf_counter()
        for n in range(0, count * 5, batch):
            writer.append_many(fresh, [{"role": "user", "content": f"message {n + k}"} for k in range(batch)])
        rate = count * 5 / (time.perf_counter() - started)
        table.add(f"messages per second in-process in batches of {batch} (`append_many`), {label}", f"{rate:,.0f}/s", "", "", "≥ 5,000/s", rate >= 5000)
    ceiling = fsync_ceiling(home, 2000)
    table.add("a bare `write` + `fsync` loop on the same disk (the ceiling for one fsync per message)", f"{ceiling:,.0f}/s", "", "", "reported", None)


def fsync_ceiling(directory: Path, count: int) -> float:
    """Writes per second of a loop doing nothing but write and fsync."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
    try:
        started = time.perf_counter()
        for _ in range(count):
            os.write(fd, b'{"type":"message","role":"user","content":"probe"}\n')
            os.fsync(fd)
        return count / (time.perf_counter() - started)
    finally:
        os.close(fd)
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--repeat", type=int, default=None, help="rounds per comparison")
    parser.add_argument("--no-llm", action="store_true", help="skip the llm comparison")
    parser.add_argument("--profile", choices=corpus.PROFILES, default="real", help="the corpus's text (default: real)")
    parser.add_argument("--scale", type=int, metavar="N", default=None, help="only the flat-with-size comparison: N sessions against 1,000")
    args = parser.parse_args()
    loadavg = load_average()
    compileall.compile_dir(str(Path(chit_package()).parent), quiet=1)  # as an installed chit has it
    size = SIZES[args.size]
    repeat = args.repeat or size["repeat"]
    slow = min(repeat, size["slow_repeat"])
    CWD.mkdir(parents=True, exist_ok=True)
    chit = chit_cmd()
    started = time.monotonic()
    if args.scale:
        table = Table()
        small = store(f"scale-{SCALE_BASE}", SCALE_BASE, projects=20, seed=7, sizes=SCALE_SIZES, profile=args.profile)
        big = store(f"scale-{args.scale}", args.scale, projects=20, seed=7, sizes=SCALE_SIZES, profile=args.profile)
        for h, _ in (small, big):
            log(f"index of {h.parent.name}…")
            once([*chit, "index", "--json"], env_for(h))  # build the indexes
        bench_flat(table, chit, small, big, repeat)
        print(f"{time.strftime('%Y-%m-%d', time.gmtime())}, flat with size — medians of {repeat} interleaved rounds, (min–max); load average at start {loadavg}; "
              f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores\n\n{table.markdown()}")
        return
    name = args.size if args.profile == "real" else f"{args.size}-{args.profile}"
    home, manifest = store(name, size["sessions"], projects=20, seed=7, profile=args.profile)
    ten, _ = store("flat-10", 10, projects=1, seed=11, sizes=(4, 12), big=0, profile="synthetic")
    many, _ = store(f"flat-{size['flat']}", size["flat"], projects=1, seed=11, sizes=(4, 12), big=0, profile="synthetic")
    peer = None if args.no_llm else llm_setup(home, name)
    table = Table()
    log("index build…")
    bench_index(table, chit, home)
    for h in (ten, many):
        once([*chit, "ls", "--all", "--json"], env_for(h))  # warm indexes
    log("startup…")
    bench_startup(table, chit, repeat)
    log("ls and show scaling…")
    bench_scaling(table, chit, ten, many, size["flat"], repeat)
    log("ls versus llm…")
    bench_vs_llm(table, chit, home, peer, repeat)
    log("search…")
    bench_search(table, chit, home, manifest, repeat, slow, peer, env_for(home))
    log("a long session: REPL turn, show, load…")
    bench_long_session(table, chit, OUT, repeat)
    log("append…")
    bench_append(table, size["long"], repeat)
    header = (
        f"{time.strftime('%Y-%m-%d', time.gmtime())}, size: {args.size} — corpus {manifest['sessions']:,} sessions, {manifest['messages']:,} messages, "
        f"{manifest['disk_bytes'] / 1e6:,.0f} MB on disk; medians of {repeat} interleaved rounds "
        f"({slow} for the plain scan); {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores; load average at start {loadavg}; {time.monotonic() - started:.0f} s in all; "
        f"{manifest.get('profile', 'synthetic')} text; times are medians (min–max)"
    )
    print(header + "\n\n" + table.markdown())
    results = OUT / name / "results.json"
    results.write_bytes(orjson.dumps({"header": header, "rows": table.rows, "manifest": {k: v for k, v in manifest.items() if k != "ids"}}, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
