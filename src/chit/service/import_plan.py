"""How a re-import brings one stored session to what its source holds
now (the decision alone; `chit.service.imports` writes it), where the
import cache last saw the sessions of a source unit, and where every
session of a source is.

Invariants:
- a session changed in chit (a message of chit's own, a pop, or a rewind
  or undo chit's commands wrote) is never planned for a write; state
  values, tags and renames are not changes of that kind, and an update
  keeps them;
- no message chit holds is ever dropped for one its source no longer
  has: such messages are hidden by a rewind marked `"import": true` (a
  replace when the source shows other messages after them), the events
  `chit rewind` and `chit update` write, so `chit undo`, the index and sync
  treat it as theirs; an undo of it is the person's own change, and the
  session is left alone from then on. A message the source still has but
  changed (a reply completed, its token counts added) is the same message,
  updated where it is;
- a source that shows again, in order, what the last import change hid
  (cut, then whole again) has that change undone, as `chit undo` would;
  other messages the source shows under an id chit keeps hidden (a cut
  Codex rollout that grows with other lines reuses line numbers) are added
  under an id derived from it, the same at every import, so a second import
  of the same source plans nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from chit.errors import ChitError
from chit.model import Session, now
from chit.store import codec
from chit.store.fold import fold, message_to_record
from chit.store.log import Log
from chit.store.sessions import LockedSession, Store

if TYPE_CHECKING:
    from chit.service.base import Context


@dataclass(frozen=True)
class Plan:
    """What a re-import writes to one session: `action` is "unchanged",
    "changed in chit" or "updated". Either `rewrite` (every record of the
    new file, a header first), or: `records` appended, then the file
    written again with `header` for its first line (None: kept) and the
    message records of `updates` (by id) in place of theirs, when either
    is given. `hides`: the session keeps imported messages hidden (its file
    is then never followed); `hidden`: messages shown before that the
    plan's rewind hides, which `chit undo` shows again (an undo of the
    last import change, the source whole again, counts none); `shown_again`:
    hidden messages that undo shows again; `changed`: messages the source
    changed, updated in place (neither is a message written)."""

    action: str
    rewrite: list[dict[str, Any]] | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    header: dict[str, Any] | None = None
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    hides: bool = False
    hidden: int = 0
    shown_again: int = 0
    changed: int = 0

    @property
    def messages(self) -> int:
        return sum(1 for r in self.rewrite or self.records if r.get("type") == "message")


def plan_update(log: Log, header: dict[str, Any], new: list[dict[str, Any]]) -> Plan:
    """How to bring a stored session (its log read under its lock) to
    the source's header and message records `new`."""
    from chit.importers import base as importer_base

    changed_in_chit = any(
        (e.get("type") == "rewind" and not e.get("import")) or e.get("type") == "pop"
        or (e.get("type") == "message" and not importer_base.is_imported_id(str(e.get("id"))))
        for e in log.events
    )
    session = fold(log.header, log.events, log.issues, log.read_only)
    stored = [message_to_record(m) for m in session.messages]
    shown_ids = [str(r["id"]) for r in stored]
    hidden = {str(e.get("id")) for e in log.events if e.get("type") == "message"} - set(shown_ids)
    mapped = _shown_again(new, hidden)
    same_header = _header_view(log.header) == _header_view(header)
    if changed_in_chit:
        return Plan("unchanged" if stored == mapped else "changed in chit", hides=bool(hidden))
    lost = set(shown_ids) - {str(r["id"]) for r in mapped}
    if not lost and not any(e.get("type") == "rewind" for e in log.events):
        return _plain(log, header, stored, new, same_header)
    plan = _keeping(session, header if not same_header else None, stored, new, hidden)
    if plan.action == "unchanged":
        return plan
    return _undoing(session, header if not same_header else None, stored, new, hidden) or plan


def write_plan(held: LockedSession, plan: Plan) -> None:
    """Write a plan to the session held under its lock."""
    if plan.rewrite is not None:
        held.rewrite(plan.rewrite)
        return
    held.append(plan.records)
    if plan.header is None and not plan.updates:
        return
    # last (the rewrite replaces the file held): every line is kept, hidden
    # messages too; an updated message keeps its stamp, so its place
    log = held.read()
    events = [
        {**plan.updates[str(e.get("id"))], **{k: e[k] for k in ("hlc", "by") if k in e}}
        if e.get("type") == "message" and str(e.get("id")) in plan.updates else e
        for e in log.events
    ]
    held.rewrite_lines([codec.encode_many([plan.header or log.header, *events])])


def _plain(log: Log, header: dict[str, Any], stored: list[dict[str, Any]], new: list[dict[str, Any]], same_header: bool) -> Plan:
    """A session nothing hides whose source still has every message: the
    same, grown (appended), or changed otherwise (written again)."""
    if stored == new and same_header:
        return Plan("unchanged")
    if same_header and new[: len(stored)] == stored:
        return Plan("updated", records=new[len(stored):])
    kept = [e for e in log.events if e.get("type") != "message"]
    return Plan("updated", rewrite=[header, *new, *kept])


