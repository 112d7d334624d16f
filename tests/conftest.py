"""Shared fixtures: a real store in tmp_path, the API on it, and the CLI run
both in-process and as a real `chit` subprocess. Nothing is mocked.

`run_cli` (and the `cli` fixture) starts each `chit` as a real process of
its own, forked from a warm server that has imported typer and chit's entry
modules once per test process (tests/forkserver.py): those imports are all
the calls share; each gets its own pid, pipes, cwd and whole environment,
and a call whose start-up would differ (PYTHON*, locale variables, ...) is
exec'd as `python -m chit` instead. CHIT_TEST_EXEC=1 execs every call."""

from __future__ import annotations

import compileall
import hashlib
import os
import shutil
import stat
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import forkserver
import orjson
import pytest
from fake_openai import FakeServer

import chit
from chit.api import Chit

# pytest keeps the test modules it has rewritten (for its assert messages) as
# bytecode caches, unless PYTHONDONTWRITEBYTECODE is set, as some environments
# do: then every worker rewrote and compiled all of tests/ again at each run,
# 7.4 s of CPU per worker where the caches take 2.4 s. Only this process
# writes them (into tests/__pycache__); the programs the tests start keep the
# environment as it is.
sys.dont_write_bytecode = False

# chit sizes its tables by COLUMNS when it is set, and by nothing in a pipe.
# pytest-xdist's workers run with COLUMNS=80 and LINES=24 set, a plain run
# without: every test starts without them and sets a width where it wants one.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


