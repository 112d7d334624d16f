"""The live messages of one session as the index's fold pushes and cuts
them back (`chit.index.fold.MessageStack`): as its message rows
(`RowStack`), or as a list (`ListStack`) that a whole read of the file
fills before `Rows.store_live` writes the rows that differ.

Invariants: a `RowStack` keeps the session's `messages.pos` dense from 0
and counts the text entries of the rows it deletes (`Rows.orphans`, after
`Rows.mark_text`: the text added in the transaction is counted too); it
gives a row the line offset and length set on it (`off`, `len`) before
its push. A `ListStack` holds (record, line offset, length, turn), as
`chit.index.fold.fold_whole` gives the live messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chit.index.rows import Rows

#: a live message: its record, its line's offset and length, its turn
Live = tuple[dict[str, Any], int, int, "int | None"]


class RowStack:
    """The live messages of one session as `messages` rows (their text waits for `Rows.drain`)."""

    def __init__(self, rows: Rows, sid: int, size: int) -> None:
        self.rows = rows
        self.sid = sid
        self.size = size
        self.off = 0
        self.len = 0
        #: the token counts of the rows pushed, as `messages.tok`, `tok_in` and
        #: `tok_out` hold them; None once a truncate deleted rows
        self.pushed: list[tuple[int | None, Any, Any]] | None = []

    def push(self, record: dict[str, Any], turn: int | None) -> None:
        rowid = self.rows.ids.allocate(record["ts"])
        tokens = record.get("tokens")
        counted = (1, tokens.get("input"), tokens.get("output")) if isinstance(tokens, dict) else (None, None, None)
        if self.pushed is not None and counted[0] is not None:
            self.pushed.append(counted)
        self.rows.conn.execute(
            "INSERT INTO messages (rowid, sid, pos, mid, role, ts, turn, off, len, fts, tok, tok_in, tok_out)"
            " VALUES (?,?,?,?,?,?,?,?,?,0,?,?,?)",
            (rowid, self.sid, self.size, record["id"], record["role"], record["ts"], turn, self.off, self.len, *counted),
        )
        self.size += 1

    def after(self, message_id: str | None) -> int:
        if message_id is None:
            return 0
        row = self.rows.conn.execute("SELECT pos FROM messages WHERE sid = ? AND mid = ?", (self.sid, message_id)).fetchone()
        return self.size if row is None else row[0] + 1

    def truncate(self, keep: int) -> int | None:
        conn = self.rows.conn
        self.pushed = None
        self.rows.mark_text()
        self.rows.orphans += conn.execute(
            "SELECT count(*) FROM messages WHERE sid = ? AND pos >= ? AND fts = 1", (self.sid, keep)
        ).fetchone()[0]
        conn.execute("DELETE FROM messages WHERE sid = ? AND pos >= ?", (self.sid, keep))
        self.size = keep
        if keep == 0:
            return None
        row = conn.execute("SELECT turn FROM messages WHERE sid = ? AND pos = ?", (self.sid, keep - 1)).fetchone()
        return None if row is None else row[0]


class ListStack:
    """The live messages of a file read whole, before any row is written."""

    def __init__(self) -> None:
        self.live: list[Live] = []
        self.off = 0
        self.len = 0
        self._first: dict[str, int] = {}  # message id -> its first place (stale once cut back: checked)

    def push(self, record: dict[str, Any], turn: int | None) -> None:
        if not self._holds(self._first.get(record["id"]), record["id"]):
            self._first[record["id"]] = len(self.live)
        self.live.append((record, self.off, self.len, turn))

    def after(self, message_id: str | None) -> int:
        if message_id is None:
            return 0
        place = self._first.get(message_id)
        return place + 1 if place is not None and self._holds(place, message_id) else len(self.live)

    def _holds(self, place: int | None, message_id: str) -> bool:
        return place is not None and place < len(self.live) and self.live[place][0]["id"] == message_id

    def truncate(self, keep: int) -> int | None:
        del self.live[keep:]
        return self.live[-1][3] if self.live else None
