"""The fold builds each message once: a long session's read is not
twice its messages (once by the replay, again to number the turns)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chit.api import Chit
from chit.model import Message, Session
from chit.service.facade import parts_of
from chit.store.fold import _Legacy, _Meta, fold, hidden_messages, message_from_record, numbered_messages, order_key, split_events, tags_of
from chit.store.log import parse_log
from chit.store.replay import Replay


def folded_counting(path: Path, project_key: str) -> tuple[Session, int]:
    """The fold of a session file, and how many `Message`s it built."""
    log = parse_log(path.stem, path.read_bytes(), project_key)
    built = 0
    init = Message.__init__.__code__

    def count(frame: FrameType, event: str, _: Any) -> None:
        nonlocal built
        if event == "call" and frame.f_code is init:
            built += 1

    sys.setprofile(count)
    try:
        session = fold(log.header, log.events, log.issues, log.read_only)
    finally:
        sys.setprofile(None)
    return session, built


def shown_and_hidden(session: Session) -> int:
    return len(session.messages) + sum(len(change.hidden) for change in session.changes)


def test_a_stamped_session_builds_each_message_once(tmp_path: Path) -> None:
    api = Chit(tmp_path / "home", cwd=tmp_path, durable=False)
    sid = api.create(messages=[{"role": "system", "content": "brief"}]).id
    for n in range(40):
        api.append(sid, "user" if n % 2 == 0 else "assistant", f"message {n}")
    api.rewind(sid, 15)
    api.append(sid, "user", "after the rewind")
    api.pop(sid)
    api.pop(sid)
    api.undo(sid)
    ctx = parts_of(api).ctx
    project = ctx.locate(sid)
    session, built = folded_counting(ctx.store.session_path(project.slug, sid), project.key)
    assert [m.turn for m in session.messages[:3]] == [None, 0, 0]
    assert [c.kind for c in session.changes] == ["rewind", "pop"]  # the second pop was undone
    assert built == shown_and_hidden(session) == 33 + 8 + 1


def test_a_format_1_session_builds_each_message_once(tmp_path: Path) -> None:
    sid = "0b0e5a8c-1d2e-4f30-8a4b-5c6d7e8f9a0b"
    records: list[dict[str, Any]] = [{"type": "session", "version": 1, "id": sid, "project": "/p", "created_at": "2025-01-01T00:00:00.000000Z"}]
    for n in range(30):
        records.append({"type": "message", "id": f"m{n}", "role": "user" if n % 2 == 0 else "assistant", "content": f"old {n}",
                        "ts": f"2025-01-01T00:00:{n:02d}.000000Z"})
    records += [{"type": "rewind", "keep": 20, "change": "c1"}, {"type": "pop", "change": "c2"}]
    path = tmp_path / f"{sid}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    session, built = folded_counting(path, "/p")
    assert [m.turn for m in session.messages[-2:]] == [8, 9]
    assert built == shown_and_hidden(session) == 19 + 10 + 1


def test_a_session_whose_stamped_events_hide_nothing_is_folded_without_the_replay(tmp_path: Path) -> None:
    """Messages, renames, tags, states and values only: the replay (an
    entry and a key per message) would show every message in fold order."""
    home = tmp_path / "home"
    api = Chit(home, cwd=tmp_path, durable=False)
    sid = api.create(title="plain").id
    for n in range(6):
        api.append(sid, "user" if n % 2 == 0 else "assistant", f"message {n}")
    api.tag(sid, "x")
    probe = f"""import sys
from chit.api import Chit
session = Chit({str(home)!r}, cwd={str(tmp_path)!r}).get({sid!r})
print(len(session.messages), "chit.store.replay" in sys.modules)"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert done.stdout.split() == ["6", "False"]


def _stamped(n: int, kind: str, by: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "hlc": f"{1765036800000 + n:013d}.000000", "by": by, "id": f"e{n}", "ts": f"2026-01-01T00:00:{n % 60:02d}.000000Z", **fields}


EVENT = st.sampled_from(["message", "message", "message", "rename", "tag", "untag", "state", "set", "legacy", "legacy rewind", "legacy trash", "legacy restore", "pop", "trash", "restore"])


