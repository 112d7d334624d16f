"""Filling the text index's vocabulary (`words`, and through its trigger
`vocab`; `chit.index.grams`) from the messages whose text was just added.

Invariant: called in the write transaction that added the text, so that
once it commits every term of `msgtext` is a row of `words`, or FTS5 cut
it short and its message is listed in `cut`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chit.index import grams

if TYPE_CHECKING:
    import sqlite3


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


def catch_up(conn: sqlite3.Connection) -> None:
    """Every term of msgtext not yet in the vocabulary goes there, in one
    pass over msgtext's term list (in SQLite, after many messages); the
    messages holding a term FTS5 cut short go to `cut`."""
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.msgterms USING fts5vocab(main, msgtext, row)")
    conn.execute(
        "INSERT OR IGNORE INTO words(word) SELECT term FROM temp.msgterms WHERE length(CAST(term AS BLOB)) < ?",
        (grams.MAX_TERM_BYTES,),
    )
    conn.execute(
        "INSERT OR IGNORE INTO cut(rowid) SELECT msgtext.rowid FROM temp.msgterms t JOIN msgtext"
        " ON msgtext MATCH '\"' || t.term || '\"' WHERE length(CAST(t.term AS BLOB)) >= ?",
        (grams.MAX_TERM_BYTES,),
    )
