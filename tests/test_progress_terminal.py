"""Commands that can run past a second tell their progress on a terminal's
stderr (docs/cli.md, "Progress"): real `chit` processes with stderr on a
pseudo-terminal, their timing constants set so a small store shows what a
large one would."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from chit.api import Chit
from terminal_progress import on_a_terminal, told


def _store(tmp_path: Path, sessions: int = 3, project: str = "demo") -> Path:
    home = tmp_path / "home"
    api = Chit(home, cwd=tmp_path, project=project)
    for n in range(sessions):
        api.create(messages=[{"role": "user", "content": f"message {n}"}])
    return home


def _bare_remote(tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True, env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull})
    return remote


def test_every_step_of_a_sync_is_told_at_once(tmp_path: Path) -> None:
    """A sync tells each new step as it starts, however soon after the last
    report: a commit or a push of a whole store can be the long, silent part."""
    home = _store(tmp_path)
    remote = _bare_remote(tmp_path)
    slow_counts = {"chit.cli.cmd_sync.PROGRESS_AFTER": 0.0, "chit.cli.cmd_sync.PROGRESS_EVERY": 3600.0}
    status, _out, seen = on_a_terminal(["sync", "init", str(remote)], home, tmp_path, slow_counts, {"CHIT_PROJECT": "demo"})
    assert status == 0, seen
    steps = [line.split(": ")[2].split(" ")[0] for line in told(seen, "chit: sync: ")]
    assert steps[:1] == ["exporting"] and {"committing", "fetching", "pushing"} <= set(steps), steps
    assert steps.count("exporting") == 1, steps  # counts of one step stay a second apart


TICK_AT_ONCE = {"chit.service.ticker.PROGRESS_AFTER": 0.0, "chit.service.ticker.PROGRESS_EVERY": 0.0}
INDEX_AT_ONCE = {"chit.index.db.PROGRESS_AFTER": 0.0, "chit.index.db.PROGRESS_EVERY": 0.0}


def _drop_index(home: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{home / 'index.sqlite'}{suffix}").unlink(missing_ok=True)


def test_doctor_tells_the_session_files_checked(tmp_path: Path) -> None:
    home = _store(tmp_path)
    Chit(home, cwd=tmp_path, project="other").create(messages=[{"role": "user", "content": "elsewhere"}])
    status, out, seen = on_a_terminal(["doctor"], home, tmp_path, TICK_AT_ONCE)
    assert status == 0 and b"4 session(s) checked" in out, seen
    assert told(seen, "chit: doctor: ") == [f"chit: doctor: {n} of 4 session files checked" for n in range(1, 5)], seen
    assert seen.endswith(b"\r\n") and seen.count(b"\n") == 1  # one final line


def test_doctor_tells_the_index_it_brings_up_to_date(tmp_path: Path) -> None:
    """The audit compares the index once it is current: a store far ahead
    of it is indexed first, with the index's progress."""
    from chit.index.db import Index
    from chit.store.paths import Layout

    home = _store(tmp_path)
    _drop_index(home)
    Index(Layout(home)).conn.close()  # an empty index: every file is behind it
    status, _out, seen = on_a_terminal(["doctor"], home, tmp_path, INDEX_AT_ONCE)
    assert status == 0 and told(seen, "chit: indexing: "), seen


def test_stats_tells_the_index_it_builds(tmp_path: Path) -> None:
    home = _store(tmp_path)
    _drop_index(home)
    status, out, seen = on_a_terminal(["stats", "--all"], home, tmp_path, INDEX_AT_ONCE)
    assert status == 0 and b"3" in out, seen
    assert told(seen, "chit: indexing: ")[-1] == "chit: indexing: 3 of 3 session files read", seen


def test_gc_rm_and_emptying_the_trash_tell_the_sessions_done(tmp_path: Path) -> None:
    """A run over many sessions tells how many of them it has done, then
    leaves one final line."""
    home = _store(tmp_path, sessions=5)
    ids = [s.id for s in Chit(home, cwd=tmp_path, project="demo").list(limit=None)]
    env = {"CHIT_PROJECT": "demo"}
    found = [f"chit: rm: {n} of 2 sessions found" for n in range(2)]  # the REFs resolved first, under the same progress
    runs = [
        (["rm", *ids[:2]], "chit: rm: ", "sessions moved to the trash", 2, found),
        (["gc", "--older-than", "0s"], "chit: gc: ", "sessions moved to the trash", 3, ["listing the sessions"]),
        (["trash", "--empty", "--yes"], "chit: trash: ", "trashed sessions deleted", 5, ["listing the trash"]),
    ]
    for args, prefix, what, count, before in runs:
        status, _out, seen = on_a_terminal(args, home, tmp_path, TICK_AT_ONCE, env)
        assert status == 0, seen
        lines = _listing_as_one(told(seen, prefix), prefix)  # the listing is told from its start, with its seconds
        assert lines == before + [f"{prefix}{n} of {count} {what}" for n in range(count + 1)], seen
        assert seen.endswith(b"\r\n") and seen.count(b"\n") == 1, seen
    assert Chit(home, cwd=tmp_path, project="demo").list(limit=None) == []