@settings(max_examples=300, deadline=None)
@given(kinds=st.lists(st.tuples(EVENT, st.sampled_from(["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"]), st.integers(0, 40)), max_size=30))
def test_the_fold_without_the_replay_is_the_replay(kinds: list[tuple[str, str, int]]) -> None:
    """Whichever way the fold takes, a session is what the replay of its
    events (chit.store.replay) makes of it."""
    header = {"type": "session", "version": 2, "id": "s", "project": "/p", "created_at": "2026-01-01T00:00:00.000000Z"}
    events: list[dict[str, Any]] = []
    for n, (kind, by, at) in enumerate(kinds):
        role = "user" if n % 3 == 0 else "assistant"
        if kind == "message":
            events.append(_stamped(at, "message", by, role=role, content=f"m{n}"))
            events[-1]["id"] = f"m{n}"
        elif kind == "legacy":
            events.append({"type": "message", "id": f"l{n}", "role": role, "content": f"l{n}", "ts": "2026-01-01T00:00:00.000000Z"})
        elif kind.startswith("legacy "):
            legacy_change: dict[str, dict[str, Any]] = {"rewind": {"type": "rewind", "keep": at % 4}, "trash": {"type": "trash"}, "restore": {"type": "restore"}}
            events.append(legacy_change[kind[7:]])
        elif kind == "rename":
            events.append(_stamped(at, "rename", by, title=f"t{n}"))
        elif kind in ("tag", "untag"):
            events.append(_stamped(at, kind, by, tags=[f"x{at % 3}"]))
        elif kind == "state":
            events.append(_stamped(at, "state", by, state="idle"))
        elif kind == "set":
            events.append(_stamped(at, "set", by, key="k", value=n))
        elif kind == "pop":
            events.append(_stamped(at, "pop", by, hides=f"m{at % max(n, 1)}", seen={by: f"{1765036800000 + at:013d}.000000"}))
        elif kind == "trash":
            events.append(_stamped(at, "trash", by, seen={by: f"{1765036800000 + at:013d}.000000"}))
        else:
            events.append(_stamped(at, "restore", by, seen={by: f"{1765036800000 + at:013d}.000000"}))
    folded = fold(header, events)
    legacy_events, stamped, clashes = split_events(events)
    assert split_events(iter(events)) == (legacy_events, stamped, clashes)  # (a list of stamped events alone is sorted whole)
    if not clashes:  # a union's repeated lines
        assert split_events(events + [e for e in events[:3] if "hlc" in e]) == (legacy_events, stamped, clashes)
    meta = _Meta(header)
    legacy = _Legacy(meta)
    for event in legacy_events:
        legacy.apply(event)
    replay = Replay(legacy)
    for event in stamped:
        meta.apply(event)
        replay.apply(event)
    deleted_at, trashes, restored_by = replay.deleted(meta.updated_at)
    assert folded.messages == numbered_messages(replay.records())
    assert list(folded.changes) == replay.changes()
    assert (folded.dropped, folded.deleted_at, folded.trashes, folded.restored_by) == (replay.dropped(), deleted_at, trashes, restored_by)
    assert list(folded.seen.items()) == list(replay.seen.items())
    assert tags_of(header, events) == folded.tags
    assert (folded.title, folded.tags, folded.run, folded.values, folded.updated_at, folded.issues) == (
        meta.manual_title or folded.title, tuple(meta.tags), meta.run, meta.values, meta.updated_at, tuple(clashes))


