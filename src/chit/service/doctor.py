"""The doctor: check every session file, in the projects and in the trash,
and with `repair` fix what can be fixed.

Invariants:
- a check never changes anything; a repair changes only what it reports,
  and never rewrites a file of a newer format version;
- a trashed session is checked as a live one is (lines, permissions,
  links, temporary files), so a damaged one is found before `restore`;
- a move to or from the trash cut short is finished the way the session's
  last trash or restore event says: one file under both names loses the
  name it was leaving; a file left where it was after its event moves on
  (a trashed file whose last event is a restore goes back to its project,
  unless that name is taken; a trashed file with no such event at all gets
  a trash event, which dates it; a live file goes to the trash only when
  its fold says deleted: a later message the trash did not see keeps it);
- a project directory left empty (a `projects mv` killed between removing
  the old record and its directory) is removed;
- a session id under two projects, live or in their trash, is reported
  (as regular files only: a link, FIFO or directory is never read):
  one file under both names of one kind (a `projects mv` cut short
  between its link and its unlink, of live or of trashed files) is, with
  `repair`, left under the project the move went to (the one whose record
  names the other as an alias: no byte is lost, both names are one
  file); one file named in a project and in another's trash is left as
  it is, its place not repaired either (that would change both names);
  two different files (two imports of one snapshot before they
  took the store's lock) are never repaired: the finding gives the
  commands that resolve it, since which copy to keep is the person's;
- the index is compared with every file the doctor reads, and with
  `repair` its rows that differ are rebuilt (`chit.service.index_audit`);
- conflict copies a file-sync tool left are reported, and with `repair`
  merged into their files first (`chit.service.conflicts`);
- a check past a second tells `report_progress` the session files checked
  of all there are (`chit.service.ticker`).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chit.store.files import FILE_MODE, TEMP_GRACE, kind_of, temp_writer_gone
from chit.store.fold import fold, split_events
from chit.model import Project, Session
from chit.service.base import Context
from chit.service.conflicts import ConflictCopies
from chit.service.index_audit import IndexAudit
from chit.store.log import Log, parse_log
from chit.store.sessions import UUID_RE, LockedSession, same_file
from chit.service.ticker import Report, Ticker

if TYPE_CHECKING:
    from chit.service.results import DoctorReport

LINKED = "symbolic link in the store (never followed)"
#: (what, done, total): a long check reports its progress; the command line sets it
report_progress: Report | None = None


def last_move(events: list[dict[str, Any]]) -> str | None:
    """The type of a log's last trash or restore event in fold order, if any."""
    legacy, stamped, _ = split_events(events)
    for event in reversed([*legacy, *stamped]):
        if event["type"] in ("trash", "restore"):
            return str(event["type"])
    return None


def _deleted(log: Log) -> bool:
    """Whether a log's fold says deleted: its last trash event, unless a
    restore or a message that trash did not see came after it."""
    return fold(log.header, log.events, log.issues, log.read_only).deleted_at is not None


#: What a project directory holds besides its record and sessions: its lock,
#: which session is current, and the temp files of atomic writes.
_PLUMBING = (".lock", "current.json")


def _plumbing_only(directory: Path) -> list[Path] | None:
    """The files of a project directory, when they are only plumbing (and
    an empty sessions/): what a move or removal cut short leaves, or what a
    lock taken on the removed project made again. None when it holds more."""
    found = []
    for entry in os.scandir(directory):
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False) and entry.name == "sessions" and not any(os.scandir(path)):
            found.append(path)
        elif entry.is_file(follow_symlinks=False) and (entry.name in _PLUMBING or entry.name.endswith(".tmp")):
            found.append(path)
        else:
            return None
    return found


