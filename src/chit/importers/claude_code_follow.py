"""Following a Claude Code transcript: the live thread of the lines it gained.

A whole read (`claude_code.read_file`) keeps, besides the messages, what
the thread's continuation needs to be judged from the new lines alone: for
every main-thread record, where the chain walk goes after it and whether
it is a conversation record; for the records it kept, whether each is on
the chain from the leaf, its `message.id`, tool calls and results; and
every assistant `message.id` read.

Invariants (so that a follow gives exactly what a whole read would):
- the whole read's rules are run again over the new records and the
  skeleton: the chain walk from the new leaf, then the pieces pulled in
  off the chain (parallel tool use), to a fixed point; the new lines are
  taken only when every conversation record kept before is kept again (a
  branch from an earlier record, an edited prompt or a rewind, drops
  some), no other one joins, and the walk meets the old chain (a
  compaction, a missing parent, a new root: a whole read decides);
- nothing read before may change: a new line repeating a uuid or an
  assistant `message.id` read before (its tokens would move), a title
  record (`custom-title`, `summary`), a slash command left at the old end
  that the new lines turn into a prompt, a first working directory, branch
  or slug, or a time before the session's start all mean a whole read;
- off the chain, the new records kept are the two kinds a whole read
  keeps: pieces of a kept new message and results of kept tool calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chit.importers import claude_code as cc
from chit.importers.base import Problem, SourceSession, Tail, one_line, ts_from_text
from chit.importers.follow import read_new

Records = list[tuple[int, dict[str, Any]]]


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
    if problems:
        return None
    return Tail(mapper.out.messages, {**grown, "mark": mark, **mapper.state()}, read)


def whole_state(
    mark: dict[str, Any], main: Records, kept: set[str], live: Records, session: SourceSession, mapped: dict[str, Any],
) -> dict[str, Any] | None:
    """The state a whole read leaves for the next follow (None: the next
    change is read whole)."""
    if not any(ts_from_text(r.get("timestamp")) for _, r in live):
        return None  # the start would come from the first new time
    by_uuid = {r["uuid"]: r for _, r in main}
    before = cc._previous_records(main)
    links = {r["uuid"]: [_uuid_of(_next(r, by_uuid, before)), r.get("type") in cc.CONVERSATION] for _, r in main}
    last = [r["uuid"] for _, r in main if r.get("type") in cc.CONVERSATION][-1]
    chain = _chain(last, links)
    facts = {"cwd": session.cwd is not None, "git_branch": "git_branch" in session.metadata, "slug": "slug" in session.metadata}
    return {
        "mark": mark, **mapped, "facts": facts, "links": links, "last": last,
        "skeleton": {r["uuid"]: _entry(r, r["uuid"] in chain) for _, r in main if r["uuid"] in kept},
        "message_ids": sorted({m for _, r in main if r.get("type") == "assistant" and (m := cc._message_id(r))}),
        "pending_command": _is_command(live[-1][1]),
    }


def new_thread(lines: Records, state: dict[str, Any]) -> tuple[Records, dict[str, Any]] | None:
    """The new records of the live thread, in file order, and the state at
    the new end (without the mapper's part); None: read the file whole."""
    if any(r.get("type") in ("custom-title", "summary") for _, r in lines):
        return None
    main = [(n, r) for n, r in lines if r.get("isSidechain") is not True and isinstance(r.get("uuid"), str)]
    uuids = [r["uuid"] for _, r in main]
    earlier_ids = set(state["message_ids"])
    new_ids = {m for _, r in main if r.get("type") == "assistant" and (m := cc._message_id(r))}
    links: dict[str, list[Any]] = state["links"]
    if len(set(uuids)) != len(uuids) or any(u in links for u in uuids) or not earlier_ids.isdisjoint(new_ids):
        return None
    grown = {**state, "links": {**links, **_links(main, state)}, "message_ids": sorted(earlier_ids | new_ids)}
    conversation = [r["uuid"] for _, r in main if r.get("type") in cc.CONVERSATION]
    if not conversation:
        return [], grown
    kept = _thread(main, conversation[-1], state)
    if kept is None:
        return None
    live = [(n, r) for n, r in main if r.get("type") in cc.CONVERSATION and r["uuid"] in kept]
    if not _same_facts(live, state):
        return None
    chain = _chain(conversation[-1], grown["links"])
    skeleton = {u: [u in chain, *e[1:]] for u, e in state["skeleton"].items()}
    skeleton.update({u: [u in chain, None, [], [], None] for u in kept if u not in skeleton})  # records with no message
    skeleton.update({r["uuid"]: _entry(r, r["uuid"] in chain) for _, r in main if r["uuid"] in kept})
    grown.update(skeleton=skeleton, last=conversation[-1], pending_command=_is_command(live[-1][1]))
    return live, grown


def _links(main: Records, state: dict[str, Any]) -> dict[str, list[Any]]:
    """Where a whole read's chain walk goes after each new record."""
    known = {**state["links"], **{r["uuid"]: None for _, r in main}}
    found: dict[str, list[Any]] = {}
    previous = state["last"]  # the conversation record before, for a parent the file lacks
    for _, r in main:
        parent = _parent(r)
        if not isinstance(parent, str) and r.get("subtype") != "compact_boundary":
            after = None
        else:
            after = parent if isinstance(parent, str) and parent in known else previous
        found[r["uuid"]] = [after, r.get("type") in cc.CONVERSATION]
        if r.get("type") in cc.CONVERSATION:
            previous = r["uuid"]
    return found


def _thread(main: Records, leaf: str, state: dict[str, Any]) -> set[str] | None:
    """uuids of the records a whole read would keep: the chain from the new
    leaf, and what hangs off it; None when that read would keep other
    conversation records than before, or only it can tell."""
    by_uuid = {r["uuid"]: r for _, r in main}
    skeleton: dict[str, list[Any]] = state["skeleton"]
    links: dict[str, list[Any]] = state["links"]
    kept: set[str] = set()
    uid: Any = leaf
    while True:  # the chain walk, until it meets the old chain
        if not isinstance(uid, str) or uid in kept:
            return None  # a root, a compaction, a loop: a whole read decides
        kept.add(uid)
        if uid in by_uuid:
            uid = _parent(by_uuid[uid])
            continue
        if uid in skeleton and skeleton[uid][0]:
            break
        link = links.get(uid)
        if link is None or (link[1] and uid not in skeleton):
            return None  # a parent the file lacks, or a conversation record not kept before: another branch
        uid = link[0]
    kept |= _chain(uid, links)
    while True:  # parallel tool use hangs off the chain, as in a whole read
        message_ids = {_mid(u, by_uuid, skeleton) for u in kept} - {None}
        call_ids = {c for u in kept for c in _calls(u, by_uuid, skeleton)}
        more = {u for u in [*by_uuid, *skeleton] if u not in kept and _pulled(u, by_uuid, skeleton, message_ids, call_ids)}
        if not more:
            break
        kept |= more
    if any(u not in kept for u, e in skeleton.items() if e[4] in cc.CONVERSATION):
        return None  # a record kept before would be dropped: another branch
    return kept


def _chain(uid: Any, links: dict[str, list[Any]]) -> set[str]:
    """uuids of the chain walk from `uid`."""
    found: set[str] = set()
    while isinstance(uid, str) and uid in links and uid not in found:
        found.add(uid)
        uid = links[uid][0]
    return found


def _mid(uid: str, by_uuid: dict[str, dict[str, Any]], skeleton: dict[str, list[Any]]) -> str | None:
    if uid in by_uuid:
        return cc._message_id(by_uuid[uid])
    entry = skeleton.get(uid)
    return entry[1] if entry is not None else None


def _calls(uid: str, by_uuid: dict[str, dict[str, Any]], skeleton: dict[str, list[Any]]) -> list[str]:
    if uid in by_uuid:
        return list(cc._tool_use_ids(by_uuid[uid]))
    entry = skeleton.get(uid)
    return list(entry[3]) if entry is not None else []


def _pulled(
    uid: str, by_uuid: dict[str, dict[str, Any]], skeleton: dict[str, list[Any]], message_ids: set[Any], call_ids: set[str],
) -> bool:
    """The whole read's rule for a record off the chain: a piece of a kept
    assistant message, or results of kept tool calls only."""
    if uid in by_uuid:
        record = by_uuid[uid]
        kind, mid, results = record.get("type"), cc._message_id(record), cc._result_ids(record)
    else:
        entry = skeleton[uid]
        kind, mid, results = entry[4], entry[1], set(entry[2])
    if kind == "assistant":
        return mid in message_ids
    return kind == "user" and bool(results) and results <= call_ids


def _next(record: dict[str, Any], by_uuid: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Where the whole read's chain walk goes after `record` (None: a root)."""
    parent = _parent(record)
    if not isinstance(parent, str) and record.get("subtype") != "compact_boundary":
        return None
    return (by_uuid.get(parent) if isinstance(parent, str) else None) or before.get(record["uuid"])


def _entry(record: dict[str, Any], on_chain: bool) -> list[Any]:
    """A kept record in the skeleton: [on the chain from the leaf, message
    id, tool results, tool calls, type]."""
    return [on_chain, cc._message_id(record), sorted(cc._result_ids(record)), list(cc._tool_use_ids(record)), record.get("type")]


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
        if (not facts["git_branch"] and one_line(r.get("gitBranch"))) or (not facts["slug"] and one_line(r.get("slug"))):
            return False
    return True


def _parent(record: dict[str, Any]) -> Any:
    return record.get("parentUuid") or record.get("logicalParentUuid")


def _is_command(record: dict[str, Any]) -> bool:
    return record.get("type") == "user" and cc._command(cc._user_body(record)) is not None