@pytest.mark.parametrize("command", ["load", "show"])
def test_load_and_show_keep_the_session_they_print_out_of_the_collectors_sight(command: str, tmp_path: Path) -> None:
    """The objects a command's read of its session built are frozen
    (`gc.freeze`): the collector does not walk thousands of messages
    that live until the command has printed them."""
    home = tmp_path / "home"
    api = Chit(home, cwd=tmp_path, durable=False)
    sid = api.create(messages=[{"role": "user" if n % 2 == 0 else "assistant", "content": f"m{n}"} for n in range(300)]).id
    probe = f"""import gc
from chit.cli.main import run
from chit.render.environment import Environment
def frozen_by(args):
    before = gc.get_freeze_count()
    assert run(args, Environment.captured()) == 0
    return gc.get_freeze_count() - before
frozen_by(["ls", "--json"])  # the start-up imports, frozen the first time
print(frozen_by([{command!r}, {sid!r}, "--json"]))"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path, env={**os.environ, "CHIT_HOME": str(home)})
    assert int(done.stdout) >= 300


def test_numbered_messages_are_built_as_message_from_record_builds_them() -> None:
    """`numbered_messages` and `hidden_messages` write out `message_from_record` for speed: each
    optional field, present, null or absent, comes out the same."""
    base = {"type": "message", "id": "m", "role": "user", "content": "c", "ts": "2026-01-01T00:00:00.000000Z"}
    optional: dict[str, list[Any]] = {
        "invocation_id": ["i", None], "model": ["m", None], "tokens": [{"input": 1, "output": 2}, {"input": 3}, None, [1]],
        "metadata": [{"a": 1}, {}, None],
    }
    records = [dict(base, role=role) for role in ("system", "user", "assistant", "user", "tool")]
    for name, values in optional.items():
        records += [dict(base, **{name: value}) for value in values]
    turns: list[int | None] = []
    turn = -1
    for record in records:
        turn += record["role"] == "user"
        turns.append(turn if turn >= 0 else None)
    assert numbered_messages(records) == tuple(message_from_record(r, t) for r, t in zip(records, turns))
    assert [m.as_dict() for m in numbered_messages(records)] == [message_from_record(r, t).as_dict() for r, t in zip(records, turns)]
    stamped = [dict(r, hlc="1765036800000.000000", by="aaaaaaaaaaaaaaaa") for r in records]
    for some in (records, stamped):  # and `hidden_messages`, the messages of a change (no turn)
        assert [m.as_dict() for m in hidden_messages(some)] == [message_from_record(r).as_dict() for r in some]


def test_stamped_events_come_out_in_fold_order_whatever_order_the_file_holds() -> None:
    """A file already in fold order (each stamp past the one before) is
    taken as it is; one out of order, or with two events of one stamp, is
    sorted by (hlc, by, id), and each machine's greatest stamp is seen."""
    in_order = [_stamped(n, "message", "bbbbbbbbbbbbbbbb", role="user", content="c") for n in range(5)]
    assert split_events(in_order)[1] == sorted(in_order, key=order_key) == in_order
    shuffled = [in_order[n] for n in (3, 0, 4, 1, 2)]
    assert split_events(shuffled)[1] == in_order
    tied = [dict(_stamped(5, "message", by, role="user", content="c"), id=f"t{by[0]}") for by in ("bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa")]
    assert [e["by"][0] for e in split_events(in_order + tied)[1][-2:]] == ["a", "b"]
    header = {"type": "session", "version": 2, "id": "s", "project": "/p", "created_at": "2026-01-01T00:00:00.000000Z"}
    two_machines = [dict(e, by="aaaaaaaaaaaaaaaa") if n % 2 else e for n, e in enumerate(in_order)]
    assert fold(header, two_machines).seen == {"bbbbbbbbbbbbbbbb": in_order[4]["hlc"], "aaaaaaaaaaaaaaaa": in_order[3]["hlc"]}
    assert fold(header, in_order).seen == {"bbbbbbbbbbbbbbbb": in_order[4]["hlc"]}


def test_tag_and_untag_fold_the_session_once(tmp_path: Path) -> None:
    """Which tags are new (or present) is decided by the tags alone
    (`tags_of`): the session is folded once, with what was written."""
    from calls import calls_of

    api = Chit(tmp_path / "home", cwd=tmp_path, durable=False)
    sid = api.create(messages=[{"role": "user", "content": f"m{n}"} for n in range(30)], tags=["kept"]).id
    api.rewind(sid, 10)
    for change, want in ((lambda: api.tag(sid, "new", "kept"), ("kept", "new")), (lambda: api.tag(sid, "kept"), ("kept", "new")),
                         (lambda: api.untag(sid, "new", "absent"), ("kept",)), (lambda: api.untag(sid, "absent"), ("kept",))):
        with calls_of(fold) as folds:
            session = change()
        assert folds[0] == 1
        assert session.tags == want and session == api.get(sid)


def test_chit_rewind_and_pop_fold_no_more_than_they_need(home: Path, workdir: Path) -> None:
    """`chit rewind` folds the session under its lock and once more for
    the turns it prints, `chit pop` once (a session not imported: no
    check before the write, `rewind` checks under the lock, in the same
    words); an imported session is still refused before its fork is made."""
    from calls import calls_of
    from test_cli_inprocess import in_process

    api = Chit(home, cwd=workdir)
    sid = api.create(messages=[{"role": "user" if n % 2 == 0 else "assistant", "content": f"m{n}"} for n in range(12)]).id
    for args, folds_wanted in ((["rewind", sid, "3"], 2), (["pop", sid], 1)):
        with calls_of(fold) as folds:
            done = in_process(args)
        assert done.code == 0, done.err
        assert folds[0] == folds_wanted, args
    refused = in_process(["rewind", sid, "9"])
    assert refused.code == 5 and refused.err == f"chit: error: turn 9 is out of range: session {sid[:8]} has turns 0..3\n", refused.err
    assert [m.content for m in api.get(sid).messages] == [f"m{n}" for n in range(7)]
