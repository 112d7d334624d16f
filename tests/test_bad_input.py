"""Bad input on the command line. Each refusal must be: one line on stderr
starting with "chit: error:", the documented exit code (0 ok, 1 error,
2 usage, 3 not found, 4 ambiguous, 5 invalid input or data, 6 locked or
conflict), no traceback, nothing on stdout, and the store byte-for-byte
unchanged (docs/cli.md: "A failed command changes nothing on disk").
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from chit import exporters
from chit.api import Chit
from chit.service.facade import parts_of
from conftest import tree_digest


def assert_refused(r, code: int, home: Path, before: str) -> str:  # type: ignore[no-untyped-def]
    """Check one refusal; returns its message."""
    assert r.code == code, f"exit {r.code}, expected {code}\nstdout: {r.out}\nstderr: {r.err}"
    assert "Traceback" not in r.err + r.out
    assert "internal error" not in r.err
    lines = r.err.rstrip("\n").split("\n")
    assert len(lines) == 1, f"expected one line on stderr, got: {r.err!r}"
    assert lines[0].startswith("chit: error: "), r.err
    assert len(lines[0]) > len("chit: error: ") + 3
    assert r.out == "", f"stdout should be empty: {r.out!r}"
    assert tree_digest(home) == before, "the store changed"
    return lines[0]


@pytest.fixture(scope="module")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(home, its project's directory, refs): a current session with two
    turns (MAIN), one with none (EMPTY), and a session in another project
    (OTHER), made once for the module; `store` copies the home for each test."""
    folder = tmp_path_factory.mktemp("refused")
    home, workdir = folder / "home", folder / "proj"
    (workdir / ".git").mkdir(parents=True)
    api = Chit(home, cwd=workdir)
    empty = api.create(title="no turns yet", key="empty-key").id
    other = api.create("elsewhere", title="far away").id
    main = api.create(title="main", key="main-key", messages=[{"role": "system", "content": "be brief"}]).id
    for n in range(2):
        api.append(main, "user", f"question {n}")
        api.append(main, "assistant", f"answer {n}", invocation_id=f"inv-{n}")
    parts_of(api).ctx.index.close()
    return home, workdir, {"MAIN": main[:8], "EMPTY": empty[:8], "OTHER": other[:8]}


