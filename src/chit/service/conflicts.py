"""Conflict copies left by a file-sync tool (Syncthing, Dropbox, Nextcloud,
ownCloud; names in `chit.store.conflicts`), checked and merged by
`chit doctor` (docs/reliability.md, "Conflict copies").

Invariants:
- a session's copy is merged under the session's lock by appending, byte
  for byte, the complete lines of the copy that the file lacks (its header
  excepted): a set union, so no line either side wrote is lost, and
  merging again appends nothing. Only then, the lines fsynced, is the copy
  removed; a merge killed in between is finished by the next one;
- in a format 2 session the fold depends only on the set of lines, so the
  union is the session both machines wrote. In a format 1 session the
  fold follows the file's order: the copy's new lines come after the
  file's own, and a rewind or pop among them counts positions in that
  order, so it may hide other messages than it did where it was written;
  it only hides (undo brings them back), and the finding says so;
- a copy of a session that is not here, or of a file of a newer format,
  is reported and left alone; so is a copy that is not a regular file;
- project.json's copy is merged field by field under the project's lock
  (`merge_project`) and written atomically; current.json's copy (which
  session was current on some machine) is removed, this one's kept.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from chit.errors import ChitError
from chit.model import Project
from chit.service.base import Context
from chit.store import codec, conflicts
from chit.store.files import NotRegular, open_regular

if TYPE_CHECKING:
    from chit.service.results import DoctorReport

COPY = "conflict copy from a file-sync tool"


def _read_copy(path: Path) -> bytes | None:
    """A copy's bytes; None when it is not a regular file (never followed)."""
    try:
        fd = open_regular(path, os.O_RDONLY)
    except (NotRegular, OSError):
        return None
    try:
        st = os.fstat(fd)
        return os.pread(fd, st.st_size, 0) if stat.S_ISREG(st.st_mode) else None
    finally:
        os.close(fd)


def _version(header: bytes | None) -> int:
    try:
        return int(codec.decode_header(header)["version"]) if header is not None else codec.FORMAT_VERSION
    except codec.BadRecord:
        return codec.FORMAT_VERSION


class ConflictCopies:
    """The conflict copies of one store, for one doctor run."""

    def __init__(self, ctx: Context, repair: bool, report: DoctorReport) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.layout = ctx.layout
        self.repair = repair
        self.report = report

    def check(self, slug: str) -> None:
        """Every conflict copy of a project: its record's, its sessions' and
        its trashed sessions'."""
        for copy, target in conflicts.copies(_names(self.layout.project_dir(slug)), sessions=False):
            self._project_file(slug, self.layout.project_dir(slug) / copy, target)
        for trash in (False, True):
            directory = self.layout.trash_dir(slug) if trash else self.layout.sessions_dir(slug)
            for copy, target in conflicts.copies(_names(directory), sessions=True):
                self._session(slug, trash, directory / copy, target.removesuffix(".jsonl"))

    def _found(self, path: Path, problem: str, repaired: bool) -> None:
        from chit.service.results import Finding

        self.report.findings.append(Finding(os.path.relpath(path, self.layout.home), None, problem, repaired))

    def _session(self, slug: str, trash: bool, copy: Path, session_id: str) -> None:
        data = _read_copy(copy)
        if data is None:
            self._found(copy, f"{COPY}, not a regular file; left alone", False)
            return
        if not self.store.exists(slug, session_id, trash):
            self._found(copy, f"{COPY} of session {session_id[:8]}, which is not here; left alone", False)
            return
        if not self.repair:
            self._found(copy, f"{COPY} of session {session_id[:8]}; `chit doctor --repair` merges it", False)
            return
        project = self.ctx.project_by_slug(slug)
        try:
            with self.store.locked(slug, session_id, project.key, trash) as held:
                held.check_writable()
                added, version = _merge_lines(held.data(), data)
                if added:
                    held.append_lines(added)
            copy.unlink(missing_ok=True)
        except ChitError as exc:
            self._found(copy, f"{COPY} of session {session_id[:8]}; not merged: {exc.message}", False)
            return
        note = "" if version >= 2 or not added else (
            "; format 1: its lines come after this file's own, so a rewind or pop among them may hide other messages (`chit undo` brings them back)"
        )
        self._found(copy, f"{COPY} of session {session_id[:8]}: {len(added)} line(s) it lacked appended, copy removed{note}", True)

    def _project_file(self, slug: str, copy: Path, target: str) -> None:
        data = _read_copy(copy)
        if data is None:
            self._found(copy, f"{COPY}, not a regular file; left alone", False)
            return
        if not self.repair:
            self._found(copy, f"{COPY} of {target}; `chit doctor --repair` merges it", False)
            return
        if target == "current.json":
            copy.unlink(missing_ok=True)
            self._found(copy, f"{COPY} of current.json: this machine's current session kept, copy removed", True)
            return
        try:
            theirs = orjson.loads(data)
        except orjson.JSONDecodeError:
            theirs = None
        with self.store.project_lock(slug):
            ours = self.store.read_json(self.layout.project_file(slug))
            merged = merge_project(ours, theirs)
            if merged is not None and merged != ours:
                self.store.write_json(self.layout.project_file(slug), merged)
            copy.unlink(missing_ok=True)
        self._found(copy, f"{COPY} of project.json: fields merged, copy removed", True)


def _names(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


def _merge_lines(ours: bytes | bytearray, theirs: bytes) -> tuple[list[bytes], int]:
    """The complete lines of `theirs` that `ours` lacks, in their order and
    each once (the header excepted), and `ours`' format version."""
    own = codec.whole_lines(ours)
    their_lines = codec.whole_lines(theirs)
    if their_lines and _is_header(their_lines[0]):
        their_lines = their_lines[1:]  # a header is never an event, even one that differs
    return codec.lines_lacking(their_lines, own), _version(own[0] if own else None)


def _is_header(line: bytes) -> bool:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(record, dict) and record.get("type") == "session"


def merge_project(ours: Any, theirs: Any) -> dict[str, Any] | None:
    """Two versions of one project.json, as one: this file's `key`, `name`
    and `path` (this machine's), the other's name and path kept among the
    `aliases` when they differ (so `-p` finds the project by either), the
    earlier `created_at`, the `git_root` either knows (this one's first),
    and any other field either has (this one's first). A side that is not
    a record counts as absent; None when neither is one."""
    mine = ours if isinstance(ours, dict) and isinstance(ours.get("key"), str) else None
    other = theirs if isinstance(theirs, dict) and isinstance(theirs.get("key"), str) else None
    if mine is None or other is None:
        return mine or other
    merged = {**other, **mine}
    aliases = [a for a in [*(mine.get("aliases") or []), *(other.get("aliases") or [])] if isinstance(a, str)]
    for field in ("name", "key"):
        if other.get(field) != mine.get(field) and isinstance(other.get(field), str):
            aliases.append(other[field])
    merged["aliases"] = [a for a in dict.fromkeys(aliases) if a not in (mine.get("name"), mine.get("key"))]
    stamps = [p["created_at"] for p in (mine, other) if isinstance(p.get("created_at"), str) and p["created_at"]]
    if stamps:
        merged["created_at"] = min(stamps)
    merged["git_root"] = mine.get("git_root") or other.get("git_root")
    return merged
