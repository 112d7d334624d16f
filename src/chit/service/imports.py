"""Bring other tools' sessions into the store: `chit import --from TOOL`.

Invariants:
- an imported session is known by its key `<tool>:<source session id>`
  (also kept, with the source's path, cwd and other facts, in the header's
  `metadata.import`); an import never creates a second session for a key
  that exists in any project;
- a re-import compares the messages chit imported before (their ids are
  UUID v5s derived from the source, see `chit.importers.base`) with what
  the source holds now: the same → nothing is written; the source grew →
  only the new messages are appended, as whole lines under the session
  lock; lost messages → hidden by an undoable rewind, never removed;
  messages changed in place → the file is replaced atomically, keeping the
  session id and every change made in chit (tags, renames, state values);
- a session changed in chit since (a message of chit's own, a rewind, an
  undo or a pop not an import's) is left alone and reported, never
  overwritten; a session in the trash is never brought back;
- one bad record, message, file or conversation is counted and reported
  as a problem, never fatal; storage failures (full disk) still are;
- the import cache (`import-cache.json`) only lets a re-import skip units
  whose source stamp and chit files are exactly as the last import left
  them; deleting or keeping it gives the same sessions and the same report,
  only slower without it. It records, for each session of a unit, the
  outcome, the key and the state (size, mtime) of every chit file the outcome rests
  on, the trashed file of an "in trash" skip included; a unit with an
  outcome it cannot check that way (problems, "imported by another
  process") is never cached, so it is read again (`chit.service.import_cache`);
- imported sessions do not become the current session;
- new sessions are created many under one hold of their project's lock
  (`chit.service.creating.Creating`): the project's keys are read once a
  hold, not once a session, and the hold is let go between units once it
  is over, and at the end of the import;
- a refresh where nothing changed stats files and reads no session: the
  store's keys are looked up only when a unit must be read (from the
  index's rows of every directory they are current for, else from header
  lines: `import_keys`), and a unit read again first looks for its
  sessions where the cache last saw them;
- a grown append-only file whose session is as the last import left it
  is followed: only its new lines are read (`import_follow`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chit.store import codec
from chit.errors import ChitError, Conflict, InvalidData, InvalidInput, Locked, NotFound, ReadOnly
from chit.store.fold import message_to_record
from chit.model import Message, Project, derive_title, now
from chit.store.projects import slug_for, unusable_dir_reason, usable_dir, validate_name
from chit.service.base import Context, check_metadata, clean_line
from chit.service.queries import Queries
from chit.service.creating import Creating
from chit.service.sessions import KEY_MAX, Sessions, make_message, new_id
from chit.service.import_cache import MAPPING_VERSION, ImportCache
from chit.service.import_follow import Follower
from chit.service.import_plan import Plan, cached_places, import_keys, plan_update, write_plan

if TYPE_CHECKING:
    from chit.index.db import Index
    from chit.service.results import ImportReport
    from chit.importers import base as importer_base

ProgressFn = Callable[[int, int, str], None]


@dataclass
class _Run:
    """State of one import run."""

    report: ImportReport
    override: str | None
    find_keys: Callable[[], dict[str, tuple[str, str, bool]]]
    scopes: dict[str, Project] = field(default_factory=dict)
    written: set[str] = field(default_factory=set)  # slugs of the projects written to
    #: key -> (slug, session id, in trash) as the cache last saw the unit being read
    hints: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    _keys: dict[str, tuple[str, str, bool]] | None = None
    #: the sessions being created in one project, many under each hold of its lock
    creating: Creating | None = None
    names: dict[str, str] = field(default_factory=dict)  # slug -> name, for the report: read once a run

    @property
    def keys(self) -> dict[str, tuple[str, str, bool]]:
        """key -> (slug, session id, in trash) of every session of the
        source in the store; read on first use, so a refresh whose units
        are all cached reads no session header."""
        if self._keys is None:
            self._keys = self.find_keys()
        return self._keys


class Imports:
    """Other tools' sessions into the store."""

    def __init__(self, ctx: Context, queries: Queries, sessions: Sessions) -> None:
        self.ctx = ctx
        self.queries = queries
        self.sessions = sessions
        self.store = ctx.store
        self.projects = ctx.projects
        self.layout = ctx.layout
        self.cache = ImportCache(ctx)
        self._refresh_file = self.layout.home / "last-refresh.json"  # its mtime: the last complete refresh
        self.follower = Follower(ctx, MAPPING_VERSION)

    def import_from(
        self,
        source: str,
        path: str | Path | None = None,
        project: str | None = None,
        *,
        progress: ProgressFn | None = None,
    ) -> ImportReport:
        """Import (or bring up to date) every session of another tool.

        `source` is one of `chit.importers.NAMES`; `path` defaults to where
        that tool keeps its data; `project` puts every session in that
        project instead of the one of its working directory."""
        if project is not None:
            validate_name(project)
        return self._import(source, path, project if project is not None else self.ctx.project_name, progress, None)

    def refresh(
        self, sources: Sequence[tuple[str, str | None]], *, deadline: float | None = None, progress: ProgressFn | None = None,
    ) -> list[ImportReport]:
        """Bring every (tool, path) up to date (path None: the tool's
        default), each session in the project of its own working directory.

        A source that cannot be read (its path is gone, the file is not the
        tool's) is one problem in its report, never the end of the refresh.
        With `deadline` (a `time.monotonic()` value) a source stops reading
        changed units there (after one at least, so a slow machine still
        gets on) and leaves the rest to the next refresh; only a refresh
        that went through every source is recorded as the last refresh."""
        from chit.importers.base import Problem
        from chit.service.results import ImportReport

        reports = []
        for tool, path in sources:
            try:
                report = self._import(tool, path, None, progress, deadline)
            except (NotFound, InvalidInput, InvalidData) as exc:
                report = ImportReport(tool, path or "")
                report.problems.append(Problem(path or tool, None, exc.message))
            reports.append(report)
        if not any(r.incomplete for r in reports):
            self._mark_refreshed()
        return reports

    def _mark_refreshed(self) -> None:
        """Record a complete refresh (its mtime): touched, no write and no fsync on every `ls`."""
        try:
            self.store.no_links(self._refresh_file)
            os.utime(self._refresh_file, follow_symlinks=False)
        except (OSError, ChitError):
            self.store.write_json(self._refresh_file, {"refreshed_at": now()})

    def refresh_due(self, interval: float) -> bool:
        """Whether the last complete refresh is older than `interval` seconds (or never was)."""
        try:
            age = time.time() - os.stat(self._refresh_file).st_mtime
        except OSError:
            return True
        return not 0 <= age < interval

    def _import(
        self, source: str, path: str | Path | None, override: str | None, progress: ProgressFn | None, deadline: float | None,
    ) -> ImportReport:
        from chit import importers
        from chit.service.results import ImportReport

        importer = importers.get(source)
        root = (self.ctx.cwd / Path(path).expanduser()).absolute() if path is not None else importer.default_path()
        if root is None:
            raise InvalidInput(f"give the file to import from {source} ({importer.description})")
        if not root.exists():
            raise NotFound(f"no {source} data at {root}")
        scan = importer.scan(root)
        self.cache.start()
        report = ImportReport(source, str(root), problems=list(scan.problems))
        run = _Run(report, override, partial(import_keys, self.ctx, source))
        cache = self.cache.read()
        entries: dict[str, Any] = cache.setdefault("units", {})
        changed = False
        total = len(scan.units)
        read_one = False
        try:
            for done, unit in enumerate(scan.units):
                if progress is not None:
                    progress(done, total, unit.label)
                if self.cache.replayed(entries.get(unit.key), unit, report):
                    continue
                if deadline is not None and read_one and time.monotonic() > deadline:
                    report.incomplete = True  # the rest waits for the next refresh; one unit each time, however slow
                    break
                read_one = True
                old = entries.pop(unit.key, None)
                if (followed := self.follower.follow(unit, old, report)) is not None:
                    entries[unit.key], slug = followed
                    run.written.update([slug] if slug else [])
                    changed = True
                    continue
                run.hints = cached_places(old)
                entry = self._import_unit(unit, run)
                if run.creating is not None:
                    run.creating.pause()
                if entry is not None:
                    entries[unit.key] = entry
                changed = changed or entry != old
        finally:
            if run.creating is not None:
                run.creating.close()  # before the index is brought up to date: others may create meanwhile
        prefix = f"{source}:{root}"
        seen = {u.key for u in scan.units}
        for stale in [k for k in entries if k.startswith(prefix) and k not in seen]:  # gone from the source
            del entries[stale]
            self.follower.forget(stale)
            changed = True
        if changed:
            self.cache.write(cache)
        if progress is not None:
            progress(total, total, "")
        if run.written:
            self._update_index(sorted(run.written), progress)
        return report

    def _update_index(self, slugs: list[str], progress: ProgressFn | None) -> None:
        """Bring the index (rows and text) of the projects an import wrote up to
        date now (one progress over them all), so the next search builds nothing."""
        from chit.index.progress import to_bar

        def work(index: Index) -> None:
            with index.reporting([(slug, False) for slug in slugs], to_bar(progress)):
                for slug in slugs:
                    index.refresh([(slug, False)], text=True, settle=False)
                index.settle_text()  # once: it passes over the whole text index

        self.ctx.indexed(work)

    # -- one unit -------------------------------------------------------------
    def _import_unit(self, unit: importer_base.Unit, run: _Run) -> dict[str, Any] | None:
        from chit.importers import base as importer_base

        report = run.report
        problems_before = len(report.problems)
        try:
            batch = unit.load()
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError, OSError) as exc:
            reason = f"cannot read: {type(exc).__name__}: {str(exc)[:200]}"  # one short line, whatever the error holds
            report.problems.append(importer_base.Problem(unit.label, None, reason))
            return None
        report.problems.extend(batch.problems)
        for _, reason in batch.skipped:
            report.skip(reason)
        outcomes = [self._import_session(session, run) for session in batch.sessions]
        if len(report.problems) > problems_before or unit.stamp == "unreadable" or None in outcomes:
            return None
        entry = {"stamp": unit.stamp, "v": MAPPING_VERSION, "outcomes": outcomes, "skipped": [r for _, r in batch.skipped]}
        if batch.resume is not None and len(batch.sessions) == 1:
            self.follower.remember(unit.key, entry, batch.resume, batch.sessions[0])
        return entry

    def _find(self, key: str, run: _Run) -> tuple[str, str, bool] | None:
        """Where the session of `key` is: where the cache last saw it when
        its file still has that key (a grown source file costs one header,
        not every header of the store), else from every header."""
        hint = run.hints.get(key)
        if hint is not None and not hint[2]:
            header = self.store.read_header(hint[0], hint[1])
            if header is not None and header.get("key") == key:
                return hint
        return run.keys.get(key)

    # -- one session ----------------------------------------------------------
    def _import_session(self, source: importer_base.SourceSession, run: _Run) -> dict[str, Any] | None:
        """Create, update or leave one session; returns its outcome for the
        cache, or None when the outcome is not one the cache can replay."""
        from chit.importers import base as importer_base
        from chit.service.results import ImportedSession

        report = run.report
        where = str(source.metadata.get("path") or source.source)
        prepared = self._prepare(source, where, report)
        if prepared is None:
            return None
        key, title, metadata, messages = prepared
        shown = title or derive_title(next((m.content for m in messages if m.role == "user"), None))
        entry = ImportedSession("skipped", key, title=shown)
        found = self._find(key, run) or next((f for k in source.former_keys if (f := self._find(k, run))), None)
        if found is not None and found[2]:
            report.skip("in trash", entry)
            return self.cache.outcome("in trash", entry, found, key)
        if not messages:
            report.skip("no messages", entry)
            return self.cache.outcome("no messages", entry, found, key)
        try:
            if found is None:
                slug, session_id, action = self._create_imported(source, run, key, title, metadata, messages)
                written, hides, hidden, plan = len(messages), False, 0, None
            else:
                slug, session_id = found[0], found[1]
                plan = self._update_imported(slug, session_id, source, key, title, metadata, messages)
                action, written, hides, hidden = plan.action, plan.messages, plan.hides, plan.hidden
        except (Locked, ReadOnly, Conflict) as exc:
            report.problems.append(importer_base.Problem(where, None, f"{key}: {exc.message}"))
            return None
        name = run.names.get(slug)
        if name is None:
            name = run.names[slug] = (self.projects.get(slug) or self.ctx.project_by_slug(slug)).name
        shown_again, changed = (plan.shown_again, plan.changed) if plan else (0, 0)
        done = ImportedSession(action, key, session_id, shown, name, written, hidden=hidden, shown_again=shown_again, changed=changed)
        left = ImportedSession("skipped", key, session_id, shown, name, 0, action)
        if action in ("imported", "updated"):
            run.written.add(slug)
        if action == "imported":
            report.imported += 1
            report.sessions.append(done)
        elif action == "updated":
            report.updated += 1
            report.sessions.append(done)
        else:
            report.skip(action, left)
        report.messages += written
        report.hidden += hidden
        report.shown_again += shown_again
        report.changed += changed
        if action == "imported by another process":  # the next import reads it as unchanged or updated
            return None
        if action in ("imported", "updated", "unchanged"):  # what the next import finds: the file as written
            outcome = self.cache.outcome("unchanged", None, (slug, session_id, False), key)
            if outcome is not None and hides:  # new lines may reuse ids it hides: each change is read whole
                outcome["hides"] = True
            return outcome
        return self.cache.outcome(action, left, (slug, session_id, False), key)

    def _prepare(
        self, source: importer_base.SourceSession, where: str, report: ImportReport
    ) -> tuple[str, str | None, dict[str, Any], list[Message]] | None:
        """Validate what an importer produced; bad messages become problems."""
        from chit.importers import base as importer_base

        try:
            title = clean_line(source.title, "title") if source.title else None
        except InvalidInput:
            title = None
        try:
            key = clean_line(source.key, "source session id", KEY_MAX)
            facts = {"source": source.source, "id": source.source_id, "cwd": source.cwd, "title": title, **source.metadata}
            metadata = check_metadata({"import": {k: v for k, v in facts.items() if v is not None}})
        except InvalidInput as exc:
            report.problems.append(importer_base.Problem(where, None, f"{source.key[:80]!r}: {exc.message}"))
            return None
        messages = []
        for m in source.messages:
            try:
                messages.append(make_message(
                    m.role, m.content, invocation_id=m.invocation_id, model=m.model, tokens=m.tokens,
                    metadata=m.metadata, ts=m.ts, message_id=m.id,
                ))
            except InvalidInput as exc:
                report.problems.append(importer_base.Problem(where, None, f"{key}: a {m.role} message: {exc.message}"))
        return key, title, metadata, messages

    def _create_imported(
        self, source: importer_base.SourceSession, run: _Run, key: str, title: str | None,
        metadata: dict[str, Any], messages: list[Message],
    ) -> tuple[str, str, str]:
        scope = self._import_scope(source, run)  # recorded under the project's lock by its first create
        if run.creating is None or run.creating.scope.slug != scope.slug:
            if run.creating is not None:
                run.creating.close()
            run.creating = Creating(self.ctx, scope)
        try:
            session_id = run.creating.create(new_id(), title, key, metadata, messages, source.created_at)
        except Conflict:
            found = run.creating.holder(key)  # another import made it just now
            if found is None:
                raise
            run.keys[key] = (scope.slug, found, False)
            return scope.slug, found, "imported by another process"
        run.keys[key] = (scope.slug, session_id, False)
        return scope.slug, session_id, "imported"

    def _update_imported(
        self, slug: str, session_id: str, source: importer_base.SourceSession, key: str,
        title: str | None, metadata: dict[str, Any], messages: list[Message],
    ) -> Plan:
        """What was written: the plan (its action, messages written and hidden)."""
        project = self.ctx.project_by_slug(slug)
        with self.store.locked(slug, session_id, project.key) as held:
            held.check_writable()
            log = held.read()
            facts = (log.header.get("metadata") or {}).get("import")
            kept_title = log.header.get("title")
            if kept_title == (facts.get("title") if isinstance(facts, dict) else None):
                kept_title = title  # the title is still the imported one: follow the source
            header = {
                **log.header, "version": codec.FORMAT_VERSION, "created_at": source.created_at,
                "key": key, "title": kept_title, "metadata": metadata,
            }
            plan = plan_update(log, header, [message_to_record(m) for m in messages])
            write_plan(held, plan)
            return plan

    def _import_scope(self, source: importer_base.SourceSession, run: _Run) -> Project:
        if run.override is not None:
            wanted = f"-p {run.override}"
        elif source.cwd and usable_dir(source.cwd):
            wanted = f"dir {source.cwd}"
        else:
            if source.cwd and os.path.isabs(source.cwd):
                self._unusable_cwd(source, run)
            wanted = f"name {source.project or source.source}"
        scope = run.scopes.get(wanted)
        if scope is None:
            kind, _, value = wanted.partition(" ")
            if kind == "-p":
                scope = self.ctx.project(value, create=True)
            elif kind == "dir":
                scope = self.projects.for_directory(Path(value))
            else:
                scope = self._project_named(value)
            run.scopes[wanted] = scope
        return scope

    def _unusable_cwd(self, source: importer_base.SourceSession, run: _Run) -> None:
        """A recorded working directory no path here can name (a NUL byte,
        or longer than the system allows): the session goes to the tool's
        project, and the file is reported (in a short line: never the whole
        directory)."""
        from chit.importers import base as importer_base

        where = str(source.metadata.get("path") or source.source)
        reason = f"{unusable_dir_reason(source.cwd or '')}; put in project {source.project or source.source!r}"
        run.report.problems.append(importer_base.Problem(where, None, reason))

    def _project_named(self, name: str) -> Project:
        """The name-only project `name` (never a directory's that shares it)."""
        key = f"name:{validate_name(name)}"
        slug = slug_for(name, key)
        return self.projects.get(slug) or Project(key=key, name=name, slug=slug, path=None, created_at=now())

