"""Session files moved whole between directories: their rows follow them,
so the index stays current and no text is read again. A project's files
moved to another project's directories (`chit projects mv`: `move_rows`),
and one session moved to its project's trash or back (`chit rm`,
`chit restore`: `move_to`).

Invariants: a move keeps each file's inode, size and mtime (a hard link,
then the old name removed), so a row moved to the new slug or trash flag
is exactly the row a refresh of the new directory would compare the file
with, and the messages and their text (keyed by the row's `sid`) stay as
they are. A row the new place already has (written by a refresh that ran
between the file's move and this) is left where it was, and a single
session's old row, whose file is gone, is forgotten; the rows of a
directory that is gone answer for nothing (search and listing name their
projects by slug). A move killed before this leaves the rows behind: the
next refresh of the old directory forgets them and that of the new one
reads those files again, as it always could. `move_to` runs under the
session's lock, once its file is in place: the event the move appended
(trash or restore) is taken in, in the same transaction, so no refresh
ever sees the row in one place and its file in the other as current; and
both of the project's directories are marked for a full check
(`DOUBTED`): the row came into its new directory without that
directory's sync, so a later listing equal to the one last synced (the
file gone back by a move a kill cut short before its row followed) must
not pass the row for current.
Trash and restore events hide no message, so when they are all the file
gained, the row keeps its messages (and their text) and takes its dates
from the fold of the file; else the file is read as a refresh reads it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from chit.index.dirs import DOUBTED, open_dir
from chit.store.files import open_regular

if TYPE_CHECKING:
    import sqlite3

    from chit.index.db import Index
    from chit.model import Session


def move_rows(index: Index, source: str, target: str) -> int:
    """Give the rows of project `source` (live and trash) to project
    `target`, whose directories now hold their files; the number moved."""
    if not index.exists():
        return 0
    with index.writing() as rows:
        moved = rows.conn.execute("UPDATE OR IGNORE sessions SET slug = ? WHERE slug = ?", (target, source)).rowcount
        rows.conn.execute("DELETE FROM dirs WHERE slug = ?", (source,))  # directories now gone
    return moved


def move_to(index: Index, slug: str, session_id: str, trash: bool, folded: Session) -> bool:
    """Give the row of session `session_id` of project `slug` to its trash
    (`trash`) or back to the project, whose directory now holds its file,
    and take in what was appended since the row's last read: trash and
    restore events alone change only the row's dates, which are
    `folded`'s (the fold of the file as it is now); anything else is read
    as a refresh reads it. Whether a row was moved."""
    if not index.exists():
        return False
    dfd = open_dir(index.layout, slug, trash)
    if dfd is None:
        return False
    try:
        with index.writing() as rows:
            moved = rows.conn.execute(
                "UPDATE OR IGNORE sessions SET trash = ? WHERE slug = ? AND trash = ? AND id = ?",
                (int(trash), slug, int(not trash), session_id),
            ).rowcount
            if not moved:  # already read there, or never indexed: the old place's row (if any) names no file
                rows.forget(slug, int(not trash), session_id)
            rows.conn.execute("UPDATE dirs SET sig = ?, checked_ns = 0 WHERE slug = ?", (DOUBTED, slug))
            if not moved or not _dates_only(rows.conn, dfd, slug, trash, session_id, folded):
                rows.read_file(dfd, slug, int(trash), session_id)
    finally:
        os.close(dfd)
    return bool(moved)


def _dates_only(conn: sqlite3.Connection, dfd: int, slug: str, trash: bool, session_id: str, folded: Session) -> bool:
    """Bring the row up to date when all that its file gained since the
    row's last read are whole lines of trash and restore events, and the
    row's messages are `folded`'s live messages: those events hide no
    message, so only the dates change. False, changing nothing, else."""
    from chit.index.fold import events_of
    from chit.index.rows import witness

    row = conn.execute(
        "SELECT sid, size, mtime_ns, ino, offset, whole, witness, version, messages FROM sessions"
        " WHERE slug = ? AND trash = ? AND id = ?",
        (slug, int(trash), session_id),
    ).fetchone()
    if row is None:
        return False
    sid, _, _, ino, offset, whole, seen, version, count = row
    try:
        fd = open_regular(f"{session_id}.jsonl", dir_fd=dfd)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if whole or st.st_ino != ino or not 0 < offset <= st.st_size or witness(fd, offset) != seen:
            return False
        tail = os.pread(fd, st.st_size - offset, offset)
        if tail and not tail.endswith(b"\n"):
            return False  # a line still being written: a refresh waits for it
        if any(event["type"] not in ("trash", "restore") for event, _, _ in events_of(tail, 0, offset, version)):
            return False
        mids = [m for (m,) in conn.execute("SELECT mid FROM messages WHERE sid = ? ORDER BY pos", (sid,))]
        if count != len(folded.messages) or mids != [m.id for m in folded.messages]:
            return False
        conn.execute(
            "UPDATE sessions SET size = ?, mtime_ns = ?, offset = ?, witness = ?, updated_at = ?, deleted_at = ? WHERE sid = ?",
            (st.st_size, st.st_mtime_ns, st.st_size, witness(fd, st.st_size), folded.updated_at, folded.deleted_at, sid),
        )
        return True
    finally:
        os.close(fd)