@pytest.fixture
def workdir(built_store: tuple[Path, Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The built store's project directory as the cwd (chit writes nothing there)."""
    monkeypatch.chdir(built_store[1])
    return built_store[1]


@pytest.fixture
def store(built_store: tuple[Path, Path, dict[str, str]], home: Path) -> dict[str, str]:
    shutil.copytree(built_store[0], home)
    return built_store[2]


@pytest.fixture
def refuse(cli_inproc, home, store):  # type: ignore[no-untyped-def]
    """`refuse(code, *args)` runs chit in-process and checks the refusal."""

    def call(code: int, *args: str) -> str:
        before = tree_digest(home)
        return assert_refused(cli_inproc(*[a.format(**store) for a in args]), code, home, before)

    return call


@pytest.fixture
def refuse_real(cli, home, store):  # type: ignore[no-untyped-def]
    """The same through the real program (a subprocess)."""

    def call(code: int, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
        before = tree_digest(home)
        return assert_refused(cli(*[a.format(**store) for a in args], stdin=stdin, env=env), code, home, before)

    return call


# -- references ----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("show", "ffffffff"),
        ("show", "not-a-prefix"),
        ("show", "ctx_00000000-0000-4000-8000-000000000000"),
        ("load", "ffffffff"),
        ("rm", "{MAIN}", "ffffffff"),
        ("rename", "ffffffff", "x"),
        ("tag", "ffffffff", "x"),
        ("fork", "ffffffff"),
        ("rewind", "ffffffff", "0"),
        ("pop", "ffffffff"),
        ("export", "ffffffff"),
        ("compact", "ffffffff"),
        ("append", "ffffffff", "text"),
        ("state", "ffffffff", "running"),
        ("restore", "{MAIN}"),
        ("-p", "nowhere", "ls"),
    ],
    ids=" ".join,
)
def test_unknown_ref_is_not_found(refuse, args):
    refuse(3, *args)


def sharing_a_prefix(api: Chit) -> tuple[str, list[str]]:
    """Sessions of the current project until two share a first hex digit:
    (that digit, every id in the project starting with it)."""
    by_first: dict[str, list[str]] = {}
    for summary in api.list():
        by_first.setdefault(summary.id[0], []).append(summary.id)
    while not any(len(ids) > 1 for ids in by_first.values()):
        session_id = api.create(title="filler").id
        by_first.setdefault(session_id[0], []).append(session_id)
    return next((first, ids) for first, ids in by_first.items() if len(ids) > 1)


@pytest.mark.parametrize("command", [("show",), ("load",), ("rm",), ("rename", "{REF}", "x"), ("rewind", "{REF}", "0"), ("export",)])
def test_ambiguous_prefix_lists_every_candidate(refuse, api, store, command):
    prefix, ids = sharing_a_prefix(api)
    args = [a.replace("{REF}", prefix) for a in command] if len(command) > 1 else [command[0], prefix]
    message = refuse(4, *args)
    for session_id in ids:
        assert session_id.replace("-", "")[:8] in message
    assert f"matches {len(ids)} sessions" in message


def test_ambiguous_prefix_in_upper_case(refuse, api, store):
    prefix, ids = sharing_a_prefix(api)
    message = refuse(4, "show", prefix.upper())
    assert all(i[:8] in message for i in ids)


@pytest.mark.parametrize("args", [("show", ""), ("rm", ""), ("rm", "ctx_"), ("load", "  ")], ids=repr)
def test_empty_ref_is_refused_not_taken_as_every_session(refuse, args):
    refuse(5, *args)


def test_no_current_session_is_not_found(cli_inproc, home):
    before = tree_digest(home)
    assert_refused(cli_inproc("show"), 3, home, before)
    assert_refused(cli_inproc("append", "hello"), 3, home, before)


# -- turns ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("rewind", "{MAIN}", "2"),
        ("rewind", "{MAIN}", "99"),
        ("rewind", "{MAIN}", "--", "-1"),
        ("rewind", "--", "-1"),
        ("rewind", "5"),
        ("rewind", "{EMPTY}", "0"),
        ("fork", "{MAIN}", "--at", "2"),
        ("fork", "{MAIN}", "--at", "-1"),
        ("fork", "{MAIN}", "--at=-3"),
        ("fork", "{EMPTY}", "--at", "0"),
    ],
    ids=" ".join,
)
def test_turn_out_of_range_is_invalid(refuse, args):
    message = refuse(5, *args)
    assert "turn" in message


def test_out_of_range_message_gives_the_range(refuse):
    assert "0..1" in refuse(5, "rewind", "{MAIN}", "2")
    assert "0..1" in refuse(5, "fork", "{MAIN}", "--at", "-1")


def test_negative_turn_without_double_dash_is_invalid_input(refuse):
    # rewind takes "-1" as its TURN argument, not as an unknown option
    message = refuse(5, "rewind", "{MAIN}", "-1")
    assert "out of range" in message


@pytest.mark.parametrize("args", [("rewind", "{MAIN}", "x"), ("rewind", "{MAIN}", "1.5"), ("rewind", "one"), ("rewind", "{MAIN}", "")], ids=" ".join)
def test_non_numeric_turn_is_invalid(refuse, args):
    refuse(5, *args)


def test_non_numeric_fork_at_is_a_usage_error(refuse):
    refuse(2, "fork", "{MAIN}", "--at", "x")


def test_unknown_invocation_is_not_found(refuse):
    refuse(3, "rewind", "{MAIN}", "--invocation", "inv-404")


