"""Reading session files into the index's rows: `Rows`, which
`Index.writing` makes for each write transaction (see `chit.index.db`).

Invariants:
- `read_file` reads a file as `Store.read` + `parse_log` would: line 1 is the
  header (without a valid one the session is marked `whole` and re-read
  whole on every change, its created_at taken from the file's mtime), blank
  and corrupt lines are skipped, a torn last line is never consumed; an
  appended tail is read from the stored offset and folded onto the stored
  state (`chit.index.fold`), but only when the file is the same inode, no
  shorter than that offset, and its `witness` at that offset is the one
  stored with the row: else it is read whole (a pop or rewind too once
  the row is `OVERRIDDEN`: its fold has a trash that a message overrides,
  and hiding that message brings the trash back; see `chit.index.fold`).
  A stamped pop or rewind anywhere in the tail is applied alone only if it
  hides exactly the last live messages as the events before it left them;
  else the file is read whole, over whatever the tail had applied. A
  file read whole that passes for an append keeps the message rows (and
  their text) that are still its first live messages (`store_live`).
  A rewrite passes for an append only if it keeps the inode, the first
  WITNESS_SPAN bytes and the WITNESS_SPAN before the offset (every byte, below twice that) yet
  changes bytes between them. The line that ended at the offset carries an
  id and a timestamp, and a compaction only drops and re-encodes lines and
  adds some at the end; so it would take lines dropped and lengthened by
  exactly equal byte counts, past the first WITNESS_SPAN. `chit doctor`
  would find even that;
- a row found to point at lines that are not its messages is `doubt`ed:
  its messages go and its directory is fully checked at the next refresh,
  which reads the file again whole (the row is never just dropped: an
  unchanged directory would never bring it back);
- a message row records the byte offset and length of its line, so its
  text can always be read back from the file (`chit.index.lines`), and its
  token counts; a session row's token totals are summed from its message
  rows whenever its file is read whole or cut back, so they follow pop,
  rewind and undo; an appended tail that only added rows adds their counts
  (the same totals, without reading the session's other rows);
- row ids: a message with a canonical timestamp gets a free row id at or
  above its second (`chit.index.rowids`), so that search can stop early;
- text is added by `drain`, in row id order (FTS5 writes a new segment
  whenever a row id is not above the last one), its messages marked
  indexed (`fts`) once, at the end of the transaction (`mark_text`), and
  a count of those marks (`drop_messages`, `truncate`) marks them first; it only ever sees
  `grams.folded`: the message's casefolded text, or for a long text
  (read a piece at a time) its distinct words (`chit.index.grams`). Its words reach the vocabulary
  (`words`) in the same transaction, or that transaction marks the
  vocabulary behind (`finish_text`; `chit.index.vocabulary`).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from chit.index import schema, vocabulary
from chit.index.dirs import DOUBTED
from chit.index.rowids import RowIds
from chit.index.stacks import ListStack, RowStack
from chit.store import codec
from chit.index.lines import read_body
from chit.store.files import NotRegular, open_regular
from chit.store.log import format_ts_ns

if TYPE_CHECKING:
    import sqlite3

    from chit.index.fold import SessionState
    from chit.index.stacks import Live
    from chit.store.paths import Layout

DRAIN_CHUNK = 2000  # messages whose text is added per step, in row id order
FEW_MESSAGES = 64  # a step adding at most this many finds their words itself; else the vocabulary is marked behind
OPEN_FILES = 64
WITNESS_SPAN = 4096  # bytes at the start and before the offset that an append never changes
#: `sessions.whole`: WHOLE, every change is read whole (no valid header, or
#: lines out of fold order); OVERRIDDEN, a pop or rewind is (a message
#: overrides a trash: hiding it may put the trash back); 0, neither
WHOLE = 1
OVERRIDDEN = 2
STATE_COLUMNS = (
    "version, project, created_at, updated_at, key, parent_id, manual_title, first_title,"
    " tags, state, deleted_at, messages, turns"
)


class Rows:
    """The session and message rows of one index, as one write transaction
    changes them: `Index.writing` makes one per transaction and, when it
    commits, records the text entries it left behind (`orphans`) and
    whether it doubted a row (`doubted`)."""

    def __init__(self, conn: sqlite3.Connection, layout: Layout) -> None:
        self.conn = conn
        self.layout = layout
        self.orphans = 0  # text entries of message rows deleted here: contentless, they stay behind
        self.ids = RowIds(conn)  # the message row ids given out
        self.doubted = False  # rows were doubted: their directories need a full check
        self.drained = 0  # messages whose text `drain` added
        self.merges_deferred = False  # FTS5 merges no segments in this transaction (`defer_merges`)
        self.unmarked: tuple[int, int] | None = None  # row ids (first, last) whose text was added, not yet marked (`mark_text`)
        self.vocabulary_behind = False  # msgtext may hold terms `words` lacks (`finish_text`)

    def drop_messages(self, sid: int) -> None:
        self.mark_text()  # the count below sees the text added in this transaction
        self.orphans += self.conn.execute("SELECT count(*) FROM messages WHERE sid = ? AND fts = 1", (sid,)).fetchone()[0]
        self.conn.execute("DELETE FROM messages WHERE sid = ?", (sid,))

    def forget(self, slug: str, trash: int, session_id: str) -> None:
        row = self.conn.execute(
            "SELECT sid FROM sessions WHERE slug = ? AND trash = ? AND id = ?", (slug, trash, session_id)
        ).fetchone()
        if row is not None:
            self.drop_messages(row[0])
            self.conn.execute("DELETE FROM sessions WHERE sid = ?", (row[0],))

    def doubt(self, sid: int) -> None:
        """Session row `sid` does not match its file: drop its messages, make
        its stat match nothing and its directory get a full check, so the
        next refresh reads the file again whole."""
        self.drop_messages(sid)
        self.conn.execute("UPDATE sessions SET size = -1, witness = NULL WHERE sid = ?", (sid,))
        self.conn.execute(
            "UPDATE dirs SET sig = ?, checked_ns = 0 WHERE (slug, trash) IN (SELECT slug, trash FROM sessions WHERE sid = ?)",
            (DOUBTED, sid),
        )
        self.doubted = True

    def read_file(self, dfd: int, slug: str, trash: int, session_id: str) -> None:
        """Bring one session's row up to date with its file."""
        from chit.index.fold import SessionState, events_of, fold_whole, in_order  # only when a file changed: start-up time

        conn = self.conn
        try:
            fd = open_regular(f"{session_id}.jsonl", dir_fd=dfd)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ELOOP) or isinstance(exc, NotRegular):
                self.forget(slug, trash, session_id)
                return
            raise
        try:
            st = os.fstat(fd)
            row = conn.execute(
                f"SELECT sid, size, mtime_ns, ino, offset, whole, witness, {STATE_COLUMNS} FROM sessions"
                " WHERE slug = ? AND trash = ? AND id = ?",
                (slug, trash, session_id),
            ).fetchone()
            if row is not None and tuple(row[1:4]) == (st.st_size, st.st_mtime_ns, st.st_ino):
                return  # another process indexed it meanwhile
            same_lines = (  # the bytes the row's messages point at are as they were
                row is not None and row[3] == st.st_ino and st.st_size >= row[4] > 0
                and row[6] == witness(fd, row[4])  # the same inode number may be another file
            )
            grown = same_lines and row[5] != WHOLE
            applied: tuple[SessionState, RowStack] | None = None
            if grown:
                start = row[4]
                data = os.pread(fd, st.st_size - start, start) if st.st_size > start else b""
                events = events_of(data, 0, start, row[7])
                if self._appendable(fd, row, events):
                    applied = self._apply_appended(fd, row, events)
            if applied is None:
                start = 0
                data = os.pread(fd, st.st_size, 0) if st.st_size else b""
            end = data.rfind(b"\n") + 1
            seen = witness(fd, start + end)
        finally:
            os.close(fd)
        whole = 0
        if applied is not None:  # no event applied alone makes a message override a trash or stop doing so
            sid, (state, stack), whole = row[0], applied, row[5]
        else:
            header, pos, no_header = _header(data, end, session_id, st.st_mtime_ns)
            events = events_of(data, pos, 0, header["version"])
            state = SessionState.from_header(header)
            whole = WHOLE if no_header else 0
            if no_header:
                state.project = None  # the caller's project key applies, as in parse_log
            if row is None:
                sid = conn.execute(
                    "INSERT INTO sessions (slug, trash, id, size, mtime_ns, ino, offset, whole, version, project,"
                    " created_at, updated_at, tags, state, messages, turns) VALUES (?,?,?,0,0,0,0,0,0,'','','','[]','',0,0)",
                    (slug, trash, session_id),
                ).lastrowid
                assert sid is not None
            else:
                sid = row[0]
            if in_order(events, hiding=False):  # replayed line by line, it folds as the set does
                listed = ListStack()
                _apply_all(state, events, listed)
                live = listed.live
            else:
                state, live, overridden = fold_whole(header, events, state.project)
                if whole or not in_order(events):  # the next change cannot be applied alone: read whole
                    whole = WHOLE
                elif overridden:
                    whole = OVERRIDDEN
            self.store_live(sid, live, same_lines)
        conn.execute(
            "UPDATE sessions SET size = ?, mtime_ns = ?, ino = ?, offset = ?, whole = ?, version = ?, project = ?,"
            " created_at = ?, updated_at = ?, key = ?, parent_id = ?, manual_title = ?, folded_title = ?,"
            " first_title = ?, tags = ?, state = ?, deleted_at = ?, messages = ?, turns = ?, witness = ? WHERE sid = ?",
            (
                st.st_size, st.st_mtime_ns, st.st_ino, start + end, whole, state.version, state.project,
                state.created_at, state.updated_at, state.key, state.parent_id, state.manual_title,
                state.manual_title.casefold() if state.manual_title is not None else None, state.first_title,
                orjson.dumps(state.tags).decode(), state.state, state.deleted_at, state.messages, state.turns,
                seen, sid,
            ),
        )
        if applied is not None and stack.pushed is not None:
            _add_tokens(conn, sid, stack.pushed)  # only appends: the totals so far stand
        else:
            conn.execute(  # the token totals of the live messages, whatever the events did to them
                "UPDATE sessions SET (tokens, tokens_in, tokens_out) ="
                " (SELECT count(tok), sum(tok_in), sum(tok_out) FROM messages WHERE sid = ?) WHERE sid = ?",
                (sid, sid),
            )

    def store_live(self, sid: int, live: list[Live], same_lines: bool) -> None:
        """Make the session's message rows the `live` messages of its file
        read whole. With `same_lines` (every row points at bytes the file
        still holds as they were), the rows that already are the first
        live messages are kept, with their text; the others are written again."""
        kept = 0
        if same_lines:
            stored = self.conn.execute("SELECT mid, off, len, turn FROM messages WHERE sid = ? ORDER BY pos", (sid,)).fetchall()
            for (mid, off, length, turn), (record, at, size, number) in zip(stored, live):
                if (mid, off, length, turn) != (record["id"], at, size, number):
                    break
                kept += 1
        stack = RowStack(self, sid, kept)
        stack.truncate(kept)
        for record, stack.off, stack.len, turn in live[kept:]:
            stack.push(record, turn)

    def _appendable(self, fd: int, row: Sequence[Any], events: list[tuple[dict[str, Any], int, int]]) -> bool:
        """Whether the events appended since the row's offset can be applied
        to its state one by one (`chit.index.fold.appendable`): else the
        file is read whole and folded as a set."""
        from chit.index.fold import UNKNOWN, appendable, key_before
        from chit.store.fold import order_key

        if not events:
            return True
        state = _state_from_row(row[7:])
        last = key_before(fd, row[4])
        stamped = last is not None
        appended_ids = set()
        for event, _, _ in events:
            if last == UNKNOWN:
                return False
            if _cuts_back(event):  # whether it hides the top is asked as it is applied (`_apply_appended`)
                if row[5] == OVERRIDDEN or last is not None and order_key(event) <= last:
                    return False
            elif not appendable(state, event, last, stamped):
                return False
            if "hlc" in event:
                if event["id"] in appended_ids or event["type"] == "message" and self.conn.execute(
                    "SELECT 1 FROM messages WHERE sid = ? AND mid = ?", (row[0], event["id"])
                ).fetchone():
                    return False  # a repeated id: the set fold keeps one
                appended_ids.add(event["id"])
                last, stamped = (event["hlc"], event["by"], event["id"]), True
        return True

    def _apply_appended(
        self, fd: int, row: Sequence[Any], events: list[tuple[dict[str, Any], int, int]],
    ) -> tuple[SessionState, RowStack] | None:
        """The row's state with the appended events applied one by one, its
        message rows changed to match (and the stack that changed them);
        None (the rows half changed: the file is then read whole) when a
        stamped pop or rewind would hide other than the top of the
        messages before it (`_hides_the_top`)."""
        from chit.index.fold import apply

        state = _state_from_row(row[7:])
        stack = RowStack(self, row[0], state.messages)
        for event, stack.off, stack.len in events:
            if _cuts_back(event) and not self._hides_the_top(fd, row[0], state, event):
                return None
            apply(state, event, stack)
        return state, stack

    def _hides_the_top(self, fd: int, sid: int, state: SessionState, event: dict[str, Any]) -> bool:
        """Whether a stamped pop or rewind, applied after everything, hides
        exactly the live messages after a place (what `apply` truncates):
        a pop names the last one; a rewind names a live message, and saw
        every live message after it (their stamps, read from their lines)."""
        from chit.index.fold import line_stamp  # only when a file changed: start-up time

        conn = self.conn
        if event["type"] == "pop":
            top = conn.execute("SELECT mid FROM messages WHERE sid = ? AND pos = ?", (sid, state.messages - 1)).fetchone()
            return top is not None and top[0] == event["hides"]
        after = -1
        if event["keep_id"] is not None:
            found = conn.execute("SELECT pos FROM messages WHERE sid = ? AND mid = ?", (sid, event["keep_id"])).fetchone()
            if found is None:
                return False
            after = found[0]
        seen = event["seen"]
        for off, length in conn.execute("SELECT off, len FROM messages WHERE sid = ? AND pos > ? ORDER BY pos", (sid, after)):
            head = os.pread(fd, min(length, 200), off)
            stamp = line_stamp(head)
            if stamp is None:
                if b'"hlc":' in head:
                    return False  # stamped, but not where chit writes it
                continue  # a format-1 message: every stamped event saw it
            if stamp[0] > seen.get(stamp[1], ""):
                return False
        return True

    def drain(self) -> bool:
        """Add the text of up to DRAIN_CHUNK messages indexed without it, lowest
        row id first. False when none was left. A session whose file no
        longer holds its rows is doubted (`doubt`)."""
        conn = self.conn
        if self.unmarked is None:
            rows = conn.execute(
                "SELECT rowid, sid, mid, off, len FROM messages WHERE fts = 0 ORDER BY rowid LIMIT ?", (DRAIN_CHUNK,)
            ).fetchall()
        else:  # past the rows whose text this transaction added: they are marked at its end
            rows = conn.execute(
                "SELECT rowid, sid, mid, off, len FROM messages WHERE fts = 0 AND rowid > ? ORDER BY rowid LIMIT ?",
                (self.unmarked[1], DRAIN_CHUNK),
            ).fetchall()
        if not rows:
            return False
        files: dict[int, int] = {}
        stale: set[int] = set()
        entries: list[tuple[int, str]] = []  # added in one call: a call per message costs a tenth of the build
        try:
            for rowid, sid, mid, off, length in rows:
                if sid in stale:
                    continue
                fd = files.get(sid)
                if fd is None:
                    if len(files) >= OPEN_FILES:
                        _close_all(files)
                    fd = files[sid] = self._open_session(sid)
                body = read_body(fd, off, length, mid) if fd >= 0 else None
                if body is None:
                    stale.add(sid)
                    continue
                entries.append((rowid, body))
        finally:
            _close_all(files)
        conn.executemany("INSERT INTO msgtext(rowid, body) VALUES (?, ?)", entries)
        if len(entries) <= FEW_MESSAGES:
            vocabulary.add_words(conn, entries)
        else:
            vocabulary.add_cut(conn, entries)
            self.vocabulary_behind = True
        self.unmarked = (rows[0][0] if self.unmarked is None else self.unmarked[0], rows[-1][0])
        self.drained += len(rows)
        for sid in stale:
            self.doubt(sid)
        return True

    def finish_text(self) -> None:
        """Before the transaction commits: after a step that added many
        messages, the vocabulary is marked behind, in the same transaction
        (`Index.settle_text` catches it up once the build is done)."""
        self.mark_text()  # (FTS5 writes out all it holds: under the merges it had)
        if self.merges_deferred:
            schema.set_merges(self.conn, schema.USUAL_MERGES)
            self.merges_deferred = False
        if self.vocabulary_behind:
            vocabulary.mark_behind(self.conn)
            self.vocabulary_behind = False

    def defer_merges(self) -> None:
        """In a bulk build, before any text is added: FTS5 merges no
        segments in this transaction (`schema.BUILD_MERGES`), and its
        usual merges are back when it commits (`finish_text`), so a build
        killed half-way leaves them as they were."""
        schema.set_merges(self.conn, schema.BUILD_MERGES)
        self.merges_deferred = True

    def mark_text(self) -> None:
        """Mark the messages whose text `drain` added as indexed, in one
        statement for the whole transaction: a statement that writes
        several rows makes FTS5 write out the text it holds in memory, so
        one per step would cut the text index into small segments that
        FTS5 then spends its time merging."""
        if self.unmarked is not None:
            self.conn.execute("UPDATE messages SET fts = 1 WHERE fts = 0 AND rowid BETWEEN ? AND ?", self.unmarked)
            self.unmarked = None

    def _open_session(self, sid: int) -> int:
        """A read-only fd on the file of session row `sid`, or -1."""
        where = self.conn.execute("SELECT slug, trash, id FROM sessions WHERE sid = ?", (sid,)).fetchone()
        if where is None:
            return -1
        layout = self.layout
        path = layout.trash_file(where[0], where[2]) if where[1] else layout.session_file(where[0], where[2])
        try:
            return open_regular(path)
        except OSError:
            return -1