# The longest tests (tens of seconds each: kill rounds, stress, state
# machine) are shared out among the workers and start first on each, so
# that the parallel run does not end waiting on one of them while the other
# workers are idle. pytest-xdist's worksteal scheduler first hands worker k
# the next len(pending) // (workers - k) tests of this order, and later
# moves tests from the end of a busy worker's queue to an idle one: each
# worker's block begins with its share of the long tests. Otherwise
# collection order (every worker computes the same order).
LONG_RUNNING = ("test_sync_kill.py", "test_index_crash.py", "test_soak.py", "test_concurrency.py", "test_crash.py", "test_store_model.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    long = [item for item in items if item.path.name in LONG_RUNNING]
    rest = [item for item in items if item.path.name not in LONG_RUNNING]
    ordered: list[pytest.Item] = []
    left, taken = len(items), 0  # items not yet in a block; of `rest`, those placed
    for worker in range(workers):
        size = left // (workers - worker)
        share = long[worker::workers]
        fill = max(0, size - len(share))
        ordered += share + rest[taken : taken + fill]
        taken += fill
        left -= size
    ordered += rest[taken:]  # what the blocks left over, when long tests outnumber a block
    items[:] = ordered


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers per core. A third of a worker's time is spent
    waiting (on deadlines and trickling servers the tests hold to, child
    processes, tmux, git): on this 2-core machine two workers kept the cores
    busy 1.3 of 2 on average, four 1.8 (252 s against 175 s for the run)."""
    return 2 * (os.cpu_count() or 1)


@pytest.fixture(scope="session", autouse=True)
def bytecode_caches() -> None:
    """chit's modules compiled before the first test, as an installed chit
    has them: each of the run's thousands of `chit` processes then loads
    bytecode. Without the caches (a fresh checkout, a module just edited,
    and PYTHONDONTWRITEBYTECODE set, as some environments do) every one of
    them compiled all of chit again, half its start-up. Files already up
    to date are left as they are; parallel workers replace a cache file
    atomically. (A parallel run has compiled them before its workers
    start: pytest_configure.)"""
    compile_chit()


def compile_chit() -> None:
    compileall.compile_dir(Path(chit.__file__).parent, quiet=1)


@pytest.fixture(scope="session", autouse=True)
def private_user_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """HOME is a directory of this run's own, and the XDG directories follow
    it: what a test or a tool it runs (chit without CHIT_HOME, fish, zsh,
    Chromium) keeps in a home directory is never the user's, nor shared
    between parallel workers."""
    names = ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")
    saved = {name: os.environ.get(name) for name in names}
    os.environ["HOME"] = str(tmp_path_factory.mktemp("user-home"))
    for name in names[1:]:
        os.environ.pop(name, None)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session", autouse=True)
def fork_server() -> Iterator[None]:
    """The fork server of run_cli ends with the session (tests/forkserver.py)."""
    yield
    forkserver.stop()


@pytest.fixture(autouse=True)
def no_progress_hook_left_behind() -> Iterator[None]:
    """A command run in-process (`chit.cli.main.run`) points the index's
    progress hook at its Environment's stderr and leaves it there: a later
    test in the same worker whose index refresh ran past a second then
    wrote to a closed stream (ValueError), depending on which tests the
    worker happened to run before it. Each test starts without the hook."""
    yield
    db = sys.modules.get("chit.index.db")
    if db is not None:
        db.report_progress = None  # type: ignore[attr-defined]


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return orjson.loads(self.out)

    def error_json(self) -> dict[str, object]:
        return orjson.loads(self.err.strip().splitlines()[-1])["error"]  # type: ignore[no-any-return]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty CHIT_HOME; CHIT_PROJECT cleared so the cwd decides."""
    store = tmp_path / "home"
    monkeypatch.setenv("CHIT_HOME", str(store))
    monkeypatch.delenv("CHIT_PROJECT", raising=False)
    monkeypatch.setenv("CHIT_LOCK_TIMEOUT", "5")
    return store


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory (a git work tree) that is also the cwd."""
    directory = tmp_path / "proj"
    (directory / ".git").mkdir(parents=True)
    monkeypatch.chdir(directory)
    return directory


@pytest.fixture
def api(home: Path, workdir: Path) -> Chit:
    return Chit(home, cwd=workdir)


def run_cli(args: list[str], stdin: bytes | None = None, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
    """Run the real `chit` program (python -m chit) in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("CHIT_DEBUG", None)
    proc = forkserver.run_chit(args, stdin=stdin if stdin is not None else b"", cwd=cwd, env=full_env, timeout=60)
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


@pytest.fixture
def cli(home: Path, workdir: Path):  # type: ignore[no-untyped-def]
    """`cli("ls", "--json")` runs chit as a subprocess in `workdir`."""

    def call(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> Result:
        return run_cli(list(args), stdin=stdin, cwd=workdir, env=env)

    return call


@pytest.fixture
def cli_inproc(home: Path, workdir: Path, capsysbinary: pytest.CaptureFixture[bytes]):  # type: ignore[no-untyped-def]
    """`cli_inproc("ls")` runs chit's entry point in this process."""
    from chit.cli.main import run

    def call(*args: str) -> Result:
        code = run(list(args))
        captured = capsysbinary.readouterr()
        return Result(code, captured.out.decode("utf-8", "replace"), captured.err.decode("utf-8", "replace"))

    return call


@pytest.fixture
def server() -> Iterator[FakeServer]:
    """A loopback OpenAI-compatible server (tests/fake_openai.py)."""
    fake = FakeServer().start()
    yield fake
    fake.shutdown()
    fake.server_close()


@pytest.fixture(scope="session")
def empty_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home that holds only its index, empty (no connection left open to
    it): what `fresh_home` copies."""
    from chit.service.facade import parts_of

    home = tmp_path_factory.mktemp("empty") / "home"
    index = parts_of(Chit(home, cwd=home.parent, durable=False)).ctx.index
    assert index.conn is not None
    index.close()
    assert [p.name for p in home.iterdir()] == ["index.sqlite"]
    return home


def fresh_home(empty_home: Path, home: Path, cwd: Path, **options: Any) -> Chit:
    """`Chit(home, cwd=cwd, durable=False, **options)` on a new home of its
    own that starts as a copy of `empty_home`: creating an index's tables
    costs about 5 ms of CPU, copying them 1. For tests that make many homes."""
    shutil.copytree(empty_home, home)
    return Chit(home, cwd=cwd, durable=False, **options)


def store_behind_its_index(tmp_path: Path, build: Callable[[Path, Path], object]) -> tuple[Path, Path]:
    """(home, work): a store `build(home, work)` wrote, then its index
    deleted and its background catch-up turned off, so that the store is
    as far ahead of its index as it can be, and stays so."""
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    build(home, work)
    (home / "config.toml").write_text("[index]\nbackground = false\n")
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (home / name).unlink(missing_ok=True)
    return home, work


def as_the_command_line(api: Chit) -> Chit:
    """`api` answering a listing or search far behind its index from the
    index's current rows and the files, as the command line does, instead
    of bringing the index up to date first (`Context.catch_up_here`)."""
    from chit.service.facade import parts_of

    parts_of(api).ctx.catch_up_here = False
    return api


def tree_digest(root: Path) -> str:
    """A hash of every path, mode and byte under `root` (for 'nothing changed').
    The derived index (`index.*` in the store's root) and its change
    journals (`changes/`) are caches, not data. A linked directory is
    hashed as a link, never entered."""
    digest = hashlib.sha256()
    if not root.exists():
        return "absent"
    top = os.fspath(root)
    found: list[tuple[list[str], str]] = []  # (relative parts: the order of sorted paths, full path)
    for folder, dirs, files in os.walk(top):
        parts = [] if folder == top else os.path.relpath(folder, top).split(os.sep)
        if not parts:
            dirs[:] = [name for name in dirs if name != "changes"]
            files = [name for name in files if name != "changes"]
        found += [([*parts, name], os.path.join(folder, name)) for name in dirs + files if parts or not name.startswith("index.")]
    for parts, path in sorted(found):
        st = os.lstat(path)
        digest.update(os.sep.join(parts).encode() + b"\0" + oct(st.st_mode).encode())
        if stat.S_ISREG(st.st_mode):
            with open(path, "rb") as file:
                digest.update(file.read())
        elif stat.S_ISLNK(st.st_mode):
            digest.update(os.readlink(path).encode())
    return digest.hexdigest()


def pytest_configure(config: pytest.Config) -> None:
    """In the process that starts the workers, before it starts them, what
    each worker would otherwise do again for itself, all at once, in a
    fresh checkout: Hypothesis's table of the characters UTF-8 encodes
    (what `st.text()` and `st.from_regex` draw from, 1.5 s of CPU, kept
    under .hypothesis/), chit's bytecode and the rewritten test modules
    pytest caches (`rewrite_test_modules`)."""
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", None):
        return
    from hypothesis import strategies
    from hypothesis.errors import HypothesisSideeffectWarning

    with warnings.catch_warnings():  # building it here, early, is the point: no warning for it on every run
        warnings.simplefilter("ignore", HypothesisSideeffectWarning)
        strategies.characters(codec="utf-8").validate()
    compile_chit()
    rewrite_test_modules(config)


def rewrite_test_modules(config: pytest.Config) -> None:
    """The test modules this run collects, their asserts rewritten and
    cached (tests/__pycache__) where the cache is missing or out of date,
    as each worker's import would: in a fresh checkout every worker
    rewrote all of them at the same time, 3.7 s of CPU each. The workers
    then find them cached. This reaches into pytest's rewriting functions,
    which are not a public API: should they change, the workers rewrite
    the modules themselves, as before."""
    try:
        from _pytest.assertion.rewrite import PYC_TAIL, _read_pyc, _rewrite_test, _write_pyc, assertstate_key, get_cache_dir

        state = config.stash.get(assertstate_key, None)
        if state is None:  # --assert=plain: nothing is rewritten
            return
        for module in _collected_test_modules(config):
            pyc = get_cache_dir(module) / (module.name[:-3] + PYC_TAIL)
            if _read_pyc(module, pyc) is None:
                pyc.parent.mkdir(parents=True, exist_ok=True)
                source_hash, code = _rewrite_test(module, config)
                _write_pyc(state, code, source_hash, pyc)
    except Exception as exc:  # only the workers' start-up is at stake
        warnings.warn(f"test modules not rewritten before the workers start: {exc!r}", stacklevel=1)


def _collected_test_modules(config: pytest.Config) -> list[Path]:
    """The test_*.py files the command line names, or holds in the folders it names."""
    found: set[Path] = set()
    for arg in config.args:
        path = config.invocation_params.dir / arg.split("::")[0]
        if path.is_dir():
            found.update(path.rglob("test_*.py"))
        elif path.name.startswith("test_") and path.suffix == ".py" and path.is_file():
            found.add(path)
    return sorted(found)
