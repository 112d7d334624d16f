"""The import cache (`import-cache.json`): what the last import saw of
each source unit, so that a re-import skips a unit whose source and chit
files are exactly as it left them.

Invariants:
- a hint, never the truth: deleting it, or finding it unreadable or of
  another version, gives the same sessions and the same report, only
  slower; a failed write of it is ignored, and it is not fsynced (after a
  crash it is the old cache, the new one or unreadable: each entry is
  checked against the source and chit files as they are);
- a unit is skipped unread only when its entry has the unit's source
  stamp and the current `MAPPING_VERSION`, and every chit file one of its
  outcomes rests on has the (size, mtime) recorded (the trashed file of an
  "in trash" skip included); it is then reported as reading it would
  report it;
- an outcome whose file is gone already is not recorded (`outcome` gives
  None), so its unit is read again next time;
- nothing here writes a session file.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from chit.errors import ChitError
from chit.store.sessions import check_session_id

if TYPE_CHECKING:
    from chit.importers import base as importer_base
    from chit.service.base import Context
    from chit.service.results import ImportedSession, ImportReport

CACHE_VERSION = 2
#: bumped when an importer maps records differently, so cached units are re-read
MAPPING_VERSION = 2


class ImportCache:
    """Reads and writes the import cache and checks its entries against
    the chit files they rest on."""

    def __init__(self, ctx: Context) -> None:
        self.store = ctx.store
        self.layout = ctx.layout
        self._checked_dirs: dict[tuple[str, bool], str] = {}

    def start(self) -> None:
        """Forget the directories checked by an earlier import (they may be links since)."""
        self._checked_dirs.clear()

    def read(self) -> dict[str, Any]:
        data = self.store.read_json(self.layout.import_cache_file)
        if isinstance(data, dict) and data.get("version") == CACHE_VERSION and isinstance(data.get("units"), dict):
            return data
        return {"version": CACHE_VERSION, "units": {}}

    def write(self, cache: dict[str, Any]) -> None:
        try:
            self.store.write_json(self.layout.import_cache_file, cache, cache=True)
        except ChitError:
            pass  # a cache: the next import is only slower without it

    def replayed(self, entry: Any, unit: importer_base.Unit, report: ImportReport) -> bool:
        """Whether the last import saw exactly this unit and left the chit
        files its outcomes rest on as they still are; then the unit is
        skipped unread, and reported as reading it would report it."""
        from chit.service.results import ImportedSession

        if not isinstance(entry, dict) or entry.get("stamp") != unit.stamp or entry.get("v") != MAPPING_VERSION:
            return False
        outcomes = entry.get("outcomes")
        skipped = entry.get("skipped")
        if not isinstance(outcomes, list) or not isinstance(skipped, list):
            return False
        if not all(isinstance(o, dict) and self._still(o.get("file")) for o in outcomes):
            return False
        try:
            replayed = [(str(o["reason"]), ImportedSession(**o["listed"]) if o.get("listed") else None) for o in outcomes]
        except (KeyError, TypeError):
            return False
        for reason in skipped:
            report.skip(str(reason))
        for reason, listed in replayed:
            report.skip(reason, listed)
        return True

    def outcome(
        self, reason: str, listed: ImportedSession | None, found: tuple[str, str, bool] | None, key: str,
    ) -> dict[str, Any] | None:
        """What the cache keeps of one session's outcome (None: the file it
        rests on is gone already, so the unit is not cached)."""
        file = None
        if found is not None:
            state = self._file_state(*found)
            if state is None:
                return None
            file = [*found, *state]
        return {"reason": reason, "listed": listed.as_dict() if listed is not None else None, "file": file, "key": key}

    def _still(self, file: Any) -> bool:
        """Whether a cached [slug, id, in trash, size, mtime] (or None: the
        outcome rests on no file) is as it was."""
        if file is None:
            return True
        return isinstance(file, list) and len(file) == 5 and self._file_state(file[0], file[1], bool(file[2])) == file[3:]

    def _file_state(self, slug: Any, session_id: Any, trash: bool = False) -> list[int] | None:
        try:
            st = os.stat(self._session_file(str(slug), str(session_id), trash), follow_symlinks=False)
        except (OSError, ChitError):
            return None
        return [st.st_size, st.st_mtime_ns]

    def _session_file(self, slug: str, session_id: str, trash: bool) -> str:
        """The path of a session file, its directory checked for links once
        per import (a refresh stats thousands of files in a few directories)."""
        check_session_id(session_id)
        directory = self._checked_dirs.get((slug, trash))
        if directory is None:
            path = self.store.session_path(slug, session_id, trash)
            directory = self._checked_dirs[(slug, trash)] = os.fspath(path.parent)
        return os.path.join(directory, session_id + ".jsonl")
