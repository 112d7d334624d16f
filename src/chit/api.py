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

from chit.service.facade import Chit

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


__all__ = ["Chit", "CompactReport", "DoctorReport", "ExportedFile", "Finding", "ImportReport", "ImportResult", "ImportedSession", "MoveReport", "RelinkHint"]


def __getattr__(name: str) -> object:
    # the result types load with their first use (start-up time), not here
    if name in __all__:
        from chit.service import results

        return getattr(results, name)
    raise AttributeError(f"module 'chit.api' has no attribute {name!r}")
