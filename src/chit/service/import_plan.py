"""How a re-import brings one stored session to what its source holds
now (the decision alone; `chit.service.imports` writes it), and where the
import cache last saw the sessions of a source unit.

Invariant: a session changed in chit (a message of chit's own, a rewind or
a pop) is never planned for a write; state values, tags and renames are
not changes of that kind, and a rewrite keeps them.
"""

from __future__ import annotations

from typing import Any

from chit.store.sessions import Log


def plan_update(log: Log, header: dict[str, Any], new: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """How to bring a stored session to what the source holds now:
    ("unchanged" | "changed in chit", []), ("append", the new message
    records) or ("rewrite", every record of the new file)."""
    from chit.importers import base as importer_base
    imported = [_unstamped(e) for e in log.events if e.get("type") == "message" and importer_base.is_imported_id(str(e.get("id")))]
    changed_in_chit = any(
        e.get("type") in ("rewind", "pop") or (e.get("type") == "message" and not importer_base.is_imported_id(str(e.get("id"))))
        for e in log.events
    )
    same_header = _header_view(log.header) == _header_view(header)
    if imported == new and (same_header or changed_in_chit):
        return "unchanged", []
    if changed_in_chit:
        return "changed in chit", []
    if same_header and new[: len(imported)] == imported:
        return "append", new[len(imported):]
    kept = [e for e in log.events if e.get("type") != "message"]
    return "rewrite", [header, *new, *kept]


def _unstamped(event: dict[str, Any]) -> dict[str, Any]:
    """An event without its format-2 stamp, to compare with a new record."""
    return {k: v for k, v in event.items() if k not in ("hlc", "by")}


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
