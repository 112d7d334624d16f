"""What this machine knows of its sync: a small state file and a lock.

    $CHIT_HOME/sync/repo/        the git mirror of the shared part (never the live store)
    $CHIT_HOME/sync/state.json   {remote, branch, imported, exported}
    $CHIT_HOME/sync/lock         flock'ed by a running sync

Invariants:
- the state is machine-local and never synced;
- it is replaced atomically, and only after the step it describes is
  durable: `imported` (the mirror commit whose lines are all in the live
  store) after every import of that commit is written; `exported` (each
  live file's stat signature when all its lines were in a mirror commit)
  after that commit exists. A sync killed anywhere therefore leaves a
  state that is behind, never ahead, and the next sync redoes the rest
  (every step is a set union, so redoing one adds nothing twice);
- two syncs never run at once in one home: the lock is held for a whole run;
- the state file is opened without waiting: a FIFO or device there is
  refused in one line, never waited on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from chit.errors import InvalidData
from chit.store.emptied import sync_locked, syncs
from chit.store.files import os_errors, read_regular, write_atomic

BRANCH = "main"
STATE_VERSION = 1
Signature = tuple[int, int, int]  # size, mtime in ns, inode


def signature(st: os.stat_result) -> Signature:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass
class State:
    remote: str
    branch: str = BRANCH
    imported: str | None = None
    exported: dict[str, Signature] = field(default_factory=dict)

    def to_json(self) -> bytes:
        data = {
            "version": STATE_VERSION,
            "remote": self.remote,
            "branch": self.branch,
            "imported": self.imported,
            "exported": {path: list(sig) for path, sig in sorted(self.exported.items())},
        }
        return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> State:
        try:
            data: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise InvalidData("the sync state file is damaged; run `chit sync` again after removing it") from None
        if not isinstance(data, dict) or not isinstance(data.get("remote"), str):
            raise InvalidData("the sync state file is damaged; run `chit sync` again after removing it")
        listed = data.get("exported")
        exported: dict[str, Any] = listed if isinstance(listed, dict) else {}
        imported = data.get("imported")
        branch = data.get("branch")
        return cls(
            remote=data["remote"],
            branch=branch if isinstance(branch, str) and branch else BRANCH,
            imported=imported if isinstance(imported, str) else None,
            exported={
                path: (int(sig[0]), int(sig[1]), int(sig[2]))
                for path, sig in exported.items()
                if isinstance(sig, list) and len(sig) == 3 and all(isinstance(n, int) for n in sig)
            },
        )


class Place:
    """The sync directory of one home."""

    def __init__(self, directory: Path, durable: bool = True) -> None:
        self.directory = directory
        self.repo = directory / "repo"
        self.state_file = directory / "state.json"
        self.lock_file = directory / "lock"
        self.durable = durable

    def configured(self) -> bool:
        return syncs(self.directory)

    def load(self) -> State | None:
        try:
            data = read_regular(self.state_file, follow_links=True)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InvalidData(f"cannot read the sync state {self.state_file}: {exc.strerror}") from None
        return State.from_json(data)

    def save(self, state: State) -> None:
        with os_errors("write the sync state"):
            write_atomic(self.state_file, state.to_json(), self.durable)

    @contextmanager
    def locked(self, timeout: float) -> Iterator[int]:
        """Hold the sync lock (Locked, exit 6, past `timeout` seconds); the
        descriptor it is held by."""
        with sync_locked(self.directory, timeout) as fd:
            yield fd
