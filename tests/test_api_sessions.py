"""Write-side API: create, get/load, append, pop, rewind, fork, rename,
tag/untag, derived titles, run state and the value map."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from conftest import tree_digest

from chit.api import Chit
from chit.store.codec import FORMAT_VERSION
from chit.errors import Conflict, InvalidInput, NotFound
from chit.model import Tokens


def session_lines(api: Chit, session_id: str) -> list[dict[str, object]]:
    path = api.layout.session_file(api.project().slug, session_id)
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def conversation(api: Chit, turns: int, preamble: bool = True, **create: object) -> str:
    """A session: optional system preamble, then `turns` user/assistant pairs."""
    session = api.create(**create)  # type: ignore[arg-type]
    if preamble:
        api.append(session.id, "system", "be brief")
    for n in range(turns):
        api.append(session.id, "user", f"question {n}", invocation_id=f"inv{n}")
        api.append(session.id, "assistant", f"answer {n}", invocation_id=f"inv{n}")
    return session.id


# -- create, get, load ---------------------------------------------------


def test_create_stores_everything_given(api: Chit, workdir: Path) -> None:
    session = api.create(
        title="Planning",
        key="plan-1",
        metadata={"agent": "x", "n": [1, 2]},
        messages=[{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}],
        tags=["a", "b"],
    )
    again = api.get(session.id)
    assert again == session
    assert again.title == "Planning"
    assert again.manual_title == "Planning"
    assert again.key == "plan-1"
    assert again.metadata == {"agent": "x", "n": [1, 2]}
    assert [(m.role, m.content, m.turn) for m in again.messages] == [("system", "sys", None), ("user", "hi", 0)]
    assert again.tags == ("a", "b")
    assert again.project == str(workdir)
    assert again.parent is None
    assert again.run.state == "idle"
    assert again.issues == () and again.dropped == 0 and not again.read_only
    header = session_lines(api, session.id)[0]
    assert header["type"] == "session" and header["version"] == FORMAT_VERSION and header["id"] == session.id


def test_create_in_named_project(api: Chit) -> None:
    session = api.create("other", title="elsewhere")
    assert session.project == "name:other"
    assert [s.id for s in api.list("other")] == [session.id]
    assert api.list() == []


def test_create_rejects_duplicate_key_and_writes_nothing(api: Chit, home: Path) -> None:
    api.create(key="k")
    before = tree_digest(home)
    with pytest.raises(Conflict):
        api.create(key="k")
    assert tree_digest(home) == before


def test_create_rejects_bad_initial_message_and_writes_nothing(api: Chit, home: Path) -> None:
    with pytest.raises(InvalidInput):
        api.create(messages=[{"role": "user", "content": "ok"}, {"role": "robot", "content": "no"}])
    assert tree_digest(home) == "absent"


def test_get_unknown_id_is_not_found(api: Chit) -> None:
    api.create()
    with pytest.raises(NotFound):
        api.get("00000000-0000-4000-8000-000000000000")


def test_load_makes_a_session_current(api: Chit) -> None:
    first = api.create(title="first")
    second = api.create(title="second")
    assert api.current().id == second.id  # type: ignore[union-attr]
    loaded = api.load(first.short_id)
    assert loaded.id == first.id
    assert api.current().id == first.id  # type: ignore[union-attr]
    assert api.resolve().id == first.id


# -- append --------------------------------------------------------------


def test_append_every_role_and_optional_fields(api: Chit) -> None:
    session = api.create()
    for role in ("system", "user", "assistant", "tool"):
        api.append(session.id, role, f"{role} says")
    returned = api.append(
        session.id, "assistant", "with extras", invocation_id="inv-7", model="gpt-x",
        tokens={"input": 10, "output": 20}, metadata={"latency_ms": 5},
    )
    loaded = api.get(session.id)
    assert [m.role for m in loaded.messages] == ["system", "user", "assistant", "tool", "assistant"]
    last = loaded.messages[-1]
    assert last == replace(returned, turn=0)
    assert (last.invocation_id, last.model, last.tokens, last.metadata) == ("inv-7", "gpt-x", Tokens(10, 20), {"latency_ms": 5})
    assert loaded.messages[0].invocation_id is None and loaded.messages[0].tokens is None


def test_append_to_current_session_when_ref_omitted(api: Chit) -> None:
    session = api.create()
    api.append(None, "user", "implicit")
    assert [m.content for m in api.get(session.id).messages] == ["implicit"]


@pytest.mark.parametrize("role", ["robot", "USER", "", "users"])
def test_unknown_role_rejected_nothing_written(api: Chit, home: Path, role: str) -> None:
    session = api.create()
    api.append(session.id, "user", "hi")
    before = tree_digest(home)
    with pytest.raises(InvalidInput, match="unknown role"):
        api.append(session.id, role, "x")
    assert tree_digest(home) == before


@pytest.mark.parametrize("tokens", [(-1, 2), {"input": "3"}, (True, 1), "many"])
def test_bad_token_counts_rejected(api: Chit, home: Path, tokens: object) -> None:
    session = api.create()
    before = tree_digest(home)
    with pytest.raises(InvalidInput):
        api.append(session.id, "assistant", "x", tokens=tokens)  # type: ignore[arg-type]
    assert tree_digest(home) == before


# -- pop -----------------------------------------------------------------


def test_pop_removes_last_message_and_reports(api: Chit) -> None:
    session = api.create(messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])
    assert api.pop(session.id) is True
    loaded = api.get(session.id)
    assert [m.content for m in loaded.messages] == ["a"]
    assert loaded.dropped == 1
    assert api.pop(session.id) is True
    assert api.pop(session.id) is False
    assert api.get(session.id).messages == ()
    # pop is an event: the dropped messages are still in the file
    kinds = [r["type"] for r in session_lines(api, session.id)]
    assert kinds == ["session", "message", "message", "pop", "pop"]


# -- rewind --------------------------------------------------------------


def test_rewind_to_turn_keeps_preamble_and_turns_through_n(api: Chit) -> None:
    sid = conversation(api, 3)
    assert api.rewind(sid, 1) == 2
    assert [m.content for m in api.get(sid).messages] == ["be brief", "question 0", "answer 0", "question 1", "answer 1"]
    assert api.rewind(sid, 0) == 2
    loaded = api.get(sid)
    assert [m.content for m in loaded.messages] == ["be brief", "question 0", "answer 0"]
    assert loaded.dropped == 4


def test_rewind_to_last_turn_drops_nothing_and_writes_nothing(api: Chit, home: Path) -> None:
    sid = conversation(api, 2)
    before = tree_digest(home)
    assert api.rewind(sid, 1) == 0
    assert tree_digest(home) == before


def test_rewind_to_invocation(api: Chit) -> None:
    sid = conversation(api, 3)
    api.append(sid, "tool", "late tool output", invocation_id="inv1")  # last event of inv1 is now at the end
    assert api.rewind(sid, invocation_id="inv1") == 0  # through the *last* message of inv1
    assert api.rewind(sid, invocation_id="inv0") == 5
    assert [m.content for m in api.get(sid).messages] == ["be brief", "question 0", "answer 0"]
    with pytest.raises(NotFound):
        api.rewind(sid, invocation_id="nope")


@pytest.mark.parametrize("turn", [-1, 3, 99])
def test_rewind_out_of_range_raises_and_writes_nothing(api: Chit, home: Path, turn: int) -> None:
    sid = conversation(api, 3)
    before = tree_digest(home)
    with pytest.raises(InvalidInput):
        api.rewind(sid, turn)
    assert tree_digest(home) == before


def test_rewind_on_session_without_turns_raises(api: Chit, home: Path) -> None:
    sid = conversation(api, 0)
    before = tree_digest(home)
    with pytest.raises(InvalidInput):
        api.rewind(sid, 0)
    assert tree_digest(home) == before


def test_rewind_needs_exactly_one_target(api: Chit) -> None:
    sid = conversation(api, 1)
    with pytest.raises(InvalidInput):
        api.rewind(sid)
    with pytest.raises(InvalidInput):
        api.rewind(sid, 0, invocation_id="inv0")


# -- fork ----------------------------------------------------------------


def test_fork_at_turn_records_parent_and_copies(api: Chit) -> None:
    sid = conversation(api, 3, title="Origin", tags=["t"], metadata={"m": 1})
    fork = api.fork(sid, at=1)
    assert fork.id != sid
    assert fork.parent is not None and (fork.parent.id, fork.parent.turn) == (sid, 1)
    assert fork.title == "Origin (fork)"
    assert fork.project == api.get(sid).project
    assert [m.content for m in fork.messages] == ["be brief", "question 0", "answer 0", "question 1", "answer 1"]
    assert fork.tags == ("t",) and fork.metadata == {"m": 1}
    assert len(api.get(sid).messages) == 7  # the source is untouched
    assert api.current().id == fork.id  # type: ignore[union-attr]


def test_fork_defaults_to_all_turns_and_derived_title(api: Chit) -> None:
    sid = conversation(api, 2)
    fork = api.fork(sid)
    assert len(fork.messages) == 5
    assert fork.parent is not None and fork.parent.turn == 1
    assert fork.title == "question 0 (fork)"


def test_fork_with_given_title(api: Chit) -> None:
    sid = conversation(api, 2)
    assert api.fork(sid, at=0, title="Branch B").title == "Branch B"


@pytest.mark.parametrize("at", [-1, 2])
def test_fork_out_of_range_writes_nothing(api: Chit, home: Path, at: int) -> None:
    sid = conversation(api, 2)
    before = tree_digest(home)
    with pytest.raises(InvalidInput):
        api.fork(sid, at=at)
    assert tree_digest(home) == before


# -- rename and titles ---------------------------------------------------


def test_rename_survives_later_messages_and_empty_clears(api: Chit) -> None:
    session = api.create(messages=[{"role": "user", "content": "derived title here"}])
    assert session.title == "derived title here"
    renamed = api.rename(session.id, "  My   name ")
    assert renamed.title == "My name" and renamed.manual_title == "My name"
    api.append(session.id, "user", "another question")
    assert api.get(session.id).title == "My name"
    cleared = api.rename(session.id, "")
    assert cleared.title == "derived title here" and cleared.manual_title is None


def test_rename_rejects_control_characters(api: Chit, home: Path) -> None:
    session = api.create()
    before = tree_digest(home)
    with pytest.raises(InvalidInput):
        api.rename(session.id, "bad\x07bell")
    assert tree_digest(home) == before


@pytest.mark.parametrize("surrogate", ["\ud800", "\udfff", "\ud83d\ude00"])
def test_a_lone_surrogate_is_refused_wherever_it_sits(api: Chit, home: Path, surrogate: str) -> None:
    """UTF-8 cannot encode U+D800-U+DFFF: refused in a short text and far
    into a long one (checked a slice at a time), never written."""
    session = api.create()
    before = tree_digest(home)
    for content in ("é" + surrogate, "щ" * 600_000 + surrogate + "x", "x" * (1 << 18) + surrogate):
        with pytest.raises(InvalidInput, match="message content is not valid Unicode"):
            api.append(session.id, "user", content)
    with pytest.raises(InvalidInput, match="title is not valid Unicode"):
        api.rename(session.id, "é" + surrogate)
    assert tree_digest(home) == before
    api.append(session.id, "user", "щ" * 600_000 + "\U0001f600")  # a character past U+FFFF is no surrogate


def test_derived_title_rules(api: Chit) -> None:
    empty = api.create()
    assert empty.title == "new session"
    api.append(empty.id, "system", "system text is not a title")
    assert api.get(empty.id).title == "new session"
    long = api.create(messages=[{"role": "assistant", "content": "hi"}, {"role": "user", "content": "  line one\nline two " + "z" * 80}])
    assert long.title == ("line one line two " + "z" * 80)[:60] + "…"
    assert len(long.title) == 61


# -- tags ----------------------------------------------------------------


def test_tag_untag_no_duplicates_order_kept(api: Chit) -> None:
    session = api.create()
    assert api.tag(session.id, "b", "a", "b").tags == ("b", "a")
    assert api.tag(session.id, "a", "c").tags == ("b", "a", "c")
    assert api.untag(session.id, "a", "missing").tags == ("b", "c")
    assert api.tag(session.id, "a").tags == ("b", "c", "a")
    tag_events = [r for r in session_lines(api, session.id) if r["type"] in ("tag", "untag")]
    assert [(r["type"], r["tags"]) for r in tag_events] == [
        ("tag", ["b", "a"]), ("tag", ["c"]), ("untag", ["a"]), ("tag", ["a"]),
    ]


@pytest.mark.parametrize("bad", ["", "has space", "a,b", "x" * 65])
def test_bad_tags_rejected(api: Chit, home: Path, bad: str) -> None:
    session = api.create()
    before = tree_digest(home)
    with pytest.raises(InvalidInput):
        api.tag(session.id, bad)
    assert tree_digest(home) == before


# -- run state and values ------------------------------------------------


def test_run_state_transitions(api: Chit) -> None:
    session = api.create()
    running = api.set_state(session.id, "running", turn_id="turn-1")
    assert (running.state, running.turn_id) == ("running", "turn-1")
    assert running.since is not None and running.since >= session.created_at
    failed = api.set_state(session.id, "error", error="boom")
    assert (failed.state, failed.error) == ("error", "boom")
    idle = api.set_state(session.id, "idle")
    assert (idle.state, idle.turn_id, idle.error) == ("idle", None, None)
    auto = api.set_state(session.id, "running")
    assert auto.turn_id  # a turn id is made up when none is given
    with pytest.raises(InvalidInput):
        api.set_state(session.id, "sleeping")


def test_value_map_set_and_unset(api: Chit) -> None:
    session = api.create()
    api.set_value(session.id, "cursor", 3)
    api.set_value(session.id, "cfg", {"a": [1, None]})
    api.set_value(session.id, "cursor", 4)
    assert api.get(session.id).values == {"cursor": 4, "cfg": {"a": [1, None]}}
    assert api.unset_value(session.id, "cursor").values == {"cfg": {"a": [1, None]}}
    with pytest.raises(InvalidInput):
        api.set_value(session.id, "obj", object())
