"""Format 2: a session is the fold of the SET of its lines.

Replicas of one session (one home each, wall clocks minutes apart) are
changed through the API and exchange the lines the other lacks, as a
union merge would; after a full exchange they all fold alike, whatever
the order or repetition of the lines, and no message ever appended is
lost or hidden by an operation that had not seen it.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chit.api import Chit
from chit.errors import ChitError
from chit.model import Session
from chit.service.facade import parts_of
from chit.store.fold import fold
from chit.store.log import parse_log

LONG = os.environ.get("CHIT_LONG") == "1"
SKEWS_MS = (0, -7 * 60_000, 4 * 60_000)  # each replica's wall clock, minutes apart
OPS = ("append", "append", "append", "rewind", "pop", "undo", "replace", "rename", "tag", "untag",
       "set", "unset", "state", "rm", "restore", "compact", "exchange", "exchange")
RUN = {"examples": 0, "operations": 0, "exchanges": 0}


class Replica:
    """One machine's copy of the session, in its own home."""

    def __init__(self, home: Path, workdir: Path, skew_ms: int) -> None:
        self.api = Chit(home, cwd=workdir, durable=False)
        self.store = parts_of(self.api).ctx.store
        self.store.stamper.skew_ms = skew_ms
        self.slug = self.api.project().slug
        self.key = self.api.project().key

    def where(self, sid: str) -> bool:
        """Whether the file is in the trash."""
        return not self.store.layout.session_file(self.slug, sid).exists()

    def path(self, sid: str) -> Path:
        return self.store.session_path(self.slug, sid, trash=self.where(sid))

    def lines(self, sid: str) -> list[bytes]:
        return self.path(sid).read_bytes().splitlines(keepends=True)

    def folded(self, sid: str) -> Session:
        log = parse_log(sid, self.path(sid).read_bytes(), self.key)
        return fold(log.header, log.events, log.issues)

    def take(self, sid: str, other: Replica) -> None:
        """Append the lines of `other`'s copy this one lacks (under the
        lock), then put the file where its fold says (trash or not)."""
        have = set(self.lines(sid))
        missing = [line for line in other.lines(sid) if line not in have]
        trashed = self.where(sid)
        with self.store.locked(self.slug, sid, self.key, trash=trashed) as held:
            held.append_lines(missing)
        deleted = self.folded(sid).deleted_at is not None
        if deleted != trashed:
            self.store.move(self.path(sid), self.store.session_path(self.slug, sid, trash=deleted))


def make_replicas(tmp_path: Path) -> tuple[list[Replica], str]:
    workdir = tmp_path / "work"
    workdir.mkdir()
    first = tmp_path / "home0"
    api = Chit(first, cwd=workdir, durable=False)
    sid = api.create(messages=[{"role": "user", "content": "start"}]).id
    for n in range(1, len(SKEWS_MS)):  # the same session, copied as a clone would copy it
        shutil.copytree(first, tmp_path / f"home{n}", ignore=shutil.ignore_patterns("machine-id", "index.sqlite*", "changes"))
    return [Replica(tmp_path / f"home{n}", workdir, skew) for n, skew in enumerate(SKEWS_MS)], sid


def operate(replica: Replica, sid: str, op: str, n: int, appended: set[str], forgotten: set[str]) -> None:
    """One change through the API; `appended` gets the ids of the messages
    written, `forgotten` those a compaction drops (hidden, then gone)."""
    api = replica.api
    if replica.where(sid):
        if op == "restore":
            api.restore(sid)
        return  # a trashed copy takes no other change
    session = api.get(sid)
    if op == "append":
        role = "user" if n % 2 else "assistant"
        appended.add(api.append(sid, role, f"m{n}").id)
    elif op == "rewind" and session.turns:
        api.rewind(sid, n % session.turns)
    elif op == "pop":
        api.pop(sid)
    elif op == "undo":
        api.undo(sid)
    elif op == "replace" and session.messages:
        kept = [{"role": m.role, "content": m.content} for m in session.messages[: n % len(session.messages)]]
        new = api.update(sid, [*kept, {"role": "user", "content": f"r{n}"}])
        appended.update(m.id for m in new.messages[len(kept):])
    elif op == "rename":
        api.rename(sid, f"title {n % 3}")
    elif op in ("tag", "untag"):
        getattr(api, op)(sid, f"t{n % 3}")
    elif op == "set":
        api.set_value(sid, f"k{n % 2}", n)
    elif op == "unset":
        api.unset_value(sid, f"k{n % 2}")
    elif op == "state":
        api.set_state(sid, ("idle", "running", "error")[n % 3])
    elif op == "rm":
        api.delete(sid)
    elif op == "compact":
        forgotten.update(appended - {m.id for m in session.messages})
        api.compact(sid)


def exchange_all(replicas: list[Replica], sid: str) -> None:
    for replica in replicas[1:]:
        replicas[0].take(sid, replica)
    for replica in replicas[1:]:
        replica.take(sid, replicas[0])


