"""The index's SQLite schema, its version and the in-place migrations.

Invariants: `SCHEMA_VERSION` is the version `SCHEMA` creates; every older
version N listed in `MIGRATIONS` is brought to N + 1 by its statements
alone, in place (the index is kept, not rebuilt); an index of any other
version is thrown away and rebuilt from the files (it is only a cache).
Token counts: `messages.tok` is 1 for a live message that recorded
counts (`tok_in`, `tok_out`, each NULL when not reported), and a session
row's `tokens`, `tokens_in`, `tokens_out` are the count of those and their
sums over its live messages. The text index (`TEXT_SCHEMA`, its tables
`TEXT_TABLES`) is a contentless table of each message's words and the
vocabulary of those words with its trigrams (`chit.index.grams`); it can be
dropped and rebuilt on its own; a migration that drops it leaves `migrate`
to create it again, and one that changes it (`TEXT_MIGRATIONS`) runs only
where it is there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

SCHEMA_VERSION = 11
MIGRATIONS = {  # from version N to N + 1, in place
    2: (  # the change journal's state (chit.store.journal) in `dirs`
        "ALTER TABLE dirs ADD COLUMN jtoken TEXT",
        "ALTER TABLE dirs ADD COLUMN joff INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE dirs ADD COLUMN pending TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE dirs ADD COLUMN checked_ns INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE dirs ADD COLUMN boot TEXT",
    ),
    3: ("ALTER TABLE sessions ADD COLUMN witness BLOB",),  # NULL: the next change is read whole
    4: (  # token counts: every file is read again whole at the next refresh to fill them in
        "ALTER TABLE messages ADD COLUMN tok INTEGER",
        "ALTER TABLE messages ADD COLUMN tok_in INTEGER",
        "ALTER TABLE messages ADD COLUMN tok_out INTEGER",
        "ALTER TABLE sessions ADD COLUMN tokens INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE sessions ADD COLUMN tokens_in INTEGER",
        "ALTER TABLE sessions ADD COLUMN tokens_out INTEGER",
        "UPDATE sessions SET size = -1, witness = NULL",
        "UPDATE dirs SET sig = '', checked_ns = 0",
    ),
    5: ("CREATE INDEX IF NOT EXISTS sessions_parent ON sessions(parent_id, slug) WHERE parent_id IS NOT NULL",),  # forks by parent
    6: (  # the text index holds the grams of words (chit.index.grams): it starts over, the rows stay
        "DROP TABLE IF EXISTS msgtext",
        "UPDATE messages SET fts = 0",
        "DELETE FROM meta WHERE k = 'orphans'",
    ),
    7: (  # the text index holds words and their vocabulary (chit.index.grams): it starts over, the rows stay
        "DROP TABLE IF EXISTS msgtext",
        "UPDATE messages SET fts = 0",
        "DELETE FROM meta WHERE k = 'orphans'",
    ),
    8: ("CREATE INDEX IF NOT EXISTS sessions_listed ON sessions(slug, trash, updated_at DESC, id)",),  # a project's newest
    9: (),  # TEXT_MIGRATIONS only
    10: ("CREATE INDEX IF NOT EXISTS messages_mid ON messages(sid, mid)",),  # a message by its id
}
# FTS5 holds this many bytes of new text in memory before it writes them out as
# a segment (its default: 1 MB). Larger segments leave FTS5 fewer to merge: a
# build's text part about a tenth cheaper, for up to this much more memory.
TEXT_HASH_BYTES = 16 << 20
_TEXT_HASH = f"INSERT INTO msgtext(msgtext, rank) VALUES ('hashsize', {TEXT_HASH_BYTES})"
TEXT_MIGRATIONS = {  # from version N to N + 1, where the text index is there
    9: (_TEXT_HASH,),
}
# FTS5's merges of msgtext's segments: its defaults, and a bulk build's (none but
# a level of 64 segments, in its transactions only; the build ends with one
# merge of the whole text index, `Index.settle_text`): each byte written
# once or twice, not once per level of four segments
USUAL_MERGES = (("automerge", 4), ("crisismerge", 16))
BUILD_MERGES = (("automerge", 0), ("crisismerge", 64))

SCHEMA = """
CREATE TABLE meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE dirs(slug TEXT NOT NULL, trash INTEGER NOT NULL, sig TEXT NOT NULL, mtime_ns INTEGER,
                  jtoken TEXT, joff INTEGER NOT NULL DEFAULT 0, pending TEXT NOT NULL DEFAULT '',
                  checked_ns INTEGER NOT NULL DEFAULT 0, boot TEXT,
                  PRIMARY KEY (slug, trash)) WITHOUT ROWID;
