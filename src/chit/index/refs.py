"""Answers of a REF from the index: the session a key names, the ids a
prefix starts. Each asks rows that `Index.refresh_if_changed` has just
brought up to date (keys and ids are in the header and the file name,
which appends never change) and answers as reading the files would
(`Queries.scan_key`, the file names). A module of its own: resolving a
REF (`chit load ID`) loads none of the search."""

from __future__ import annotations

from chit.index.db import Index


def find_key(index: Index, slug: str, key: str) -> str | None:
    """Id of the project's live session with `key` (the first by id)."""
    # without INDEXED BY, SQLite walks the project's rows in id order (ORDER BY) instead
    row = index.conn.execute(
        "SELECT id FROM sessions INDEXED BY sessions_key WHERE key = ? AND slug = ? AND trash = 0 ORDER BY id LIMIT 1",
        (key, slug),
    ).fetchone()
    return None if row is None else str(row[0])


def ids_with_prefix(index: Index, slug: str, bare: str) -> list[str]:
    """Ids of the project's live sessions that start with `bare` (hex
    digits without dashes), in id order."""
    groups = [bare[0:8], bare[8:12], bare[12:16], bare[16:20], bare[20:]]
    dashed = "-".join(g for g in groups if g)
    rows = index.conn.execute(
        "SELECT id FROM sessions WHERE slug = ? AND trash = 0 AND id >= ? AND id < ? ORDER BY id",
        (slug, dashed, dashed + "g"),  # ids are lowercase hex and dashes, all below "g"
    )
    return [str(r[0]) for r in rows]


def keys_in(index: Index, slug: str) -> dict[str, str]:
    """Every key of the project's live sessions -> the id `find_key` gives
    it (the first by id)."""
    found: dict[str, str] = {}
    for key, session_id in index.conn.execute(
        "SELECT key, id FROM sessions WHERE slug = ? AND trash = 0 AND key IS NOT NULL ORDER BY id", (slug,)
    ):
        found.setdefault(str(key), str(session_id))
    return found


def keys_by_dir(index: Index, dirs: list[tuple[str, bool]], prefix: str) -> dict[tuple[str, bool], list[tuple[str, str]]]:
    """For each of these (slug, trash) directories whose rows' keys are
    current (`Index.key_fresh`), the (key, id) of its sessions whose key
    starts with `prefix`, by id; the others are left out (their files
    answer). Nothing when there is no index (none is created)."""
    if not prefix or not index.exists():
        return {}
    found: dict[tuple[str, bool], list[tuple[str, str]]] = {place: [] for place in dirs if index.key_fresh(*place)}
    if not found:
        return found
    past = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # keys starting with `prefix` sort in [prefix, past)
    for slug, trash, key, session_id in index.conn.execute(
        "SELECT slug, trash, key, id FROM sessions WHERE key >= ? AND key < ? ORDER BY id", (prefix, past)
    ):
        place = (str(slug), bool(trash))
        if place in found:
            found[place].append((str(key), str(session_id)))
    return found