def test_a_dry_run_of_gc_tells_its_listing_from_the_start(tmp_path: Path) -> None:
    """The listing before the first count is told as it runs (its
    seconds), and a dry run that lists only ends that line too."""
    home = _store(tmp_path, sessions=3)
    status, out, seen = on_a_terminal(["gc", "--older-than", "0s", "--dry-run"], home, tmp_path, TICK_AT_ONCE, {"CHIT_PROJECT": "demo"})
    assert status == 0 and out.count(b"message") == 3, (out, seen)
    assert _listing_as_one(told(seen, "chit: gc: "), "chit: gc: ") == ["listing the sessions"], seen
    assert seen.endswith(b"\r\n") and seen.count(b"\n") == 1, seen


def _listing_as_one(lines: list[str], prefix: str) -> list[str]:
    """`lines` with the reports of a listing (`PREFIX listing WHAT, N s`,
    told each tick while it runs) as one `listing WHAT`."""
    listing = re.compile(re.escape(prefix) + r"(listing [a-z ]+), \d+ s")
    said = [match.group(1) for match in map(listing.fullmatch, lines) if match]
    return said[:1] + [line for line in lines if not listing.fullmatch(line)]


def test_projects_mv_tells_the_sessions_moved(tmp_path: Path) -> None:
    home = _store(tmp_path, sessions=3, project="old")
    Chit(home, cwd=tmp_path, project="old").delete(Chit(home, cwd=tmp_path, project="old").list(limit=1)[0].id)
    Chit(home, cwd=tmp_path, project="new").create(messages=[{"role": "user", "content": "there"}])
    status, _out, seen = on_a_terminal(["projects", "mv", "old", "new"], home, tmp_path, TICK_AT_ONCE)
    assert status == 0, seen
    prefix = "chit: projects mv: "
    assert told(seen, prefix) == [f"{prefix}{n} of 3 sessions moved" for n in range(4)], seen  # the trashed one too
    assert len(Chit(home, cwd=tmp_path, project="new").list(limit=None)) == 3


def test_a_progress_line_never_wraps_on_a_narrow_terminal(tmp_path: Path) -> None:
    """A line rewritten in place is cut to the terminal's width: a wrapped
    one would leave a row behind at every report."""
    home = _store(tmp_path)
    status, _out, seen = on_a_terminal(["doctor"], home, tmp_path, TICK_AT_ONCE, columns=30)
    assert status == 0, seen
    lines = told(seen, "chit: doctor: ")
    assert lines and all(len(line) < 30 for line in lines), lines


def test_a_sync_tells_the_counts_of_its_push(tmp_path: Path) -> None:
    """A push of a whole store can take minutes: git's own counts (objects
    written) are told as they come, not one still "pushing"."""
    home = _store(tmp_path)
    remote = _bare_remote(tmp_path)
    every_count = {"chit.cli.cmd_sync.PROGRESS_AFTER": 0.0, "chit.cli.cmd_sync.PROGRESS_EVERY": 0.0}
    status, _out, seen = on_a_terminal(["sync", "init", str(remote)], home, tmp_path, every_count, {"CHIT_PROJECT": "demo"})
    assert status == 0, seen
    pushing = [line for line in told(seen, "chit: sync: pushing: ")]
    assert any(line.startswith("chit: sync: pushing: writing objects ") for line in pushing), seen
    last = pushing[-1].rsplit(" ", 3)
    assert last[-2] == "of" and last[-3] == last[-1], pushing  # n of n: the whole push


