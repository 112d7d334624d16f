"""Bringing what a merge added to the mirror into the live store.

Invariants:
- only lines the merge added to a mirror file (present at the new commit,
  absent at the last imported one) are candidates, so a local `compact`
  that dropped hidden lines is not undone by the lines still in the mirror;
- a candidate already in the live file is never appended again;
- after its lines are in, a session sits where its fold says: in the trash
  when it is deleted, in its project when it is not (a deletion that did
  not see messages written elsewhere is overridden by the fold, and the
  session comes back: it is reported as restored, on both machines);
- a session id already in the live store is always continued where it is,
  whichever mirror folder it came through, so one session never has two
  live files: one new here is looked for and created under the store's
  `ids_lock`, as a snapshot import creates its id, so a session made
  meanwhile with that id (an import, a save) is continued instead;
- lines appended to a session file never include a header: a copy of
  the id made elsewhere (its own header) adds only its events.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from chit.errors import ChitError, InvalidInput
from chit.model import Project, Session
from chit.service.base import Context
from chit.store import codec, emptied
from chit.store.files import read_whole
from chit.sync.mirror import (
    LineForm, LiveFile, Mirror, as_it_is, create_whole, identity_of, local_project_for, read_record,
)
from chit.sync.state import Signature, signature


@dataclass(frozen=True)
class Arrival:
    """One session a sync changed here."""

    session_id: str
    project: str
    title: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.session_id, "short_id": self.session_id[:8], "project": self.project, "title": self.title}


@dataclass
class Arrivals:
    """What came in: sessions new here, grown (new messages), changed
    (other events only), restored (brought back from the trash, or kept out
    of it, because another machine wrote to them) and trashed."""

    new: list[Arrival] = field(default_factory=list)
    grown: list[Arrival] = field(default_factory=list)
    changed: list[Arrival] = field(default_factory=list)
    restored: list[Arrival] = field(default_factory=list)
    trashed: list[Arrival] = field(default_factory=list)
    emptied: list[Arrival] = field(default_factory=list)  # removed here: another machine emptied its trash everywhere
    kept: list[Arrival] = field(default_factory=list)  # an emptying everywhere that did not see all of them
    skipped: list[str] = field(default_factory=list)  # mirror files with no project this chit can make

    def as_dict(self) -> dict[str, Any]:
        kinds = ("new", "grown", "changed", "restored", "trashed", "emptied", "kept")
        return {**{name: [a.as_dict() for a in getattr(self, name)] for name in kinds}, "skipped": list(self.skipped)}


def _type_of(line: bytes) -> str | None:
    """The event type a line records, None for a line that is no event."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    kind = record.get("type") if isinstance(record, dict) else None
    return kind if isinstance(kind, str) else None


def _is_header(line: bytes) -> bool:
    return b'"session"' in line and _type_of(line) == "session"  # most lines: no parse


def types_of(lines: list[bytes]) -> set[str]:
    """The event types among `lines`."""
    return {kind for kind in map(_type_of, lines) if kind is not None}


