"""The format-2 part of the fold: stamped events, in (hlc, by, id) order,
on top of what the format-1 events before them left.

Pure, no I/O. Invariants:
- the result depends only on the set of stamped events (the caller sorts
  them and collapses repeated ids), so two copies of a session holding
  the same lines fold alike whatever their order;
- references are by id: a pop hides the message it names; a rewind hides
  the visible messages after the one it keeps (`keep_id`, null: all); an
  undo names the change it reverts; a restore names a trash;
- a rewind, pop or trash acts only on what its writer had seen (`seen`: the
  greatest stamp of each machine's events): a message written meanwhile on
  another machine stays visible, and overrides a trash it was not seen by
  (the session is then restored, `restored_by` says by which message) as
  long as it is shown: a message hidden by a rewind or pop hides nothing
  the trash could lose, and a compacted copy no longer holds it;
- format-1 messages were seen by every stamped event; a format-1 change
  still in effect can be undone by a stamped undo (its hidden messages come
  back just after the messages it kept, as a format-1 undo would show them);
- a `compact` event makes the changes it saw final: their messages stay
  hidden (the compacted copy no longer holds them) and undo skips them,
  also an undo that sorts before the compact but that it did not see (an
  undo written elsewhere meanwhile): what it would bring back is gone
  from the compacted copy, so it brings back nothing on any copy.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from chit.model import Change
from chit.store.fold import hidden_messages

if TYPE_CHECKING:
    from chit.store.fold import _Legacy

#: where a message sorts: (0, position, change and place, "") for a format-1
#: message, (1, hlc, by, id) for a stamped one
Key = tuple[int, str, str, str]

_BY: Callable[[dict[str, Any]], str] = itemgetter("by")
_HLC: Callable[[dict[str, Any]], str] = itemgetter("hlc")

#: what hides a message nothing hides (one shared empty set: most never get a set of their own)
_NOBODY: frozenset[object] = frozenset()


class _Entry:
    """A message where the fold puts it, and what hides it. A plain class:
    a long session makes thousands, and `@dataclass`'s `__init__` with a
    default factory costs more than twice as much per entry."""

    __slots__ = ("key", "record", "by", "hlc", "hiders")

    def __init__(self, key: Key, record: dict[str, Any], by: str | None, hlc: str, hiders: set[object] | None = None) -> None:
        self.key = key
        self.record = record  # the message's record: built as a `Message` once, when the fold ends
        self.by = by  # None: a format-1 message, seen by every stamped event
        self.hlc = hlc
        self.hiders: set[object] | frozenset[object] = _NOBODY if hiders is None else hiders  # what hides it: changes, undos

    def seen_by(self, seen: dict[str, str]) -> bool:
        return self.by is None or self.hlc <= seen.get(self.by, "")

    def hide(self, hider: object) -> None:
        if isinstance(self.hiders, set):
            self.hiders.add(hider)
        else:
            self.hiders = {hider}

    def unhide(self, hider: object) -> None:
        if isinstance(self.hiders, set):
            self.hiders.discard(hider)


class _Change:
    """A rewind, pop or replace in effect, as the replay tracks it (a plain
    class: `@dataclass` compiles its methods when the module loads, and
    every read of a stamped session loads it)."""

    __slots__ = ("kind", "id", "by", "hlc", "hidden", "adds")

    def __init__(self, kind: str, change_id: str | None, by: str | None, hlc: str, hidden: list[_Entry] | None = None) -> None:
        self.kind = kind
        self.id = change_id
        self.by = by
        self.hlc = hlc
        self.hidden: list[_Entry] = [] if hidden is None else hidden
        self.adds: list[str] = []  # the messages a replace wrote


class Replay:
    """Stamped events applied one by one, in fold order."""

    def __init__(self, legacy: _Legacy, compacts: Sequence[dict[str, Any]] = ()) -> None:
        self.compacts = compacts  # every compact event of the session, whatever its place in the order
        self.entries: list[_Entry] = []
        self.keys: list[Key] = []
        self.by_id: dict[str, _Entry] = {}
        self.in_effect: list[_Change] = []
        self.seen: dict[str, str] = {}
        self.trash_events: dict[str, dict[str, Any]] = {}
        self.restored: set[str] = set()
        self.legacy_dropped = legacy.dropped
        self.legacy_deleted = legacy.deleted_at
        for place, message in enumerate(legacy.messages):
            self._add(_Entry((0, f"{place + 1:012d}", "", ""), message, None, ""))
        for number, change in enumerate(legacy.changes):
            kept = _Change(change.kind, change.id, None, "")
            kept.adds = [m["id"] for m in legacy.messages[change.keep : change.keep + change.added]]
            for place, message in enumerate(change.hidden):
                key = (0, f"{change.keep:012d}", f"{number + 1:06d}.{place:09d}", "")
                entry = _Entry(key, message, None, "", {kept})
                self._add(entry, shown=False)
                kept.hidden.append(entry)
            self.in_effect.append(kept)

    def _add(self, entry: _Entry, shown: bool = True) -> None:
        if not self.keys or entry.key > self.keys[-1]:
            self.entries.append(entry)
            self.keys.append(entry.key)
        else:
            place = bisect_left(self.keys, entry.key)
            self.entries.insert(place, entry)
            self.keys.insert(place, entry.key)
        if shown:
            self.by_id[entry.record["id"]] = entry
        else:
            self.by_id.setdefault(entry.record["id"], entry)

    def _add_stamped(self, event: dict[str, Any]) -> None:
        """A stamped message's entry: `_add`'s usual case inline, as stamped
        messages come in order."""
        by, hlc = event["by"], event["hlc"]
        key = (1, hlc, by, event["id"])
        keys = self.keys
        if keys and key <= keys[-1]:
            self._add(_Entry(key, event, by, hlc))
        else:
            entry = _Entry(key, event, by, hlc)
            self.entries.append(entry)
            keys.append(key)
            self.by_id[event["id"]] = entry

    def apply_all(self, events: Sequence[dict[str, Any]]) -> None:
        """`apply` of each event, in order, on a replay nothing was applied
        to yet (the fold's): a long session is thousands of messages, and
        each one only adds its entry (`_add_stamped`: stamped events come
        sorted, after every format-1 key); the machines' stamps are taken
        once, at the end."""
        for event in events:
            if event["type"] == "message":
                self._add_stamped(event)
            else:
                self.apply(event)
        # what `apply` of each leaves, in one pass: in fold order, each machine
        # where its first event is, with the stamp of its last (its greatest)
        self.seen = dict(zip(map(_BY, events), map(_HLC, events)))

    def apply(self, event: dict[str, Any]) -> None:
        by, hlc = event["by"], event["hlc"]
        if hlc > self.seen.get(by, ""):
            self.seen[by] = hlc
        kind = event["type"]
        if kind == "message":
            self._add_stamped(event)
        elif kind == "rewind":
            if "undo" in event:
                self._undo(event)
            else:
                self._rewind(event)
        elif kind == "pop":
            self._pop(event)
        elif kind == "trash":
            self.trash_events[event["id"]] = event
        elif kind == "restore":
            self._restore(event)
        elif kind == "compact":
            seen = event["seen"]
            self.in_effect = [c for c in self.in_effect if c.by is not None and c.hlc > seen.get(c.by, "")]

    def _rewind(self, event: dict[str, Any]) -> None:
        keep_id = event["keep_id"]
        start = 0
        if keep_id is not None:
            anchor = self.by_id.get(keep_id)
            start = len(self.entries) if anchor is None else bisect_right(self.keys, anchor.key)
        change = _Change("replace" if event.get("replace") else "rewind", event.get("change"), event["by"], event["hlc"])
        change.adds = list(event.get("adds") or [])
        seen = event["seen"]
        hidden = change.hidden
        for entry in self.entries[start:]:
            # `not hiders and seen_by(seen)`, then `hide(change)`, inline: every
            # fold walks the messages after each rewind's anchor again
            if not entry.hiders and (entry.by is None or entry.hlc <= seen.get(entry.by, "")):
                if entry.hiders is _NOBODY:
                    entry.hiders = {change}
                else:
                    entry.hiders.add(change)  # type: ignore[union-attr]
                hidden.append(entry)
        if change.hidden or change.adds:
            self.in_effect.append(change)

    def _pop(self, event: dict[str, Any]) -> None:
        entry = self.by_id.get(event["hides"])
        if entry is None or entry.hiders:
            return
        change = _Change("pop", event.get("change"), event["by"], event["hlc"], [entry])
        entry.hide(change)
        self.in_effect.append(change)

    def _undo(self, event: dict[str, Any]) -> None:
        target = event["undo"]
        found = None
        if target is None:
            if self.in_effect and self.in_effect[-1].id is None:
                found = self.in_effect[-1]
        else:
            found = next((c for c in reversed(self.in_effect) if c.id == target), None)
        if found is None or self._made_final_meanwhile(found, event):
            return
        self.in_effect.remove(found)
        for entry in found.hidden:
            entry.unhide(found)
        for added in found.adds:  # what a replace wrote goes with it
            hidden = self.by_id.get(added)
            if hidden is not None:
                hidden.hide(event["id"])

    def _made_final_meanwhile(self, change: _Change, undo: dict[str, Any]) -> bool:
        """Whether a compact that sorts after `undo` saw `change` but not
        `undo`: it dropped what the change hid before the undo reached it."""
        for compact in self.compacts:
            seen = compact["seen"]
            if compact["hlc"] > undo["hlc"] and undo["hlc"] > seen.get(undo["by"], "") and (
                change.by is None or change.hlc <= seen.get(change.by, "")
            ):
                return True
        return False

    def _restore(self, event: dict[str, Any]) -> None:
        self.legacy_deleted = None
        named = event.get("trash")
        if named is not None:
            self.restored.add(named)
        seen = event.get("seen") or {}
        for trash_id, trash in self.trash_events.items():
            if trash["hlc"] <= seen.get(trash["by"], ""):
                self.restored.add(trash_id)

    # -- results ----------------------------------------------------------
    def records(self) -> list[dict[str, Any]]:
        """The records of the messages shown, in order."""
        return [e.record for e in self.entries if not e.hiders]

    def dropped(self) -> int:
        return self.legacy_dropped + sum(1 for e in self.entries if e.hiders and e.by is not None)

    def changes(self) -> list[Change]:
        shown = [e.key for e in self.entries if not e.hiders]
        made = []
        for change in self.in_effect:
            hidden = [e for e in change.hidden if change in e.hiders]
            keep = bisect_left(shown, hidden[0].key) if hidden else len(shown)
            made.append(Change(change.kind, keep, hidden_messages([e.record for e in hidden]), len(change.adds), change.id))
        return made

    def deleted(self, updated_at: str) -> tuple[str | None, tuple[str, ...], str | None]:
        """(deleted_at, the trash events in effect, the message that restored
        the session by overriding a trash that had not seen it)."""
        in_effect: list[dict[str, Any]] = []
        restored_by = None
        for trash_id, trash in self.trash_events.items():
            if trash_id in self.restored:
                continue
            # only a message shown overrides: one hidden (popped, rewound) is
            # gone from a compacted copy, and the fold must not depend on it
            unseen = next((e for e in self.entries if not e.hiders and not e.seen_by(trash["seen"])), None)
            if unseen is None:
                in_effect.append(trash)
            elif restored_by is None:
                restored_by = unseen.record["id"]
        if in_effect:
            last = in_effect[-1]
            return last.get("ts") or updated_at, tuple(t["id"] for t in in_effect), None
        return self.legacy_deleted, (), restored_by if self.legacy_deleted is None else None
