"""A rewrite is never read as an append. The index reads a file that grew
from where it stopped last time; a rewrite that keeps the inode number (an
editor saving in place, or a compaction whose new file gets the inode the
file system freed at the one before) and then grows past the old size must
still be read whole. And a row the text index finds stale is read again at
once, never left out of the listing. Real files, nothing mocked."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from test_index import assert_agrees, session_file

from chit.store import codec
from chit.api import Chit
from chit.service.lifecycle import compacted_records


def rewrite_in_place(path: Path, data: bytes) -> None:
    """Replace a file's bytes keeping its inode (as an editor that saves in place)."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def filled(api: Chit, turns: int) -> str:
    s = api.create(title=None)
    for n in range(turns):
        api.append(s.id, "user", f"question {n}")
        api.append(s.id, "assistant", f"answer {n}")
    return s.id


def test_a_rewrite_in_place_that_then_grows_is_read_whole(api: Chit) -> None:
    sid = filled(api, 5)
    assert api.list()[0].turns == 5  # indexed: the row holds the offset of the end
    path = session_file(api, sid)
    inode = os.stat(path).st_ino
    api.rewind(sid, 1)
    rewound = api.get(sid)
    rewrite_in_place(path, codec.encode_many(compacted_records(rewound)))  # shorter, same inode
    for n in range(8):
        api.append(sid, "user", f"later {n} " + "y" * 50)  # past the old size
    assert os.stat(path).st_ino == inode
    assert api.list()[0].turns == api.get(sid).turns == 10
    assert_agrees(api, "later", "question", "answer 1")
    assert api.list()[0].turns == 10  # the text index found nothing stale to drop


def test_two_compactions_that_give_back_the_inode_then_appends(api: Chit) -> None:
    """What the file system does by itself: ext4 gives a new file the
    lowest free inode of its group, so two compactions in a row often give
    the session back the inode it had (once the file alternates between
    the two lowest free ones)."""
    sid = filled(api, 2)
    path = session_file(api, sid)
    for attempt in range(20):
        for n in range(3):
            api.append(sid, "user", f"question {attempt}.{n}")
        turns = api.list()[0].turns  # indexed: the row holds this inode and the offset of the end
        inode = os.stat(path).st_ino
        api.rewind(sid, turns - 3)
        api.compact(sid)
        api.compact(sid)
        if os.stat(path).st_ino == inode:
            break
    else:
        pytest.skip("this file system never gave the inode back")
    for n in range(8):
        api.append(sid, "user", f"later {n} " + "y" * 50)  # past the old size
    assert api.list()[0].turns == api.get(sid).turns
    assert_agrees(api, "later", "question")
    assert [s.id for s in api.list()] == [sid]


def test_a_row_dropped_by_the_text_index_comes_back_without_a_change(api: Chit) -> None:
    """Before: a row the text index found stale was deleted, and the next
    refresh saw an unchanged directory: `ls` said no sessions until the
    directory changed again."""
    sid = filled(api, 3)
    assert api.list()[0].messages == 6  # rows, their text not yet indexed
    swap_question_lines(session_file(api, sid))
    assert sorted(h.snippet for h in api.search("question")) == ["question 0", "question 1", "question 2"]
    assert [(s.id, s.messages) for s in api.list()] == [(sid, 6)]
    with sqlite3.connect(api.layout.index_file) as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1
    assert_agrees(api, "question", "answer")


def swap_question_lines(path: Path) -> None:
    """Swap the lines of "question 0" and "question 1" (same length) behind
    an unchanged size and mtime: the rows' offsets now name other ids."""
    st = os.stat(path)
    lines = path.read_bytes().split(b"\n")
    lines[1], lines[3] = lines[3], lines[1]
    rewrite_in_place(path, b"\n".join(lines))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_row_a_search_finds_stale_is_read_again(api: Chit) -> None:
    """The text index already holds the rows: the search reads a line back,
    finds another message, and the row is read again before the retry."""
    from chit.index.search import search

    sid = filled(api, 3)
    assert api.search("nothing like it") == []  # rows and text indexed
    swap_question_lines(session_file(api, sid))
    assert sorted(h.snippet for h in api.search("question")) == ["question 0", "question 1", "question 2"]
    projects = {p.slug: p for p in api.projects.all()}
    api.index.refresh([(slug, False) for slug in projects], text=True)
    hits = search(api.index, projects, "question", limit=None)  # the index alone, no retry: Stale if still wrong
    assert hits == api.scan_search(api.projects.all(), "question")


# -- the doctor compares the index with the files ------------------------------


def test_doctor_compares_the_index_with_the_files_and_repairs_it(api: Chit, cli) -> None:  # type: ignore[no-untyped-def]
    kept, counted, unlisted, shifted = (filled(api, 2) for _ in range(4))
    gone = "0badc0de-0000-4000-8000-000000000000"
    trashed = filled(api, 1)
    api.delete(trashed)
    assert len(api.list()) == 4 and len(api.trash()) == 1 and len(api.search("answer 1")) == 4
    clean = cli("doctor", "--json")
    assert clean.code == 0 and clean.json() == {"sessions_checked": 5, "index_checked": 5, "ok": True, "findings": []}
    api.index.close()
    with closing(sqlite3.connect(api.layout.index_file)) as conn, conn:  # what a faulty refresh could leave, behind unchanged stats
        conn.execute("UPDATE sessions SET turns = 7, messages = 9 WHERE id = ?", (counted,))
        conn.execute("DELETE FROM messages WHERE sid = (SELECT sid FROM sessions WHERE id = ?)", (unlisted,))
        conn.execute("DELETE FROM sessions WHERE id = ?", (unlisted,))
        conn.execute("UPDATE messages SET off = off + 1 WHERE pos = 1 AND sid = (SELECT sid FROM sessions WHERE id = ?)", (shifted,))
        conn.execute(
            "INSERT INTO sessions (slug, trash, id, size, mtime_ns, ino, offset, whole, version, project, created_at,"
            " updated_at, tags, state, messages, turns) SELECT slug, 0, ?, 1, 1, 1, 1, 0, 1, project, created_at,"
            " updated_at, tags, state, 0, 0 FROM sessions WHERE id = ?",
            (gone, kept),
        )
    assert {s.id for s in api.list()} == {kept, counted, shifted, gone}  # the index now hides and invents

    report = cli("doctor")
    assert report.code == 5, report.err
    assert "index row unlike the file: turns 7 (file: 2); messages 9 (file: 4)" in report.out
    assert f"{unlisted}.jsonl: index row unlike the file: no row in the index" in report.out
    assert f"{shifted}.jsonl: index row unlike the file: its messages point at other lines" in report.out
    assert f"{gone}.jsonl: index row of a session that does not exist" in report.out
    assert "run `chit doctor --repair`" in report.out
    as_json = cli("doctor", "--json")
    assert as_json.code == 5 and as_json.json()["index_checked"] == 5  # type: ignore[index]
    assert len(as_json.json()["findings"]) == 4  # type: ignore[index,arg-type]

    repaired = cli("doctor", "--repair", "--json")
    assert repaired.code == 0 and all(f["repaired"] for f in repaired.json()["findings"])  # type: ignore[index,union-attr]
    assert cli("doctor", "--json").json() == {"sessions_checked": 5, "index_checked": 5, "ok": True, "findings": []}
    assert_agrees(api, "answer", "question 1")
    assert len(api.trash()) == 1