# -- values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("append", "{MAIN}", "hi", "--role", "robot"),
        ("append", "hi", "-r", "USER"),
        ("append", "--key", "brand-new", "hi", "--role", "robot"),
        ("append", "--key", "brand-new", "hi", "--meta", "novalue"),
        ("append", "--key", "main-key", "{MAIN}", "hi"),
        ("search", "question", "--role", "robot"),
        ("search", ""),
        ("search", "question", "--limit", "-1"),
        ("ls", "-n", "-1"),
        ("ls", "--state", "sleeping"),
        ("ls", "--tag", "two words"),
        ("tag", "{MAIN}", "two words"),
        ("tag", "{MAIN}", "ok", "a,b"),
        ("new", "--key", ""),
        ("new", "title", "--meta", "=1"),
        ("state", "{MAIN}", "sleeping"),
        ("state", "{MAIN}", "running", "--set", "novalue"),
        ("state", "{MAIN}", "idle", "--unset", ""),
        ("state", "{MAIN}", "--turn-id", "t1"),
        ("state", "--running", "{MAIN}"),
        ("export", "{MAIN}", "-f", "pdf"),
        ("trash", "--dry-run"),
    ],
    ids=" ".join,
)
def test_invalid_values_are_refused(refuse, args):
    refuse(5, *args)


def test_new_with_a_taken_key_is_a_conflict(refuse):
    refuse(6, "new", "again", "--key", "main-key")


def test_control_characters_in_titles(refuse):
    refuse(5, "rename", "{MAIN}", "bell\x07title")
    refuse(5, "new", "nul\x00title")


@pytest.mark.parametrize(
    "args",
    [
        ("gc", "--older-than", "3x"),
        ("gc", "--older-than", "-3d"),
        ("gc", "--older-than", ""),
        ("gc", "--older-than", "ten days", "--dry-run"),
        ("trash", "--empty", "--yes", "--older-than", "soon"),
        ("state", "--stuck", "forever"),
        ("gc", "--older-than", "99999999999d", "--dry-run"),  # before the first year: an OverflowError
        ("trash", "--empty", "--yes", "--older-than", "9999999d"),
        ("state", "--stuck", "9" * 30 + "w"),
    ],
    ids=" ".join,
)
def test_invalid_duration(refuse, args):
    assert "duration" in refuse(5, *args)


# -- project names ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["../x", "a/b", ".", "..", "a\\b", "", ".hidden"])
@pytest.mark.parametrize("command", ["new", "ls"])
def test_bad_project_names(refuse, name, command):
    refuse(5, "-p", name, command)


def test_project_name_with_nul(refuse, api):
    # argv and the environment cannot carry a NUL; the in-process runner can
    assert "NUL" in refuse(5, "-p", "a\x00b", "new")
    assert "NUL" in refuse(5, "ls", "-p", "evil\x00/../x")


def test_bad_project_name_from_the_environment(refuse_real):
    refuse_real(5, "new", "x", env={"CHIT_PROJECT": "../escape"})


# -- snapshots ----------------------------------------------------------------------


def _snapshot(body: dict[str, Any]) -> bytes:
    return orjson.dumps({"format": "chit-snapshot", "version": 1, "checksum": exporters.checksum(body), "session": body})


GOOD_BODY: dict[str, Any] = {
    "id": "5eed5eed-0000-4000-8000-000000000000",
    "created_at": "2024-01-01T00:00:00.000000Z",
    "messages": [{"id": "5eed5eed-0000-4000-8000-000000000001", "role": "user", "content": "hi", "ts": "2024-01-01T00:00:01.000000Z"}],
}


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


