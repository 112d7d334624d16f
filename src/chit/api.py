"""chit's Python API: one `Chit` object per store.

    from chit.api import Chit
    chit = Chit()                      # the user's store ($CHIT_HOME or platform data dir)
    s = chit.create(title="notes")
    chit.append(s.id, "user", "hello")

Every method validates its input, raises a `chit.errors.ChitError` subclass
on failure (nothing written), and returns frozen model objects. See
docs/api.md for the full reference.
"""

from __future__ import annotations

from chit.service.exports import ExportedFile, ExportOps
from chit.service.imports import ImportReport, ImportedSession, ImportOps
from chit.service.lifecycle import CompactReport, DoctorReport, Finding
from chit.service.projects_ops import MoveReport, ProjectOps, RelinkHint
from chit.service.snapshots import ImportResult


class Chit(ExportOps, ProjectOps, ImportOps):
    """The session store and every operation on it.

    Construct with `home=` to use another store than `$CHIT_HOME` (or the
    platform data dir), `cwd=` to pick the project by directory, `project=`
    to name a project (like `-p`), `durable=False` to skip fsync, and
    `lock_timeout=` (seconds) for writers waiting on a busy session.
    """


__all__ = ["Chit", "CompactReport", "DoctorReport", "ExportedFile", "Finding", "ImportReport", "ImportResult", "ImportedSession", "MoveReport", "RelinkHint"]
