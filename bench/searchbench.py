"""Search over the corpus: every query class, checked, then timed.

Before any timing, each query's hits from `chit search` are checked
against a brute-force scan (every session read and folded, each live
message's text and each manual title casefolded and searched): a query
with up to `FULL_CHECK` hits must give exactly the scan's set with no
limit, a commoner one must give 20 true hits with `--limit 20`. Planted
needles must also match the corpus manifest's counts.

Then `chit search Q --json --limit 20` is timed interleaved with the
anchors over the same data: `rg -i -l Q` over the session files, `llm
logs -q Q` (its FTS5 search) over the same conversations, and once per
run the physical floor, `cat` of every session file from the page cache.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from measure import CWD, Table, interleaved, log, ms, peak_rss_mb

BENCH = Path(__file__).resolve().parent
FULL_CHECK = 5_000

# (query class, query); the needles are planted at known rates (bench/corpus.py)
QUERIES: list[tuple[str, str]] = [
    ("rare: 1 message", "xylophonequartz"),
    ("rare: 0.1 % of messages", "quokkanebula"),
    ("rare: 1 % of messages", "zephyrmosaic"),
    ("rare: 10 % of messages", "lanternfjord"),
    ("common word", "error"),
    ("common word", "function"),
    ("absent", "qzxjvnomatch"),
    ("2 letters", "zq"),
    ("phrase", "could not find"),
    ("non-ASCII", "プログラミング"),
    ("casefold pair ß/SS", "STRASSE"),
    ("casefold pair ß/SS, planted", "FUSSGÄNGERBRÜCKE"),
    ("inside a 5 MB message", "vortexmarmalade"),
]
SYNTHETIC_QUERIES = [(kind, q) for kind, q in QUERIES if q in ("xylophonequartz", "quokkanebula", "zephyrmosaic", "lanternfjord", "qzxjvnomatch", "zq")]


def queries_for(profile: str) -> list[tuple[str, str]]:
    return QUERIES if profile == "real" else SYNTHETIC_QUERIES


def brute_force(home: Path, queries: list[str]) -> dict[str, set[tuple[str, str | None]]]:
    """(session id, message id or None for a title) of every hit of each
    query, by reading every session: no index involved."""
    from chit.api import Chit
    from chit.service.facade import parts_of

    api = Chit(home, cwd=CWD)
    ctx = parts_of(api).ctx
    folded = {q: q.casefold() for q in queries}
    hits: dict[str, set[tuple[str, str | None]]] = {q: set() for q in queries}
    for project in ctx.projects.all():
        for session_id in ctx.store.session_ids(project.slug):
            session = ctx.read_session(project, session_id)
            if session.manual_title:
                title = session.manual_title.casefold()
                for q, f in folded.items():
                    if f in title:
                        hits[q].add((session.id, None))
            for message in session.messages:
                text = message.content.casefold()
                for q, f in folded.items():
                    if f in text:
                        hits[q].add((session.id, message.id))
    return hits


def check(home: Path, manifest: dict[str, Any], profile: str) -> dict[str, int]:
    """Check chit's hits for every query; returns each query's hit count."""
    from chit.api import Chit
    from chit.service.facade import parts_of

    queries = [q for _, q in queries_for(profile)]
    started = time.monotonic()
    truth = brute_force(home, queries)
    log(f"  brute-force scan of {len(queries)} queries: {time.monotonic() - started:.0f} s")
    api = Chit(home, cwd=CWD)
    for q in queries:
        expected = truth[q]
        if len(expected) <= FULL_CHECK:
            found = {(h.id, h.message_id) for h in api.search(q, limit=None)}
            if found != expected:
                raise SystemExit(f"search {q!r}: {len(found)} hits, the scan finds {len(expected)} ({len(found - expected)} wrong, {len(expected - found)} missed)")
        else:
            found = {(h.id, h.message_id) for h in api.search(q, limit=20)}
            if len(found) != 20 or not found <= expected:
                raise SystemExit(f"search {q!r} --limit 20: {len(found)} hits, {len(found - expected)} of them not hits")
        planted = manifest["needles"].get(q.casefold())
        if planted is not None and len({m for _, m in expected if m is not None}) != planted:
            raise SystemExit(f"search {q!r}: the scan finds {len(expected)} messages, the corpus planted {planted}")
    parts_of(api).ctx.index.close()
    return {q: len(truth[q]) for q in queries}


def bench_search(
    table: Table, chit: list[str], home: Path, manifest: dict[str, Any], repeat: int, slow_repeat: int,
    peer: tuple[list[str], dict[str, str]] | None, env: dict[str, str],
) -> None:
    profile = manifest.get("profile", "synthetic")
    counts = check(home, manifest, profile)
    table.add("search: every query's hits checked against a brute-force scan", "all match", f"{len(counts)} queries", "", "exact", True)
    files = str(home / "projects")
    floor = interleaved({"cat": (["sh", "-c", f"find {files} -name '*.jsonl' -exec cat {{}} + > /dev/null"], env)}, repeat)["cat"]
    table.add("floor: `cat` of every session file (page cache)", ms(floor), f"{manifest['disk_bytes'] / 1e6:,.0f} MB", "", "reported", None)
    rg = shutil.which("rg")
    work = []
    for kind, q in queries_for(profile):
        commands = {"chit": ([*chit, "search", q, "--json", "--limit", "20"], env)}
        if rg:
            commands["rg"] = ([rg, "-i", "-l", "--", q, files], env)
        t = interleaved(commands, repeat, check={"rg": False})
        slow = {"plain": ([sys.executable, str(BENCH / "plainscan.py"), q, files], env)}
        if peer is not None:  # seconds a run: fewer rounds, like the plain scan
            slow["llm"] = ([*peer[0], "logs", "-q", q, "-n", "20", "--json"], peer[1])
        s = interleaved(slow, slow_repeat, check={"llm": False})
        plain = s["plain"]
        others = [f"rg {ms(t['rg'])}" if rg else "rg not installed", f"scan {ms(plain)}"]
        if peer is not None:
            others.append(f"`llm logs -q` {ms(s['llm'])}")
        ratio = f"{t['rg'] / t['chit']:.1f}× rg, {plain / t['chit']:.1f}× scan" if rg else f"{plain / t['chit']:.1f}× scan"
        met = (not rg or t["chit"] <= t["rg"]) and plain / t["chit"] >= 10
        table.add(f"`chit search '{q}' --limit 20` ({kind}; {counts[q]:,} hits)", ms(t["chit"]), ", ".join(others), ratio, "≤ rg, ≥ 10× scan", met)
        work.append(_in_process_search(home, q, max(3, repeat // 3)))
    table.add(
        "search work in-process, no start-up, each query above in order",
        ", ".join(f"{w * 1000:.0f}" for w in work) + " ms", "", "", "reported", None,
    )
    worst = max(peak_rss_mb([*chit, "search", q, "--json", "--limit", "20"], env) for _, q in queries_for(profile))
    table.add(f"peak RSS of `chit search`, the largest over the queries, {manifest['sessions']:,} sessions", f"{worst:.0f} MB", "", "", "≤ 100 MB", worst <= 100)


def _in_process_search(home: Path, word: str, repeat: int) -> float:
    """Median seconds of `search(word, limit=20)` as one command does it
    (a new Chit and index connection, warm files), without start-up."""
    from chit.api import Chit
    from chit.service.facade import parts_of

    times = []
    for n in range(repeat + 1):
        api = Chit(home, cwd=CWD)
        started = time.perf_counter()
        api.search(word, limit=20)
        if n:  # the first one warms up
            times.append(time.perf_counter() - started)
        parts_of(api).ctx.index.close()
    return statistics.median(times)
