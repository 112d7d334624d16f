"""Projects that move: relink a project to a new directory, merge two
projects, and notice a repository that turned up at a new path.

Invariants:
- a move never loses or rewrites a session: each file is moved whole (a
  hard link, then the old name removed, under the session's lock) from
  `projects/<old>/sessions/` to `projects/<new>/sessions/`, keeping its id;
  trashed sessions follow to `trash/<new>/`;
- both projects' locks are held for the whole move (taken in slug order);
  nothing moves if a session id exists on both sides;
- the project record is written before the first file moves and the old
  one removed after the last file and directory, so an interrupted move
  leaves two valid projects (a file cut short between its link and its
  unlink is under both); running the same `mv` again finishes it, since
  OLD is looked up among the projects other than the target (which by
  then lists OLD's path and name as aliases);
- the moved project's key becomes the new path; its old key and name join
  `aliases` (session headers keep the key they were created under);
- the index's rows of the moved files follow them (`chit.index.moves`), so
  the move leaves the index as current as it found it;
- a move past a second tells `report_progress` how many sessions moved of
  all it moves (`chit.service.ticker`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from chit.errors import Conflict, InvalidInput, NotFound
from chit.model import Project
from chit.store.projects import find_root, git_root_commit, slug_for
from chit.service.base import Context
from chit.service.queries import Queries
from chit.store.sessions import same_file

if TYPE_CHECKING:
    from chit.service.results import MoveReport, RelinkHint
    from chit.service.ticker import Report

#: (what, done, total): a move of many sessions reports its progress; the command line sets it
report_progress: Report | None = None


def _looks_like_path(text: str) -> bool:
    return text.startswith((".", "~")) or os.sep in text or (os.altsep is not None and os.altsep in text)


def _remove_empty(directory: Path) -> None:
    try:
        directory.rmdir()
    except OSError:
        pass


class ProjectMoves:
    """Projects that move: find one by name or path, move or merge it,
    notice a repository at a new path."""

    def __init__(self, ctx: Context, queries: Queries) -> None:
        self.ctx = ctx
        self.queries = queries
        self.store = ctx.store
        self.projects = ctx.projects
        self.layout = ctx.layout

    def find_project(self, spec: str, *, besides: str | None = None) -> Project:
        """A project by name, slug, alias, or by a path it has (or had);
        never the project whose slug is `besides`."""
        if not isinstance(spec, str) or not spec.strip() or "\x00" in spec:
            raise InvalidInput("give a project name or path")
        if not _looks_like_path(spec):
            return self.projects.named(spec, create=False, besides=besides)
        wanted = {str(Path(spec).expanduser().absolute())}
        if Path(spec).expanduser().is_dir():
            wanted.add(str(find_root(Path(spec).expanduser())))
        for project in self.projects.all():
            if project.slug != besides and wanted & {project.key, project.path or "", *project.aliases}:
                return project
        raise NotFound(f"no project at {spec} (see `chit projects`)")

    def _move_source(self, old: str, target: Project) -> Project:
        """The project `old` names, other than the target: after a move cut
        short the target already lists the old path and name as aliases,
        and the old project, still there, is the one to move."""
        try:
            return self.find_project(old, besides=target.slug)
        except NotFound:
            if self.find_project(old).slug == target.slug:
                self._remove_left_behind(target)
                raise InvalidInput(f"project {target.name!r} is already at {target.path or target.slug}") from None
            raise

    def _remove_left_behind(self, target: Project) -> None:
        """The old project's directory, empty: what a move cut short between
        removing the old record and its directory leaves (`_remove_project`).
        The move run again finds itself done and removes it (rmdir: only
        ever an empty directory)."""
        for name in (target.name, *target.aliases):  # (an old name equal to the new one is no alias)
            for key in target.aliases:
                slug = slug_for(name, key)
                if slug != target.slug:
                    _remove_empty(self.layout.project_dir(slug))

    def _move_target(self, new: str | Path) -> Project:
        text = str(new)
        directory = Path(text).expanduser()
        if directory.is_dir():
            root = find_root(directory)
            key = str(root)
            name = root.name or "root"
            slug = slug_for(name, key)
            return self.projects.get(slug) or Project(key=key, name=name, slug=slug, path=key, created_at="")
        if _looks_like_path(text):
            raise NotFound(f"no such directory: {text}")
        try:
            return self.projects.named(text, create=False)
        except NotFound:
            raise NotFound(f"{text!r} is neither a directory nor a project (see `chit projects`)") from None

    @contextmanager
    def _project_locks(self, *slugs: str) -> Iterator[None]:
        with ExitStack() as stack:
            for slug in sorted(set(slugs)):
                stack.enter_context(self.store.project_lock(slug))
            yield

    def move_project(self, old: str, new: str | Path) -> MoveReport:
        """Relink project `old` (name, slug, alias or path) to the directory
        `new`, or merge it into the project `new` names. Returns what moved."""
        from chit.service.results import MoveReport
        from chit.service.ticker import told

        target = self._move_target(new)
        source = self._move_source(old, target)
        merged = self.projects.get(target.slug) is not None
        store = self.store
        with self._project_locks(source.slug, target.slug):
            live = store.session_ids(source.slug)
            trashed = store.session_ids(source.slug, trash=True)
            clash = [i for i in live + trashed if self._taken(target.slug, source.slug, i)]
            if clash:
                raise Conflict(f"session {clash[0][:8]} exists in both projects; nothing was moved")
            target = self._merged_record(source, target)
            self.projects.write(target)
            moves = [(session_id, False) for session_id in live] + [(session_id, True) for session_id in trashed]
            for session_id, trash in told(moves, "sessions moved", report_progress):
                if trash:
                    store.move(store.session_path(source.slug, session_id, trash=True), store.session_path(target.slug, session_id, trash=True))
                    continue
                with store.locked(source.slug, session_id, source.key) as held:
                    store.move(held.path, store.session_path(target.slug, session_id))
            self._carry_current(source, target)
            self._move_index_rows(source, target)
            self._remove_project(source)
        return MoveReport(source, target, len(live), len(trashed), merged)

    def _move_index_rows(self, source: Project, target: Project) -> None:
        """The index's rows follow the files, so the next search or `ls`
        finds the moved sessions indexed (not a project's worth of files to
        read again)."""
        from chit.index.moves import move_rows

        self.ctx.indexed(lambda index: move_rows(index, source.slug, target.slug))

    def _taken(self, target: str, source: str, session_id: str) -> bool:
        """Whether the target holds another session with this id. One file
        under both names is a move cut short, which `store.move` finishes."""
        store = self.store
        for trash in (False, True):
            there = store.session_path(target, session_id, trash)
            if store.exists(target, session_id, trash) and not same_file(store.session_path(source, session_id, trash), there):
                return True
        return False

    def _merged_record(self, source: Project, target: Project) -> Project:
        """The target's project.json after taking `source` in."""
        existing = self.projects.get(target.slug)
        base = existing or replace(target, created_at=source.created_at or target.created_at)
        aliases = [a for a in (*base.aliases, source.key, source.name, *source.aliases) if a not in (base.key, base.name)]
        git_root = base.git_root or (git_root_commit(Path(base.path)) if base.path else None) or source.git_root
        return replace(base, aliases=tuple(dict.fromkeys(aliases)), git_root=git_root)

    def _carry_current(self, source: Project, target: Project) -> None:
        source_file = self.layout.current_file(source.slug)
        moved = self.store.read_json(source_file)
        if isinstance(moved, dict) and self.queries.current_id(target) is None and self.store.exists(target.slug, str(moved.get("id"))):
            self.store.write_json(self.layout.current_file(target.slug), moved)
        self.store.unlink(source_file)

    def _remove_project(self, project: Project) -> None:
        """Remove what is left of a moved project: its lock, empty
        directories and, last, its record, so that a move cut short before
        that still finds the old project when run again (never a file chit
        does not know)."""
        layout = self.layout
        self.store.unlink(layout.project_dir(project.slug) / ".lock")
        for trash in (False, True):  # its change journals: caches of directories now gone
            self.store.unlink(layout.changes_file(project.slug, trash))
        for directory in (layout.sessions_dir(project.slug), layout.trash_dir(project.slug)):
            _remove_empty(directory)
        self.store.unlink(layout.project_file(project.slug))
        _remove_empty(layout.project_dir(project.slug))

    def relink_hint(self) -> RelinkHint | None:
        """When the working directory is a git work tree whose root commit
        is recorded by another project whose directory is gone: that
        project, and where it is now. None otherwise (or with `-p`)."""
        if self.ctx.project_name is not None:
            return None
        root = find_root(self.ctx.cwd)
        if not (root / ".git").exists():
            return None
        here = self.projects.for_directory(self.ctx.cwd)
        # a project whose directory is gone, or that came from another machine by sync (no directory here yet)
        gone = [p for p in self.projects.all() if p.git_root and p.slug != here.slug and not (p.path and os.path.isdir(p.path))]
        if not gone:
            return None
        identity = here.git_root or git_root_commit(root)
        for project in gone:
            if project.git_root == identity:
                from chit.service.results import RelinkHint

                return RelinkHint(project, str(root))
        return None
