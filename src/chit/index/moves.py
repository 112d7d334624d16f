"""A project's session files moved whole to another project's directories
(`chit projects mv`): their rows follow them, so the index stays current.

Invariants: a move keeps each file's inode, size and mtime (a hard link,
then the old name removed), so a row moved to the new slug is exactly the
row a refresh of the new directory would compare the file with, and the
messages and their text (keyed by the row's `sid`) stay as they are. A row
the new slug already has (written by a refresh that ran between the files'
move and this) is left where it was; the rows of a directory that is gone
answer for nothing (search and listing name their projects by slug). A
move killed before this leaves the rows behind: the next refresh of the
new directory reads those files again, as it always could.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chit.index.db import Index


def move_rows(index: Index, source: str, target: str) -> int:
    """Give the rows of project `source` (live and trash) to project
    `target`, whose directories now hold their files; the number moved."""
    if not index.exists():
        return 0
    with index.writing() as rows:
        moved = rows.conn.execute("UPDATE OR IGNORE sessions SET slug = ? WHERE slug = ?", (target, source)).rowcount
        rows.conn.execute("DELETE FROM dirs WHERE slug = ?", (source,))  # directories now gone
    return moved