def test_a_first_sync_tells_the_files_it_commits(tmp_path: Path) -> None:
    """Hashing a whole store's files into its first commit is told a batch
    of files at a time, not one still "committing"."""
    home = _store(tmp_path, sessions=5)
    remote = _bare_remote(tmp_path)
    every_count = {"chit.cli.cmd_sync.PROGRESS_AFTER": 0.0, "chit.cli.cmd_sync.PROGRESS_EVERY": 0.0, "chit.sync.run.STAGE_BATCH": 2}
    status, _out, seen = on_a_terminal(["sync", "init", str(remote)], home, tmp_path, every_count, {"CHIT_PROJECT": "demo"})
    assert status == 0, seen
    committing = [line for line in told(seen, "chit: sync: committing")]
    assert committing == [f"chit: sync: committing {n} of 5 sessions" for n in (0, 2, 4, 5)], seen


def test_a_failing_sync_clears_its_progress_before_the_error(tmp_path: Path) -> None:
    """The error line starts a line of its own, not after the last count."""
    import shutil

    home = _store(tmp_path)
    remote = _bare_remote(tmp_path)
    every_count = {"chit.cli.cmd_sync.PROGRESS_AFTER": 0.0, "chit.cli.cmd_sync.PROGRESS_EVERY": 0.0}
    env = {"CHIT_PROJECT": "demo"}
    assert on_a_terminal(["sync", "init", str(remote)], home, tmp_path, every_count, env)[0] == 0
    shutil.rmtree(remote)
    Chit(home, cwd=tmp_path, project="demo").create(messages=[{"role": "user", "content": "one more"}])
    status, _out, seen = on_a_terminal(["sync"], home, tmp_path, every_count, env)
    assert status == 1 and b"chit: sync: exporting" in seen, seen
    before_error = seen[: seen.index(b"chit: error:")]
    assert before_error.endswith(b"\r\x1b[K"), seen


def test_finishing_the_text_index_tells_its_seconds(tmp_path: Path) -> None:
    """The text index's compaction at the end of a build is one long
    statement: its line tells the seconds it has run, so it moves."""
    home = _store(tmp_path, sessions=4)
    _drop_index(home)
    every_build_compacts = {**INDEX_AT_ONCE, "chit.index.db.VACUUM_AFTER": 1}
    status, _out, seen = on_a_terminal(["index"], home, tmp_path, every_build_compacts)
    assert status == 0, seen
    assert "chit: indexing: 4 of 4 session files read; finishing the text index, 0 s" in told(seen, "chit: indexing: "), seen


def test_stats_tells_the_projects_it_has_counted(tmp_path: Path) -> None:
    """With a current index, the count over every project is the long part."""
    home = _store(tmp_path)
    Chit(home, cwd=tmp_path, project="other").create(messages=[{"role": "user", "content": "elsewhere"}])
    Chit(home, cwd=tmp_path, project="demo").list(all_projects=True)  # the index current
    status, out, seen = on_a_terminal(["stats", "--all"], home, tmp_path, TICK_AT_ONCE)
    assert status == 0 and b"4" in out, seen
    assert told(seen, "chit: stats: ") == [f"chit: stats: {n} of 2 projects counted" for n in range(3)], seen
    assert seen.endswith(b"\r\n") and seen.count(b"\n") == 1  # one final line


def test_gc_listing_says_nothing_while_the_index_tells_its_catch_up(tmp_path: Path) -> None:
    """Two progresses never share the line: while the index tells the
    catch-up under gc's listing, the listing waits."""
    home = _store(tmp_path, sessions=150)  # a catch-up longer than the listing's ticks
    _drop_index(home)
    status, _out, seen = on_a_terminal(["gc", "--older-than", "0s"], home, tmp_path, {**TICK_AT_ONCE, **INDEX_AT_ONCE}, {"CHIT_PROJECT": "demo"})
    assert status == 0, seen
    lines = told(seen, "chit: ")
    indexing = [n for n, line in enumerate(lines) if line.startswith("chit: indexing: ")]
    assert indexing, seen
    assert not [line for line in lines[indexing[0] : indexing[-1]] if not line.startswith("chit: indexing: ")], lines


