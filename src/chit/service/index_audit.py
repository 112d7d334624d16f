"""The doctor's audit of the index: every session file's row against the
fold of the file, rows of sessions that do not exist, sessions without a
row (`chit.index.check` does the comparing).

Invariants: the audit runs only on an index that exists (it never makes
one) and after a refresh, so it reports only what a listing or a search
would get wrong; a file that changes while it is audited is refreshed and
compared again (three tries), never reported for that alone; with
`repair`, the rows that differ are rebuilt from their files whole, and
rows of missing sessions are removed. Its cost is one fold of each file
the doctor reads anyway, one indexed query per file and a byte search per
message.
"""

from __future__ import annotations

import os
import sqlite3
from collections import defaultdict
from dataclasses import replace
from typing import TYPE_CHECKING

from chit.errors import NotFound
from chit.store.fold import fold
from chit.store.log import Log, parse_log

if TYPE_CHECKING:
    from chit.index.db import Index
    from chit.model import Project
    from chit.service.base import Context
    from chit.service.results import DoctorReport

TRIES = 3


class IndexAudit:
    def __init__(self, ops: Context, repair: bool, report: DoctorReport) -> None:
        self.ops = ops
        self.repair = repair
        self.report = report
        self.index: Index | None = None
        self.seen: set[tuple[str, bool, str]] = set()
        self.to_read: dict[tuple[str, bool], list[tuple[str, int]]] = defaultdict(list)  # (id, its finding)

    def start(self) -> None:
        """Refresh every directory of the store and of the index; no index, no audit."""
        store = self.ops.store
        if not self.ops.index.exists():
            return
        dirs = {(slug, False) for slug in store.project_slugs()} | {(slug, True) for slug in store.trash_slugs()}

        def refreshed(index: Index) -> Index:
            known = index.conn.execute("SELECT slug, trash FROM dirs").fetchall()
            dirs.update((str(slug), bool(trash)) for slug, trash in known)  # rows of directories gone since
            index.refresh(sorted(dirs))
            return index

        self.index = self.ops.indexed(refreshed)

    def check(self, project: Project, trash: bool, session_id: str, data: bytes, st: os.stat_result, log: Log) -> None:
        """Compare one session file (read as `data` with stat `st`, parsed as `log`) with its row."""
        from chit.index.check import NO_ROW, differences

        if self.index is None:
            return
        self.seen.add((project.slug, trash, session_id))
        try:
            for attempt in range(TRIES):
                if attempt:
                    data, st = self.ops.store.read_bytes(project.slug, session_id, trash)
                    log = parse_log(session_id, data, project.key, st.st_mtime_ns)
                found = differences(self.index, project, trash, session_id, data, st, fold(log.header, log.events, log.issues, log.read_only))
                if found is not None and (found != [NO_ROW] or attempt == TRIES - 1):
                    break
                self.index.refresh([(project.slug, trash)])  # changed since the refresh: catch up, read again
        except NotFound:
            return  # removed meanwhile
        except sqlite3.Error:
            self.index = None  # busy or read-only: the files are still checked
            return
        if found is None:
            return  # a writer at work: nothing to say about it
        self.report.index_checked += 1
        if found:
            self._finding(project.slug, trash, session_id, "index row unlike the file: " + "; ".join(found))

    def finish(self) -> None:
        """Rows of sessions no file holds; then, with `repair`, rebuild what differed."""
        from chit.index.check import read_again, unseen_rows

        if self.index is None:
            return
        try:
            for slug, trash, session_id in unseen_rows(self.index, self.seen):
                if not self.ops.store.exists(slug, session_id, trash):  # else created after its directory was read
                    self._finding(slug, trash, session_id, "index row of a session that does not exist")
            if self.repair:
                for (slug, trash), found in sorted(self.to_read.items()):
                    read_again(self.index, slug, trash, [session_id for session_id, _ in found])
                    for _, at in found:  # repaired once its rows are rebuilt, not before
                        self.report.findings[at] = replace(self.report.findings[at], repaired=True)
        except sqlite3.Error:
            pass  # a read-only or busy index: those findings stay unrepaired

    def _finding(self, slug: str, trash: bool, session_id: str, problem: str) -> None:
        from chit.service.results import Finding

        path = self.ops.store.session_path(slug, session_id, trash)
        self.to_read[(slug, trash)].append((session_id, len(self.report.findings)))
        self.report.findings.append(Finding(os.path.relpath(path, self.ops.layout.home), None, problem))