def view(session: Session) -> tuple[Any, ...]:
    """What every copy must agree on."""
    return (
        [(m.id, m.role, m.content, m.turn) for m in session.messages], session.title, session.tags,
        session.values, session.run.state, session.deleted_at, session.restored_by,
        [(c.kind, c.id, len(c.hidden)) for c in session.changes],
    )


def check_hidden_only_when_seen(session: Session, events: list[dict[str, Any]], appended: set[str]) -> None:
    """A message appended and not shown was hidden by an event that saw it:
    a rewind or trash whose `seen` covers it, a pop naming it, or the undo
    of the replace that wrote it."""
    messages = {e["id"]: e for e in events if e["type"] == "message"}
    shown = {m.id for m in session.messages}
    added_by = {e["change"]: e.get("adds") or [] for e in events if e["type"] == "rewind" and "change" in e}
    for mid in appended - shown:
        message = messages[mid]
        reasons = [
            e for e in events
            if (e["type"] == "pop" and e["hides"] == mid)
            or (e["type"] == "rewind" and "seen" in e and message["hlc"] <= e["seen"].get(message["by"], ""))
            or (e["type"] == "rewind" and "undo" in e and mid in added_by.get(e["undo"], []))
        ]
        assert reasons, f"message {mid} is hidden by nothing that saw it"


# shrinking a run of 30 operations on three homes takes minutes: the failing
# example is printed as found (CHIT_LONG=1 shrinks it)
PHASES = tuple(Phase) if LONG else (Phase.explicit, Phase.reuse, Phase.generate)
STEPS = st.lists(st.tuples(st.integers(0, len(SKEWS_MS) - 1), st.sampled_from(OPS), st.integers(0, 1000)), min_size=12, max_size=60 if LONG else 30)


@settings(max_examples=300 if LONG else 25, deadline=None, phases=PHASES, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=STEPS, seed=st.integers(0, 2**32 - 1))
def test_replicas_converge_whatever_the_order_of_changes_and_exchanges(tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[int, str, int]], seed: int) -> None:
    replicas, sid = make_replicas(tmp_path_factory.mktemp("replicas"))
    appended: set[str] = set()
    forgotten: set[str] = set()
    for who, op, n in steps:
        RUN["operations"] += 1
        if op == "exchange":
            RUN["exchanges"] += 1
            replicas[who].take(sid, replicas[n % len(replicas)])
            continue
        try:
            operate(replicas[who], sid, op, n, appended, forgotten)
        except ChitError as exc:  # an operation with nothing to act on (rewind past the end...)
            assert exc.code in ("INVALID_INPUT", "NOT_FOUND"), exc
    exchange_all(replicas, sid)
    RUN["examples"] += 1

    views = [view(r.folded(sid)) for r in replicas]
    assert views[1:] == views[:-1], "copies holding the same lines fold differently"
    lines = replicas[0].lines(sid)
    assert all(set(r.lines(sid)) == set(lines) for r in replicas)
    shuffled = lines[1:] + random.Random(seed).choices(lines[1:], k=len(lines) // 2)
    random.Random(seed).shuffle(shuffled)
    log = parse_log(sid, b"".join([lines[0], *shuffled]), replicas[0].key)
    assert view(fold(log.header, log.events)) == views[0], "order or repetition of lines changed the fold"
    session = replicas[0].folded(sid)
    stored = {e["id"] for e in log.events if e["type"] == "message"}
    assert appended - forgotten <= stored, "an appended message is lost"
    check_hidden_only_when_seen(session, log.events, appended & stored)
    if session.deleted_at is None:  # the index of a copy agrees with the fold
        listed = [s for s in replicas[0].api.list(limit=None) if s.id == sid]
        assert listed == [session.summary(replicas[0].api.project().name, replicas[0].api.project().slug)]


def test_replica_run_size() -> None:
    """Runs after the property test in this file: says how much it did."""
    if RUN["examples"]:
        print(f"\nformat 2 replicas: {RUN['examples']} examples, {RUN['operations']} operations, {RUN['exchanges']} exchanges")


# -- one concurrent case at a time -------------------------------------------------


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Replica, Replica, str]:
    replicas, sid = make_replicas(tmp_path)
    return replicas[0], replicas[1], sid


def contents(replica: Replica, sid: str) -> list[str]:
    return [m.content for m in replica.folded(sid).messages]


def test_rewind_keeps_a_message_written_meanwhile_elsewhere(pair: tuple[Replica, Replica, str]) -> None:
    a, b, sid = pair
    for content in ("a0", "q1", "a1"):
        a.api.append(sid, "user" if content[0] == "q" else "assistant", content)
    b.take(sid, a)
    a.api.rewind(sid, 0)  # hides q1 and a1
    b.api.append(sid, "user", "from b")  # b's clock is 7 minutes behind a's
    a.take(sid, b)
    b.take(sid, a)
    assert contents(a, sid) == contents(b, sid) == ["start", "a0", "from b"]