class Doctor:
    """One check of the store (`Maintenance.doctor`)."""

    def __init__(self, ctx: Context, compact_held: Callable[[LockedSession, Session], object], repair: bool) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.layout = ctx.layout
        self.projects = ctx.projects
        self.compact_held = compact_held
        self.repair = repair
        self.ticker = Ticker(0, "session files checked", None)
        self.places: dict[str, list[tuple[str, bool]]] = {}  # session id -> (slug, in the trash) of each copy

    def run(self) -> DoctorReport:
        """Check every session file, and the index against them; with
        `repair`, fix what can be fixed."""
        from chit.service.results import DoctorReport

        repair = self.repair
        report = DoctorReport()
        copies = ConflictCopies(self.ctx, repair, report)
        for slug in self.store.project_slugs():  # merged first: the checks below see the merged files
            copies.check(slug)
        audit = IndexAudit(self.ctx, repair, report)
        audit.start()
        self.ticker = Ticker(self._session_files(), "session files checked", report_progress)
        try:
            self._check_directories(repair, report, audit)
        finally:
            self.ticker.finish()  # a failure's line starts a line of its own
        audit.finish()
        self._check_shared_ids(report)
        self._check_temps(self.layout.changes, repair, report)
        self._check_not_regular([self.layout.import_cache_file], report)
        return report

    def _check_directories(self, repair: bool, report: DoctorReport, audit: IndexAudit) -> None:
        """Every project's directory and the trash's, and what lies beside them."""
        try:
            linked = sorted(e.path for e in os.scandir(self.layout.projects) if e.is_symlink())
        except OSError:
            linked = []
        for path in linked:  # a project directory that is a link: never followed
            if repair:
                os.unlink(path)
            self._found(report, path, LINKED, repair)
        for slug in self.store.project_slugs():
            if self.projects.get(slug) is None and not self._check_unrecorded(slug, repair, report):
                continue
            project = self.ctx.project_by_slug(slug)
            self._check_directory(project, False, repair, report, audit)
            for session_id in sorted(set(self.store.session_ids(slug)) & set(self.store.session_ids(slug, trash=True))):
                self._check_twice(project, session_id, repair, report)
            self._check_temps(self.layout.project_dir(slug), repair, report)
            self._check_not_regular(self._expected_files(slug), report)
        for slug in self.store.trash_slugs():
            self._check_directory(self.ctx.project_by_slug(slug), True, repair, report, audit)

    def _session_files(self) -> int:
        """How many session files the check will read, in the projects and the trash."""
        directories = [self.layout.sessions_dir(slug) for slug in self.store.project_slugs()]
        directories += [self.layout.trash_dir(slug) for slug in self.store.trash_slugs()]
        count = 0
        for directory in directories:
            try:
                count += sum(name.endswith(".jsonl") for name in os.listdir(directory))
            except OSError:
                pass  # reported by the check itself
        return count

    def _expected_files(self, slug: str) -> list[Path]:
        """The files of a project chit reads besides its sessions."""
        layout = self.layout
        return [layout.project_file(slug), layout.current_file(slug), layout.changes_file(slug), layout.changes_file(slug, True)]

    def _check_not_regular(self, paths: list[Path], report: DoctorReport) -> None:
        """A FIFO, socket, directory or device where chit expects a file: it
        is never opened (it could block), only reported; --repair leaves it,
        since only its owner knows what it is for."""
        for path in paths:
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if not stat.S_ISREG(mode) and not stat.S_ISLNK(mode):
                self._found(report, path, f"not a regular file ({kind_of(mode)}); chit ignores it")

    def _found(self, report: DoctorReport, path: Any, problem: str, repaired: bool = False, line: int | None = None) -> None:
        from chit.service.results import Finding

        report.findings.append(Finding(os.path.relpath(path, self.layout.home), line, problem, repaired))

    def _check_unrecorded(self, slug: str, repair: bool, report: DoctorReport) -> bool:
        """A project directory without a readable project.json; whether to
        go on checking it (not when it was only left empty by a move)."""
        directory = self.layout.project_dir(slug)
        leftovers = _plumbing_only(directory)
        if leftovers is not None:
            # a project being created looks the same for a moment: leave a young one
            repair = repair and time.time() - os.stat(directory).st_mtime > TEMP_GRACE
            if repair:
                for path in leftovers:
                    path.rmdir() if path.is_dir() else path.unlink(missing_ok=True)
                directory.rmdir()
            self._found(report, directory, "empty project directory (left by an interrupted move)", repair)
            return False
        self._found(report, self.layout.project_file(slug), "missing or unreadable project.json")
        return True

    def _check_directory(self, project: Project, trash: bool, repair: bool, report: DoctorReport, audit: IndexAudit) -> None:
        directory = self.layout.trash_dir(project.slug) if trash else self.layout.sessions_dir(project.slug)
        if directory.is_symlink():  # never followed; removing it removes only the link
            if repair:
                directory.unlink()
            self._found(report, directory, LINKED, repair)
            return
        if not directory.is_dir():
            return
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            report.sessions_checked += entry.name.endswith(".jsonl")
            if entry.name.endswith(".jsonl") and entry.is_file(follow_symlinks=False):  # a link, FIFO or directory is no copy
                self.places.setdefault(entry.name[:-6], []).append((project.slug, trash))
            self._check_entry(project, entry, trash, repair, report, audit)
            self.ticker.tick(report.sessions_checked)

    def _check_temps(self, directory: Path, repair: bool, report: DoctorReport) -> None:
        """Temporary files beside project.json and current.json, or of the
        change journals, left by a writer that died: their writer's lock on
        them is free (files.temp_writer_gone), so --repair removes them."""
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_file(follow_symlinks=False):
                stale = repair and temp_writer_gone(Path(entry.path))
                if stale:
                    Path(entry.path).unlink(missing_ok=True)
                self._found(report, entry.path, "leftover temporary file", stale)

    def _check_shared_ids(self, report: DoctorReport) -> None:
        """A session id under more than one project, live or in their
        trash: `ls` lists each live copy, and a command given the id alone
        acts on one of them. Reported on the first copy of every other
        project (a project's live and trashed copy are `_check_twice`'s),
        with what resolves it."""
        for session_id, copies in sorted(self.places.items()):
            if len({slug for slug, _ in copies}) < 2 or not UUID_RE.match(session_id):
                continue
            first_slug, first_trash = copies[0]
            first = self.store.session_path(first_slug, session_id, first_trash)
            seen = {first_slug}
            for slug, trash in copies[1:]:
                if slug in seen:
                    continue
                seen.add(slug)
                path = self.store.session_path(slug, session_id, trash)
                same = same_file(first, path)
                moved_from = self._move_source(first_slug, slug) if same and trash == first_trash else None
                if moved_from is not None and self.repair:
                    target = slug if moved_from == first_slug else first_slug
                    with self.store.locked(moved_from, session_id, self.ctx.project_by_slug(moved_from).key, trash) as held:
                        self.store.move(held.path, self.store.session_path(target, session_id, trash))
                problem = _shared_problem(first_slug, first_trash, trash, same, moved_from)
                self._found(report, path, problem, moved_from is not None and self.repair)

    def _move_source(self, one: str, other: str) -> str | None:
        """Of two projects, the one a `projects mv` was moving from: the
        other's record names it as an alias. None when neither does."""
        records = {slug: self.projects.get(slug) for slug in (one, other)}
        for source, target in ((one, other), (other, one)):
            record, taken = records[source], records[target]
            if record is not None and taken is not None and record.key in taken.aliases:
                return source
        return None

    def _check_twice(self, project: Project, session_id: str, repair: bool, report: DoctorReport) -> None:
        """A session both in its project and in the trash: one file under two
        names is a move cut short (by a crash); its last trash or restore
        event says where it belongs. Two different files are only reported."""
        live = self.store.session_path(project.slug, session_id)
        trashed = self.store.session_path(project.slug, session_id, trash=True)
        if not same_file(live, trashed):
            self._found(report, live, "also in the trash, as a different file (see `chit trash`)")
            return
        if repair:
            with self.store.locked(project.slug, session_id, project.key) as held:
                log = held.read()
                deleted = fold(log.header, log.events).deleted_at is not None
                self.store.unlink(live if deleted else trashed)
        self._found(report, live, "both in the project and in the trash (a move cut short)", repair)

    def _check_entry(
        self, project: Project, entry: os.DirEntry[str], trash: bool, repair: bool, report: DoctorReport, audit: IndexAudit
    ) -> None:
        path = entry.path
        if entry.is_symlink():
            if repair:
                os.unlink(path)
            self._found(report, path, LINKED, repair)
            return
        if entry.name.endswith(".jsonl") and not entry.is_file(follow_symlinks=False):
            self._check_not_regular([Path(path)], report)
            return
        if entry.name.endswith(".tmp"):
            # left by a writer that died, once the lock it wrote under is free
            stale = repair and (
                time.time() - entry.stat().st_mtime > 60 or (not trash and self.store.temp_owner_gone(project.slug, entry.name))
            )
            if stale:
                Path(path).unlink(missing_ok=True)  # or renamed into place just now
            self._found(report, path, "leftover temporary file", stale)
            return
        session_id = entry.name[:-6]
        if not entry.name.endswith(".jsonl") or not UUID_RE.match(session_id):
            return
        mode = stat.S_IMODE(entry.stat().st_mode)
        if mode != FILE_MODE:
            if repair:
                os.chmod(path, FILE_MODE)
            self._found(report, path, f"permissions {mode:o}, expected 600", repair)
        data, st = self.store.read_bytes(project.slug, session_id, trash)
        log = parse_log(session_id, data, project.key, st.st_mtime_ns)
        audit.check(project, trash, session_id, data, st, log)  # before a repair changes the file
        self._check_lines(project, session_id, trash, log, repair, report)
        self._check_place(project, session_id, trash, log, repair, report)

    def _check_lines(self, project: Project, session_id: str, trash: bool, log: Log, repair: bool, report: DoctorReport) -> None:
        if not log.issues:
            return
        fixed = False
        if repair and not log.read_only:
            with self.store.locked(project.slug, session_id, project.key, trash) as held:
                fresh = held.read()
                self.compact_held(held, fold(fresh.header, fresh.events, fresh.issues, fresh.read_only))
            fixed = True
        path = self.store.session_path(project.slug, session_id, trash)
        for issue in log.issues:
            self._found(report, path, issue.reason, fixed, issue.line)

    def _check_place(self, project: Project, session_id: str, trash: bool, log: Log, repair: bool, report: DoctorReport) -> None:
        """A file its last trash or restore event says is elsewhere: an
        `rm` or `restore` cut short between its event and its move."""
        other = self.store.session_path(project.slug, session_id, not trash)
        if log.read_only or os.path.lexists(other):  # in both places: _check_twice's
            return
        last = last_move(log.events)
        if trash and last == "restore":
            problem = "in the trash after a restore event (a restore cut short)"
        elif trash and last is None:
            problem = "in the trash without a trash event"
        elif not trash and last == "trash" and _deleted(log):  # a message the trash did not see overrides it
            problem = "still in its project after a trash event (an rm cut short)"
        else:
            return
        fix = repair and not self._named_elsewhere(project, session_id, trash)  # then _check_shared_ids reports it
        if fix:
            self._finish_move(project, session_id, trash)
        self._found(report, self.store.session_path(project.slug, session_id, trash), problem, fix)

    def _named_elsewhere(self, project: Project, session_id: str, trash: bool) -> bool:
        """Whether a session file has a name in another project or its
        trash too (a move cut short): dating or moving it would change the
        session under that name as well."""
        path = self.store.session_path(project.slug, session_id, trash)
        for kind in (False, True):
            for slug in self.store.holders(session_id, kind):
                if slug != project.slug and same_file(path, self.store.session_path(slug, session_id, kind)):
                    return True
        return False

    def _finish_move(self, project: Project, session_id: str, trash: bool) -> None:
        """Move the file where its last event says, or, for a trashed file
        with no such event, date it with a trash event."""
        from chit.service.lifecycle import trash_record

        with self.store.locked(project.slug, session_id, project.key, trash) as held:
            log = held.read()
            last = last_move(log.events)
            if trash and last is None:
                held.append([trash_record(held)])
            elif (last == "restore") if trash else (last == "trash" and _deleted(log)):
                self.store.move(held.path, self.store.session_path(project.slug, session_id, not trash))


def _shared_problem(first: str, first_trash: bool, trash: bool, same: bool, moved_from: str | None) -> str:
    """What a second copy of a session id is (`trash`: in a trash), the
    first being in project `first` (or its trash), and how to resolve it."""
    where = f"the trash of project {first}" if first_trash else f"project {first}"
    if same and moved_from is not None:
        return f"also in {where}, the same file (a `projects mv` from {moved_from} cut short; --repair finishes it)"
    if same and trash == first_trash:
        return f"also in {where}, the same file (a move cut short): run that `chit projects mv` again to finish it"
    if same:
        return f"also in {where}, the same file under a name in a project and one in a trash: remove the name you do not want; --repair leaves both"
    acts = "a command given the id acts on one copy only" if not (trash or first_trash) else "restore and the commands given the id act on one copy only"
    return (
        f"also in {where}, a different file with the same id ({acts}): "
        f"compare the two files, then move the one you do not want out of the store; --repair leaves both"
    )
