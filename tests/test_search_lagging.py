"""A search while the index is far behind the files (missing, deleted, a
store copied in, many sessions written by other means) answers at once
from the index and the files it is behind on, with exactly the indexed
search's hits and order, and starts one catch-up in the background; a
catch-up killed at any moment leaves an index the next one completes.
All through the real `chit` program."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import forkserver
import pytest

from chit.api import Chit
from chit.service.catchup import FAR_BEHIND
from tests.conftest import run_cli

FILLER = "plain filler words about nothing in particular " * 4000  # about 190 KB a message


def _store(home: Path, workdir: Path, copies: int) -> list[str]:
    """A store whose files hold well over FAR_BEHIND bytes: a few
    sessions written through the API (case pairs, a title, tags, a rewind)
    and many copies of them under new ids, as a restore or a sync leaves
    them. No index."""
    api = Chit(home, cwd=workdir, durable=False)
    a = api.create(title="Harbour trip", tags=["work"])
    api.append(a.id, "user", "Where is the Straße to the harbour?")
    api.append(a.id, "assistant", "Past the STRASSE sign, then left. " + FILLER)
    api.append(a.id, "user", "a forgotten harbour question")
    api.rewind(a.id, 1)
    api.append(a.id, "user", "And the ferry to the İstanbul harbour?")
    b = api.create("other")
    api.append(b.id, "user", "rare zephyrmosaic word, once")
    api.append(b.id, "assistant", "KELVIN \u212a and the ﬁsh " + FILLER)
    api.tag(b.id, "home")
    shutil.rmtree(home / "index.sqlite", ignore_errors=True)
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (home / name).unlink(missing_ok=True)
    ids = [a.id, b.id]
    for path in sorted(home.glob("projects/*/sessions/*.jsonl")):
        data = path.read_bytes()
        for _ in range(copies):
            new = str(uuid.uuid4())
            copy = path.parent / f"{new}.jsonl"
            copy.write_bytes(data.replace(path.stem.encode(), new.encode(), 1))
            copy.chmod(0o600)
            ids.append(new)
    total = sum(p.stat().st_size for p in home.glob("projects/*/sessions/*.jsonl"))
    assert total > FAR_BEHIND
    return ids


QUERIES = [
    ["harbour"], ["strasse"], ["STRAẞE"], ["zephyrmosaic"], ["absentword"], ["kelvin"], ["fish"], ["i̇stanbul"],
    ['"the harbour"'], ["harbour", "--role", "user"], ["harbour", "--tag", "work"], ["harbour", "-n", "3"],
    ["filler", "-n", "5"], ["forgotten"], ["trip"], ["harbour", "-n", "0"],
]


def _search(home: Path, workdir: Path, args: list[str], env: dict[str, str] | None = None) -> tuple[object, str]:
    result = run_cli(["search", *args, "--json"], cwd=workdir, env={"CHIT_HOME": str(home), **(env or {})})
    assert result.code == 0, result.err
    return result.json(), result.err


def _no_background(home: Path) -> None:
    (home / "config.toml").write_text("[index]\nbackground = false\n")


@pytest.fixture(scope="module")
def built_stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same far-behind store twice, made once for the module: one left
    behind, one indexed by `chit index`."""
    root = tmp_path_factory.mktemp("lagging")
    workdir = root / "proj"
    (workdir / ".git").mkdir(parents=True)
    behind = root / "behind"
    _store(behind, workdir, copies=30)
    _no_background(behind)
    indexed = root / "indexed"
    shutil.copytree(behind, indexed)
    done = run_cli(["index", "--json"], cwd=workdir, env={"CHIT_HOME": str(indexed)})
    assert done.code == 0, done.err
    return behind, indexed


@pytest.fixture
def stores(built_stores: tuple[Path, Path], tmp_path: Path, workdir: Path) -> tuple[Path, Path]:
    """A copy of the module's far-behind store for this test, and its indexed
    store itself, only searched (a copy of it would be behind: the index
    knows each file by its inode)."""
    behind = tmp_path / "behind"
    shutil.copytree(built_stores[0], behind)
    return behind, built_stores[1]


