"""Continuing an imported session in chit works in a fork of it, so the
imported session keeps following its source: `chit append` through real
`chit` programs, then a re-import of the grown source."""

from __future__ import annotations

from pathlib import Path

import orjson

from importer_sources import Claude


def _show(cli, ref: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    r = cli("show", "-p", "app", ref, "--json")
    assert r.code == 0, r.err
    return orjson.loads(r.out)  # type: ignore[no-any-return]


def test_append_to_an_imported_session_goes_to_its_fork_and_the_source_still_syncs(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tree = tmp_path / "claude"
    chat = Claude(cwd=str(tmp_path / "app"))
    chat.user("how do I parse dates?")
    chat.say("use fromisoformat", "m1")
    source = chat.write(tree / f"{chat.session_id}.jsonl")
    key = f"claude-code:{chat.session_id}"
    assert cli("import", "--from", "claude-code", str(tree)).code == 0
    mirror = _show(cli, key)

    first = cli("append", "-p", "app", key, "and times?", "--json")
    assert first.code == 0, first.err
    fork_id = orjson.loads(first.out)["session_id"]
    assert fork_id != mirror["id"]
    assert first.err.count("\n") == 1 and "continuing in a fork of it" in first.err
    fork = _show(cli, fork_id)
    assert [m["content"] for m in fork["messages"]] == ["how do I parse dates?", "use fromisoformat", "and times?"]
    assert fork["parent"]["id"] == mirror["id"] and fork["key"] is None
    assert len(_show(cli, key)["messages"]) == 2  # the imported session holds the source's messages alone

    again = cli("append", "-p", "app", key, "and zones?", "--json")
    assert again.code == 0 and again.err == ""  # the same fork, nothing more to say
    assert orjson.loads(again.out)["session_id"] == fork_id
    plain = cli("append", "-p", "app", "and leap seconds?", "--json")  # the current session: the fork
    assert orjson.loads(plain.out)["session_id"] == fork_id

    chat.user("what about Python 3.10?")
    chat.say("the same, mostly", "m2")
    chat.write(source)
    r = cli("import", "--from", "claude-code", str(tree), "--json")
    assert r.code == 0, r.err
    report = orjson.loads(r.out)
    assert (report["updated"], report["skipped_reasons"]) == (1, {}), report
    assert [m["content"] for m in _show(cli, key)["messages"]][-2:] == ["what about Python 3.10?", "the same, mostly"]
    assert [m["content"] for m in _show(cli, fork_id)["messages"]][2:] == ["and times?", "and zones?", "and leap seconds?"]
    assert len(_show(cli, fork_id)["messages"]) == 5


def test_append_to_a_session_of_chit_itself_is_not_forked(cli) -> None:  # type: ignore[no-untyped-def]
    made = cli("new", "--json")
    session_id = orjson.loads(made.out)["id"]
    r = cli("append", session_id, "hello", "--json")
    assert r.code == 0 and r.err == ""
    assert orjson.loads(r.out)["session_id"] == session_id


def test_a_chat_on_an_imported_session_continues_in_its_fork(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tree = tmp_path / "claude"
    chat = Claude(cwd=str(tmp_path / "app"))
    chat.user("first prompt")
    chat.say("first reply", "m1")
    chat.write(tree / f"{chat.session_id}.jsonl")
    key = f"claude-code:{chat.session_id}"
    assert cli("import", "--from", "claude-code", str(tree)).code == 0
    r = cli("chat", "-p", "app", "-m", "echo", key, stdin=b"hello\n")
    assert r.code == 0, r.err
    assert "continuing in a fork of it" in r.out + r.err
    assert [m["content"] for m in _show(cli, key)["messages"]] == ["first prompt", "first reply"]
    listed = orjson.loads(cli("ls", "-p", "app", "--json").out)
    fork = next(s for s in listed if s["key"] is None)
    contents = [m["content"] for m in _show(cli, fork["id"])["messages"]]
    assert contents[:3] == ["first prompt", "first reply", "hello"] and len(contents) == 4
