"""`chit sources` and `chit import` with no argument: the enabled sources
kept in config.toml's [sources], refreshed together; an unchanged refresh
reads no source file; a grown one updates only its session. Real `chit`
programs on real files in tmp_path."""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import orjson
import pytest

from chit.errors import InvalidData

from importer_sources import Claude, codex_lines, fixture, write_jsonl


def _config(home: Path) -> Path:
    return home / "config.toml"


def test_sources_lists_every_tool_and_none_is_enabled_at_first(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("sources", "--json")
    assert r.code == 0, r.err
    rows = orjson.loads(r.out)
    assert [row["tool"] for row in rows] == ["claude-code", "codex", "chatgpt", "llm", "gemini", "opencode"]
    assert not any(row["enabled"] for row in rows)
    assert next(row for row in rows if row["tool"] == "chatgpt")["default_path"] is None


def test_add_and_rm_change_only_their_entry_of_the_config(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home.mkdir(parents=True, exist_ok=True)
    before = '# my settings\n[defaults]\nlimit = 7   # rows\n\n[sources]\n# what I follow\nrefresh = 60\n\n[models.x]\nprovider = "echo"\n'
    _config(home).write_text(before, encoding="utf-8")
    tree = tmp_path / "claude"
    tree.mkdir()
    assert cli("sources", "add", "claude-code", str(tree)).code == 0
    assert cli("sources", "add", "codex").code == 0
    text = _config(home).read_text(encoding="utf-8")
    assert text.startswith("# my settings\n[defaults]\nlimit = 7   # rows\n\n[sources]\n# what I follow\nrefresh = 60\n")
    assert text.endswith('[models.x]\nprovider = "echo"\n')
    parsed = tomllib.loads(text)
    assert parsed["sources"] == {"refresh": 60, "claude-code": str(tree), "codex": True}
    listed = {row["tool"]: row for row in cli("sources", "--json").json()}  # type: ignore[union-attr]
    assert listed["claude-code"]["enabled"] and listed["claude-code"]["paths"] == [str(tree)]
    assert listed["codex"]["enabled"] and not listed["gemini"]["enabled"]
    assert cli("sources", "rm", "codex").code == 0
    assert tomllib.loads(_config(home).read_text(encoding="utf-8"))["sources"] == {"refresh": 60, "claude-code": str(tree)}
    assert tomllib.loads(_config(home).read_text(encoding="utf-8"))["defaults"] == {"limit": 7}


def test_bad_sources_commands_change_nothing(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    os.mkfifo(tmp_path / "fifo")
    cases = [
        (("sources", "add", "vim"), 5),
        (("sources", "add", "chatgpt"), 2),  # no default path: the file must be given
        (("sources", "add", "codex", str(tmp_path / "missing")), 3),
        (("sources", "rm", "codex"), 3),
        # neither a file nor a folder: every refresh would find nothing there, silently
        (("sources", "add", "codex", str(tmp_path / "fifo")), 5),
        (("sources", "add", "claude-code", os.devnull), 5),
    ]
    for args, code in cases:
        r = cli(*args)
        assert r.code == code, (args, r.err)
        assert r.err.startswith("chit: error: ") and len(r.err.splitlines()) == 1
    assert not _config(home).exists()


def test_import_alone_needs_an_enabled_source(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("import")
    assert r.code == 2
    assert "chit sources add" in r.err


def _two_tools(tmp_path: Path) -> tuple[Path, Path]:
    claude = tmp_path / "claude"
    shutil.copytree(fixture("claude-code"), claude)
    codex = tmp_path / "codex"
    write_jsonl(codex / "2026" / "rollout-2026-10-05T09-00-00-019a0000-0000-7000-8000-000000000001.jsonl", codex_lines())
    return claude, codex


def test_import_alone_refreshes_every_enabled_source(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    claude, codex = _two_tools(tmp_path)
    assert cli("sources", "add", "claude-code", str(claude)).code == 0
    assert cli("sources", "add", "codex", str(codex)).code == 0
    first = cli("import", "--json")
    assert first.code == 0, first.err
    reports = {r["source"]: r for r in orjson.loads(first.out)["sources"]}
    assert (reports["claude-code"]["imported"], reports["codex"]["imported"]) == (3, 1)
    assert first.err.splitlines() == ["claude-code: imported 3, updated 0, skipped 0, errors 0", "codex: imported 1, updated 0, skipped 0, errors 0"]
    again = cli("import")
    assert again.code == 0 and again.out == ""
    assert again.err.splitlines() == [
        "claude-code: imported 0, updated 0, skipped 3 (3 unchanged), errors 0",
        "codex: imported 0, updated 0, skipped 1 (1 unchanged), errors 0",
    ]


def test_an_unchanged_refresh_reads_no_source_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    claude, codex = _two_tools(tmp_path)
    cli("sources", "add", "claude-code", str(claude))
    cli("sources", "add", "codex", str(codex))
    assert cli("import").code == 0
    # every source file now holds other bytes of the same size and times:
    # a refresh that read one would find it changed (or broken)
    for path in [*claude.rglob("*.jsonl"), *codex.rglob("*.jsonl")]:
        st = path.stat()
        path.write_bytes(b"x" * st.st_size)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    r = cli("import", "--json")
    assert r.code == 0, r.err
    reports = orjson.loads(r.out)["sources"]
    assert [(x["skipped_reasons"], x["errors"], x["messages_written"]) for x in reports] == [({"unchanged": 3}, 0, 0), ({"unchanged": 1}, 0, 0)]


def test_an_unchanged_refresh_writes_no_file_it_only_touches_the_time_of_the_last_refresh(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    claude, _ = _two_tools(tmp_path)
    cli("sources", "add", "claude-code", str(claude))
    assert cli("import").code == 0
    marker = home / "last-refresh.json"
    before = marker.stat()
    os.utime(marker, ns=(before.st_atime_ns, before.st_mtime_ns - 10**10))  # as if ten seconds ago
    assert cli("import").code == 0
    after = marker.stat()
    assert after.st_ino == before.st_ino  # touched, not written anew (no fsync on every refresh)
    assert after.st_mtime_ns > before.st_mtime_ns - 10**10


def test_a_refresh_after_one_file_grew_updates_that_session_alone(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tree = tmp_path / "claude"
    chats = []
    for n in range(3):
        chat = Claude(cwd=str(tmp_path / f"p{n}"))
        chat.user(f"question {n}")
        chat.say(f"answer {n}", f"m{n}")
        chat.write(tree / f"{chat.session_id}.jsonl")
        chats.append(chat)
    cli("sources", "add", "claude-code", str(tree))
    assert cli("import").code == 0
    chats[1].user("one more")
    chats[1].say("one more answer", "m9")
    chats[1].write(tree / f"{chats[1].session_id}.jsonl")
    r = cli("import", "--json")
    report = orjson.loads(r.out)["sources"][0]
    assert (report["updated"], report["skipped_reasons"], report["messages_written"]) == (1, {"unchanged": 2}, 2)
    shown = cli("show", "-p", "p1", f"claude-code:{chats[1].session_id}", "--json").json()
    assert [m["content"] for m in shown["messages"]][-2:] == ["one more", "one more answer"]  # type: ignore[index]


def test_a_bad_sources_table_is_a_config_problem(cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    home.mkdir(parents=True, exist_ok=True)
    _config(home).write_text('[sources]\nvim = true\ncodex = 3\nrefresh = "often"\n', encoding="utf-8")
    info = cli("config", "--json").json()
    assert {"sources.vim: unknown tool (expected one of: claude-code, codex, chatgpt, llm, gemini, opencode)",
            "sources.codex must be true, false, a path or a list of paths",
            "sources.refresh must be a number of seconds (0 or false: off)"} <= set(info["problems"])  # type: ignore[index]
    assert cli("import").code == 2  # nothing usable is enabled


def test_an_import_leaves_the_index_current_text_and_all(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    claude, _ = _two_tools(tmp_path)
    r = cli("import", "--from", "claude-code", str(claude), "--json")
    written = orjson.loads(r.out)["messages_written"]
    with sqlite3.connect(home / "index.sqlite") as db:  # what the first search would otherwise build
        assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == written
        assert db.execute("SELECT count(*) FROM messages WHERE fts = 0").fetchone()[0] == 0


def test_ls_and_search_refresh_first_once_the_interval_has_passed(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tree = tmp_path / "claude"

    def new_chat(text: str) -> None:
        chat = Claude(cwd=str(tmp_path / "app"))
        chat.user(text)
        chat.say("noted", f"m-{text}")
        chat.write(tree / f"{chat.session_id}.jsonl")

    new_chat("alpha")
    assert cli("sources", "add", "claude-code", str(tree)).code == 0
    assert cli("ls", "--all", "--json").json() == []  # no refresh interval set: ls reads only the store
    text = _config(home).read_text(encoding="utf-8").replace("[sources]\n", "[sources]\nrefresh = 3600\n")
    _config(home).write_text(text, encoding="utf-8")
    first = cli("ls", "--all", "--json")
    assert first.code == 0 and [s["title"] for s in first.json()] == ["alpha"]  # type: ignore[union-attr]
    assert first.err == "refreshed the sources: 1 imported, 0 updated\n"
    new_chat("bravo")
    assert cli("search", "bravo", "--json").json() == []  # refreshed less than an hour ago
    _config(home).write_text(text.replace("refresh = 3600", "refresh = 0.001"), encoding="utf-8")
    hits = cli("search", "bravo", "--json")
    assert [h["title"] for h in hits.json()] == ["bravo"]  # type: ignore[union-attr]
    assert hits.err == "refreshed the sources: 1 imported, 0 updated\n"


def test_an_entry_is_written_into_any_sources_table_as_found(tmp_path: Path) -> None:
    from chit import sources

    config = tmp_path / "config.toml"
    cases = {
        "[sources]": '[sources]\ncodex = true\n',
        "[sources]  # mine\n'codex' = false\nllm = true": "[sources]  # mine\nllm = true\ncodex = true\n",
        '[defaults]\nlimit = 3': '[defaults]\nlimit = 3\n\n[sources]\ncodex = true\n',
        "": "[sources]\ncodex = true\n",
    }
    for before, after in cases.items():
        config.write_text(before, encoding="utf-8")
        sources.set_paths(config, "codex", (None,))
        assert config.read_text(encoding="utf-8") == after
    config.write_text('[sources]\ncodex = [\n  "a",\n]\n', encoding="utf-8")  # a value over lines: not edited by halves
    with pytest.raises(InvalidData, match="edit it by hand"):
        sources.set_paths(config, "codex", (None,))
    assert config.read_text(encoding="utf-8") == '[sources]\ncodex = [\n  "a",\n]\n'
    sources.set_paths(config, "llm", ('/data/logs "quoted".db', None))
    assert tomllib.loads(config.read_text(encoding="utf-8"))["sources"]["llm"] == ['/data/logs "quoted".db', True]


def test_a_refresh_out_of_time_reads_one_changed_file_and_leaves_the_rest(home: Path, tmp_path: Path) -> None:
    import time

    from chit.api import Chit
    from chit.service.facade import parts_of

    tree = tmp_path / "claude"
    for n in range(3):
        chat = Claude(cwd=str(tmp_path / "app"))
        chat.user(f"question {n}")
        chat.write(tree / f"{chat.session_id}.jsonl")
    imports = parts_of(Chit(home, cwd=tmp_path)).imports
    late = imports.refresh([("claude-code", str(tree))], deadline=time.monotonic() - 1)
    assert (late[0].imported, late[0].incomplete) == (1, True)
    assert imports.refresh_due(3600)  # not recorded as a refresh
    rest = imports.refresh([("claude-code", str(tree))])
    assert (rest[0].imported, rest[0].skipped_reasons, rest[0].incomplete) == (2, {"unchanged": 1}, False)
    assert not imports.refresh_due(3600)
