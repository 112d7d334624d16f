"""Sessions over time: trash and restore, stale cleanup, stuck detection
and compaction (the doctor is in `chit.service.doctor`).

Invariants: deleting moves a file into trash/ (restorable) and only
`empty_trash` removes data for good; compaction is the one operation that
forgets what rewind/pop dropped and corrupt lines, and it does so with an
atomic replace under the session lock, keeping every other line as it was
(`chit.store.compaction`: a union with an older copy folds the same); a file of a newer format version is
never rewritten.

`rm` appends a trash event, then moves the file; `restore` appends a restore
event, then moves it back. A kill between the two leaves the file where it
was with the other event last: a trashed file without a trash event (its
age in the trash is then the file's ctime, never "infinitely old") or a
live one with one; running the same command again finishes it, and so
does `doctor --repair`. Once the file is moved, still under the session's
lock, its index row follows it (`chit.index.moves.move_to`); a kill before
that leaves the row for the next refresh to forget and the file to be
read again, as without it.

A run over many sessions (`delete_all`, `cleanup`, `empty_trash`) past a
second tells `report_progress` how many of them it has done
(`chit.service.ticker`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chit.store import codec, emptied
from chit.errors import ChitError, Conflict, InvalidInput, NotFound, ReadOnly
from chit.store.fold import fold, message_to_record
from chit.model import Project, Session, SessionSummary, format_ts, now
from chit.service.base import Context
from chit.service.queries import Queries
from chit.service.sessions import Sessions
from chit.store.compaction import compact_event, compacted_lines, rebuilt
from chit.store.files import read_whole
from chit.store.log import format_ts_ns
from chit.service.ticker import Report, Ticker, told
from chit.store.sessions import LockedSession, same_file

if TYPE_CHECKING:
    from chit.service.results import CompactReport, DoctorReport


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
    if session.deleted_at is not None:  # a trashed session stays one (doctor compacts the trash too)
        records.append({"type": "trash", "ts": session.deleted_at})
    records.append({"type": "tag", "tags": list(session.tags), "ts": session.updated_at})
    return records


def trash_record(held: LockedSession) -> dict[str, Any]:
    """A trash event naming what its writer saw (format 2): a message it
    did not see, written on another machine, overrides it."""
    log = held.read()
    return {"type": "trash", "seen": fold(log.header, log.events).seen, "ts": now()}


#: (what, done, total): a run over many sessions reports its progress; the command line sets it
report_progress: Report | None = None


class Maintenance:
    """Keeping the store: trash and restore, cleanup, running and stuck
    sessions, compaction and the doctor."""

    def __init__(self, ctx: Context, queries: Queries, sessions: Sessions) -> None:
        self.ctx = ctx
        self.queries = queries
        self.sessions = sessions
        self.store = ctx.store

    # -- trash ----------------------------------------------------------
    def delete(self, ref: str | None) -> Session:
        """Move a session to the trash (restorable with `restore`)."""
        return self._delete_in(*self.queries.locate_ref(ref))

    def _delete_in(self, project: Project, session_id: str) -> Session:
        target = self.ctx.read_session(project, session_id)
        source = self.store.session_path(project.slug, target.id)
        with self.store.locked(project.slug, target.id, project.key) as held:
            if not target.read_only:  # a newer chit's file is moved as it is
                held.append([trash_record(held)])
            self.store.move(source, self.store.session_path(project.slug, target.id, trash=True))
            trashed = self.ctx.read_session(project, target.id, trash=True)
            self._move_index_row(project.slug, trashed, trash=True)
        return trashed

    def delete_all(self, refs: Iterable[str | None]) -> list[SessionSummary]:
        """Move several sessions to the trash. Every REF is resolved before
        the first moves, so one that names nothing moves none. Returns
        their summaries as trashed."""
        named = list(refs)
        ticker = Ticker(len(named), "sessions found", report_progress)  # one progress over both steps
        try:
            targets = []
            for done, ref in enumerate(named):
                ticker.tick(done)
                targets.append(self.queries.locate_ref(ref))
            ticker.phase("sessions moved to the trash", len(targets))
            trashed = []
            for done, (project, session_id) in enumerate(targets):
                ticker.tick(done)
                trashed.append(self._delete_in(project, session_id).summary(project.name, project.slug))
            ticker.tick(len(targets))
            return trashed
        finally:
            ticker.finish()

    def _resolve_trash(self, ref: str) -> tuple[str, str]:
        text = ref.strip().lower()
        if text.startswith("ctx_"):
            text = text[4:]
        if not text or "\x00" in text:
            raise InvalidInput("give the id or an id prefix of a trashed session")
        matches = [(slug, i) for slug in self.store.trash_slugs() for i in self.store.session_ids(slug, trash=True) if i.startswith(text)]
        if not matches:
            raise NotFound(f"no trashed session matches {ref!r} (see `chit trash`)")
        if len({i for _, i in matches}) == 1 and len(matches) > 1:  # one id in several trashes: the scope's copy
            scope = self.ctx.locate(matches[0][1], trash=True).slug
            matches = [m for m in matches if m[0] == scope]
        if len(matches) > 1:
            found = [self.ctx.read_session(self.ctx.project_by_slug(s), i, trash=True).summary(s, s) for s, i in matches]
            raise self.queries.ambiguous(ref, found)
        return matches[0]

    def restore(self, ref: str) -> Session:
        """Bring a trashed session back to its project."""
        slug, session_id = self._resolve_trash(ref)
        project = self.ctx.project_by_slug(slug)
        target = self.store.session_path(slug, session_id)
        if target.exists() and not same_file(target, self.store.session_path(slug, session_id, trash=True)):
            raise Conflict(f"session {session_id[:8]} exists both in the trash and in its project")
        # a copy live in another project (a move cut short): restoring would leave the id live under two
        for other in (self.ctx.project_by_slug(s) for s in self.store.holders(session_id) if s != slug):
            if not self.store.session_path(other.slug, session_id).is_symlink():  # a link is never a copy
                where = f"project {other.name} ({other.slug})"
                raise Conflict(f"session {session_id[:8]} is live in {where} too: rm that copy first, or see `chit doctor`")
        with self.store.locked(slug, session_id, project.key, trash=True) as held:
            log = held.read()
            if not log.read_only:  # a newer chit's file goes back as it is
                trashed = fold(log.header, log.events)
                named = trashed.trashes[-1] if trashed.trashes else None
                held.append([{"type": "restore", "trash": named, "seen": trashed.seen, "ts": now()}])
            self.store.move(held.path, target)
            restored = self.ctx.read_session(project, session_id)
            self._move_index_row(slug, restored, trash=False)
        return restored

    def _move_index_row(self, slug: str, moved: Session, trash: bool) -> None:
        """The index's row follows the file (`chit.index.moves.move_to`), so
        the next search or listing reads none of its text again."""
        from chit.index.moves import move_to

        self.ctx.indexed(lambda index: move_to(index, slug, moved.id, trash, moved))

    def trash(self, project: str | None = None, *, all_projects: bool = False) -> list[SessionSummary]:
        """Trashed sessions, most recently deleted first."""
        slugs = self.store.trash_slugs() if all_projects else [self.ctx.project(project).slug]
        found = [self._with_trash_age(s) for s in self.queries.summaries([self.ctx.project_by_slug(s) for s in slugs], trash=True)]
        found.sort(key=lambda s: s.deleted_at or "", reverse=True)
        return found

    def _with_trash_age(self, summary: SessionSummary) -> SessionSummary:
        """A trashed session is as old as its last trash event; one with
        none (a restore cut short after its event; a newer chit's file,
        moved without one) is as old as the file's last change (ctime,
        which its move into the trash set), so it is never taken for old."""
        if summary.deleted_at is not None:
            return summary
        try:
            slug = summary.project_slug or self.ctx.locate(summary.id, trash=True).slug
            changed = os.stat(self.store.session_path(slug, summary.id, trash=True), follow_symlinks=False).st_ctime_ns
        except (OSError, ChitError):
            return replace(summary, deleted_at=now())
        return replace(summary, deleted_at=format_ts_ns(changed))

    def empty_trash(
        self,
        project: str | None = None,
        *,
        all_projects: bool = False,
        older_than: float | None = None,
        dry_run: bool = False,
        everywhere: bool = False,
    ) -> list[SessionSummary]:
        """Delete trashed sessions for good (only those trashed over
        `older_than` seconds ago, if given). Returns what was removed.
        `everywhere`: the next sync asks every other machine to remove them
        too (`chit.store.emptied`); the store must sync."""
        if everywhere:
            return self._empty_everywhere(project, all_projects, older_than, dry_run)
        ticker = Ticker(0, "", report_progress)
        doomed = self._doomed(project, all_projects, older_than, ticker)
        if not dry_run:
            for summary in told(doomed, "trashed sessions deleted", report_progress, ticker):
                self.store.unlink(self._trashed_path(summary))
        ticker.finish()  # a dry run's listing may have been told
        return doomed

    def _doomed(self, project: str | None, all_projects: bool, older_than: float | None, ticker: Ticker) -> list[SessionSummary]:
        cutoff = _cutoff(older_than)
        with ticker.waiting("listing the trash"):
            trashed = self.trash(project, all_projects=all_projects)
        return [s for s in trashed if cutoff is None or (s.deleted_at or "") < cutoff]

    def _trashed_path(self, summary: SessionSummary) -> Path:
        """The file of a trashed session as the trash listed it (an id may be in two trashes)."""
        slug = summary.project_slug or self.ctx.locate(summary.id, trash=True).slug
        return self.store.session_path(slug, summary.id, trash=True)

    def _empty_everywhere(self, project: str | None, all_projects: bool, older_than: float | None, dry_run: bool) -> list[SessionSummary]:
        """Record a request per session (what its file held), then remove
        it, under the sync lock so a running sync sees both or neither."""
        sync_dir = self.ctx.layout.sync
        if not emptied.syncs(sync_dir):
            raise NotFound("this store does not sync, so there is no everywhere to empty: run `chit sync init REMOTE` first")
        with emptied.sync_locked(sync_dir, self.store.timeout):
            ticker = Ticker(0, "", report_progress)
            doomed = self._doomed(project, all_projects, older_than, ticker)
            if dry_run:
                ticker.finish()
                return doomed
            machine = self.store.stamper.machine
            for summary in told(doomed, "trashed sessions deleted", report_progress, ticker):
                slug = self._trashed_path(summary).parent.name
                with self.store.locked(slug, summary.id, self.ctx.project_by_slug(slug).key, trash=True) as held:
                    data = read_whole(held.fd, os.fstat(held.fd).st_size)  # what the request says it saw
                    emptied.ask(sync_dir, [emptied.request_line(summary.id, machine, emptied.seen_of(data))], self.store.durable)
                    self.store.unlink(self.store.session_path(slug, summary.id, trash=True))
        return doomed

    def cleanup(
        self,
        ttl: float | None,
        project: str | None = None,
        *,
        all_projects: bool = False,
        dry_run: bool = False,
        since: str | None = None,
        until: str | None = None,
    ) -> list[SessionSummary]:
        """Trash sessions (not running) idle for longer than `ttl` seconds
        and last updated within `since`/`until` (read as `list` reads them);
        one bound at least, `ttl` or `until`, so a call never means "all"."""
        if ttl is None and until is None:
            raise InvalidInput("cleanup needs an age (ttl) or an until: it never trashes every session")
        cutoff = _cutoff(ttl)
        ticker = Ticker(0, "", report_progress)
        with ticker.waiting("listing the sessions"):
            listed = self.queries.list(project, all_projects=all_projects, agents=True, since=since, until=until)
        stale = [s for s in listed if (cutoff is None or s.updated_at < cutoff) and s.state != "running"]
        if not dry_run:
            for summary in told(stale, "sessions moved to the trash", report_progress, ticker):
                self.delete(summary.id)
        ticker.finish()  # a dry run's listing may have been told
        return stale

    # -- run state ------------------------------------------------------
    def running(self, project: str | None = None, *, all_projects: bool = True) -> list[Session]:
        everywhere = all_projects and project is None  # a named project narrows the search
        found = [self.queries.get(s.id) for s in self.queries.list(project, all_projects=everywhere, state="running", agents=True)]
        return found

    def stuck(self, threshold: float, project: str | None = None, *, all_projects: bool = True) -> list[Session]:
        """Sessions running for longer than `threshold` seconds."""
        cutoff = _cutoff(threshold)
        return [s for s in self.running(project, all_projects=all_projects) if (s.run.since or "") < (cutoff or "")]

    # -- compaction and repair -------------------------------------------
    def compact(self, ref: str | None) -> CompactReport:
        """Rewrite a session without dropped messages and corrupt lines."""
        with self.sessions.locked(ref) as (_, held, session):
            return self.compact_held(held, session)

    def doctor(self, repair: bool = False) -> DoctorReport:
        """Check every session file, and the index against them; with
        `repair`, fix what can be fixed."""
        from chit.service.doctor import Doctor

        return Doctor(self.ctx, self.compact_held, repair).run()

    def compact_held(self, held: LockedSession, session: Session) -> CompactReport:
        from chit.service.results import CompactReport, DoctorReport

        if session.read_only:
            raise ReadOnly(f"session {session.short_id} was written by a newer chit; not rewriting it")
        before = os.fstat(held.fd).st_size
        lines = compacted_lines(read_whole(held.fd, before), session)
        stamper, last = self.store.stamper, held.last_stamp()
        if lines is None:  # format-1 lines: rebuilt, every event stamped
            held.rewrite(rebuilt(compacted_records(session), stamper, last))
        else:
            if session.changes:
                lines.append(compact_event(session, stamper, last))
            held.rewrite_lines(lines)
        after = os.stat(held.path).st_size
        return CompactReport(session.id, session.dropped, len(session.issues), before, after)


def _cutoff(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    if seconds < 0:
        raise InvalidInput("a duration must be 0 or more")
    return format_ts(datetime.now(timezone.utc) - timedelta(seconds=seconds))

