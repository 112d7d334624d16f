"""`chit ls --since/--until/--sort/-n 0` on a store far ahead of its index
list exactly what they list once the index is current, and fold only the
files their header and newest time cannot rule out
(chit.service.list_fresh): a window folds the files it may keep, the
order by creation about as many files as it prints. Real `chit`
subprocesses on a store whose sessions were made at known times, in an
order that is neither their creation nor their update order."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from calls import calls_of
from chit.api import Chit
from chit.service.base import Context
from chit.service.facade import parts_of
from chit.service.sessions import make_message
from conftest import as_the_command_line, run_cli, store_behind_its_index

BIG = "lorem ipsum dolor sit amet " * 3_000  # about 80 KB a message
SESSIONS = 40  # past FAR_BEHIND (8 MB) in more than FAR_FILES files


def _day(n: int) -> str:
    """A time in 2025, day `n` (0 to 99) after the first of January."""
    month, day = divmod(n, 28)
    return f"2025-{month + 1:02d}-{day + 1:02d}T08:00:00.000000Z"


def _created(n: int) -> int:
    return (n * 17) % SESSIONS  # a permutation: creation is not the order written


def _updated(n: int) -> int:
    return _created(n) + (n * 7) % 50  # neither is the last update


def _store(home: Path, work: Path) -> Chit:
    api = Chit(home, cwd=work, project="demo")
    parts = parts_of(api)
    scope = parts.ctx.project("demo", create=True)
    for n in range(SESSIONS):
        count = 2 + n % 5  # turns differ
        messages = [
            make_message(
                "user" if i % 2 == 0 else "assistant", f"{n}.{i} {BIG}",
                ts=_day(_updated(n) if i == count - 1 else _created(n)),
                tokens=(n * 37 % 101, n % 13) if i % 2 else None,
            )
            for i in range(count)
        ]
        tags = ["even"] if n % 2 == 0 else []
        parts.sessions.write_new(scope, f"session {n}", None, {}, messages, tags, None, False, created_at=_day(_created(n)))
    parts.ctx.index.close()
    return api


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The store behind its index, written once for the module."""
    return store_behind_its_index(tmp_path_factory.mktemp("behind"), _store)


@pytest.fixture
def behind(built: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the module's store for this test (its listings may build an index)."""
    home, work = tmp_path / "home", tmp_path / "work"
    shutil.copytree(built[0], home)
    work.mkdir()
    return home, work


LISTINGS = [
    ["-n", "0"],
    ["--since", "2025-02-10"],
    ["--since", "2025-02-10", "-n", "3"],
    ["--until", "2025-02-10", "-n", "5"],
    ["--since", "2025-01-20", "--until", "2025-02-20", "-n", "0"],
    ["--sort", "created", "-n", "3"],
    ["--sort", "created", "--until", "2025-02-01"],
    ["--sort", "created", "--since", "2025-03-01", "-n", "2"],
    ["--sort", "turns", "-n", "4"],
    ["--sort", "tokens", "-n", "4", "--since", "2025-02-01"],
    ["--tag", "even", "--sort", "created", "-n", "3"],
]


def _ls(home: Path, work: Path, args: list[str]) -> tuple[list[dict[str, object]], str]:
    done = run_cli(["ls", "--json", *args], cwd=work, env={"CHIT_HOME": str(home), "CHIT_PROJECT": "demo"})
    assert done.code == 0, (args, done.err)
    return orjson.loads(done.out), done.err


def test_windows_and_orders_far_behind_list_what_the_index_lists(behind: tuple[Path, Path]) -> None:
    home, work = behind
    from_files = {}
    for args in LISTINGS:
        from_files[tuple(args)], said = _ls(home, work, args)
        assert "reading them directly" in said, said
    assert len(from_files[("-n", "0")]) == SESSIONS
    assert from_files[("--since", "2025-02-10")]  # the windows are not empty
    rows = run_cli(["index", "--json"], cwd=work, env={"CHIT_HOME": str(home), "CHIT_PROJECT": "demo"})
    assert rows.code == 0, rows.err
    for args in LISTINGS:
        indexed, said = _ls(home, work, args)
        assert "behind" not in said
        assert from_files[tuple(args)] == indexed, args


def _folds(home: Path, work: Path, **listing: object) -> tuple[int, int]:
    """(files folded, sessions listed) by one `list` with no index."""
    (home / "index.sqlite").unlink(missing_ok=True)
    api = as_the_command_line(Chit(home, cwd=work, project="demo"))
    with calls_of(Context.read_session) as folded:
        found = api.list(**listing)  # type: ignore[arg-type]
    parts_of(api).ctx.index.close()
    return folded[0], len(found)


def test_a_window_or_the_order_by_creation_folds_about_what_it_lists(behind: tuple[Path, Path]) -> None:
    home, work = behind
    since = 75  # updated on day 75 or later
    folded, listed = _folds(home, work, since=_day(since)[:10])
    assert listed == sum(1 for n in range(SESSIONS) if _updated(n) >= since) < SESSIONS // 3
    assert folded == listed  # each file's newest time is its session's last update
    folded, listed = _folds(home, work, sort="created", limit=3)
    assert listed == 3 and folded == 3
    folded, listed = _folds(home, work, until=_day(20)[:10], limit=2)
    newer = sum(1 for n in range(SESSIONS) if _updated(n) > 20 and _created(n) <= 20)
    assert listed == 2 and folded <= newer + 2 < SESSIONS // 2


def test_a_listing_that_folds_every_file_reports_the_folding(behind: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Past PROGRESS_AFTER, the fold of every behind file (the order by
    turns needs each one's count) is reported as well as their reading."""
    from chit.service import list_fresh, ticker

    home, work = behind
    reports: list[tuple[str, int, int]] = []
    monkeypatch.setattr(ticker, "PROGRESS_AFTER", 0.0)
    monkeypatch.setattr(ticker, "PROGRESS_EVERY", 0.0)
    monkeypatch.setattr(list_fresh, "report_progress", lambda what, done, total: reports.append((what, done, total)))
    assert len(as_the_command_line(Chit(home, cwd=work, project="demo")).list(sort="turns", limit=2)) == 2
    folding = [done for what, done, total in reports if what == "session files not indexed yet folded" and total == SESSIONS]
    assert folding[:2] == [0, 1] and folding[-1] == SESSIONS - 1
    assert reports[-1] == ("done", 0, 0)
