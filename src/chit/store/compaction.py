"""Which lines a compacted session file keeps (format 2).

Invariants:
- a file whose events are all stamped keeps its header line and every kept
  line byte-identical: every event but a message (rewind, pop, trash...:
  the tombstones) and every message shown. Hidden messages, corrupt lines
  and repeated lines go (a rewind whose kept message went hides nothing:
  what it hid went too, or an undo of it brought it back); the rest is written in
  fold order, followed by a `compact` event that makes the changes it saw
  final. So a union of a compacted copy and an older one folds as the
  compacted copy does;
- a file holding format-1 events is not compacted line by line (their
  meaning is their position): the caller rebuilds it, every event stamped
  (`rebuilt`).
"""

from __future__ import annotations

from typing import Any

from chit.model import Session
from chit.store import clock, codec
from chit.store.fold import order_key


def compacted_lines(data: bytes | bytearray, session: Session) -> list[bytes] | None:
    """The lines of the compacted file, or None when it must be rebuilt."""
    spans = list(codec.line_spans(data))
    if not spans:
        return None
    try:
        header = codec.decode_header(data[spans[0][0] : spans[0][1]])
    except codec.BadRecord:
        return None
    shown = {m.id for m in session.messages}
    found: list[tuple[tuple[str, str, str], bytes, dict[str, Any]]] = []
    for begin, end in spans[1:]:
        if codec.is_blank(data, begin, end):
            continue
        try:
            event = codec.decode_event_in(data, begin, end, header["version"], "title")
        except codec.BadRecord:
            continue  # a corrupt line is what compaction forgets
        if "hlc" not in event:
            return None
        found.append((order_key(event), bytes(data[begin : end + 1]), event))
    found.sort(key=lambda item: (item[0], item[1]))
    kept = [bytes(data[spans[0][0] : spans[0][1] + 1])]
    written: set[bytes] = set()
    for _, line, event in found:
        if event["type"] == "message" and event["id"] not in shown:
            continue
        if line not in written:
            written.add(line)
            kept.append(line)
    return kept


def compact_event(session: Session, stamper: clock.Stamper, after: str | None) -> bytes:
    """The `compact` line: no timestamp, so the session's updated_at stays."""
    stamped, _ = stamper.stamp([{"type": "compact", "seen": session.seen}], after)
    return codec.encode(stamped[0])


def rebuilt(records: list[dict[str, Any]], stamper: clock.Stamper, after: str | None) -> list[dict[str, Any]]:
    """A rebuilt log's records (header first), stamped in order; a trash
    among them has seen every event before it."""
    events, _ = stamper.stamp(records[1:], after)
    for place, event in enumerate(events):
        if event["type"] == "trash":
            event["seen"] = {stamper.machine: events[place - 1]["hlc"]} if place else {}
    return [records[0], *events]