def test_a_search_far_behind_answers_as_the_index_would(stores: tuple[Path, Path], workdir: Path) -> None:
    behind, indexed = stores
    for query in QUERIES:
        want, quiet = _search(indexed, workdir, query)
        got, said = _search(behind, workdir, query)
        assert got == want, query
        assert "index is behind" in said and "index is behind" not in quiet
    assert not (behind / "index.sqlite").exists()  # nothing was built: the files answered


def test_a_store_grown_behind_its_index(stores: tuple[Path, Path], workdir: Path, tmp_path: Path) -> None:
    """An index up to date with part of the store, the rest copied in
    after it was built: the index answers for its part, the files for the
    rest, never twice. The part copied in holds more than FAR_BEHIND bytes
    by itself, so the search takes the far-behind path over exactly those
    files."""
    grown = stores[0]  # this test's copy of the store, with no index
    env = {"CHIT_HOME": str(grown)}
    files = sorted(grown.glob("projects/*/sessions/*.jsonl"))
    added = [path for n, path in enumerate(files) if n % 4]  # three in four, of both projects; the fourth is indexed
    assert sum(p.stat().st_size for p in added) > FAR_BEHIND
    aside = tmp_path / "aside"
    aside.mkdir()
    for path in added:  # out of the store while its index is built (moved: each file keeps its inode)
        path.rename(aside / f"{path.parent.parent.name}-{path.name}")
    assert run_cli(["index"], cwd=workdir, env=env).code == 0
    for path in added:
        (aside / f"{path.parent.parent.name}-{path.name}").rename(path)
    kept = {p.stem for p in files} - {p.stem for p in added}
    answers = {}
    for query in QUERIES:
        got, said = _search(grown, workdir, query)
        assert f"the index is behind on {len(added)} session file(s)" in said, said  # the files answer for the added ones only
        answers[tuple(query)] = got
    every = {hit["id"] for hit in answers[("harbour", "-n", "0")]}  # type: ignore[attr-defined]
    assert every & kept and every & {p.stem for p in added}  # the index answered for hits of its part, the files for the rest
    assert run_cli(["index"], cwd=workdir, env=env).code == 0
    for query in QUERIES:
        want, said = _search(grown, workdir, query)
        assert "index is behind" not in said
        assert answers[tuple(query)] == want, query


def test_human_output_lists_sessions_while_behind(stores: tuple[Path, Path], workdir: Path) -> None:
    """One line per session: with -n 0 every one the index would list; with
    a limit, the ones it would list."""
    behind, indexed = stores
    env_behind, env_indexed = {"CHIT_HOME": str(behind)}, {"CHIT_HOME": str(indexed)}
    got = run_cli(["search", "zephyrmosaic", "-n", "0"], cwd=workdir, env=env_behind)
    want = run_cli(["search", "zephyrmosaic", "-n", "0"], cwd=workdir, env=env_indexed)
    assert got.code == want.code == 0
    assert sorted(_ageless(got.out)) == sorted(_ageless(want.out))
    assert "chit index" in got.err  # background work is off here: the note says what to run
    some = run_cli(["search", "zephyrmosaic", "-n", "5"], cwd=workdir, env=env_behind)
    heads = [line for line in some.out.splitlines() if not line.startswith(" ")]
    assert len(heads) == 5
    assert _ageless(some.out) == _ageless(run_cli(["search", "zephyrmosaic", "-n", "5"], cwd=workdir, env=env_indexed).out)


