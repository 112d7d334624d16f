"""Sessions over time: trash and restore, stale cleanup, stuck detection,
compaction and the doctor.

Invariants: deleting moves a file into trash/ (restorable) and only
`empty_trash` removes data for good; compaction is the one operation that
forgets what rewind/pop dropped and corrupt lines, and it does so with an
atomic replace under the session lock; a file of a newer format version is
never rewritten.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chit import codec
from chit.errors import Conflict, InvalidInput, NotFound, ReadOnly
from chit.fold import fold, message_to_record
from chit.model import Session, SessionSummary, format_ts, now
from chit.service.index_audit import IndexAudit
from chit.service.sessions import SessionOps
from chit.store import FILE_MODE, UUID_RE, parse_log, same_file

if TYPE_CHECKING:
    from chit.service.results import CompactReport, DoctorReport, Finding


def compacted_records(session: Session) -> list[dict[str, Any]]:
    """The smallest log whose fold equals `session` (dropped data gone)."""
    header = {
        "type": "session",
        "version": codec.FORMAT_VERSION,
        "id": session.id,
        "project": session.project,
        "created_at": session.created_at,
        "parent": session.parent.as_dict() if session.parent else None,
        "key": session.key,
        "title": session.manual_title,
        "metadata": session.metadata,
    }
    records: list[dict[str, Any]] = [header, *(message_to_record(m) for m in session.messages)]
    if session.run.state != "idle" or session.run.since:
        state: dict[str, Any] = {"type": "state", "state": session.run.state, "ts": session.run.since}
        if session.run.turn_id:
            state["turn_id"] = session.run.turn_id
        if session.run.error:
            state["error"] = session.run.error
        records.append(state)
    for key, value in session.values.items():
        records.append({"type": "set", "key": key, "value": value, "ts": session.updated_at})
    # last, so the fold's updated_at is unchanged by compaction
    records.append({"type": "tag", "tags": list(session.tags), "ts": session.updated_at})
    return records


class LifecycleOps(SessionOps):
    # -- trash ----------------------------------------------------------
    def delete(self, ref: str | None) -> Session:
        """Move a session to the trash (restorable with `restore`)."""
        target = self.resolve(ref)
        project = self.locate(target.id)
        source = self.store.session_path(project.slug, target.id)
        with self.store.locked(project.slug, target.id, project.key) as held:
            if not target.read_only:  # a newer chit's file is moved as it is
                held.append([{"type": "trash", "ts": now()}])
            self.store.move(source, self.store.session_path(project.slug, target.id, trash=True))
        return self.read_session(project, target.id, trash=True)

    def _resolve_trash(self, ref: str) -> tuple[str, str]:
        text = ref.strip().lower()
        if text.startswith("ctx_"):
            text = text[4:]
        if not text or "\x00" in text:
            raise InvalidInput("give the id or an id prefix of a trashed session")
        matches = [(slug, i) for slug in self.store.trash_slugs() for i in self.store.session_ids(slug, trash=True) if i.startswith(text)]
        if not matches:
            raise NotFound(f"no trashed session matches {ref!r} (see `chit trash`)")
        if len(matches) > 1:
            found = [self.read_session(self.project_by_slug(s), i, trash=True).summary(s) for s, i in matches]
            raise self._ambiguous(ref, found)
        return matches[0]

    def restore(self, ref: str) -> Session:
        """Bring a trashed session back to its project."""
        slug, session_id = self._resolve_trash(ref)
        project = self.project_by_slug(slug)
        target = self.store.session_path(slug, session_id)
        if target.exists() and not same_file(target, self.store.session_path(slug, session_id, trash=True)):
            raise Conflict(f"session {session_id[:8]} exists both in the trash and in its project")
        with self.store.locked(slug, session_id, project.key, trash=True) as held:
            if not held.read().read_only:  # a newer chit's file goes back as it is
                held.append([{"type": "restore", "ts": now()}])
            self.store.move(held.path, target)
        return self.read_session(project, session_id)

    def trash(self, project: str | None = None, *, all_projects: bool = False) -> list[SessionSummary]:
        """Trashed sessions, most recently deleted first."""
        slugs = self.store.trash_slugs() if all_projects else [self.project(project).slug]
        found = self.summaries([self.project_by_slug(s) for s in slugs], trash=True)
        found.sort(key=lambda s: s.deleted_at or "", reverse=True)
        return found

    def empty_trash(
        self, project: str | None = None, *, all_projects: bool = False, older_than: float | None = None, dry_run: bool = False
    ) -> list[SessionSummary]:
        """Delete trashed sessions for good (only those trashed over
        `older_than` seconds ago, if given). Returns what was removed."""
        cutoff = _cutoff(older_than)
        doomed = [s for s in self.trash(project, all_projects=all_projects) if cutoff is None or (s.deleted_at or "") < cutoff]
        if not dry_run:
            for summary in doomed:
                slug = self.locate(summary.id, trash=True).slug
                self.store.unlink(self.store.session_path(slug, summary.id, trash=True))
        return doomed

    def cleanup(
        self, ttl: float, project: str | None = None, *, all_projects: bool = False, dry_run: bool = False
    ) -> list[SessionSummary]:
        """Trash sessions idle (not running) for longer than `ttl` seconds."""
        cutoff = _cutoff(ttl)
        assert cutoff is not None
        stale = [
            s for s in self.list(project, all_projects=all_projects) if s.updated_at < cutoff and s.state != "running"
        ]
        if not dry_run:
            for summary in stale:
                self.delete(summary.id)
        return stale

    # -- run state ------------------------------------------------------
    def running(self, project: str | None = None, *, all_projects: bool = True) -> list[Session]:
        everywhere = all_projects and project is None  # a named project narrows the search
        found = [self.get(s.id) for s in self.list(project, all_projects=everywhere, state="running")]
        return found

    def stuck(self, threshold: float, project: str | None = None, *, all_projects: bool = True) -> list[Session]:
        """Sessions running for longer than `threshold` seconds."""
        cutoff = _cutoff(threshold)
        return [s for s in self.running(project, all_projects=all_projects) if (s.run.since or "") < (cutoff or "")]

    # -- compaction and repair -------------------------------------------
    def compact(self, ref: str | None) -> CompactReport:
        """Rewrite a session without dropped messages and corrupt lines."""
        with self._locked(ref) as (_, held, session):
            return self._compact_held(held, session)

    def _compact_held(self, held: Any, session: Session) -> CompactReport:
        from chit.service.results import CompactReport

        if session.read_only:
            raise ReadOnly(f"session {session.short_id} was written by a newer chit; not rewriting it")
        before = os.fstat(held.fd).st_size
        records = compacted_records(session)
        held.rewrite(records)
        after = os.stat(held.path).st_size
        return CompactReport(session.id, session.dropped, len(session.issues), before, after)

    def doctor(self, repair: bool = False) -> DoctorReport:
        """Check every session file, and the index against them
        (`chit.service.index_audit`); with `repair`, fix what can be fixed."""
        from chit.service.results import DoctorReport, Finding

        report = DoctorReport()
        audit = IndexAudit(self, repair, report)
        audit.start()
        try:
            linked = sorted(e.path for e in os.scandir(self.layout.projects) if e.is_symlink())
        except OSError:
            linked = []
        for path in linked:  # a project directory that is a link: never followed
            if repair:
                os.unlink(path)
            report.findings.append(Finding(self._rel(path), None, "symbolic link in the store (never followed)", repair))
        for slug in self.store.project_slugs():
            project = self.project_by_slug(slug)
            directory = self.layout.sessions_dir(slug)
            if self.projects.get(slug) is None:
                report.findings.append(Finding(self._rel(self.layout.project_file(slug)), None, "missing or unreadable project.json"))
            if directory.is_symlink():  # never followed; removing it removes only the link
                if repair:
                    directory.unlink()
                report.findings.append(Finding(self._rel(directory), None, "symbolic link in the store (never followed)", repair))
                continue
            if not directory.is_dir():
                continue
            for entry in sorted(os.scandir(directory), key=lambda e: e.name):
                report.sessions_checked += entry.name.endswith(".jsonl")
                self._check_entry(project, entry, repair, report, audit)
            for session_id in sorted(set(self.store.session_ids(slug)) & set(self.store.session_ids(slug, trash=True))):
                self._check_twice(project, session_id, repair, report)
            self._check_temps(self.layout.project_dir(slug), repair, report)
        for slug in self.store.trash_slugs():
            audit.check_trash(slug)
        audit.finish()
        self._check_temps(self.layout.changes, repair, report)
        return report

    def _check_temps(self, directory: Path, repair: bool, report: DoctorReport) -> None:
        """Temporary files beside project.json and current.json, or of the
        change journals, left by a writer that died. No lock tells whether
        their writer still lives, so --repair removes them once they are
        over a minute old."""
        from chit.service.results import Finding

        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_file(follow_symlinks=False):
                stale = repair and time.time() - entry.stat(follow_symlinks=False).st_mtime > 60
                if stale:
                    Path(entry.path).unlink(missing_ok=True)
                report.findings.append(Finding(self._rel(entry.path), None, "leftover temporary file", stale))

    def _check_twice(self, project: Any, session_id: str, repair: bool, report: DoctorReport) -> None:
        """A session both in its project and in the trash: one file under two
        names is a move cut short (by a crash); its last trash or restore
        event says where it belongs. Two different files are only reported."""
        from chit.service.results import Finding

        live = self.store.session_path(project.slug, session_id)
        trashed = self.store.session_path(project.slug, session_id, trash=True)
        if not same_file(live, trashed):
            report.findings.append(Finding(self._rel(live), None, "also in the trash, as a different file (see `chit trash`)"))
            return
        if repair:
            with self.store.locked(project.slug, session_id, project.key) as held:
                log = held.read()
                deleted = fold(log.header, log.events).deleted_at is not None
                self.store.unlink(live if deleted else trashed)
        report.findings.append(Finding(self._rel(live), None, "both in the project and in the trash (a move cut short)", repair))

    def _rel(self, path: Any) -> str:
        return os.path.relpath(path, self.layout.home)

    def _check_entry(self, project: Any, entry: os.DirEntry[str], repair: bool, report: DoctorReport, audit: IndexAudit) -> None:
        from chit.service.results import Finding

        path = entry.path
        rel = self._rel(path)
        if entry.is_symlink():
            if repair:
                os.unlink(path)
            report.findings.append(Finding(rel, None, "symbolic link in the store (never followed)", repair))
            return
        if entry.name.endswith(".tmp"):
            # left by a writer that died, once the lock it wrote under is free
            stale = repair and (
                time.time() - entry.stat().st_mtime > 60 or self.store.temp_owner_gone(project.slug, entry.name)
            )
            if stale:
                Path(path).unlink(missing_ok=True)  # or renamed into place just now
            report.findings.append(Finding(rel, None, "leftover temporary file", stale))
            return
        session_id = entry.name[:-6]
        if not entry.name.endswith(".jsonl") or not UUID_RE.match(session_id):
            return
        mode = stat.S_IMODE(entry.stat().st_mode)
        if mode != FILE_MODE:
            if repair:
                os.chmod(path, FILE_MODE)
            report.findings.append(Finding(rel, None, f"permissions {mode:o}, expected 600", repair))
        data, st = self.store.read_bytes(project.slug, session_id)
        log = parse_log(session_id, data, project.key, st.st_mtime_ns)
        audit.check(project, False, session_id, data, st, log)  # before a repair rewrites the file
        if not log.issues:
            return
        fixed = False
        if repair and not log.read_only:
            with self.store.locked(project.slug, session_id, project.key) as held:
                fresh = held.read()
                self._compact_held(held, fold(fresh.header, fresh.events, fresh.issues, fresh.read_only))
            fixed = True
        for issue in log.issues:
            report.findings.append(Finding(rel, issue.line, issue.reason, fixed))


def _cutoff(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    if seconds < 0:
        raise InvalidInput("a duration must be 0 or more")
    return format_ts(datetime.now(timezone.utc) - timedelta(seconds=seconds))

