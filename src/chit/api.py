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

from typing import TYPE_CHECKING

from chit.service.export_all import ExportOps
from chit.service.history import HistoryOps
from chit.service.imports import ImportOps
from chit.service.projects_admin import ProjectAdminOps

if TYPE_CHECKING:
    from chit.service.results import (
        CompactReport,
        DoctorReport,
        ExportedFile,
        Finding,
        ImportedSession,
        ImportReport,
        ImportResult,
        MoveReport,
        RelinkHint,
    )


class Chit(ExportOps, ProjectAdminOps, ImportOps, HistoryOps):
    """The session store and every operation on it.

    Construct with `home=` to use another store than `$CHIT_HOME` (or the
    platform data dir), `cwd=` to pick the project by directory, `project=`
    to name a project (like `-p`), `durable=False` to skip fsync, and
    `lock_timeout=` (seconds) for writers waiting on a busy session.
    """


__all__ = ["Chit", "CompactReport", "DoctorReport", "ExportedFile", "Finding", "ImportReport", "ImportResult", "ImportedSession", "MoveReport", "RelinkHint"]


def __getattr__(name: str) -> object:
    # the result types load with their first use (start-up time), not here
    if name in __all__:
        from chit.service import results

        return getattr(results, name)
    raise AttributeError(f"module 'chit.api' has no attribute {name!r}")