def test_pop_hides_the_message_it_names_not_the_last_one(pair: tuple[Replica, Replica, str]) -> None:
    a, b, sid = pair
    a.api.append(sid, "assistant", "a0")
    b.take(sid, a)
    a.api.pop(sid)
    b.api.append(sid, "user", "from b")
    a.take(sid, b)
    b.take(sid, a)
    assert contents(a, sid) == contents(b, sid) == ["start", "from b"]


def test_a_trash_is_overridden_by_a_message_it_did_not_see(pair: tuple[Replica, Replica, str]) -> None:
    a, b, sid = pair
    a.api.delete(sid)
    added = b.api.append(sid, "user", "still here")
    a.take(sid, b)
    b.take(sid, a)
    for replica in (a, b):
        session = replica.folded(sid)
        assert session.deleted_at is None and session.restored_by == added.id
        assert not replica.where(sid)
    a.api.delete(sid)  # a trash that saw everything holds
    b.take(sid, a)
    assert b.folded(sid).deleted_at is not None and b.folded(sid).restored_by is None


def test_later_stamp_wins_a_rename_and_a_set(pair: tuple[Replica, Replica, str]) -> None:
    a, b, sid = pair
    b.api.rename(sid, "from b")  # b's clock is behind: a's later rename wins
    b.api.set_value(sid, "k", "b")
    a.api.rename(sid, "from a")
    a.api.set_value(sid, "k", "a")
    a.take(sid, b)
    b.take(sid, a)
    assert a.folded(sid).title == b.folded(sid).title == "from a"
    assert a.folded(sid).values == b.folded(sid).values == {"k": "a"}


def test_a_union_of_a_compacted_copy_and_an_old_one_folds_as_the_compacted_one(pair: tuple[Replica, Replica, str]) -> None:
    a, b, sid = pair
    for n in range(4):
        a.api.append(sid, "assistant" if n % 2 == 0 else "user", f"m{n}")
    a.api.rewind(sid, 1)
    a.api.pop(sid)
    b.take(sid, a)  # b holds the hidden messages and the tombstones
    a.api.compact(sid)
    compacted = a.folded(sid)
    assert compacted.dropped == 0 and compacted.changes == ()
    assert len(a.lines(sid)) < len(b.lines(sid))
    b.take(sid, a)
    a.take(sid, b)  # the hidden messages come back as lines, still hidden
    for replica in (a, b):
        assert view(replica.folded(sid)) == view(compacted)
    assert a.api.undo(sid) is None  # compaction made the changes final on every copy


def test_a_trash_unseen_message_popped_and_compacted_elsewhere_folds_alike(pair: tuple[Replica, Replica, str]) -> None:
    """a's trash did not see b's message, which b then popped and
    compacted away. a's copy still holds the message (hidden), b's no
    longer does: both fold alike, deleted, since the trash hid nothing shown."""
    a, b, sid = pair
    a.api.delete(sid)
    trash_line = a.lines(sid)[-1]
    b.api.append(sid, "user", "popped, then compacted")
    a.take(sid, b)
    b.api.pop(sid)
    b.api.compact(sid)
    a.take(sid, b)
    with b.store.locked(b.slug, sid, b.key) as held:
        held.append_lines([trash_line])  # what a sync brings b: the lines its mirror lacked
    assert len(a.lines(sid)) == len(b.lines(sid)) + 1
    assert view(a.folded(sid)) == view(b.folded(sid))
    assert b.folded(sid).deleted_at is not None and b.folded(sid).restored_by is None


def test_two_lines_with_one_id_keep_one_and_say_so(tmp_path: Path) -> None:
    replicas, sid = make_replicas(tmp_path)
    a = replicas[0]
    message = a.api.append(sid, "user", "original")
    path = a.path(sid)
    line = next(orjson.loads(x) for x in a.lines(sid) if b'"original"' in x)
    with open(path, "ab") as handle:
        handle.write(orjson.dumps({**line, "content": "forged"}) + b"\n")
    session = a.folded(sid)
    assert len([m for m in session.messages if m.id == message.id]) == 1
    assert any("share the id" in issue.reason for issue in session.issues)
    lines = a.lines(sid)
    log = parse_log(sid, b"".join([lines[0], *reversed(lines[1:])]), a.key)
    assert view(fold(log.header, log.events)) == view(session)  # the same one kept, whichever comes first


def test_two_copies_concatenated_fold_as_their_union(pair: tuple[Replica, Replica, str]) -> None:
    """`cat a b`: the header twice, the common lines twice, both sides' new
    lines; it folds as the merged copy does, with no line set aside."""
    a, b, sid = pair
    a.api.append(sid, "assistant", "from a")
    a.api.rename(sid, "a's title")
    b.api.append(sid, "user", "from b")
    b.api.pop(sid)
    b.api.append(sid, "user", "b again")
    joined = b"".join(a.lines(sid) + b.lines(sid))
    b.take(sid, a)
    log = parse_log(sid, joined, a.key)
    assert log.issues == []
    assert view(fold(log.header, log.events)) == view(b.folded(sid))
    assert [m.content for m in b.folded(sid).messages] == ["start", "b again", "from a"]  # b's clock is behind