def witness(fd: int, offset: int) -> bytes:
    """A digest of the bytes of a file that an append never changes and a
    rewrite hardly ever keeps: the first WITNESS_SPAN and the WITNESS_SPAN
    before `offset` (all of them in a short file). Two small reads."""
    if offset <= 2 * WITNESS_SPAN:
        seen = os.pread(fd, offset, 0)
    else:
        seen = os.pread(fd, WITNESS_SPAN, 0) + os.pread(fd, WITNESS_SPAN, offset - WITNESS_SPAN)
    import hashlib  # loads OpenSSL: only when a file changed, not at every start

    return hashlib.blake2b(seen, digest_size=16, person=b"chit-witness").digest()


def _close_all(files: dict[int, int]) -> None:
    for fd in files.values():
        if fd >= 0:
            os.close(fd)
    files.clear()


def _header(data: bytes, end: int, session_id: str, mtime_ns: int) -> tuple[dict[str, Any], int, bool]:
    """(header, where events start, whole?) as `parse_log` reads line 1."""
    made = {"type": "session", "version": codec.FORMAT_VERSION, "id": session_id, "project": "", "created_at": format_ts_ns(mtime_ns)}
    if end == 0:
        return made, 0, True
    first = data[: data.index(b"\n")]
    try:
        return codec.decode_header(first), len(first) + 1, False
    except codec.BadRecord:
        try:
            codec.decode_event(first)
        except codec.BadRecord:
            return made, len(first) + 1, True
        return made, 0, True


