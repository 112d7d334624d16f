"""Domain errors and exit statuses.

Invariant: every foreseeable fault in chit is raised as a `ChitError`
subclass carrying a stable string `code` and an `ExitStatus`. Each surface
(CLI, REPL) maps them once; nothing else decides exit codes.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    AMBIGUOUS = 4
    INVALID = 5
    CONFLICT = 6
    PROVIDER = 7  # the model failed: a scripted chat's turn got no reply
    INTERRUPTED = 130


class ChitError(Exception):
    """Base of all domain errors. `details` is extra JSON-safe context."""

    code = "ERROR"
    exit_status = ExitStatus.ERROR

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class UsageError(ChitError):
    """The command line itself is wrong (missing or extra arguments)."""

    code = "USAGE"
    exit_status = ExitStatus.USAGE


class NotFound(ChitError):
    code = "NOT_FOUND"
    exit_status = ExitStatus.NOT_FOUND


class Ambiguous(ChitError):
    """A reference matched several sessions; `candidates` lists them."""

    code = "AMBIGUOUS"
    exit_status = ExitStatus.AMBIGUOUS


class InvalidInput(ChitError):
    code = "INVALID_INPUT"
    exit_status = ExitStatus.INVALID


class InvalidData(ChitError):
    """Stored or imported data that cannot be used as it is."""

    code = "INVALID_DATA"
    exit_status = ExitStatus.INVALID


class Conflict(ChitError):
    code = "CONFLICT"
    exit_status = ExitStatus.CONFLICT


class ProjectGone(Conflict):
    """The project was moved or removed while this waited for its lock."""


class Locked(ChitError):
    code = "LOCKED"
    exit_status = ExitStatus.CONFLICT


class ReadOnly(ChitError):
    """A session written by a newer chit: readable, never rewritten."""

    code = "READ_ONLY"
    exit_status = ExitStatus.INVALID


class StorageError(ChitError):
    """The file system refused (permissions, full disk, read-only mount)."""

    code = "STORAGE"
    exit_status = ExitStatus.ERROR