def _keeping(
    session: Session, header: dict[str, Any] | None, stored: list[dict[str, Any]], new: list[dict[str, Any]], hidden: set[str],
) -> Plan:
    """A session whose source lost messages, or that hides some already:
    what the source still shows first is kept (updated in place), the rest
    hidden by one import rewind, and the source's later messages appended."""
    from chit.service.sessions import rewind_record

    mapped = _shown_again(new, hidden)
    keep = 0
    for stored_record, record in zip(stored, mapped):
        if stored_record["id"] != record["id"]:
            break
        keep += 1
    tail = _shown_again(new[keep:], hidden | {str(r["id"]) for r in stored[keep:]})
    updates = {str(r["id"]): r for r, s in zip(mapped[:keep], stored[:keep]) if r != s}
    records: list[dict[str, Any]] = []
    if keep < len(stored):
        hide = {**rewind_record(session, keep), "import": True}
        if tail:
            hide.update(replace=True, adds=[r["id"] for r in tail])
        records.append(hide)
    records.extend(tail)
    hides = bool(hidden) or keep < len(stored)
    if not records and not updates and header is None:
        return Plan("unchanged", hides=hides)
    return Plan(
        "updated", records=records, header=header, updates=updates, hides=hides, hidden=len(stored) - keep, changed=len(updates),
    )


def _undoing(
    session: Session, header: dict[str, Any] | None, stored: list[dict[str, Any]], new: list[dict[str, Any]], hidden: set[str],
) -> Plan | None:
    """When the source shows again, in order, what the last import change
    hid (a file cut, then whole again): that change undone, as `chit undo`
    does it, and what the source has after it appended; else None."""
    if not session.changes or session.changes[-1].id is None:
        return None
    change = session.changes[-1]
    added = stored[change.keep: change.keep + change.added]
    back = [*stored[: change.keep], *(message_to_record(m) for m in change.hidden), *stored[change.keep + change.added:]]
    if new[: len(back)] != back:
        return None
    still_hidden = (hidden - {m.id for m in change.hidden}) | {str(r["id"]) for r in added}
    undo = {"type": "rewind", "undo": change.id, "import": True, "ts": now()}
    tail = _shown_again(new[len(back):], still_hidden)
    return Plan("updated", records=[undo, *tail], header=header, hides=bool(still_hidden), shown_again=len(change.hidden))


def _shown_again(records: list[dict[str, Any]], hidden: set[str]) -> list[dict[str, Any]]:
    """`records`, each whose id chit keeps hidden under an id derived from
    it (the same every time, and still an imported one: UUID version 5)."""
    renamed = []
    for record in records:
        message_id = str(record["id"])
        while message_id in hidden:
            message_id = str(uuid.uuid5(_namespace(message_id), "shown again"))
        renamed.append(record if message_id == record["id"] else {**record, "id": message_id})
    return renamed


def _namespace(message_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(message_id)
    except ValueError:
        return uuid.NAMESPACE_OID


def _header_view(header: dict[str, Any]) -> tuple[Any, ...]:
    """What of a header an import decides: the key and the import facts
    (the source's title among them; the header's own title may hold a
    rename folded in by `chit compact`, which an import keeps)."""
    metadata = dict(header.get("metadata") or {})
    facts = metadata.get("import")
    if isinstance(facts, dict):  # where the source file lies may change without its content changing
        metadata["import"] = {k: v for k, v in facts.items() if k != "path"}
    return header.get("key"), metadata


def cached_places(entry: Any) -> dict[str, tuple[str, str, bool]]:
    """key -> (slug, session id, in trash) of the sessions an import cache
    entry names (an entry written before keys were kept names none); a hint
    only: the caller checks the file still holds that key."""
    outcomes = entry.get("outcomes") if isinstance(entry, dict) else None
    found: dict[str, tuple[str, str, bool]] = {}
    for outcome in outcomes if isinstance(outcomes, list) else []:
        if not isinstance(outcome, dict):
            continue
        key, file = outcome.get("key"), outcome.get("file")
        if isinstance(key, str) and isinstance(file, list) and len(file) == 5 and isinstance(file[0], str) and isinstance(file[1], str):
            found[key] = (file[0], file[1], bool(file[2]))
    return found


def import_keys(ctx: Context, source: str) -> dict[str, tuple[str, str, bool]]:
    """Every session key of this source in the store (and in the trash):
    key -> (slug, session id, in trash), the first of live projects, then
    of the trash, by slug. From the index's rows of each directory whose
    files no create, removal or replacement changed since its last
    refresh (keys are in header lines, which appends never change), else
    from the files: a store whose index is current reads no header."""
    from chit.index.refs import keys_by_dir

    store = ctx.store
    prefix = f"{source}:"
    dirs = [(slug, False) for slug in store.project_slugs()] + [(slug, True) for slug in store.trash_slugs()]
    indexed = ctx.indexed(partial(keys_by_dir, dirs=dirs, prefix=prefix)) or {}
    found: dict[str, tuple[str, str, bool]] = {}
    for slug, trash in dirs:
        rows = indexed.get((slug, trash))
        for key, session_id in _file_keys(store, slug, trash) if rows is None else rows:
            if isinstance(key, str) and key.startswith(prefix):
                found.setdefault(key, (slug, session_id, trash))
    return found


def _file_keys(store: Store, slug: str, trash: bool) -> Iterator[tuple[object, str]]:
    """(key, id) of a directory's sessions, by id, from their files: a live
    session's header line (`keyed_headers`), a trashed one's log (one that
    cannot be read is left out)."""
    if not trash:
        from chit.service.queries import keyed_headers

        yield from keyed_headers(store, slug)
        return
    for session_id in sorted(store.session_ids(slug, trash=True)):
        try:
            yield store.read(slug, session_id, slug, trash=True).header.get("key"), session_id
        except ChitError:
            continue