def _cuts_back(event: dict[str, Any]) -> bool:
    """Whether an event is a stamped pop or rewind (not an undo): applied
    alone only when it hides the top of the messages before it."""
    return event["type"] in ("pop", "rewind") and "hlc" in event and "undo" not in event


def _apply_all(state: SessionState, events: list[tuple[dict[str, Any], int, int]], stack: RowStack | ListStack) -> None:
    from chit.index.fold import apply

    for event, off, length in events:
        stack.off, stack.len = off, length
        apply(state, event, stack)


def _state_from_row(row: Sequence[Any]) -> SessionState:
    from chit.index.fold import SessionState

    version, project, created_at, updated_at, key, parent_id, manual, first, tags, state, deleted_at, messages, turns = row
    return SessionState(
        project=project, created_at=created_at, key=key, parent_id=parent_id, version=version,
        updated_at=updated_at, manual_title=manual, first_title=first, tags=orjson.loads(tags),
        state=state, deleted_at=deleted_at, messages=messages, turns=turns,
    )


def _add_tokens(conn: sqlite3.Connection, sid: int, pushed: list[tuple[int | None, Any, Any]]) -> None:
    """Add the counts of appended message rows to their session's token
    totals: what summing every live row again gives (a SUM of only NULLs
    is NULL), without reading the session's other rows."""
    inputs = [i for _, i, _ in pushed if i is not None]
    outputs = [o for _, _, o in pushed if o is not None]
    conn.execute(
        "UPDATE sessions SET tokens = tokens + ?,"
        " tokens_in = CASE WHEN ? THEN coalesce(tokens_in, 0) + ? ELSE tokens_in END,"
        " tokens_out = CASE WHEN ? THEN coalesce(tokens_out, 0) + ? ELSE tokens_out END WHERE sid = ?",
        (len(pushed), bool(inputs), sum(inputs), bool(outputs), sum(outputs), sid),
    )
