"""Property: two or three stores ("machines") syncing through one bare
repository, random operations on each interleaved with syncs in random
order and clocks skewed by up to ten minutes, then every machine syncs
twice: every store folds every session identically, and every
acknowledged message is in every store, but one that a compaction dropped
once hidden (a rewind hides a message without naming it, so once compacted
away on the machine that alone held it, it is legitimately in no store).

The operations run through the API in-process (each machine its own home)
and the syncs through `chit.sync.run.Sync`, against a real bare
repository with real git. 6 examples of 15 to 40 steps by default, message
text any Unicode; `CHIT_LONG=1`: 60; and always the explicit example."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from chit.api import Chit
from chit.errors import ChitError
from chit.service.facade import parts_of
from chit.sync.run import Sync

pytestmark = [
    pytest.mark.skipif(shutil.which("git") is None, reason="chit sync needs git"),
]

EXAMPLES = 60 if os.environ.get("CHIT_LONG") else 6
OPS = ("append", "append", "append", "fork", "rename", "tag", "untag", "rewind", "pop", "undo", "compact", "rm", "restore", "set", "sync")
COUNTS = {"ops": 0, "syncs": 0, "examples": 0, "compacted away": 0}
MINUTES = 10 * 60_000  # clocks skewed by up to ten minutes either way

# message text: any Unicode (scripts, emoji, control characters, newlines), as people paste it
step = st.tuples(st.integers(0, 2), st.sampled_from(OPS), st.integers(0, 1_000), st.text(max_size=40))


def _sessions(api: Chit) -> list[str]:
    live = [s.id for s in api.list(all_projects=True)]
    trashed = [s.id for s in api.trash(all_projects=True)]
    return sorted(live + trashed)


def _apply(api: Chit, op: str, pick: int, text: str, acknowledged: dict[str, str], compacted_away: set[str]) -> None:
    """Run one operation; `acknowledged`: message id -> its session id;
    `compacted_away`: the messages a compaction may have dropped."""
    ids = _sessions(api)
    if op == "append" or not ids:
        live = sorted(s.id for s in api.list(all_projects=True))
        target = live[pick % len(live)] if live and pick % 4 else api.create(title=f"s{pick}").id
        message = api.append(target, "user" if pick % 2 else "assistant", f"m{pick} {text}")
        acknowledged[message.id] = target
        return
    ref = ids[pick % len(ids)]
    if op == "compact":
        compacted_away |= _hidden_in_file(api, ref, acknowledged)
    actions: dict[str, Any] = {
        "fork": lambda: api.fork(ref),
        "rename": lambda: api.rename(ref, f"title {pick} {text}"),
        "tag": lambda: api.tag(ref, f"t{pick % 3}"),
        "untag": lambda: api.untag(ref, f"t{pick % 3}"),
        "rewind": lambda: api.rewind(ref, pick % 3),
        "pop": lambda: api.pop(ref),
        "undo": lambda: api.undo(ref),
        "compact": lambda: api.compact(ref),
        "rm": lambda: api.delete(ref),
        "restore": lambda: api.restore(ref),
        "set": lambda: api.set_value(ref, f"k{pick % 2}", text or pick),
    }
    try:
        actions[op]()
    except ChitError:
        pass  # refused here (a trashed session, nothing to undo): a real user's outcome too


def _hidden_in_file(api: Chit, session_id: str, acknowledged: dict[str, str]) -> set[str]:
    """The acknowledged messages of a session that its file here holds but
    its fold hides: what compacting it here drops."""
    ctx = parts_of(api).ctx
    trashed = session_id in {s.id for s in api.trash(all_projects=True)}
    project = ctx.locate(session_id, trash=trashed)
    data = ctx.store.read_bytes(project.slug, session_id, trashed)[0]
    shown = {m.id for m in ctx.read_session(project, session_id, trash=trashed).messages}
    return {m for m, owner in acknowledged.items() if owner == session_id and m not in shown and m.encode() in data}


def _view(api: Chit, session_id: str, trashed: set[str]) -> dict[str, Any]:
    """A session as this machine folds it; `trashed`: the ids in its trash."""
    ctx = parts_of(api).ctx
    project = ctx.locate(session_id, trash=session_id in trashed)
    session = ctx.read_session(project, session_id, trash=session_id in trashed)
    return {
        "messages": [(m.id, m.content) for m in session.messages],
        "title": session.title,
        "tags": sorted(session.tags),
        "values": session.values,
        "deleted": session.deleted_at is not None,
    }


def _lines(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.glob("projects/*/sessions/*.jsonl")) + sorted(home.glob("trash/*/*.jsonl")))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), phases=(Phase.explicit, Phase.generate))
# two messages on one machine, the second hidden by a rewind and compacted away before any sync
@example(machines=2, steps=[(0, "append", 1, "a"), (0, "append", 5, "b"), (0, "rewind", 0, ""), (0, "compact", 0, "")], skews=[0, 0, 0])
@given(
    machines=st.integers(2, 3),
    steps=st.lists(step, min_size=15, max_size=40),
    skews=st.lists(st.integers(-MINUTES, MINUTES), min_size=3, max_size=3),
)
def test_random_operations_and_syncs_converge(
    tmp_path_factory: pytest.TempPathFactory, machines: int, steps: list[tuple[int, str, int, str]], skews: list[int]
) -> None:
    root = tmp_path_factory.mktemp("machines")
    remote = root / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True, env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull})
    apis = [Chit(root / f"m{n}", cwd=root, project="demo", durable=False) for n in range(machines)]
    syncs = [Sync(parts_of(api).ctx) for api in apis]
    for api, skew in zip(apis, skews):
        parts_of(api).ctx.store.stamper.skew_ms = skew  # this machine's wall clock, minutes off
    apis[0].create(title="first")
    syncs[0].init(str(remote))
    for sync in syncs[1:]:
        sync.clone(str(remote))
    acknowledged: dict[str, str] = {}
    compacted_away: set[str] = set()
    for who, op, pick, text in steps:
        n = who % machines
        if op == "sync":
            syncs[n].run()
            COUNTS["syncs"] += 1
        else:
            _apply(apis[n], op, pick, text, acknowledged, compacted_away)
        COUNTS["ops"] += 1
    for _ in range(2):
        for sync in syncs:
            sync.run()
            COUNTS["syncs"] += 1
    COUNTS["examples"] += 1
    ids = _sessions(apis[0])
    for api in apis[1:]:
        assert _sessions(api) == ids
    trash = [{s.id for s in api.trash(all_projects=True)} for api in apis]  # nothing changes the stores from here on
    for session_id in ids:
        first = _view(apis[0], session_id, trash[0])
        for api, trashed in zip(apis[1:], trash[1:]):
            assert _view(api, session_id, trashed) == first, session_id
    forgotten: set[str] = set()
    for api in apis:
        stored = _lines(Path(api.layout.home))
        missing = {message_id for message_id in acknowledged if message_id.encode() not in stored}
        assert missing <= compacted_away, sorted(missing - compacted_away)
        forgotten |= missing
    COUNTS["compacted away"] += len(forgotten)
    print(f"\nsync property: {COUNTS['examples']} examples, {COUNTS['ops']} operations, {COUNTS['syncs']} syncs, "
          f"{COUNTS['compacted away']} compacted away from a store so far")