def test_a_long_table_tells_its_laying_out_before_its_first_row(tmp_path: Path) -> None:
    """`ls` of thousands of sessions measures every row before the first
    (a second at 5,000): told as it runs, its line ended before the table,
    stdout the same bytes as without progress."""
    home = _store(tmp_path, sessions=3)
    env = {"CHIT_PROJECT": "demo"}
    short_parts = {"chit.render.table_parts.PART_ROWS": 2}  # 3 rows: a long table
    status, quiet_out, quiet = on_a_terminal(["ls", "-n", "0"], home, tmp_path, short_parts, env)
    assert status == 0 and quiet == b"", quiet  # a quick listing says nothing
    status, out, seen = on_a_terminal(["ls", "-n", "0"], home, tmp_path, {**short_parts, **TICK_AT_ONCE}, env)
    assert status == 0 and _ageless(out) == _ageless(quiet_out) and out.count(b"message") == 3, (out, seen)
    assert told(seen, "chit: listing: ")[0] == "chit: listing: laying out 3 rows, 0 s", seen
    assert seen.endswith(b"\r\n") and seen.count(b"\n") == 1, seen
    status, json_out, seen = on_a_terminal(["--json", "ls", "-n", "0"], home, tmp_path, {**short_parts, **TICK_AT_ONCE}, env)
    assert status == 0 and seen == b"" and json_out.startswith(b"["), seen  # no table, nothing laid out


def test_a_search_of_a_common_word_tells_its_checking(tmp_path: Path) -> None:
    """A word in most messages has the index propose them all, each read
    back from its file: seconds on a large store, told as they run."""
    home = _store(tmp_path, sessions=3)
    env = {"CHIT_PROJECT": "demo"}
    Chit(home, cwd=tmp_path, project="demo").search("message")  # the index current
    status, quiet_out, quiet = on_a_terminal(["search", "message"], home, tmp_path, {}, env)
    assert status == 0 and quiet == b"", quiet
    status, out, seen = on_a_terminal(["search", "message"], home, tmp_path, TICK_AT_ONCE, env)
    assert status == 0 and _ageless(out) == _ageless(quiet_out) and out.count(b"message") >= 3, (out, seen)
    assert told(seen, "chit: searching: ")[0] == "chit: searching: checking the matches in the index, 0 s", seen
    assert seen.endswith(b"\r\n") and seen.count(b"\n") == 1, seen


def _ageless(out: bytes) -> bytes:
    """A table without its ages ("3s ago": a second later, "4s ago") nor the
    spaces that pad them."""
    return re.sub(rb" +", b" ", re.sub(rb"\d+s ago", b"", out))


def test_stats_tells_the_session_files_it_reads(tmp_path: Path) -> None:
    """Every model's figures (`--by model`) and a cost come from the files:
    a gigabyte read, told as the sessions read of all to read."""
    home = _store(tmp_path)
    api = Chit(home, cwd=tmp_path, project="demo")
    for session in api.list(limit=None):
        api.append(session.id, "assistant", "answer", model="big", tokens=(1000, 10))
    (home / "config.toml").write_text("[prices]\nbig = { input = 2.0, output = 10.0 }\n")
    env = {"CHIT_PROJECT": "demo"}
    status, out, seen = on_a_terminal(["stats", "--by", "model"], home, tmp_path, TICK_AT_ONCE, env)
    assert status == 0 and b"big" in out, (out, seen)
    assert told(seen, "chit: stats: ") == [f"chit: stats: {n} of 3 sessions read" for n in range(4)], seen
    assert seen.endswith(b"\r\n") and seen.count(b"\n") == 1, seen
    status, out, seen = on_a_terminal(["stats"], home, tmp_path, TICK_AT_ONCE, env)  # from the index, the priced sessions read
    assert status == 0 and b"tokens 3,000 in / 30 out \xc2\xb7 cost 0.01" in out, (out, seen)
    assert told(seen, "chit: stats: ")[-4:] == [f"chit: stats: {n} of 3 sessions read for their cost" for n in range(4)], seen


def test_diff_tells_its_comparing(tmp_path: Path) -> None:
    """Reading two long sessions and working out their unified diff takes
    seconds before the first line: told as it runs, stdout unchanged."""
    home = _store(tmp_path, sessions=2)
    first, second = (s.id for s in Chit(home, cwd=tmp_path, project="demo").list(limit=None))
    env = {"CHIT_PROJECT": "demo"}
    for mode in ([], ["--json"]):
        status, quiet_out, quiet = on_a_terminal([*mode, "diff", first, second], home, tmp_path, {}, env)
        assert status == 0 and quiet == b"" and b"message 1" in quiet_out, quiet
        status, out, seen = on_a_terminal([*mode, "diff", first, second], home, tmp_path, TICK_AT_ONCE, env)
        assert status == 0 and out == quiet_out, (out, seen)
        assert told(seen, "chit: diff: ")[0] == "chit: diff: comparing the sessions, 0 s", seen
        assert seen.endswith(b"\r\n") and seen.count(b"\n") == 1, seen
