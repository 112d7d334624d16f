"""Filling the text index's vocabulary (`words`, and through its trigger
`vocab`; `chit.index.grams`) from the messages whose text was just added.

Invariants: once a write transaction that added text commits, every
message holding a term FTS5 cut short is listed in `cut`; and every other
term of `msgtext` is a row of `words`, or the vocabulary is marked behind
(`BEHIND`, a `meta` row committed with that text). A build marks it behind instead of passing
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
        found = _words(text)
        whole = {word for word in found if grams.kept_whole(word)}
        if len(whole) < len(found):
            conn.execute("INSERT OR IGNORE INTO cut(rowid) VALUES (?)", (rowid,))
        words |= whole
    conn.executemany("INSERT OR IGNORE INTO words(word) VALUES (?)", ((word,) for word in words))


def add_cut(conn: sqlite3.Connection, entries: list[tuple[int, str]]) -> None:
    """The messages among these entries that hold a word FTS5 cuts short
    go to `cut` (their other words wait for `catch_up`)."""
    for rowid, text in entries:
        if grams.may_hold_cut_word(text) and not all(grams.kept_whole(word) for word in _words(text)):
            conn.execute("INSERT OR IGNORE INTO cut(rowid) VALUES (?)", (rowid,))


def _words(text: str) -> set[str]:
    return grams.words_of(text[start : start + grams.PIECE] for start in range(0, len(text), grams.PIECE))


def mark_behind(conn: sqlite3.Connection) -> None:
    """In the transaction that adds text without its words: the vocabulary
    is behind until `catch_up`."""
    conn.execute("INSERT OR IGNORE INTO meta(k, v) VALUES (?, 1)", (BEHIND,))


def is_behind(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM meta WHERE k = ?", (BEHIND,)).fetchone() is not None


def catch_up(conn: sqlite3.Connection) -> None:
    """In a write transaction: every term of msgtext not yet in the
    vocabulary goes there, in one pass over msgtext's term list (in
    SQLite), and the mark goes. Its cost grows with the whole text index:
    once per build."""
    _term_list(conn)
    conn.execute(
        "INSERT OR IGNORE INTO words(word) SELECT term FROM temp.msgterms WHERE length(CAST(term AS BLOB)) < ?",
        (grams.MAX_TERM_BYTES,),
    )
    conn.execute("DELETE FROM meta WHERE k = ?", (BEHIND,))


def terms_containing(conn: sqlite3.Connection, pieces: list[str]) -> dict[str, list[str]]:
    """For each piece, the terms of msgtext kept whole that contain it:
    what a search asks instead of the vocabulary while it is behind (the
    messages of a term cut short are in `cut`). One pass over the term
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


def _term_list(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.msgterms USING fts5vocab(main, msgtext, row)")