class Importer:
    """Applies changed mirror files to the live store of `ctx`."""

    def __init__(
        self, ctx: Context, mirror: Mirror, live: dict[str, LiveFile], exported: dict[str, Signature], form: LineForm = as_it_is
    ) -> None:
        self.ctx = ctx
        self.form = form  # how a live line looks in the mirror (redacted or not)
        self.exported = exported  # the state's signatures: kept true for the files written here
        self.store = ctx.store
        self.mirror = mirror
        self.live = live
        self.arrivals = Arrivals()
        self.written: set[str] = set()  # slugs of the projects whose live files this import changed (for the index)
        self._by_identity: dict[str, Project] | None = None

    def apply(self, path: str, old: bytes | None, new: bytes) -> None:
        """Bring mirror file `path` (`old` at the last import, `new` now) in."""
        session_id = Path(path).name[:-6]
        added = codec.lines_lacking(codec.whole_lines(new), codec.whole_lines(old or b""))
        if session_id in self.live:
            target = self.live[session_id]
            project = self.ctx.project_by_slug(target.slug)
            appended = self._append(target, project, added)
            created = False
        else:
            lines = codec.whole_lines(new)
            if not lines:
                return
            try:
                project = self._project_for(path)
            except InvalidInput:
                self.arrivals.skipped.append(path)  # a folder this chit cannot place; the mirror keeps it
                return
            file = self.store.session_path(project.slug, session_id)
            with self.store.ids_lock():  # as a snapshot import: no other writer makes this id meanwhile
                made_since = self._made_since(session_id)
                created = made_since is None and create_whole(file, lines, self.store.durable)
            target = made_since or LiveFile(project.slug, session_id, False)
            if created:
                self.exported[target.relative()] = signature(os.stat(file, follow_symlinks=False))
            else:
                project = self.ctx.project_by_slug(target.slug)
            appended = lines if created else self._append(target, project, added)
            self.live[session_id] = target
        if not appended and not created and not self._misplaced(target, project):
            return
        self.written.add(target.slug)
        session = self.ctx.read_session(project, session_id, trash=target.trash)
        arrival = Arrival(session_id, project.name, session.title)
        kinds = types_of(appended)
        if created and (self.mirror.root / emptied.FOLDER / f"{session_id}.jsonl").exists():
            self._kept(arrival)  # emptied everywhere from here, sent back by a machine that wrote to it
        elif created:
            self.arrivals.new.append(arrival)
        elif appended:
            (self.arrivals.grown if "message" in kinds else self.arrivals.changed).append(arrival)
        if "trash" in kinds and not created and getattr(session, "restored_by", None) and session.deleted_at is None:
            self.arrivals.restored.append(arrival)  # a deletion elsewhere, overridden by what was written here
        self._place(target, project, session, arrival)

    def _made_since(self, session_id: str) -> LiveFile | None:
        """The file of a session id that no file had when this sync listed
        the store, made since (a snapshot import, a save): it is continued
        where it is."""
        for trash in (False, True):
            holders = self.store.holders(session_id, trash)
            if holders:
                return LiveFile(holders[0], session_id, trash)
        return None

    def empty(self, session_id: str, seen: emptied.Seen) -> None:
        """Another machine emptied this session from its trash everywhere:
        remove it here too, unless it holds an event that machine did not
        see (then it is kept). A copy out of the trash here that it saw
        whole only missed the trash event, which that machine wrote."""
        target = self.live.get(session_id)
        if target is None:
            return
        project = self.ctx.project_by_slug(target.slug)
        session = self.ctx.read_session(project, session_id, trash=target.trash)
        arrival = Arrival(session_id, project.name, session.title)
        with self.store.locked(target.slug, session_id, project.key, trash=target.trash) as held:
            data = read_whole(held.fd, os.fstat(held.fd).st_size)
            if not emptied.covered(data, seen):
                self._kept(arrival)
                return
            self.store.unlink(self.store.session_path(target.slug, session_id, trash=target.trash))
        self.written.add(target.slug)
        self.exported.pop(target.relative(), None)
        del self.live[session_id]
        self.arrivals.emptied.append(arrival)

    def _kept(self, arrival: Arrival) -> None:
        if all(a.session_id != arrival.session_id for a in self.arrivals.kept):
            self.arrivals.kept.append(arrival)

    def _append(self, target: LiveFile, project: Project, added: list[bytes]) -> list[bytes]:
        if not added:
            return []
        with self.store.locked(target.slug, target.session_id, project.key, trash=target.trash) as held:
            before = os.fstat(held.fd)
            have = codec.whole_lines(read_whole(held.fd, before.st_size))
            lines = codec.lines_lacking(added, have if self.form is as_it_is else [*have, *map(self.form, have)])
            if have:  # the file has its header: another copy's (the same id made on two machines) would be a second
                lines = [line for line in lines if not _is_header(line)]
            held.append_lines(lines)
            if self.exported.get(target.relative()) == signature(before):
                # nothing local was pending: the file is still all in the mirror
                self.exported[target.relative()] = signature(os.fstat(held.fd))
        return lines

    def _misplaced(self, target: LiveFile, project: Project) -> bool:
        """Whether a session's place disagrees with its fold (a sync cut
        short between an append and its move)."""
        try:
            deleted = self.ctx.read_session(project, target.session_id, trash=target.trash).deleted_at is not None
        except ChitError:
            return False
        return deleted != target.trash

    def _place(self, target: LiveFile, project: Project, session: Session, arrival: Arrival) -> None:
        """Move the session to the trash or out of it, as its fold says."""
        deleted = session.deleted_at is not None
        if deleted == target.trash:
            return
        source = self.store.session_path(target.slug, target.session_id, trash=target.trash)
        destination = self.store.session_path(target.slug, target.session_id, trash=deleted)
        if destination.exists():
            return  # both copies exist: a cut-short move that `chit doctor` reports; never overwrite
        moved = LiveFile(target.slug, target.session_id, deleted)
        with self.store.locked(target.slug, target.session_id, project.key, trash=target.trash) as held:
            current = signature(os.fstat(held.fd))
            self.store.move(source, destination)
            if self.exported.get(target.relative()) == current:
                self.exported[moved.relative()] = current
        self.live[target.session_id] = moved
        if deleted:
            self.arrivals.trashed.append(arrival)
        elif arrival not in self.arrivals.restored:
            self.arrivals.restored.append(arrival)

    def _project_for(self, path: str) -> Project:
        """The local project of a mirror folder, made here if it is new."""
        mirror_slug = path.split("/")[1]
        identity = self.mirror.names.get(mirror_slug)
        if identity is None:
            raise InvalidInput(f"the sync repository's folder {mirror_slug!r} has no project.json")
        known = self._identities()
        if identity in known:
            return known[identity]
        record = read_record(self.mirror.root / "projects" / mirror_slug / "project.json")
        project = local_project_for(identity, record[1] if record else "project")
        with self.store.project_lock(project.slug):
            project = self.ctx.projects.ensure(project)
        known[identity] = project
        return project

    def _identities(self) -> dict[str, Project]:
        if self._by_identity is None:
            self._by_identity = {}
            for project in self.ctx.projects.all():
                self._by_identity.setdefault(identity_of(project), project)
        return self._by_identity
