"""Comparing the index with the files, for `chit doctor`.

Invariants:
- a row is compared only with the bytes of the file its stat was taken
  from (the same size, mtime and inode); a file that changed since is
  `None`, "ask again after a refresh", never a difference;
- a row agrees with its file when its summary equals the fold's (title,
  tags, turns, message count, times, state, key, parent, deletion) and its
  message rows are the fold's live messages, in order, each pointing at the
  line that holds it;
- `read_again` rebuilds rows from their files whole, whatever their stat
  and witness say (a file gone loses its row).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from chit.index.dirs import open_dir
from chit.index.search import summary_of

if TYPE_CHECKING:
    from chit.index.db import Index
    from chit.model import Project, Session

SUMMARY_FIELDS = (
    "title", "tags", "turns", "messages", "created_at", "updated_at", "state", "key", "parent_id", "deleted_at", "project",
)
NO_ROW = "no row in the index"


def differences(
    index: Index, project: Project, trash: bool, session_id: str, data: bytes, st: os.stat_result, session: Session
) -> list[str] | None:
    """What the row of a session says otherwise than its file (`data`, read
    with stat `st`, folded as `session`): empty when they agree, [NO_ROW]
    without a row, None when the row was made from another state of the file."""
    row = index.conn.execute(
        "SELECT sid, size, mtime_ns, ino FROM sessions WHERE slug = ? AND trash = ? AND id = ?",
        (project.slug, int(trash), session_id),
    ).fetchone()
    if row is None:
        return [NO_ROW]
    if tuple(row[1:]) != (st.st_size, st.st_mtime_ns, st.st_ino):
        return None
    found = []
    indexed = summary_of(index, project, trash, session_id)
    folded = session.summary(project.name)
    for name in SUMMARY_FIELDS:
        if getattr(indexed, name) != getattr(folded, name):
            found.append(f"{name} {getattr(indexed, name)!r} (file: {getattr(folded, name)!r})")
    rows = index.conn.execute("SELECT mid, role, turn, ts, off, len FROM messages WHERE sid = ? ORDER BY pos", (row[0],)).fetchall()
    if [tuple(r[:4]) for r in rows] != [(m.id, m.role, m.turn, m.ts) for m in session.messages]:
        found.append("its messages are not the file's")
    elif not all(_holds(data, r[4], r[5], r[0]) for r in rows):
        found.append("its messages point at other lines")
    return found


def _holds(data: bytes, off: int, length: int, mid: str) -> bool:
    """Whether the whole line at `off` is the message `mid` (a search of its
    bytes first, a parse only if that fails)."""
    if (off and data[off - 1] != 0x0A) or data[off + length : off + length + 1] != b"\n":
        return False  # not where a line starts and ends
    if data.find(orjson.dumps(mid), off, off + length) >= 0:
        return True
    try:
        record: Any = orjson.loads(data[off : off + length])
    except orjson.JSONDecodeError:
        return False
    return isinstance(record, dict) and record.get("id") == mid


def unseen_rows(index: Index, seen: set[tuple[str, bool, str]]) -> list[tuple[str, bool, str]]:
    """(slug, trash, id) of the rows not in `seen`."""
    rows = index.conn.execute("SELECT slug, trash, id FROM sessions ORDER BY slug, trash, id")
    return [key for key in ((str(r[0]), bool(r[1]), str(r[2])) for r in rows) if key not in seen]


def read_again(index: Index, slug: str, trash: bool, session_ids: Iterable[str]) -> None:
    """Rebuild these sessions' rows from their files, whole."""
    with index.lock, index.writing() as rows:
        dfd = open_dir(index.layout, slug, trash)
        try:
            for session_id in session_ids:
                row: Sequence[int] | None = rows.conn.execute(
                    "SELECT sid FROM sessions WHERE slug = ? AND trash = ? AND id = ?", (slug, int(trash), session_id)
                ).fetchone()
                if row is not None:
                    rows.doubt(row[0])
                if dfd is None:
                    rows.forget(slug, int(trash), session_id)
                else:
                    rows.read_file(dfd, slug, int(trash), session_id)
        finally:
            if dfd is not None:
                os.close(dfd)
