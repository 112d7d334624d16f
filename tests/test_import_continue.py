"""Continuing an imported session in chit works in a fork of it, so the
imported session keeps following its source: `chit append` through real
`chit` programs, then a re-import of the grown source."""

from __future__ import annotations

from pathlib import Path

import orjson

from conftest import tree_digest
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


def _imported(cli, tmp_path: Path) -> tuple[Claude, Path, str]:  # type: ignore[no-untyped-def]
    """A Claude Code session of two turns, imported into project app."""
    tree = tmp_path / "claude"
    chat = Claude(cwd=str(tmp_path / "app"))
    chat.user("first prompt")
    chat.say("first reply", "m1")
    chat.user("second prompt")
    chat.say("second reply", "m2")
    source = chat.write(tree / f"{chat.session_id}.jsonl")
    assert cli("import", "--from", "claude-code", str(tree)).code == 0
    return chat, source, f"claude-code:{chat.session_id}"


def _grow_and_refresh(cli, chat: Claude, source: Path) -> dict:  # type: ignore[no-untyped-def, type-arg]
    chat.user("third prompt")
    chat.say("third reply", "m3")
    chat.write(source)
    r = cli("import", "--from", "claude-code", str(source.parent), "--json")
    assert r.code == 0, r.err
    return orjson.loads(r.out)  # type: ignore[no-any-return]


def test_rewind_pop_and_replace_of_an_imported_session_work_in_its_fork_and_the_source_still_syncs(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    chat, source, key = _imported(cli, tmp_path)
    mirror = _show(cli, key)["id"]
    before = tree_digest(home)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"role": "nobody", "content": "x"}]')
    for args in (("rewind", key, "7"), ("rewind", key, "--invocation", "nope"), ("replace", key, str(bad))):
        refused = cli(args[0], "-p", "app", *args[1:])
        assert refused.code in (3, 5) and refused.err.count("\n") == 1 and "fork" not in refused.err, (args, refused.err)
    assert tree_digest(home) == before  # no fork made for a refused command

    rewound = cli("rewind", "-p", "app", key, "0", "--json")
    assert rewound.code == 0, rewound.err
    fork = orjson.loads(rewound.out)["id"]
    assert fork != mirror and orjson.loads(rewound.out)["dropped"] == 2
    assert rewound.err.count("\n") == 1 and "continuing in a fork of it" in rewound.err
    assert [m["content"] for m in _show(cli, fork)["messages"]] == ["first prompt", "first reply"]

    popped = cli("pop", "-p", "app", key, "--json")  # the same fork, nothing more to say
    assert (popped.code, popped.err, orjson.loads(popped.out)["id"]) == (0, "", fork)
    given = tmp_path / "messages.json"
    given.write_text('[{"role": "user", "content": "only this"}]')
    replaced = cli("replace", "-p", "app", key, str(given), "--json")
    assert (replaced.code, replaced.err, orjson.loads(replaced.out)["id"]) == (0, "", fork)
    assert [m["content"] for m in _show(cli, fork)["messages"]] == ["only this"]

    assert [m["content"] for m in _show(cli, key)["messages"]] == ["first prompt", "first reply", "second prompt", "second reply"]
    report = _grow_and_refresh(cli, chat, source)
    assert (report["updated"], report["skipped_reasons"]) == (1, {}), report
    assert [m["content"] for m in _show(cli, key)["messages"]][-2:] == ["third prompt", "third reply"]
    assert [m["content"] for m in _show(cli, fork)["messages"]] == ["only this"]


def test_titles_tags_and_state_values_stay_on_an_imported_session_and_survive_its_refresh(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    chat, source, key = _imported(cli, tmp_path)
    for args in (("rename", key, "my title"), ("tag", key, "keep"), ("state", key, "--set", "reviewed=yes")):
        r = cli(*args[:1], "-p", "app", *args[1:])
        assert (r.code, r.err) == (0, ""), (args, r.err)
    before = _show(cli, key)
    report = _grow_and_refresh(cli, chat, source)
    assert (report["updated"], report["skipped_reasons"]) == (1, {}), report
    after = _show(cli, key)
    assert after["id"] == before["id"] and (after["title"], after["tags"]) == ("my title", ["keep"])
    assert after["values"]["reviewed"] == "yes"
    assert len(after["messages"]) == 6
    assert len(orjson.loads(cli("ls", "-p", "app", "--json").out)) == 1  # no fork made


def test_system_and_rewind_in_the_repl_on_an_imported_session_work_in_its_fork(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    chat, source, key = _imported(cli, tmp_path)
    r = cli("chat", "-p", "app", "-m", "echo", key, stdin=b"/system be brief\n/rewind 0\n")
    assert r.code == 0, r.err
    assert "continuing in a fork of it" in r.out + r.err
    assert [m["content"] for m in _show(cli, key)["messages"]] == ["first prompt", "first reply", "second prompt", "second reply"]
    fork = next(s for s in orjson.loads(cli("ls", "-p", "app", "--json").out) if s["key"] is None)
    assert [m["content"] for m in _show(cli, fork["id"])["messages"]] == ["first prompt", "first reply"]
    report = _grow_and_refresh(cli, chat, source)
    assert (report["updated"], report["skipped_reasons"]) == (1, {}), report
