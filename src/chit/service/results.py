"""What the maintenance, export, import and project operations return
(re-exported by `chit.api`).

Invariant: plain data with `as_dict()` giving the documented JSON fields;
no I/O. Kept apart from the operations so that commands which never
return them do not pay for building their classes at start-up.
"""

from __future__ import annotations

import shlex
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chit.importers.base import Problem
    from chit.model import Project, Session

PROBLEMS_SHOWN = 200  # an import report lists at most this many problems

@dataclass(frozen=True)
class CompactReport:
    id: str
    messages_dropped: int
    lines_dropped: int
    bytes_before: int
    bytes_after: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "messages_dropped": self.messages_dropped,
            "lines_dropped": self.lines_dropped,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
        }


@dataclass(frozen=True)
class Finding:
    path: str
    line: int | None
    problem: str
    repaired: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "problem": self.problem, "repaired": self.repaired}


@dataclass
class DoctorReport:
    sessions_checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    index_checked: int = 0  # sessions whose index row was compared with the file (0: no index)

    @property
    def ok(self) -> bool:
        return all(f.repaired for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sessions_checked": self.sessions_checked,
            "index_checked": self.index_checked,
            "ok": self.ok,
            "findings": [f.as_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class ImportResult:
    session: Session
    id_changed: bool

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.session.id, "short_id": self.session.short_id, "title": self.session.title,
                "messages": len(self.session.messages), "id_changed": self.id_changed}


@dataclass(frozen=True)
class ExportedFile:
    id: str
    path: Path

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "path": str(self.path)}


@dataclass(frozen=True)
class ImportedSession:
    """What an import did with one source session."""

    action: str  # imported | updated | skipped
    key: str
    id: str | None = None
    title: str | None = None
    project: str | None = None
    messages: int = 0  # messages written by this import
    reason: str | None = None
    hidden: int = 0  # messages shown before that this import hid (the source lost them; `chit undo` shows them)
    shown_again: int = 0  # hidden messages this import showed again (the source whole again: its rewind undone)
    changed: int = 0  # messages the source changed, updated in place

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "key": self.key, "id": self.id, "title": self.title,
                "project": self.project, "messages": self.messages, "reason": self.reason, "hidden": self.hidden,
                "shown_again": self.shown_again, "changed": self.changed}


@dataclass
class ImportReport:
    source: str
    path: str
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    messages: int = 0
    sessions: list[ImportedSession] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped_reasons: Counter[str] = field(default_factory=Counter)
    #: the refresh's time ran out before every unit was looked at
    incomplete: bool = False
    #: sessions brought up to date from the lines their source file gained
    followed: int = 0
    #: messages the import hid, in all (`ImportedSession.hidden`)
    hidden: int = 0
    #: messages the import showed again and updated in place, in all
    shown_again: int = 0
    changed: int = 0

    @property
    def errors(self) -> int:
        return len(self.problems)

    def skip(self, reason: str, entry: ImportedSession | None = None) -> None:
        self.skipped += 1
        self.skipped_reasons[reason] += 1
        if entry is not None and reason != "unchanged":
            self.sessions.append(entry)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "path": self.path,
            "imported": self.imported,
            "updated": self.updated,
            "skipped": self.skipped,
            "errors": self.errors,
            "messages_written": self.messages,
            "messages_hidden": self.hidden,
            "messages_shown_again": self.shown_again,
            "messages_changed": self.changed,
            "followed": self.followed,
            "skipped_reasons": dict(sorted(self.skipped_reasons.items())),
            "sessions": [s.as_dict() for s in self.sessions],
            "problems": [p.as_dict() for p in self.problems[:PROBLEMS_SHOWN]],
            "incomplete": self.incomplete,
        }


@dataclass(frozen=True)
class MoveReport:
    """What `move_project` did: `source` as it was, `target` as it is now."""

    source: Project
    target: Project
    sessions: int
    trashed: int
    merged: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.source.as_dict(),
            "to": self.target.as_dict(),
            "sessions": self.sessions,
            "trashed": self.trashed,
            "merged": self.merged,
        }


@dataclass(frozen=True)
class RelinkHint:
    """The working directory's repository has history in `project`, whose
    recorded path no longer exists."""

    project: Project
    path: str

    @property
    def command(self) -> str:
        return f"chit projects mv {shlex.quote(self.project.path or self.project.slug)} {shlex.quote(self.path)}"

    def as_dict(self) -> dict[str, Any]:
        return {"project": self.project.as_dict(), "path": self.path, "command": self.command}
