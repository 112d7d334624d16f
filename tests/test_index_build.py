"""A build of the text index costs in proportion to what it adds: the
vocabulary catches up from msgtext's term list once per build, not at the
end of every transaction (each such pass reads the whole text index, so a
large store's build grew with the square of its size). Meanwhile the
vocabulary is marked behind, in the transactions that add the text, and a
search reads msgtext's own terms instead: a build killed with SIGKILL
half-way leaves an index whose searches still find every message, before
and after the next refresh completes it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import forkserver
import pytest

from chit.api import Chit
from chit.index import db, rows, vocabulary
from chit.index.db import Index
from chit.index.search import search
from chit.service.catchup import catch_up
from chit.service.facade import parts_of
from chit.store.paths import Layout

TERM_PASS = "INSERT OR IGNORE INTO words(word) SELECT term FROM temp.msgterms"
FILLER = " ".join(f"common{n % 50} filler{n}" for n in range(40))


def _store(home: Path, tmp_path: Path, projects: int, messages: int) -> dict[str, str]:
    """Projects of one session each, `messages` messages in all: the first
    holds "earlyword", the last "lateword" (so the lowest and the highest
    row ids), every one a few words of its own. No index. Returns the
    session ids by their planted word."""
    planted = {}
    per = messages // projects
    for p in range(projects):
        cwd = tmp_path / f"work{p}"
        (cwd / ".git").mkdir(parents=True)
        api = Chit(home, cwd=cwd, durable=False)
        session = api.create(title=f"project {p}")
        texts = [f"message {p}-{n} unique{p}x{n}y {FILLER}" for n in range(per)]
        if p == 0:
            texts[0] = "earlyword " + texts[0]
            planted["earlyword"] = session.id
        if p == projects - 1:
            texts[-1] = "lateword " + texts[-1]
            planted["lateword"] = session.id
        api.append_many(session.id, [{"role": "user", "content": text} for text in texts])
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (home / name).unlink(missing_ok=True)
    return planted


def test_a_build_passes_over_the_term_list_once(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _store(home, tmp_path, projects=3, messages=900)
    index = Index(Layout(home))
    slugs = [row.name for row in sorted((home / "projects").iterdir())]
    index.refresh([(slug, False) for slug in slugs])  # the rows, as a first `chit ls` makes them
    monkeypatch.setattr(db, "COMMIT_EVERY", 0.0)  # a transaction per step of the text
    monkeypatch.setattr(rows, "DRAIN_CHUNK", 100)  # above FEW_MESSAGES: the vocabulary is left behind
    traced: list[bool] = []  # whether each statement run was the pass (traced again for each row its trigger adds)
    index.conn.set_trace_callback(lambda sql: None if sql.startswith("-- ") else traced.append(sql.startswith(TERM_PASS)))
    assert catch_up(index, slugs, wait=True) == 0  # what `chit index` does: a project at a time
    passes = sum(1 for n, this in enumerate(traced) if this and (n == 0 or not traced[n - 1]))
    assert passes == 1  # 9 transactions added text
    conn = index.conn
    assert not vocabulary.is_behind(conn)
    conn.execute("CREATE VIRTUAL TABLE temp.allterms USING fts5vocab(main, msgtext, row)")
    assert {r[0] for r in conn.execute("SELECT term FROM temp.allterms")} == {r[0] for r in conn.execute("SELECT word FROM words")}
    api = Chit(home, cwd=tmp_path / "work1")
    assert [h.snippet.split()[0] for h in api.search("unique1x7y", limit=None)] == ["message"]


def _killed_build(home: Path, workdir: Path) -> None:
    """`chit index` in a process of its own, a transaction per 100
    messages, killed with SIGKILL once some of them are committed (the
    vocabulary marked behind) and before the last."""
    bootstrap = (
        "import sys, time\n"
        "from chit.index import db, rows\n"
        "db.COMMIT_EVERY = 0.1\n"
        "rows.DRAIN_CHUNK = 100\n"
        "drain = rows.Rows.drain\n"
        "def slower(self):\n"  # a transaction per step, so that the kill lands between two of them
        "    time.sleep(0.15)\n"
        "    return drain(self)\n"
        "rows.Rows.drain = slower\n"
        "from chit.cli.main import main\n"
        "main(['index'])\n"
    )
    child = subprocess.Popen([sys.executable, "-c", bootstrap], cwd=workdir, env={**os.environ, "CHIT_HOME": str(home)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while child.poll() is None:
            assert time.monotonic() < deadline, "the build never got half-way"
            try:
                with sqlite3.connect(f"file:{home / 'index.sqlite'}?mode=ro", uri=True, timeout=5) as conn:
                    done = conn.execute("SELECT count(*) FROM messages WHERE fts = 1").fetchone()[0]
                    if done >= 400 and vocabulary.is_behind(conn):  # a project and a step of the next
                        child.send_signal(signal.SIGKILL)
                        break
            except sqlite3.OperationalError:  # not created yet
                pass
            time.sleep(0.01)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL, "the build ended before it was killed"


def test_a_build_killed_half_way_leaves_an_index_whose_searches_miss_nothing(home: Path, tmp_path: Path, workdir: Path) -> None:
    planted = _store(home, tmp_path, projects=3, messages=900)
    _killed_build(home, workdir)
    layout = Layout(home)
    with sqlite3.connect(layout.index_file) as conn:
        assert vocabulary.is_behind(conn)
        assert conn.execute("SELECT count(*) FROM messages WHERE fts = 1").fetchone()[0] < 900  # the kill was before the end
        assert conn.execute("SELECT count(*) FROM words WHERE word = 'earlyword'").fetchone()[0] == 0  # its text is in, its word not
        early = conn.execute("SELECT m.fts FROM messages m JOIN sessions s USING (sid) WHERE s.id = ? AND m.pos = 0",
                             (planted["earlyword"],)).fetchone()
        assert early == (1,)
    # the index as the kill left it, asked without a refresh: msgtext's own terms stand in for the vocabulary
    index = Index(layout)
    api = Chit(home, cwd=tmp_path / "work0")
    projects = {p.slug: p for p in parts_of(api).ctx.projects.all()}
    assert [h.id for h in search(index, projects, "earlyword", limit=None)] == [planted["earlyword"]]
    assert [h.id for h in search(index, projects, "rlywor", limit=None)] == [planted["earlyword"]]
    index.close()
    # then as any command finds it: the refresh completes the text and the vocabulary
    for word in ("earlyword", "lateword"):
        found = forkserver.run_chit(["search", word, "--json"], cwd=workdir, env={**os.environ, "CHIT_HOME": str(home)}, timeout=120)
        assert found.returncode == 0, found.stderr
        assert planted[word].encode() in found.stdout, word
    with sqlite3.connect(layout.index_file) as conn:
        assert not vocabulary.is_behind(conn)
        assert conn.execute("SELECT count(*) FROM words WHERE word IN ('earlyword', 'lateword')").fetchone()[0] == 2


def _segments(conn: sqlite3.Connection) -> int:
    """The segments of msgtext: FTS5 stores a segment's pages under row ids
    whose bits from the 37th up are the segment's id (0 for its own records)."""
    return int(conn.execute("SELECT count(DISTINCT id >> 37) FROM msgtext_data WHERE id >> 37 > 0").fetchone()[0])