BAD_SNAPSHOTS = {
    "not json": b"this is not json {",
    "empty file": b"",
    "json but not a snapshot": b'{"hello": "world"}',
    "no session object": b'{"format": "chit-snapshot", "version": 1}',
    "newer version": orjson.dumps({"format": "chit-snapshot", "version": 99, "session": GOOD_BODY}),
    "missing messages": _snapshot(_without(GOOD_BODY, "messages")),
    "missing id": _snapshot(_without(GOOD_BODY, "id")),
    "id not a uuid": _snapshot({**GOOD_BODY, "id": "../../etc"}),
    "missing created_at": _snapshot(_without(GOOD_BODY, "created_at")),
    "message without role": _snapshot({**GOOD_BODY, "messages": [_without(GOOD_BODY["messages"][0], "role")]}),
    "message with unknown role": _snapshot({**GOOD_BODY, "messages": [{**GOOD_BODY["messages"][0], "role": "robot"}]}),
    "message that is a string": _snapshot({**GOOD_BODY, "messages": ["hi"]}),
    "tags not a list": _snapshot({**GOOD_BODY, "tags": "a,b"}),
    "value with an empty key": _snapshot({**GOOD_BODY, "values": {"": 1}}),
    "created_at not a timestamp": _snapshot({**GOOD_BODY, "created_at": "yesterday"}),
    "message ts not a timestamp": _snapshot({**GOOD_BODY, "messages": [{**GOOD_BODY["messages"][0], "ts": "soon"}]}),
}


@pytest.mark.parametrize("name", list(BAD_SNAPSHOTS))
def test_bad_snapshot_file_is_invalid_data(refuse, tmp_path, name):
    path = tmp_path / "bad.json"
    path.write_bytes(BAD_SNAPSHOTS[name])
    refuse(5, "import", str(path))


def test_the_good_snapshot_used_above_imports(cli_inproc, api, tmp_path):
    path = tmp_path / "good.json"
    path.write_bytes(_snapshot(GOOD_BODY))
    assert cli_inproc("import", str(path)).code == 0
    assert [m.content for m in api.get(GOOD_BODY["id"]).messages] == ["hi"]


def test_snapshot_with_an_edited_message_fails_its_checksum(refuse, api, store, tmp_path):
    path = tmp_path / "edited.json"
    exported = api.export_bytes(store["MAIN"], "json")[1]
    api.delete(store["MAIN"])
    api.empty_trash()  # so the import would otherwise keep the id
    doc = orjson.loads(exported)
    doc["session"]["messages"][1]["content"] = "question 0, edited"
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    assert "checksum" in refuse(5, "import", str(path))


def test_bad_snapshots_through_stdin(refuse_real):
    refuse_real(5, "import", "-", stdin=b"not json")
    refuse_real(5, "import", "-", stdin=BAD_SNAPSHOTS["missing messages"])


def test_import_of_a_missing_file_or_a_directory(refuse, tmp_path):
    refuse(3, "import", str(tmp_path / "nope.json"))
    refuse(5, "import", str(tmp_path))


# -- exports onto existing files ----------------------------------------------------------


def test_export_over_an_existing_file_is_a_conflict(refuse, tmp_path):
    target = tmp_path / "notes.md"
    target.write_bytes(b"my notes")
    assert "--force" in refuse(6, "export", "{MAIN}", "-o", str(target))
    assert target.read_bytes() == b"my notes"


def test_export_over_a_symlink_leaves_its_target_alone(refuse, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"do not touch")
    link = tmp_path / "link.md"
    link.symlink_to(victim)
    refuse(6, "export", "{MAIN}", "-o", str(link))
    refuse(6, "export", "{MAIN}", "-f", "json", "-o", str(link))
    assert victim.read_bytes() == b"do not touch"
    assert link.is_symlink() and os.readlink(link) == str(victim)
    dangling = tmp_path / "dangling.md"
    dangling.symlink_to(tmp_path / "would-be-created.md")
    refuse(6, "export", "{MAIN}", "-o", str(dangling))
    assert not (tmp_path / "would-be-created.md").exists()


def test_forced_export_replaces_the_link_not_its_target(cli_inproc, store, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"do not touch")
    link = tmp_path / "link.md"
    link.symlink_to(victim)
    assert cli_inproc("export", store["MAIN"], "-o", str(link), "--force").code == 0
    assert victim.read_bytes() == b"do not touch"
    assert not link.is_symlink() and b"## Turn 0" in link.read_bytes()


