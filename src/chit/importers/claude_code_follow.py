"""Following a Claude Code transcript: the live thread of the lines it gained.

A whole read (`claude_code.read_file`) keeps, besides the messages, what
the thread's continuation needs to be judged from the new lines alone:
the window of records from the thread's last prompt on (for each: where
the chain walk goes after it, whether it is a conversation record, kept,
on the chain from the leaf, its `message.id`, tool calls and results),
and, for every record before, only sets that may answer "perhaps" but
never wrongly "no" (`follow.Seen`): its uuids, its `message.id`s and the
tool calls it kept.

Why the window is enough: a prompt (a user record that is no tool
result) is never kept off the chain, so a new thread that joins the old
one before its last prompt drops that prompt: a branch, read whole. A
thread that joins at or after it keeps everything before it exactly as
before (a reply and its tool calls never straddle a prompt).

Invariants (so that a follow gives exactly what a whole read would):
- the whole read's rules are run again over the new records and the
  window: the chain walk from the new leaf, then the pieces pulled in off
  the chain (parallel tool use), to a fixed point; the new lines are
  taken only when every conversation record of the window kept before is
  kept again (a branch, an edited prompt or a rewind, drops some), no
  other one joins, and the walk meets the old chain in the window (a
  compaction, a missing parent, a new root: a whole read decides);
- nothing read before may change: a new line repeating a uuid or an
  assistant `message.id` read before (its tokens would move), a title
  record (`custom-title`, `summary`), a slash command left at the old end
  that the new lines turn into a prompt, a first working directory, or a
  time before the session's start all mean a whole read (a branch or slug
  is the first record's, which new lines never change); so
  does a "perhaps" from the sets, and a tool result whose call may be
  before the window;
- off the chain, the new records kept are the two kinds a whole read
  keeps: pieces of a kept new message and results of kept tool calls.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from chit.importers import claude_code as cc
from chit.importers.base import Problem, SourceSession, Tail, ts_from_text
from chit.importers.follow import Seen, read_new

Records = list[tuple[int, dict[str, Any]]]
#: a window entry: [uuid, the record the chain walk goes to after it, a
#: conversation record, kept, on the chain, message id, tool results, tool calls, type]
UUID, NEXT, CONV, KEPT, CHAIN, MID, RESULTS, CALLS, KIND = range(9)


def follow_file(path: Path, state: dict[str, Any]) -> Tail | None:
    """The messages the lines added to a transcript since `state` hold, or
    None when only a whole read can tell."""
    got = read_new(path, state.get("mark"))
    if got is None:
        return None
    lines, mark, read = got
    found = new_thread(lines, state)
    if found is None:
        return None
    live, grown = found
    problems: list[Problem] = []
    mapper = cc._Mapper(path, state["session_id"], state["last_ts"], state["cwd"], live, problems)
    mapper.resume(state)
    for number, record in live:
        mapper.record(number, record)
    mapper.finish()
    state_now = {**grown, "mark": mark, **mapper.state()}
    if problems or mapper.out.doubtful or state_now["answered"] is None:
        return None  # a result for a call answered before: a whole read decides
    return Tail(mapper.out.messages, state_now, read)


#: the payload of a UI record no reading of a transcript looks into (often most of its bytes)
_UI_PAYLOAD = {"progress": "data", "file-history-snapshot": "snapshot"}


#: values the same on many lines (or, for the links, on two: a record's
#: uuid and its child's parent), held once rather than once a line
_SHARED = ("type", "uuid", "parentUuid", "cwd", "sessionId", "version", "gitBranch", "userType", "slug", "entrypoint")
_SHARED_IN_MESSAGE = ("model", "role", "type", "stop_reason")


def slim(record: dict[str, Any]) -> dict[str, Any]:
    """`record` as a read holds it: without its UI payload (its thread links
    kept), its usage only the token counts, its repeated values shared
    (`sys.intern`)."""
    kind = record.get("type")
    record.pop(_UI_PAYLOAD.get(kind, "") if isinstance(kind, str) else "", None)
    _share(record, _SHARED)
    message = record.get("message")
    if isinstance(message, dict):
        _share(message, _SHARED_IN_MESSAGE)
        if isinstance(usage := message.get("usage"), dict):  # only its counts are read
            message["usage"] = {k: usage[k] for k in (*cc.INPUT_TOKENS, "output_tokens") if k in usage}
    return record


def _share(values: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if isinstance(value := values.get(key), str) and len(value) <= 200:
            values[key] = sys.intern(value)


def whole_state(
    mark: dict[str, Any], main: Records, kept: set[str], live: Records, session: SourceSession, mapped: dict[str, Any],
) -> dict[str, Any] | None:
    """The state a whole read leaves for the next follow (None: the next
    change is read whole)."""
    if not any(ts_from_text(r.get("timestamp")) for _, r in live):
        return None  # the start would come from the first new time
    by_uuid = {r["uuid"]: r for _, r in main}
    before = cc._previous_records(main)
    nexts = {r["uuid"]: _uuid_of(_next(r, by_uuid, before)) for _, r in main}
    del by_uuid, before  # a long transcript's maps, not needed past here
    last = [r["uuid"] for _, r in main if r.get("type") in cc.CONVERSATION][-1]
    position = {r["uuid"]: i for i, (_, r) in enumerate(main)}
    records = [r for _, r in main]
    start = _window_start(last, records, position, lambda u: nexts.get(u))
    if start is None:
        return None
    chain = _walk(last, lambda u: nexts.get(u) if u in nexts else None)
    window = [_entry(r, nexts[r["uuid"]], r["uuid"] in kept, r["uuid"] in chain) for r in records[start:]]
    message_ids = {m for r in records if r.get("type") == "assistant" and (m := cc._message_id(r))}
    calls = [c for r in records[:start] if r["uuid"] in kept for c in cc._tool_use_ids(r)]
    seen, mids, outer = (_room_for(len(records)), _room_for(len(message_ids)), _room_for(len(calls) + len(window)))
    for r in records:
        seen.add(r["uuid"])
    for m in message_ids:
        mids.add(m)
    for call in calls:
        outer.add(call)
    facts = {"cwd": session.cwd is not None}
    return {
        "mark": mark, **mapped, "facts": facts, "window": window, "last": last,
        "seen": seen.dump(), "mids": mids.dump(), "outer_calls": outer.dump(),
        "pending_command": _is_command(live[-1][1]),
    }


def new_thread(lines: Records, state: dict[str, Any]) -> tuple[Records, dict[str, Any]] | None:
    """The new records of the live thread, in file order, and the state at
    the new end (without the mapper's part); None: read the file whole."""
    if any(r.get("type") in ("custom-title", "summary") for _, r in lines):
        return None
    main = [(n, r) for n, r in lines if r.get("isSidechain") is not True and isinstance(r.get("uuid"), str)]
    uuids = [r["uuid"] for _, r in main]
    window: list[list[Any]] = state["window"]
    links = {e[UUID]: e for e in window}
    seen, mids, outer = Seen.load(state["seen"]), Seen.load(state["mids"]), Seen.load(state["outer_calls"])
    new_ids = {m for _, r in main if r.get("type") == "assistant" and (m := cc._message_id(r))}
    if len(set(uuids)) != len(uuids) or any(u in seen for u in uuids) or any(m in mids for m in new_ids):
        return None
    nexts = _links(main, state["last"], links, seen)
    conversation = [r["uuid"] for _, r in main if r.get("type") in cc.CONVERSATION]
    kept: set[str] = set()
    if conversation:
        found = _thread(main, conversation[-1], nexts, links, outer)
        if found is None:
            return None
        kept = found
    live = [(n, r) for n, r in main if r.get("type") in cc.CONVERSATION and r["uuid"] in kept]
    if live and not _same_facts(live, state):
        return None
    for u in uuids:
        seen.add(u)
    for m in new_ids:
        mids.add(m)
    grown_window: list[list[Any]] | None = window + [_entry(r, nexts[r["uuid"]], r["uuid"] in kept, False) for _, r in main]
    last = conversation[-1] if conversation else state["last"]
    if conversation and grown_window is not None:
        grown_window = _moved_window(grown_window, last, outer)
    if grown_window is None:
        return None
    if seen.full or mids.full or outer.full:
        return None  # the sets would answer "perhaps" too often: a whole read makes them again
    grown = {
        **state, "window": grown_window, "last": last, "seen": seen.dump(), "mids": mids.dump(), "outer_calls": outer.dump(),
        "pending_command": _is_command(live[-1][1]) if live else state["pending_command"],
    }
    return live, grown


def _links(main: Records, last: str, links: dict[str, list[Any]], seen: Seen) -> dict[str, Any]:
    """Where a whole read's chain walk goes after each new record; a parent
    that may be before the window is named as it is, so that a walk
    reaching it stops there (a whole read decides)."""
    known = {r["uuid"] for _, r in main} | set(links)
    found: dict[str, Any] = {}
    previous = last  # the conversation record before, for a parent the file lacks
    for _, r in main:
        parent = _parent(r)
        if not isinstance(parent, str) and r.get("subtype") != "compact_boundary":
            after = None
        elif isinstance(parent, str) and (parent in known or parent in seen):
            after = parent
        else:
            after = previous
        found[r["uuid"]] = after
        if r.get("type") in cc.CONVERSATION:
            previous = r["uuid"]
    return found


def _thread(
    main: Records, leaf: str, nexts: dict[str, Any], links: dict[str, list[Any]], outer: Seen,
) -> set[str] | None:
    """uuids of the new records a whole read would keep: the chain from the
    new leaf, and what hangs off it; None when that read would keep other
    conversation records of the window than before, or only it can tell."""
    by_uuid = {r["uuid"]: r for _, r in main}
    kept: set[str] = set()
    uid: Any = leaf
    while True:  # the chain walk, until it meets the old chain
        if not isinstance(uid, str) or uid in kept:
            return None  # a root, a compaction, a loop: a whole read decides
        kept.add(uid)
        if uid in by_uuid:
            uid = nexts[uid]
            continue
        entry = links.get(uid)
        if entry is None or (entry[CONV] and not entry[KEPT]):
            return None  # before the window, or a conversation record not kept before: another branch
        if entry[KEPT] and entry[CHAIN]:
            break
        uid = entry[NEXT]
    kept |= _walk(uid, lambda u: links[u][NEXT] if u in links else None) & set(links)
    while True:  # parallel tool use hangs off the chain, as in a whole read
        message_ids = {_mid(u, by_uuid, links) for u in kept} - {None}
        call_ids = {c for u in kept for c in _calls(u, by_uuid, links)}
        more: set[str] = set()
        for u in [*by_uuid, *(e[UUID] for e in links.values() if e[KEPT])]:
            if u in kept:
                continue
            pulled = _pulled(u, by_uuid, links, message_ids, call_ids, outer)
            if pulled is None:
                return None
            if pulled:
                more.add(u)
        if not more:
            break
        kept |= more
    if any(e[CONV] and e[KEPT] and e[UUID] not in kept for e in links.values()):
        return None  # a record kept before would be dropped: another branch
    return {u for u in kept if u in by_uuid}


def _moved_window(window: list[list[Any]], last: str, outer: Seen) -> list[list[Any]] | None:
    """The window from the new thread's last prompt on, its chain marked;
    the tool calls kept before it go to `outer`."""
    position = {e[UUID]: i for i, e in enumerate(window)}
    records = [{"uuid": e[UUID], "type": e[KIND], "_results": e[RESULTS]} for e in window]
    nexts = {e[UUID]: e[NEXT] for e in window}
    start = _window_start(last, records, position, lambda u: nexts.get(u))
    if start is None:
        return None
    chain = _walk(last, lambda u: nexts.get(u) if u in nexts else None)
    for entry in window[:start]:
        for call in entry[CALLS] if entry[KEPT] else ():
            outer.add(call)
    return [[*e[:CHAIN], e[UUID] in chain, *e[CHAIN + 1 :]] for e in window[start:]]


def _window_start(last: str, records: list[dict[str, Any]], position: dict[str, int], after: Any) -> int | None:
    """The position of the last prompt on the chain from `last` (a user
    record that is no tool result), when every chain record after it in
    the walk comes after it in the file (None: no window to follow by)."""
    seen: list[int] = []
    uid: Any = last
    while isinstance(uid, str) and uid in position and len(seen) <= len(records):
        record = records[position[uid]]
        if record.get("type") == "user" and not _results_of(record):
            return position[uid] if all(p > position[uid] for p in seen) else None
        seen.append(position[uid])
        uid = after(uid)
    return None


def _results_of(record: dict[str, Any]) -> Any:
    return record["_results"] if "_results" in record else cc._result_ids(record)


def _walk(uid: Any, after: Any) -> set[str]:
    """uuids of the chain walk from `uid` (`after` gives the next one, or None)."""
    found: set[str] = set()
    while isinstance(uid, str) and uid not in found:
        found.add(uid)
        uid = after(uid)
    return found


def _mid(uid: str, by_uuid: dict[str, dict[str, Any]], links: dict[str, list[Any]]) -> str | None:
    if uid in by_uuid:
        return cc._message_id(by_uuid[uid])
    entry = links.get(uid)
    return entry[MID] if entry is not None else None


def _calls(uid: str, by_uuid: dict[str, dict[str, Any]], links: dict[str, list[Any]]) -> list[str]:
    if uid in by_uuid:
        return list(cc._tool_use_ids(by_uuid[uid]))
    entry = links.get(uid)
    return list(entry[CALLS]) if entry is not None else []


def _pulled(
    uid: str, by_uuid: dict[str, dict[str, Any]], links: dict[str, list[Any]], message_ids: set[Any], call_ids: set[str],
    outer: Seen,
) -> bool | None:
    """The whole read's rule for a record off the chain: a piece of a kept
    assistant message, or results of kept tool calls only (None: results of
    calls that may be before the window, which only a whole read can tell)."""
    if uid in by_uuid:
        record = by_uuid[uid]
        kind, mid, results = record.get("type"), cc._message_id(record), cc._result_ids(record)
        missing = results - call_ids
        if kind == "user" and missing and all(c in outer for c in missing):
            return None
    else:
        entry = links[uid]
        kind, mid, results = entry[KIND], entry[MID], set(entry[RESULTS])
    if kind == "assistant":
        return mid in message_ids
    return kind == "user" and bool(results) and results <= call_ids


def _next(record: dict[str, Any], by_uuid: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Where the whole read's chain walk goes after `record` (None: a root)."""
    parent = _parent(record)
    if not isinstance(parent, str) and record.get("subtype") != "compact_boundary":
        return None
    return (by_uuid.get(parent) if isinstance(parent, str) else None) or before.get(record["uuid"])


def _entry(record: dict[str, Any], after: Any, kept: bool, on_chain: bool) -> list[Any]:
    return [record["uuid"], after, record.get("type") in cc.CONVERSATION, kept, on_chain, cc._message_id(record),
            sorted(cc._result_ids(record)), list(cc._tool_use_ids(record)), record.get("type")]


def _room_for(count: int) -> Seen:
    """A set with room for twice `count` (the file may double before its
    next whole read)."""
    return Seen(max(1024, 2 * count))


def _uuid_of(record: dict[str, Any] | None) -> str | None:
    return record["uuid"] if record is not None else None


def _same_facts(live: Records, state: dict[str, Any]) -> bool:
    """Whether the new records leave the session's header as it was, and
    the old end's slash command as it was judged."""
    facts = state["facts"]
    first = live[0][1]
    if state["pending_command"] and (first.get("type") == "assistant" or (first.get("type") == "user" and first.get("isMeta") is True)):
        return False
    for _, r in live:
        ts = ts_from_text(r.get("timestamp"))
        if ts is not None and ts < state["start"]:
            return False
        if not facts["cwd"] and isinstance(r.get("cwd"), str) and r["cwd"]:
            return False
    return True


def _parent(record: dict[str, Any]) -> Any:
    return record.get("parentUuid") or record.get("logicalParentUuid")


def _is_command(record: dict[str, Any]) -> bool:
    return record.get("type") == "user" and cc._command(cc._user_body(record)) is not None