def test_a_transaction_of_the_build_writes_its_text_as_one_segment(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The messages are marked indexed once, at the end of the transaction:
    a statement writing several rows in the middle of it made FTS5 write out
    what it held, a small segment per step, which it then spent its time
    merging."""
    _store(home, tmp_path, projects=1, messages=600)
    index = Index(Layout(home))
    slug = next((home / "projects").iterdir()).name
    index.refresh([(slug, False)])
    monkeypatch.setattr(db, "COMMIT_EVERY", 60.0)  # one transaction
    monkeypatch.setattr(rows, "DRAIN_CHUNK", 100)  # of six steps
    index.refresh([(slug, False)], text=True, settle=False)
    assert index.conn.execute("SELECT count(*) FROM messages WHERE fts = 0").fetchone()[0] == 0
    assert _segments(index.conn) == 1
    api = Chit(home, cwd=tmp_path / "work0")
    assert [h.snippet.split()[0] for h in api.search("unique0x300y", limit=None)] == ["message"]


def older_index_used_again(api: Chit, home: Path, workdir: Path, version: int, *made_older: str) -> None:
    """An index made as schema `version` made it (`made_older` undoes what
    came after it, and a probe row is left that a rebuild would lose), then
    written to and searched by a new `Chit`: its migration's turn."""
    session = api.create(title="old")
    api.append(session.id, "user", "a kubernetes cluster")
    assert len(api.search("cluster", limit=None)) == 1
    parts_of(api).ctx.index.close()
    with sqlite3.connect(api.layout.index_file) as conn:
        for statement in made_older:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("INSERT INTO meta VALUES ('probe', 42)")  # gone if the index were rebuilt instead
    fresh = Chit(home, cwd=workdir)
    fresh.append(session.id, "user", "a second cluster")
    assert len(fresh.search("CLUSTER", limit=None)) == 2


def test_an_index_of_schema_9_keeps_its_text_and_holds_more_of_a_build_in_memory(api: Chit, home: Path, workdir: Path) -> None:
    from chit.index.schema import SCHEMA_VERSION, TEXT_HASH_BYTES

    older_index_used_again(api, home, workdir, 9, "DELETE FROM msgtext_config WHERE k = 'hashsize'")  # FTS5's default
    with sqlite3.connect(api.layout.index_file) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT v FROM msgtext_config WHERE k = 'hashsize'").fetchone() == (TEXT_HASH_BYTES,)
        assert conn.execute("SELECT v FROM meta WHERE k = 'probe'").fetchone() == (42,)  # kept, not rebuilt


def test_an_index_of_schema_10_gains_the_lookup_of_a_sessions_message_by_id(api: Chit, home: Path, workdir: Path) -> None:
    """Schema 11 finds a session's message by its id through an index
    (an appended message's id checked against the session's, a rewind's
    place): an index of schema 10 gains it in place."""
    from chit.index.schema import SCHEMA_VERSION

    older_index_used_again(api, home, workdir, 10, "DROP INDEX messages_mid")
    new = Chit(home.parent / "new-home", cwd=workdir)
    new.append(new.create(title="new").id, "user", "a cluster")
    assert len(new.search("cluster", limit=None)) == 1
    schemas = []
    for index_file in (api.layout.index_file, new.layout.index_file):
        with sqlite3.connect(index_file) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            schemas.append(conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall())
            plan = conn.execute("EXPLAIN QUERY PLAN SELECT pos FROM messages WHERE sid = 1 AND mid = 'm'").fetchall()
            assert "messages_mid" in str(plan), plan
    assert schemas[0] == schemas[1]
    with sqlite3.connect(api.layout.index_file) as conn:
        assert conn.execute("SELECT v FROM meta WHERE k = 'probe'").fetchone() == (42,)  # kept, not rebuilt


def test_a_new_index_holds_more_of_a_build_in_memory(api: Chit) -> None:
    from chit.index.schema import TEXT_HASH_BYTES

    api.create(title="new")
    api.search("anything", limit=None)
    with sqlite3.connect(api.layout.index_file) as conn:
        assert conn.execute("SELECT v FROM msgtext_config WHERE k = 'hashsize'").fetchone() == (TEXT_HASH_BYTES,)


def test_a_build_merges_its_segments_once_at_its_end(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build adding most of the text leaves FTS5's merges off in its
    transactions (each byte written once more per level of four segments
    otherwise) and merges the whole text index once at its end; every
    transaction commits FTS5's usual merges, so a build killed half-way
    leaves them on."""
    _store(home, tmp_path, projects=1, messages=600)
    index = Index(Layout(home))
    slug = next((home / "projects").iterdir()).name
    index.refresh([(slug, False)])
    monkeypatch.setattr(db, "VACUUM_AFTER", 100)
    monkeypatch.setattr(db, "COMMIT_EVERY", 0.0)  # a transaction per step
    monkeypatch.setattr(rows, "DRAIN_CHUNK", 100)  # six of them
    seen: list[object] = []  # FTS5's automerge as each step of the build ran
    drain = rows.Rows.drain

    def drain_watched(self: rows.Rows) -> bool:
        seen.append(self.conn.execute("SELECT v FROM msgtext_config WHERE k = 'automerge'").fetchone())
        return drain(self)

    monkeypatch.setattr(rows.Rows, "drain", drain_watched)
    index.refresh([(slug, False)], text=True, settle=False)
    assert seen == [(0,)] * 7  # the seventh found nothing left
    assert _segments(index.conn) == 6
    with sqlite3.connect(index.path) as conn:  # as another process sees it
        assert dict(conn.execute("SELECT k, v FROM msgtext_config WHERE k IN ('automerge', 'crisismerge')")) == {"automerge": 4, "crisismerge": 16}
    index.settle_text()
    assert _segments(index.conn) == 1
    api = Chit(home, cwd=tmp_path / "work0")
    assert [h.snippet.split()[0] for h in api.search("unique0x300y", limit=None)] == ["message"]
