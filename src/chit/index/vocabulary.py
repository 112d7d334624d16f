"""Filling the text index's vocabulary (`words`, and through its trigger
`vocab`; `chit.index.grams`) from the messages whose text was just added.

Invariant: once a write transaction that added text commits, every term
of `msgtext` is a row of `words` (or FTS5 cut it short and its message is
listed in `cut`), or the vocabulary is marked behind (`BEHIND`, a `meta`
row committed with that text). A build marks it behind instead of passing
over the whole term list at every transaction, which made each transaction
dearer than the one before; one `catch_up` at its end clears the mark.
While the mark is set, a search takes its words from `msgtext`'s own term
list (`terms_containing`), so it never misses a message, even after a
build killed before its end (the next refresh with text catches up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chit.index import grams

if TYPE_CHECKING:
    import sqlite3

BEHIND = "words_behind"  # the `meta` row that says msgtext may hold terms `words` lacks


def add_words(conn: sqlite3.Connection, entries: list[tuple[int, str]]) -> None:
    """The words of a few messages' entries (row id, folded text), found in
    Python: cheaper than a pass over every term for a handful of them."""
    words: set[str] = set()
    for rowid, text in entries:
        found = grams.words_of(text[start : start + grams.PIECE] for start in range(0, len(text), grams.PIECE))
        whole = {word for word in found if grams.kept_whole(word)}
        if len(whole) < len(found):
            conn.execute("INSERT OR IGNORE INTO cut(rowid) VALUES (?)", (rowid,))
        words |= whole
    conn.executemany("INSERT OR IGNORE INTO words(word) VALUES (?)", ((word,) for word in words))


def mark_behind(conn: sqlite3.Connection) -> None:
    """In the transaction that adds text without its words: the vocabulary
    is behind until `catch_up`."""
    conn.execute("INSERT OR IGNORE INTO meta(k, v) VALUES (?, 1)", (BEHIND,))


def is_behind(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM meta WHERE k = ?", (BEHIND,)).fetchone() is not None


def catch_up(conn: sqlite3.Connection) -> None:
    """In a write transaction: every term of msgtext not yet in the
    vocabulary goes there, in one pass over msgtext's term list (in
    SQLite); the messages holding a term FTS5 cut short go to `cut`; the
    mark goes. Its cost grows with the whole text index: once per build."""
    _term_list(conn)
    conn.execute(
        "INSERT OR IGNORE INTO words(word) SELECT term FROM temp.msgterms WHERE length(CAST(term AS BLOB)) < ?",
        (grams.MAX_TERM_BYTES,),
    )
    conn.execute(
        "INSERT OR IGNORE INTO cut(rowid) SELECT msgtext.rowid FROM temp.msgterms t JOIN msgtext"
        " ON msgtext MATCH '\"' || t.term || '\"' WHERE length(CAST(t.term AS BLOB)) >= ?",
        (grams.MAX_TERM_BYTES,),
    )
    conn.execute("DELETE FROM meta WHERE k = ?", (BEHIND,))


def terms_containing(conn: sqlite3.Connection, pieces: list[str]) -> dict[str, list[str]]:
    """For each piece, the terms of msgtext kept whole that contain it:
    what a search asks instead of the vocabulary while it is behind (the
    messages of a term cut short are `cut_rows`). One pass over the term
    list for all the pieces."""
    _term_list(conn)
    contains = " OR ".join("instr(term, ?) > 0" for _ in pieces)
    found: dict[str, list[str]] = {piece: [] for piece in pieces}
    for (term,) in conn.execute(
        f"SELECT term FROM temp.msgterms WHERE length(CAST(term AS BLOB)) < ? AND ({contains})",
        (grams.MAX_TERM_BYTES, *pieces),
    ):
        for piece in pieces:
            if piece in term:
                found[piece].append(term)
    return found


def cut_rows(conn: sqlite3.Connection) -> str:
    """The table of the messages holding a term FTS5 cut short, for a
    search: `cut`, or while the vocabulary is behind a temporary table of
    `cut` and those msgtext's term list shows (one pass over it)."""
    if not is_behind(conn):
        return "cut"
    _term_list(conn)
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS cut_now(rowid INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM temp.cut_now")
    conn.execute("INSERT INTO temp.cut_now SELECT rowid FROM cut")
    conn.execute(
        "INSERT OR IGNORE INTO temp.cut_now SELECT msgtext.rowid FROM temp.msgterms t JOIN msgtext"
        " ON msgtext MATCH '\"' || t.term || '\"' WHERE length(CAST(t.term AS BLOB)) >= ?",
        (grams.MAX_TERM_BYTES,),
    )
    return "temp.cut_now"


def _term_list(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.msgterms USING fts5vocab(main, msgtext, row)")