CREATE TABLE sessions(
    sid INTEGER PRIMARY KEY, slug TEXT NOT NULL, trash INTEGER NOT NULL, id TEXT NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, offset INTEGER NOT NULL,
    whole INTEGER NOT NULL, version INTEGER NOT NULL, project TEXT, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL, key TEXT, parent_id TEXT, manual_title TEXT, folded_title TEXT,
    first_title TEXT, tags TEXT NOT NULL, state TEXT NOT NULL, deleted_at TEXT,
    messages INTEGER NOT NULL, turns INTEGER NOT NULL, witness BLOB,
    tokens INTEGER NOT NULL DEFAULT 0, tokens_in INTEGER, tokens_out INTEGER);
CREATE UNIQUE INDEX sessions_file ON sessions(slug, trash, id);
CREATE INDEX sessions_recent ON sessions(trash, updated_at DESC, id);
CREATE INDEX sessions_listed ON sessions(slug, trash, updated_at DESC, id);
CREATE INDEX sessions_key ON sessions(key, slug) WHERE key IS NOT NULL;
CREATE INDEX sessions_titled ON sessions(trash, folded_title, slug) WHERE folded_title IS NOT NULL;
CREATE INDEX sessions_parent ON sessions(parent_id, slug) WHERE parent_id IS NOT NULL;
CREATE TABLE messages(
    rowid INTEGER PRIMARY KEY, sid INTEGER NOT NULL, pos INTEGER NOT NULL, mid TEXT NOT NULL,
    role TEXT NOT NULL, ts TEXT NOT NULL, turn INTEGER, off INTEGER NOT NULL, len INTEGER NOT NULL,
    fts INTEGER NOT NULL, tok INTEGER, tok_in INTEGER, tok_out INTEGER);
CREATE UNIQUE INDEX messages_pos ON messages(sid, pos);
CREATE INDEX messages_mid ON messages(sid, mid);
CREATE INDEX messages_pending ON messages(fts) WHERE fts = 0;
"""
TEXT_TABLES = ("msgtext", "words", "vocab", "cut")  # msgtext first: its presence says the text index is there
TEXT_SCHEMA = (
    "CREATE VIRTUAL TABLE msgtext USING fts5(body, content='', detail=none, columnsize=0, tokenize=ascii)",
    _TEXT_HASH,
    "CREATE TABLE words(id INTEGER PRIMARY KEY, word TEXT NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE vocab USING fts5(word, content='', detail=none, columnsize=0, tokenize='trigram case_sensitive 1')",
    "CREATE TRIGGER words_vocab AFTER INSERT ON words BEGIN INSERT INTO vocab(rowid, word) VALUES (new.id, new.word); END",
    "CREATE TABLE cut(rowid INTEGER PRIMARY KEY)",  # messages holding a term FTS5 cut short
)


def create(conn: sqlite3.Connection) -> None:
    """A new index in an empty file, in the caller's transaction."""
    for statement in SCHEMA.split(";"):
        conn.execute(statement)
    create_text(conn)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Bring an index of `version` (one in MIGRATIONS) to SCHEMA_VERSION in
    place, in the caller's transaction."""
    for step in range(version, SCHEMA_VERSION):
        for statement in MIGRATIONS[step]:
            conn.execute(statement)
    if has_text(conn):
        for step in range(version, SCHEMA_VERSION):
            for statement in TEXT_MIGRATIONS.get(step, ()):
                conn.execute(statement)
    else:
        create_text(conn)  # a migration dropped it
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def set_merges(conn: sqlite3.Connection, merges: tuple[tuple[str, int], ...]) -> None:
    for name, value in merges:
        conn.execute("INSERT INTO msgtext(msgtext, rank) VALUES (?, ?)", (name, value))


def has_text(conn: sqlite3.Connection) -> bool:
    return bool(conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'msgtext'").fetchone()[0])


def create_text(conn: sqlite3.Connection) -> None:
    """The text index, if this SQLite has FTS5 (else listing still works
    and search reads the files)."""
    import sqlite3

    try:
        for statement in TEXT_SCHEMA:
            conn.execute(statement)
    except sqlite3.OperationalError:  # no FTS5, or no trigram tokenizer (SQLite before 3.34)
        for table in TEXT_TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