def test_a_limit_lists_the_sessions_with_the_newest_hits(tmp_path: Path, workdir: Path) -> None:
    """With --limit, one line per session while behind lists the sessions
    the index lists (those with the newest hits), even when the files
    written last hold the oldest messages (old transcripts imported
    late)."""
    home = tmp_path / "behind"
    api = Chit(home, cwd=workdir, durable=False)
    made = []
    for n in range(12):
        session = api.create(title=f"log {n}")
        api.append(session.id, "user", f"the beacon, number {n}. " + FILLER * 4)
        made.append(session.id)
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (home / name).unlink(missing_ok=True)
    latest = time.time_ns()
    for n, sid in enumerate(made):  # the first session's file written last
        path = next(home.glob(f"projects/*/sessions/{sid}.jsonl"))
        os.utime(path, ns=(latest - n * 10**9, latest - n * 10**9))
    _no_background(home)
    indexed = tmp_path / "indexed"
    shutil.copytree(home, indexed)
    assert run_cli(["index"], cwd=workdir, env={"CHIT_HOME": str(indexed)}).code == 0
    for limit in ("1", "3", "5"):
        got = run_cli(["search", "beacon", "-n", limit], cwd=workdir, env={"CHIT_HOME": str(home)})
        want = run_cli(["search", "beacon", "-n", limit], cwd=workdir, env={"CHIT_HOME": str(indexed)})
        assert "index is behind" in got.err
        assert got.code == want.code == 0 and _ageless(got.out) == _ageless(want.out), limit
        assert f"log {len(made) - 1}" in got.out  # the newest message's session


def _ageless(out: str) -> list[str]:
    return [re.sub(r" · [^·]* ago$", "", line) for line in out.splitlines()]


def _wait_idle(home: Path, deadline: float = 120) -> None:
    """Until no catch-up holds the lock."""
    from chit.index.db import Index
    from chit.service.catchup import running
    from chit.store.paths import Layout

    end = time.monotonic() + deadline
    index = Index(Layout(home))
    time.sleep(0.5)
    while running(index):
        assert time.monotonic() < end, "the catch-up never ended"
        time.sleep(0.2)


def test_searches_at_once_start_one_catch_up(tmp_path: Path, workdir: Path) -> None:
    home = tmp_path / "home"
    ids = _store(home, workdir, copies=30)
    env = {"CHIT_HOME": str(home)}
    with ThreadPoolExecutor(4) as pool:  # four `chit search` processes at once
        searches = list(pool.map(lambda _: run_cli(["search", "harbour", "--json"], cwd=workdir, env=env), range(4)))
    assert all(s.code == 0 for s in searches), [s.err for s in searches]
    _wait_idle(home)
    runs = [line.split() for line in (home / "index.catchup").read_text().splitlines()]
    worked = [r for r in runs if int(r[3]) > 0]
    assert len(worked) == 1, runs  # one catch-up read the files; any other found nothing left
    assert sum(int(r[3]) for r in runs) == len(ids)
    after, said = _search(home, workdir, ["harbour"])
    assert "index is behind" not in said  # caught up: the index answers
    assert [s.out for s in searches] == [searches[0].out] * 4
    assert after == searches[0].json()


def test_a_killed_catch_up_leaves_an_index_the_next_completes(tmp_path: Path, workdir: Path) -> None:
    home = tmp_path / "home"
    _store(home, workdir, copies=60)
    _no_background(home)
    reference = tmp_path / "reference"
    shutil.copytree(home, reference)
    assert run_cli(["index"], cwd=workdir, env={"CHIT_HOME": str(reference)}).code == 0
    env = {**os.environ, "CHIT_HOME": str(home)}
    answers: dict[tuple[str, ...], object] = {}

    def reference_answer(query: list[str]) -> object:
        """The fully indexed reference's hits (it never changes: asked once)."""
        if tuple(query) not in answers:
            answers[tuple(query)] = _search(reference, workdir, query)[0]
        return answers[tuple(query)]

    for delay in (0.3, 0.8, 1.5):
        with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL once `delay` has passed, unless done before
            forkserver.run_chit(["index"], cwd=workdir, env=env, timeout=delay)
        for query in (["harbour"], ["zephyrmosaic"], ["strasse", "-n", "4"]):
            assert _search(home, workdir, query)[0] == reference_answer(query), (delay, query)
    assert run_cli(["index"], cwd=workdir, env=env).code == 0
    doctor = run_cli(["doctor", "--json"], cwd=workdir, env=env)
    assert doctor.code == 0, doctor.out
    for query in QUERIES:
        got, said = _search(home, workdir, query)
        assert "index is behind" not in said
        assert got == reference_answer(query), query
