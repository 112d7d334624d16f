"""Following a grown source file: a re-import that reads only its new lines.

After a whole read of an append-only source file (Claude Code, Codex),
the importer's resume state is kept in `$CHIT_HOME/import-follow/` (one
file per source file, named by a hash of the import cache's key for it),
and the cache entry names it by a token. When the source file has grown,
its importer maps only the lines added (`chit.importers.follow`) and their
messages are appended to the session.

Invariants:
- a follow writes exactly what a whole re-import would: it is tried only
  for a unit of one session whose last outcome was "as the source" and
  whose chit file is, under its lock, as that import left it (same size
  and modification time: nothing was written to it since, in chit or by
  another import); otherwise, and whenever the importer cannot tell, the
  unit is read whole, as before; a session keeping imported messages
  hidden (its source shrank) is always read whole;
- the states are a cache like `import-cache.json`: a state is used only
  when the cache entry names its token, so deleting either only makes the
  next import read whole, and neither is fsynced (a crash leaves either
  as it was, as written or unreadable: a state whose token the entry does
  not name is not used).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from typing import TYPE_CHECKING, Any

from chit.errors import ChitError, InvalidInput
from chit.model import derive_title
from chit.service.base import clean_line
from chit.service.sessions import make_message
from chit.store.fold import message_to_record

if TYPE_CHECKING:
    from pathlib import Path

    from chit.importers.base import SourceSession, Tail, Unit
    from chit.service.base import Context
    from chit.service.results import ImportReport

_READ_FAULTS = (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError, OSError)


class Follower:
    """Keeps the resume states of followed files and applies their tails."""

    def __init__(self, ctx: Context, mapping_version: int) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.version = mapping_version
        self.folder = ctx.layout.home / "import-follow"

    def _path(self, unit_key: str) -> Path:
        return self.folder / (hashlib.sha256(unit_key.encode("utf-8", "surrogatepass")).hexdigest()[:32] + ".json")

    def remember(self, unit_key: str, entry: dict[str, Any], resume: dict[str, Any], source: SourceSession) -> None:
        """Keep the resume state of a unit just read whole, when its one
        session is now as its source holds it."""
        if _followed_file(entry) is None:
            return
        shown = shown_title(source)
        saved = self.store.read_json(self._path(unit_key))
        if isinstance(saved, dict) and saved.get("key") == unit_key and saved.get("shown") == shown and saved.get("state") == resume:
            entry["follow"] = saved.get("token")  # as kept already: an unchanged re-import writes nothing
            return
        self._save(unit_key, entry, resume, shown)

    def forget(self, unit_key: str) -> None:
        try:
            os.unlink(self._path(unit_key))
        except OSError:
            pass

    def follow(self, unit: Unit, old: Any, report: ImportReport) -> tuple[dict[str, Any], str | None] | None:
        """Bring the session of a grown unit up to date from its new lines:
        the new cache entry and the project slug written to (None: nothing
        new), or None when the unit must be read whole."""
        file = _followed_file(old) if unit.follow is not None and isinstance(old, dict) and old.get("v") == self.version else None
        if file is None or unit.follow is None:
            return None
        saved = self.store.read_json(self._path(unit.key))
        if not isinstance(saved, dict) or saved.get("token") != old.get("follow") or not isinstance(saved.get("state"), dict):
            return None
        try:
            tail = unit.follow(saved["state"])
            records = [message_to_record(_checked(m)) for m in tail.messages] if tail is not None else None
        except (InvalidInput, *_READ_FAULTS):
            return None
        if tail is None or records is None:
            return None
        slug, session_id = str(file[0]), str(file[1])
        state = self._append(slug, session_id, file[3:], records)
        if state is None:
            return None
        shown = saved.get("shown") if isinstance(saved.get("shown"), str) else first_prompt_title(tail)
        outcome = {**old["outcomes"][0], "file": [slug, session_id, False, *state]}
        entry = {"stamp": unit.stamp, "v": self.version, "outcomes": [outcome], "skipped": []}
        self._save(unit.key, entry, tail.state, shown)
        self._report(report, outcome.get("key"), slug, session_id, shown, len(records))
        return entry, slug if records else None

    def _append(self, slug: str, session_id: str, expected: list[Any], records: list[dict[str, Any]]) -> list[int] | None:
        """Append under the session's lock when its file is as the last
        import left it; its new (size, mtime), or None."""
        try:
            project = self.ctx.project_by_slug(slug)
            with self.store.locked(slug, session_id, project.key) as held:
                held.check_writable()
                st = os.fstat(held.fd)
                if [st.st_size, st.st_mtime_ns] != list(expected):
                    return None
                held.append(records)
                st = os.fstat(held.fd)
                return [st.st_size, st.st_mtime_ns]
        except ChitError:
            return None  # the whole read meets it again, and reports it

    def _report(self, report: ImportReport, key: Any, slug: str, session_id: str, shown: str | None, written: int) -> None:
        from chit.service.results import ImportedSession

        if not written:
            report.skip("unchanged")
            return
        name = (self.ctx.projects.get(slug) or self.ctx.project_by_slug(slug)).name
        report.updated += 1
        report.followed += 1
        report.messages += written
        report.sessions.append(ImportedSession("updated", str(key), session_id, shown, name, written))

    def _save(self, unit_key: str, entry: dict[str, Any], state: dict[str, Any], shown: str | None) -> None:
        token = secrets.token_hex(8)
        try:
            self.store.write_json(self._path(unit_key), {"token": token, "key": unit_key, "shown": shown, "state": state}, cache=True)
        except (OSError, TypeError, ChitError):
            return  # a cache (TypeError: text JSON cannot hold, a lone surrogate): the next change is read whole
        entry["follow"] = token


def _followed_file(entry: Any) -> list[Any] | None:
    """The chit file of a cache entry's one session, when that session was
    left as its source holds it ([slug, id, in trash, size, mtime])."""
    outcomes = entry.get("outcomes") if isinstance(entry, dict) else None
    if not isinstance(outcomes, list) or len(outcomes) != 1 or entry.get("skipped") or not isinstance(outcomes[0], dict):
        return None
    file = outcomes[0].get("file")
    if outcomes[0].get("reason") != "unchanged" or not isinstance(file, list) or len(file) != 5 or file[2] is not False:
        return None
    if outcomes[0].get("hides"):  # imported messages kept hidden: the ids of new lines are checked by a whole read
        return None
    return file


def _checked(message: Any) -> Any:
    return make_message(
        message.role, message.content, invocation_id=message.invocation_id, model=message.model, tokens=message.tokens,
        metadata=message.metadata, ts=message.ts, message_id=message.id,
    )


def shown_title(source: SourceSession) -> str | None:
    """The title an import reports for a session (as `Imports` shows it)."""
    try:
        title = clean_line(source.title, "title") if source.title else None
    except InvalidInput:
        title = None
    return title or derive_title(next((m.content for m in source.messages if m.role == "user"), None))


def first_prompt_title(tail: Tail) -> str | None:
    return derive_title(next((m.content for m in tail.messages if m.role == "user"), None))
