"""The change journals (chit.store.journal) that let the index skip stat'ing every
session file: chit's own appends, from this process or another, are seen at
once without a full check; what the journal cannot vouch for (changes made
outside chit, a writer killed between its marks, a lost, rotated, garbage
or linked journal, another boot) falls back to a full check. Real files in
tmp_path, real processes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_index import _message, _outside_append, assert_agrees, session_file

from chit.api import Chit
from chit.index import db as index_module
from chit.index.db import Index
from chit.store import journal as journal_module
from chit.service.facade import parts_of


def journal(api: Chit) -> Path:
    return api.layout.changes_file(api.project().slug)


def settle(api: Chit) -> None:
    """Make the sessions directory old enough to be trusted, then let one
    full check record it: from here on, listings may use the journal."""
    directory = api.layout.sessions_dir(api.project().slug)
    past = time.time_ns() - 10_000_000_000
    os.utime(directory, ns=(past, past))
    parts_of(api).ctx.index.refresh([(api.project().slug, False)], full=True)


def no_full_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*args: object) -> None:
        raise AssertionError("a full check (every file stat'ed) was made")

    monkeypatch.setattr(index_module, "snapshot", refused)


def dirs_row(api: Chit) -> tuple[str | None, int, str]:
    with sqlite3.connect(api.layout.index_file) as conn:
        row = conn.execute("SELECT jtoken, joff, pending FROM dirs WHERE slug = ? AND trash = 0", (api.project().slug,)).fetchone()
    return tuple(row)  # type: ignore[return-value]


APPENDER = textwrap.dedent(
    """
    import sys
    from chit.api import Chit
    api = Chit(sys.argv[1], cwd=sys.argv[2])
    for n in range(int(sys.argv[4])):
        api.append(sys.argv[3], "user", f"from another process {n}")
    """
)


def test_chit_appends_are_seen_without_a_full_check(api: Chit, home: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = api.create(title="alpha")
    b = api.create(title="beta")
    api.append(a.id, "user", "harbour words")
    settle(api)
    no_full_checks(monkeypatch)
    api.append(b.id, "user", "ferry words")
    assert_agrees(api, "ferry", "harbour")
    subprocess.run([sys.executable, "-c", APPENDER, str(home), str(workdir), a.id, "5"], check=True)
    assert [s.messages for s in api.list()] == [6, 1]
    assert_agrees(api, "another process", "words")
    api.rename(b.id, "renamed beta")
    api.tag(b.id, "t")
    assert_agrees(api, "renamed")
    token, offset, pending = dirs_row(api)
    assert token is not None and offset == journal(api).stat().st_size and pending == ""


def test_changes_made_outside_chit_show_at_the_next_full_check(api: Chit, monkeypatch: pytest.MonkeyPatch) -> None:
    s = api.create(title="watched")
    api.append(s.id, "user", "first words")
    settle(api)
    _outside_append(session_file(api, s.id), _message("outside words", "2099-01-01T00:00:00.000000Z"))
    assert api.list()[0].messages == 1  # no journal line: not seen yet (documented)
    parts_of(api).ctx.index.refresh([(api.project().slug, False)], full=True)
    assert api.list()[0].messages == 2
    assert_agrees(api, "outside")
    _outside_append(session_file(api, s.id), _message("later words", "2099-01-02T00:00:00.000000Z"))
    monkeypatch.setattr(index_module, "FULL_CHECK_EVERY_NS", 0)  # as when the last full check is old
    assert_agrees(api, "later", "words")


def test_new_and_removed_sessions_are_seen_at_once(api: Chit) -> None:
    first = api.create(title="first")
    settle(api)
    second = api.create(title="second")  # changes the directory: a full check
    assert {s.id for s in api.list()} == {first.id, second.id}
    settle(api)
    api.delete(first.id)
    assert [s.id for s in api.list()] == [second.id]
    assert_agrees(api)


def test_a_writer_killed_between_its_marks_stays_pending(api: Chit, monkeypatch: pytest.MonkeyPatch) -> None:
    s = api.create(title="crashed")
    api.append(s.id, "user", "before")
    settle(api)
    no_full_checks(monkeypatch)
    with open(journal(api), "ab") as handle:  # `+<id>`, then the data, then death before `-<id>`
        handle.write(f"+{s.id}\n".encode())
    _outside_append(session_file(api, s.id), _message("landed", "2099-01-01T00:00:00.000000Z"))
    assert api.list()[0].messages == 2
    assert dirs_row(api)[2] == s.id
    _outside_append(session_file(api, s.id), _message("landed again", "2099-01-02T00:00:00.000000Z"))
    assert api.list()[0].messages == 3  # still pending: stat'ed on every refresh
    api.append(s.id, "user", "a later writer closes it")
    assert api.list()[0].messages == 4
    assert dirs_row(api)[2] == ""
    assert_agrees(api, "landed")


def test_rotation_keeps_the_journal_small_and_the_answers_right(api: Chit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "ROTATE_AT", 400)
    s = api.create(title="busy")
    api.append(s.id, "user", "start")
    settle(api)
    tokens = set()
    for n in range(40):
        api.append(s.id, "user", f"line {n}")
        if n % 7 == 0:
            assert_agrees(api, "line")
        tokens.add(dirs_row(api)[0])
        assert journal(api).stat().st_size < 400 + 80
    assert len(tokens) > 3
    assert api.list()[0].messages == 41
    assert_agrees(api, "line 39")


@pytest.mark.parametrize("damage", ["deleted", "garbage", "directory", "link"])
def test_a_lost_or_damaged_journal_means_full_checks(api: Chit, tmp_path: Path, damage: str) -> None:
    s = api.create(title="damaged")
    api.append(s.id, "user", "one")
    settle(api)
    path = journal(api)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    if damage == "deleted":
        path.unlink()
    elif damage == "garbage":
        path.write_bytes(b"\x00not a journal\n+x\n")
    elif damage == "directory":
        path.unlink()
        path.mkdir()
    else:
        path.unlink()
        path.parent.rmdir()
        path.parent.symlink_to(outside)
        (outside / path.name).write_bytes(b"not chit's to touch\n")
    _outside_append(session_file(api, s.id), _message("outside", "2099-01-01T00:00:00.000000Z"))
    api.append(s.id, "user", "two")
    assert api.list()[0].messages == 3
    assert_agrees(api, "outside", "two")
    # a linked journal directory is never written, nor anything in it removed
    assert [(p.name, p.read_bytes()) for p in outside.iterdir()] == ([(path.name, b"not chit's to touch\n")] if damage == "link" else [])


def test_a_line_cut_short_means_one_full_check(api: Chit) -> None:
    s = api.create(title="full disk")
    api.append(s.id, "user", "one")
    settle(api)
    with open(journal(api), "ab") as handle:  # a `+<id>` cut short by a full disk, then a whole line
        handle.write(f"+{s.id[:10]}-{s.id}\n".encode())
    _outside_append(session_file(api, s.id), _message("not journaled", "2099-01-01T00:00:00.000000Z"))
    assert api.list()[0].messages == 2
    assert dirs_row(api)[2] == ""  # nothing left pending for ever


def test_another_boot_means_a_full_check(api: Chit) -> None:
    s = api.create(title="rebooted")
    api.append(s.id, "user", "one")
    settle(api)
    if journal_module.boot_id() is None:
        pytest.skip("no boot id on this system: journals are never trusted")
    with sqlite3.connect(api.layout.index_file) as conn:
        conn.execute("UPDATE dirs SET boot = 'an earlier boot'")
    _outside_append(session_file(api, s.id), _message("after the reboot", "2099-01-01T00:00:00.000000Z"))
    assert api.list()[0].messages == 2


def test_a_clock_set_back_means_a_full_check(api: Chit) -> None:
    s = api.create(title="time travel")
    api.append(s.id, "user", "one")
    settle(api)
    with sqlite3.connect(api.layout.index_file) as conn:  # the last full check seems to lie in the future
        conn.execute("UPDATE dirs SET checked_ns = ?", (time.time_ns() + 3_600_000_000_000,))
    _outside_append(session_file(api, s.id), _message("after the clock moved", "2099-01-01T00:00:00.000000Z"))
    assert api.list()[0].messages == 2
    with sqlite3.connect(api.layout.index_file) as conn:
        assert conn.execute("SELECT checked_ns FROM dirs").fetchone()[0] <= time.time_ns()


def test_listing_while_other_processes_append(api: Chit, home: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = [api.create(title=f"s{n}") for n in range(3)]
    api.set_value(sessions[0].id, "journal", "started")  # the journal's first line: a new journal costs a full check
    settle(api)
    no_full_checks(monkeypatch)
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(home), str(workdir), s.id, "150"]) for s in sessions
    ]
    seen: dict[str, int] = {}
    while any(p.poll() is None for p in procs):
        for summary in api.list():
            assert summary.messages >= seen.get(summary.id, 0), "a listing went back in time"
            seen[summary.id] = summary.messages
    assert [p.wait() for p in procs] == [0, 0, 0]
    assert sorted(s.messages for s in api.list()) == [150, 150, 150]
    monkeypatch.undo()
    assert_agrees(api, "another process 149")
    assert dirs_row(api)[2] == ""


@pytest.mark.parametrize("version", [2, 3, 4])
def test_an_index_of_a_previous_version_is_migrated_in_place(api: Chit, version: int) -> None:
    s = api.create(title="kept")
    api.append(s.id, "user", "indexed before the upgrade")
    assert len(api.search("upgrade")) == 1
    parts_of(api).ctx.index.close()
    with sqlite3.connect(api.layout.index_file) as conn:
        for table, column in (("messages", "tok"), ("messages", "tok_in"), ("messages", "tok_out"),
                              ("sessions", "tokens"), ("sessions", "tokens_in"), ("sessions", "tokens_out")):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # the version 4 layout
        if version <= 3:
            conn.execute("ALTER TABLE sessions DROP COLUMN witness")
        if version == 2:  # and of `dirs`, version 2
            for column in ("jtoken", "joff", "pending", "checked_ns", "boot"):
                conn.execute(f"ALTER TABLE dirs DROP COLUMN {column}")
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("INSERT INTO meta VALUES ('probe', 42)")  # gone if the index were rebuilt instead
    fresh = Chit(api.layout.home, cwd=parts_of(api).ctx.cwd)
    assert [h.id for h in fresh.search("upgrade")] == [s.id]
    fresh.append(s.id, "user", "after the upgrade")  # a row without a witness is read whole
    assert_agrees(fresh, "upgrade")
    with sqlite3.connect(api.layout.index_file) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == index_module.SCHEMA_VERSION
        assert conn.execute("SELECT v FROM meta WHERE k = 'probe'").fetchone() == (42,)  # kept, not rebuilt
        assert conn.execute("SELECT jtoken FROM dirs").fetchone()[0] is not None


def append_until_killed(home: Path, workdir: Path, session_id: str) -> None:
    """A forked child's work: append to the session until killed."""
    api = Chit(home, cwd=workdir)  # fsync: a kill often lands between `+` and `-`
    n = 0
    while True:
        api.append(session_id, "user", f"loop {n} " + "x" * (n % 300))
        n += 1


def test_appenders_killed_at_random_leave_listings_equal_to_the_files(
    api: Chit, home: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed anywhere, often between its `+` and `-` (in runs here, 21
    to 24 of 25 kills were), a writer never makes a journal-only refresh miss a message."""
    import random
    import signal

    s = api.create(title="killed writers")
    api.append(s.id, "user", "start")
    settle(api)
    no_full_checks(monkeypatch)
    rng = random.Random(11)
    for _ in range(25):
        parts_of(api).ctx.index.close()  # no SQLite connection crosses the fork
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            try:
                append_until_killed(home, workdir, s.id)
            finally:
                os._exit(1)
        time.sleep(rng.uniform(0.0, 0.06))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status), "the appender stopped by itself"
        listed = {x.id: x.messages for x in api.list()}
        assert listed[s.id] == len(api.get(s.id).messages), "the listing missed what the file holds"
    monkeypatch.undo()
    assert_agrees(api, "loop")