def test_export_into_a_missing_directory_or_onto_a_directory(refuse, tmp_path):
    refuse(3, "export", "{MAIN}", "-o", str(tmp_path / "missing" / "x.md"))
    refuse(2, "export", "{MAIN}", "-o", str(tmp_path), "--force")  # click checks -o before chit runs


# -- a damaged session file ------------------------------------------------------------


def test_a_corrupt_line_does_not_stop_show_and_doctor_names_it(cli_inproc, api, home, store):
    main = api.resolve(store["MAIN"])
    path = next(home.rglob(f"{main.id}.jsonl"))
    lines = path.read_bytes().split(b"\n")
    lines.insert(3, b'{"type": "message", "role": "user", "content": "torn')  # now line 4
    path.write_bytes(b"\n".join(lines))
    before = tree_digest(home)

    shown = cli_inproc("show", store["MAIN"])
    assert shown.code == 0
    assert "question 0" in shown.out and "answer 1" in shown.out
    warning = [line for line in shown.err.splitlines() if line.startswith("chit: warning:")]
    assert len(warning) == 1 and "1 corrupt line" in warning[0] and "line 4" in warning[0]
    assert "Traceback" not in shown.err
    data = cli_inproc("show", store["MAIN"], "--json")
    assert data.code == 0 and data.json()["corrupt_lines"] == 1 and len(data.json()["messages"]) == 5

    doctor = cli_inproc("doctor")
    assert doctor.code == 5
    assert f"{path.relative_to(home)}:4" in doctor.out
    assert tree_digest(home) == before, "reading and checking must not change the store"

    assert cli_inproc("doctor", "--repair").code == 0
    assert cli_inproc("doctor").code == 0
    healed = cli_inproc("show", store["MAIN"])
    assert healed.code == 0 and "warning" not in healed.err


# -- the command line itself -------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("frobnicate",),
        ("ls", "--frobnicate"),
        ("--frobnicate", "ls"),
        ("show", "a", "b"),
        ("rename",),
        ("tag", "{MAIN}"),
        ("gc",),
        ("import",),
        ("append", "--input-tokens", "-5", "hi"),
        ("append", "--output-tokens", "lots", "hi"),
        ("ls", "-n", "many"),
        ("rm",),
    ],
    ids=" ".join,
)
def test_usage_errors_exit_2(refuse, args):
    message = refuse(2, *args)
    assert "--help" in message


def test_the_real_program_exit_codes(refuse_real, api, store):
    prefix, _ = sharing_a_prefix(api)
    refuse_real(2, "frobnicate")
    refuse_real(2, "ls", "--frobnicate")
    refuse_real(3, "show", "ffffffff")
    refuse_real(4, "show", prefix)
    refuse_real(5, "rewind", "{MAIN}", "7")
    refuse_real(5, "-p", "../x", "ls")
    refuse_real(5, "gc", "--older-than", "3x")
    refuse_real(6, "new", "--key", "main-key")


def test_invalid_utf8_on_stdin(refuse_real):
    refuse_real(5, "append", "{MAIN}", "-", stdin=b"\xff\xfe not utf-8")


def test_emptying_the_trash_without_a_terminal_needs_yes(refuse_real, api, store):
    api.delete(store["EMPTY"])
    refuse_real(5, "trash", "--empty")
    assert [s.title for s in api.trash()] == ["no turns yet"]


@pytest.mark.parametrize("args", [("rewind",), ("rename", "a", "b", "c"), ("append", "a", "b", "c")], ids=" ".join)
def test_wrong_argument_count_is_a_usage_error(refuse, args):
    refuse(2, *args)


def test_role_given_as_ref_gets_a_hint(refuse):
    message = refuse(3, "append", "user", "hello")
    assert "--role user" in message
