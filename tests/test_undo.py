"""`chit undo` brings back what rewind, pop and replace hid; `Chit.update`,
`Chit.save` and `chit replace` make a session hold exactly a given list of
messages. Real `chit` processes on a store in tmp_path."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import orjson
import pytest
from conftest import tree_digest

from chit.api import Chit
from chit.errors import Conflict, InvalidInput


def ok(result):  # type: ignore[no-untyped-def]
    assert result.code == 0, result.err
    return result


def three_turns(api: Chit) -> str:
    """A session of three turns, each message its own append, as `chit
    append` makes them (made in-process: `undo` and `replace` are tested)."""
    session_id = api.create(title="talk").id
    for n in (1, 2, 3):
        api.append(session_id, "user", f"q{n}")
        api.append(session_id, "assistant", f"a{n}")
    return session_id


def contents(cli, ref: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [m["content"] for m in ok(cli("show", ref, "--json")).json()["messages"]]


def session_file(home: Path, session_id: str) -> Path:
    return next(home.glob(f"projects/*/sessions/{session_id}.jsonl"))


ALL = ["q1", "a1", "q2", "a2", "q3", "a3"]


def test_undo_brings_back_pop_and_rewind_one_at_a_time(cli, api: Chit, home: Path) -> None:  # type: ignore[no-untyped-def]
    sid = three_turns(api)
    ok(cli("pop", sid))
    ok(cli("rewind", sid, "0"))
    shown = ok(cli("show", sid, "--no-pager")).out
    assert "3 messages hidden by rewind — `chit undo` brings them back" in shown
    assert "4 hidden in all" in shown
    data = ok(cli("show", sid, "--json")).json()
    assert (data["hidden"], data["undo"]) == (4, {"kind": "rewind", "hidden": 3, "added": 0})
    before = session_file(home, sid).read_bytes()

    first = ok(cli("undo", sid, "--json")).json()
    assert (first["undone"], first["restored"], first["messages"], first["hidden"]) == ("rewind", 3, 5, 1)
    assert contents(cli, sid) == ALL[:5]
    assert session_file(home, sid).read_bytes().startswith(before)  # appended, nothing rewritten
    assert "brought back 1 message(s) hidden by pop" in ok(cli("undo", sid)).out
    assert contents(cli, sid) == ALL
    listed = ok(cli("ls", "--json")).json()
    assert [(s["id"], s["message_count"], s["turns"]) for s in listed] == [(sid, 6, 3)]  # the index agrees
    hits = ok(cli("search", "a3", "--json")).json()
    shown_ids = [m["id"] for m in ok(cli("show", sid, "--json")).json()["messages"]]
    assert [h["message_id"] for h in hits] == [shown_ids[-1]]  # the message brought back is searched, once

    nothing = ok(cli("undo", sid))
    assert "nothing to undo" in nothing.out
    assert ok(cli("undo", sid, "--json")).json()["undone"] is None
    assert ok(cli("show", sid, "--json")).json()["hidden"] == 0
    assert "hidden by" not in ok(cli("show", sid, "--no-pager")).out


def test_undo_keeps_what_was_appended_since(cli, api: Chit) -> None:  # type: ignore[no-untyped-def]
    sid = three_turns(api)
    ok(cli("rewind", sid, "0"))
    ok(cli("append", sid, "q2 again"))
    ok(cli("undo", sid))
    assert contents(cli, sid) == [*ALL, "q2 again"]
    assert ok(cli("show", sid, "--json")).json()["turns"] == 4


def test_after_compact_there_is_nothing_to_undo(cli, api: Chit) -> None:  # type: ignore[no-untyped-def]
    sid = three_turns(api)
    ok(cli("rewind", sid, "1"))
    ok(cli("compact", sid))
    result = ok(cli("undo", sid))
    assert "nothing to undo" in result.out
    assert contents(cli, sid) == ALL[:4]


def test_undo_of_an_unknown_session_is_not_found(cli, api: Chit, home: Path) -> None:  # type: ignore[no-untyped-def]
    three_turns(api)
    digest = tree_digest(home)
    result = cli("undo", "ffffffff")
    assert result.code == 3 and result.err.startswith("chit: error:") and len(result.err.splitlines()) == 1
    assert tree_digest(home) == digest


# -- update and save (the API) ------------------------------------------


@pytest.fixture
def chit(tmp_path: Path) -> Chit:
    work = tmp_path / "agent"
    work.mkdir()
    return Chit(tmp_path / "store", cwd=work)


def conversation(chit: Chit) -> str:
    s = chit.create(title="agent")
    chit.append_many(s.id, [{"role": "user", "content": c} if c[0] == "q" else {"role": "assistant", "content": c} for c in ALL])
    return s.id


def api_file(chit: Chit, session_id: str) -> Path:
    return next(chit.layout.home.glob(f"projects/*/sessions/{session_id}.jsonl"))


def test_update_keeps_the_common_prefix_hides_the_rest_and_appends_in_one_write(chit: Chit) -> None:
    sid = conversation(chit)
    stored = chit.get(sid).messages
    before = api_file(chit, sid).read_bytes()
    wanted = [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}, {"role": "user", "content": "q2, better"}]
    session = chit.update(sid, wanted)
    assert [m.content for m in session.messages] == ["q1", "a1", "q2, better"]
    assert [m.id for m in session.messages[:2]] == [m.id for m in stored[:2]]  # kept as is
    assert session.hidden == 4 and session.changes[-1].kind == "replace"

    after = api_file(chit, sid).read_bytes()
    assert after.startswith(before)
    written = [orjson.loads(line) for line in after[len(before):].splitlines()]
    assert [r["type"] for r in written] == ["rewind", "message"]  # the hide and the new message, together
    assert written[0]["keep_id"] == stored[1].id and written[0]["adds"] == [written[1]["id"]]  # by id, not position

    chit.undo(sid)
    restored = chit.get(sid)
    assert [(m.id, m.content) for m in restored.messages] == [(m.id, m.content) for m in stored]
    assert restored.hidden == 0


def test_update_with_the_same_messages_writes_nothing_and_a_longer_list_only_appends(chit: Chit) -> None:
    sid = conversation(chit)
    same = [{"role": m.role, "content": m.content} for m in chit.get(sid).messages]
    before = api_file(chit, sid).read_bytes()
    chit.update(sid, same)
    assert api_file(chit, sid).read_bytes() == before
    session = chit.update(sid, [*chit.get(sid).messages, {"role": "user", "content": "q4"}])
    assert [m.content for m in session.messages] == [*ALL, "q4"] and session.changes == ()
    assert chit.undo(sid) is None  # an append is not a change


def test_update_refuses_bad_messages_and_writes_nothing(chit: Chit) -> None:
    sid = conversation(chit)
    before = api_file(chit, sid).read_bytes()
    for bad in ([{"role": "user", "content": "q1"}, {"role": "bot", "content": "x"}], [{"content": "no role"}], "q1", [{"role": "user", "content": 3}]):
        with pytest.raises(InvalidInput):
            chit.update(sid, bad)  # type: ignore[arg-type]
    assert api_file(chit, sid).read_bytes() == before


def test_save_creates_a_new_session_and_updates_an_existing_one(chit: Chit, tmp_path: Path) -> None:
    sid = conversation(chit)
    original = chit.get(sid)
    edited = dataclasses.replace(
        original,
        messages=(*original.messages[:3], dataclasses.replace(original.messages[3], content="a2, edited")),
        manual_title="agent, edited",
        tags=("kept",),
    )
    saved = chit.save(edited)
    assert [m.content for m in saved.messages] == ["q1", "a1", "q2", "a2, edited"]
    assert (saved.title, saved.tags, saved.hidden) == ("agent, edited", ("kept",), 3)
    assert [m.content for m in chit.undo(sid).hidden] == ["a2", "q3", "a3"]  # type: ignore[union-attr]

    copy_id = str(uuid.uuid4())
    created = chit.save(dataclasses.replace(original, id=copy_id))
    assert created.id == copy_id and [m.content for m in created.messages] == ALL
    assert created.title == "agent" and chit.get(copy_id).project == original.project

    elsewhere = Chit(tmp_path / "other-store", cwd=tmp_path)
    moved = elsewhere.save(original)  # a session carried into another store keeps its id
    assert moved.id == sid and [m.id for m in moved.messages] == [m.id for m in original.messages]

    chit.delete(copy_id)
    with pytest.raises(Conflict):
        chit.save(dataclasses.replace(original, id=copy_id))  # in the trash: restore it first
    with pytest.raises(InvalidInput):
        chit.save({"id": sid})  # type: ignore[arg-type]


# -- chit replace ----------------------------------------------------------


def test_replace_reads_a_json_array_json_lines_or_show_output(cli, api: Chit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sid = three_turns(api)
    path = tmp_path / "messages.json"
    path.write_text(orjson.dumps([{"role": "user", "content": "q1"}, {"role": "assistant", "content": "other"}]).decode())
    result = ok(cli("replace", sid, str(path)))
    assert "5 hidden (`chit undo` brings them back)" in result.out
    assert contents(cli, sid) == ["q1", "other"]

    lines = b'{"role": "user", "content": "q1"}\n{"role": "assistant", "content": "a1", "model": "m"}\n'
    data = ok(cli("replace", sid, "-", "--json", stdin=lines)).json()
    assert (data["message_count"], data["hidden"]) == (2, 6)
    ok(cli("undo", sid))
    ok(cli("undo", sid))
    assert contents(cli, sid) == ALL

    other = ok(cli("new", "copy")).out.strip()
    shown = ok(cli("show", sid, "--json")).out.encode()
    ok(cli("replace", other, "-", stdin=shown))
    assert contents(cli, other) == ALL
    for form in ("json", "jsonl"):  # a snapshot, and JSON Lines after a session line
        exported = ok(cli("export", sid, "-f", form)).out.encode()
        target = ok(cli("new", f"from {form}")).out.strip()
        ok(cli("replace", target, "-", stdin=exported))
        assert contents(cli, target) == ALL


@pytest.mark.parametrize(
    "stdin",
    [
        b"not json",
        b'{"role": "user", "content": "q1"}\n{oops\n',
        b'[{"role": "user"}]',
        b'[{"role": "bot", "content": "x"}]',
        b'[{"role": "user", "content": "q1"}, 7]',
        b'"just text"',
        b"\xff\xfe",
    ],
)
def test_replace_refuses_bad_input_with_one_line_and_exit_5(cli, api: Chit, home: Path, stdin: bytes) -> None:  # type: ignore[no-untyped-def]
    sid = three_turns(api)
    digest = tree_digest(home)
    result = cli("replace", sid, "-", stdin=stdin)
    assert result.code == 5, (result.out, result.err)
    assert result.err.startswith("chit: error:") and len(result.err.splitlines()) == 1
    assert "Traceback" not in result.err
    assert tree_digest(home) == digest
