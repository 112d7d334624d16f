"""Conflict copies: the files a file-sync tool leaves beside a file that
two machines changed before they saw each other's change.

- Syncthing: `<stem>.sync-conflict-YYYYMMDD-HHMMSS-DEVICE<ext>`;
- Dropbox: `<stem> (Ann's conflicted copy YYYY-MM-DD)<ext>`, also with
  ` (1)` inside the brackets; Nextcloud: `<stem> (conflicted copy
  YYYY-MM-DD HHMMSS)<ext>`;
- ownCloud: `<stem>_conflict-YYYYMMDD-HHMMSS<ext>`.

Invariants: a name is a conflict copy only of a file chit keeps where the
copy lies: `<uuid>.jsonl` in a sessions or trash directory,
`project.json` or `current.json` in a project directory; `original` never
returns a name that is not one of those, so a copy can never lead a
repair outside its directory. The names are cheap to test: `may_hold`
looks for one word in a whole listing before any regex runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from chit.patterns import LazyPattern
from chit.store.sessions import UUID_RE

_PATTERNS = (
    LazyPattern(r"(?P<stem>.+)\.sync-conflict-\d{8}-\d{6}-[A-Z0-9]{7}(?P<ext>\.[a-z]+)"),
    LazyPattern(r"(?P<stem>.+?) \((?:[^()]* )?conflicted copy(?: [^()]*)?(?: \(\d+\))?\)(?P<ext>\.[a-z]+)"),
    LazyPattern(r"(?P<stem>.+)_conflict-\d{8}-\d{6}(?P<ext>\.[a-z]+)"),
)
PROJECT_FILES = ("project.json", "current.json")


def may_hold(listing: str) -> bool:
    """Whether a directory listing (its names joined) can name a conflict copy."""
    return "conflict" in listing


def original(name: str, sessions: bool) -> str | None:
    """The file `name` is a conflict copy of, in a sessions (or trash)
    directory when `sessions`, else in a project directory; None when it
    is no conflict copy of a file chit keeps there."""
    if "conflict" not in name:
        return None
    for pattern in _PATTERNS:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        target = match.group("stem") + match.group("ext")
        if sessions and target.endswith(".jsonl") and UUID_RE.fullmatch(target[:-6]):
            return target
        if not sessions and target in PROJECT_FILES:
            return target
    return None


def copies(names: Iterable[str], sessions: bool) -> list[tuple[str, str]]:
    """(copy, original) for each conflict copy among `names`, sorted."""
    found = [(name, original(name, sessions)) for name in names if "conflict" in name]
    return sorted((name, target) for name, target in found if target is not None)


def count(names: list[str], sessions: bool) -> int:
    """How many of `names` are conflict copies (cheap when none is)."""
    if not may_hold("\0".join(names)):
        return 0
    return len(copies(names, sessions))
