"""`ls --json` gives each session's token totals, from the index, equal to
what `show --json` folds from the file: over the live messages only (pop
and rewind take theirs out, undo brings them back), and for an index built
by a chit whose index kept no token counts (its migration). Real `chit`
processes on a store in tmp_path."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from chit.api import Chit
from chit.index.schema import SCHEMA_VERSION


def ok(result):  # type: ignore[no-untyped-def]
    assert result.code == 0, result.err
    return result


def totals(cli) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Each session's tokens as `ls --json` gives them, checked against `show --json`."""
    listed = {s["id"]: s["tokens"] for s in ok(cli("ls", "--json")).json()}
    for session_id, tokens in listed.items():
        assert tokens == ok(cli("show", session_id, "--json")).json()["tokens"], session_id
    return listed


def test_ls_json_token_totals_follow_the_live_messages(cli) -> None:  # type: ignore[no-untyped-def]
    sid = ok(cli("new", "counted")).out.strip()
    plain = ok(cli("new", "plain")).out.strip()
    ok(cli("append", plain, "no counts here"))
    ok(cli("append", sid, "q1"))
    assert totals(cli) == {sid: None, plain: None}
    # each append after the index read the file adds its counts to the totals the index holds
    ok(cli("append", sid, "-r", "assistant", "a1", "--input-tokens", "100"))
    ok(cli("append", plain, "-r", "assistant", "still none"))
    assert totals(cli) == {sid: {"input": 100, "output": None}, plain: None}
    ok(cli("append", sid, "-r", "assistant", "a1 more", "--output-tokens", "20"))
    assert totals(cli)[sid] == {"input": 100, "output": 20}
    ok(cli("append", sid, "q2"))
    ok(cli("append", sid, "-r", "assistant", "a2", "--input-tokens", "150"))
    ok(cli("append", sid, "-r", "assistant", "a2 more", "--output-tokens", "7"))
    assert totals(cli) == {sid: {"input": 250, "output": 27}, plain: None}
    ok(cli("pop", sid))
    assert totals(cli)[sid] == {"input": 250, "output": 20}
    ok(cli("rewind", sid, "0"))
    assert totals(cli)[sid] == {"input": 100, "output": 20}
    ok(cli("pop", sid))
    assert totals(cli)[sid] == {"input": 100, "output": None}
    ok(cli("pop", sid))
    assert totals(cli)[sid] is None
    for expected in (
        {"input": 100, "output": None}, {"input": 100, "output": 20}, {"input": 250, "output": 20}, {"input": 250, "output": 27},
    ):
        ok(cli("undo", sid))
        assert totals(cli)[sid] == expected


def test_an_index_without_token_counts_is_migrated_in_place(cli, api: Chit, home: Path) -> None:  # type: ignore[no-untyped-def]
    sid = ok(cli("new", "counted")).out.strip()
    ok(cli("append", sid, "find the walrus"))
    ok(cli("append", sid, "-r", "assistant", "a walrus", "--input-tokens", "9", "--output-tokens", "4"))
    ok(cli("search", "walrus"))  # the index and its text, as the older chit built them
    with sqlite3.connect(home / "index.sqlite") as conn:  # take it back to the schema before token counts
        for table, column in (("messages", "tok"), ("messages", "tok_in"), ("messages", "tok_out"),
                              ("sessions", "tokens"), ("sessions", "tokens_in"), ("sessions", "tokens_out")):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 4")
        conn.execute("INSERT INTO meta VALUES ('kept', 1)")  # gone if the index were rebuilt instead
    assert totals(cli) == {sid: {"input": 9, "output": 4}}
    with sqlite3.connect(home / "index.sqlite") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT v FROM meta WHERE k = 'kept'").fetchone() == (1,)
    hits = ok(cli("search", "walrus", "--json")).json()
    assert [h["role"] for h in hits] == ["assistant", "user"]
    assert [s.tokens for s in api.list()] == [api.get(sid).tokens]
