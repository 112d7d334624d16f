"""The `--json` contract (docs/architecture.md, rule 2; docs/cli.md "Output
and exit codes"): stdout is exactly one JSON document with snake_case field
names and RFC 3339 UTC timestamps ending in Z, never coloured, nothing else
on stdout; an error is `{"error": {"code", "message", ...}}` on stderr.

Every command of the Typer registry is run under `--json`, both as the
global option before the command and as the command's own option after it.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from chit.api import Chit
from chit.service.facade import parts_of

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
LOOKS_LIKE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
TIMESTAMP_FIELDS = {"created_at", "updated_at", "deleted_at", "exported_at", "ts", "since"}
USER_DATA_FIELDS = {"metadata", "values"}  # keys chosen by the user, kept as given
ANSI = "\x1b"


def check_timestamp(value: Any, where: str) -> None:
    assert isinstance(value, str) and RFC3339_UTC.match(value), f"{where}: {value!r} is not RFC 3339 UTC"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert moment.utcoffset() == timezone.utc.utcoffset(None)


def check_document(value: Any, where: str = "$") -> None:
    """snake_case keys and UTC timestamps everywhere but in user data."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str) and SNAKE.match(key), f"{where}: field {key!r} is not snake_case"
            if key in TIMESTAMP_FIELDS and item is not None:
                check_timestamp(item, f"{where}.{key}")
            if key in USER_DATA_FIELDS:
                assert isinstance(item, dict), f"{where}.{key} is not an object"
                continue
            check_document(item, f"{where}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            check_document(item, f"{where}[{n}]")
    elif isinstance(value, str) and LOOKS_LIKE_TIME.match(value):
        check_timestamp(value, where)


def json_result(r) -> Any:  # type: ignore[no-untyped-def]
    """The one JSON document of a successful command's stdout."""
    assert r.code == 0, f"exit {r.code}\nstdout: {r.out}\nstderr: {r.err}"
    assert ANSI not in r.out, "colour codes on stdout"
    assert r.out.strip(), "nothing on stdout"
    doc = orjson.loads(r.out)  # raises on a second document or any other text
    check_document(doc)
    return doc


def json_error(r, code: int, error_code: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert r.code == code, f"exit {r.code}, expected {code}\nstdout: {r.out}\nstderr: {r.err}"
    assert r.out == "", "an error prints nothing on stdout"
    assert ANSI not in r.err
    assert "Traceback" not in r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    doc = orjson.loads(lines[0])
    assert list(doc) == ["error"]
    error = doc["error"]
    assert error["code"] == error_code
    assert isinstance(error["message"], str) and error["message"]
    check_document(error)
    return error  # type: ignore[no-any-return]


# -- a store with something of everything ------------------------------------


@pytest.fixture(scope="module")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(home, its project's directory, refs): made once for the module;
    each test that asks for `store` gets a copy of the home of its own."""
    folder = tmp_path_factory.mktemp("everything")
    home, workdir = folder / "home", folder / "proj"
    (workdir / ".git").mkdir(parents=True)
    api = Chit(home, cwd=workdir)
    main = api.create(
        title="main talk",
        key="main-key",
        tags=["t1"],
        metadata={"camelCase": 1, "when": "2020-01-01 10:00"},
        messages=[{"role": "system", "content": "be brief"}],
    ).id
    api.append(main, "user", "first question")
    api.append(main, "assistant", "first answer", model="m-1", invocation_id="inv-1", tokens=(10, 20), metadata={"Src": "x"})
    api.append(main, "user", "second question")
    api.append(main, "assistant", "second answer")
    api.set_state(main, "running", turn_id="turn-9")
    api.set_value(main, "someKey", "2021-05-05 12:00")
    fork = api.fork(main, at=0).id
    other = api.create("elsewhere", title="other project", messages=[{"role": "user", "content": "question far away"}]).id
    trashed = api.create(title="in the trash").id
    api.delete(trashed)
    (folder / "main.json").write_bytes(api.export_bytes(main, "json")[1])
    api.set_current(main)
    parts_of(api).ctx.index.close()  # the index whole in its file, to be copied
    return home, workdir, {"MAIN": main[:8], "FORK": fork[:8], "OTHER": other[:8], "TRASHED": trashed[:8]}


@pytest.fixture
def workdir(built_store: tuple[Path, Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The built store's project directory as the cwd (chit writes nothing there)."""
    monkeypatch.chdir(built_store[1])
    return built_store[1]


@pytest.fixture
def store(built_store: tuple[Path, Path, dict[str, str]], home: Path, tmp_path: Path) -> dict[str, str]:
    built, _workdir, refs = built_store
    shutil.copytree(built, home)
    snapshot = tmp_path / "main.json"
    shutil.copyfile(built.parent / "main.json", snapshot)
    return {**refs, "SNAPSHOT": str(snapshot), "OUT": str(tmp_path / "out.md")}


CASES: list[tuple[str, ...]] = [
    ("new", "json title", "--tag", "a", "--meta", "n=1"),
    ("append", "{MAIN}", "more text", "--model", "m-2", "--input-tokens", "1"),
    ("append", "--key", "fresh-key", "created by key"),
    ("fork", "{MAIN}", "--at", "0"),
    ("rewind", "{MAIN}", "0"),
    ("rewind", "{MAIN}", "--invocation", "inv-1"),
    ("pop", "{MAIN}"),
    ("undo", "{MAIN}"),
    ("replace", "{MAIN}", "{SNAPSHOT}"),
    ("rename", "{MAIN}", "Renamed"),
    ("tag", "{MAIN}", "t2"),
    ("untag", "{MAIN}", "t1"),
    ("ls",),
    ("ls", "--all", "-n", "2"),
    ("ls", "-q"),
    ("show", "{MAIN}"),
    ("show", "{FORK}"),
    ("load", "{MAIN}"),
    ("resume", "{MAIN}"),
    ("search", "question"),
    ("search", "question", "--role", "user", "--tag", "t1"),
    ("search", "question", "--each", "--since", "1d"),
    ("ls", "--since", "1w", "--sort", "tokens", "-t", "t1", "-t", "t1"),
    ("tree", "{MAIN}"),
    ("tree", "--all"),
    ("diff", "{MAIN}", "{FORK}"),
    ("stats", "--by", "model"),
    ("projects",),
    ("rm", "{OTHER}"),
    ("restore", "{TRASHED}"),
    ("trash",),
    ("trash", "--all"),
    ("trash", "--empty", "--yes"),
    ("state", "{MAIN}"),
    ("state", "{MAIN}", "error", "--error", "boom", "--set", "k=[1,2]"),
    ("state", "--running"),
    ("state", "--stuck", "0s"),
    ("gc", "--older-than", "0s", "--dry-run"),
    ("compact", "{MAIN}"),
    ("doctor",),
    ("index",),
    ("export", "{MAIN}", "-f", "json"),
    ("export", "{MAIN}", "-f", "md"),
    ("export", "{MAIN}", "-f", "jsonl"),
    ("export", "{MAIN}", "-o", "{OUT}"),
    ("import", "{SNAPSHOT}", "--new-id"),
    ("export", "--all", "-f", "txt", "-o", "{OUT}"),
    ("completion", "bash"),
    ("config",),
    ("sources",),
    ("sync", "status"),
]
INTERACTIVE = {"chat"}  # the REPL prints a conversation, not one result


def _fill(args: tuple[str, ...], values: dict[str, str]) -> list[str]:
    return [a.format(**values) for a in args]


@pytest.mark.parametrize("where", ["global", "command"])
@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a))
def test_every_command_prints_one_json_document(cli_inproc, store, args, where):
    argv = _fill(args, store)
    argv = ["--json", *argv] if where == "global" else [*argv, "--json"]
    json_result(cli_inproc(*argv))


def test_the_cases_cover_every_command():
    from typer.main import get_command

    from chit.cli.app import build

    commands = set(get_command(build()).commands)  # type: ignore[attr-defined]
    needs_a_terminal = {"pick"}  # its --json case is in tests/test_picker_tmux.py
    assert commands - INTERACTIVE - needs_a_terminal - {args[0] for args in CASES} == set()


# -- shapes ------------------------------------------------------------------------


def test_lists_are_arrays_and_single_things_objects(cli_inproc, store):
    assert isinstance(json_result(cli_inproc("ls", "--json")), list)
    assert isinstance(json_result(cli_inproc("search", "question", "--json")), list)
    assert isinstance(json_result(cli_inproc("projects", "--json")), list)
    assert isinstance(json_result(cli_inproc("show", "--json")), dict)
    assert isinstance(json_result(cli_inproc("new", "--json")), dict)


def test_user_metadata_keys_are_kept_as_given(cli_inproc, store):
    session = json_result(cli_inproc("show", store["MAIN"], "--json"))
    assert session["metadata"] == {"camelCase": 1, "when": "2020-01-01 10:00"}
    assert session["values"] == {"someKey": "2021-05-05 12:00"}
    assert session["messages"][2]["metadata"] == {"Src": "x"}


def test_show_json_fields(cli_inproc, store):
    session = json_result(cli_inproc("--json", "show", store["MAIN"]))
    assert session["short_id"] == store["MAIN"]
    assert session["state"]["state"] == "running" and session["state"]["turn_id"] == "turn-9"
    message = session["messages"][2]
    assert message == {
        "id": message["id"], "role": "assistant", "content": "first answer", "ts": message["ts"], "turn": 0,
        "invocation_id": "inv-1", "model": "m-1", "tokens": {"input": 10, "output": 20}, "metadata": {"Src": "x"},
    }


def test_ls_quiet_under_json_is_still_json(cli_inproc, store):
    listed = json_result(cli_inproc("ls", "-q", "--json"))
    assert store["MAIN"] in [s["short_id"] for s in listed]


def test_export_to_stdout_under_json_is_one_document(cli_inproc, store):
    snapshot = json_result(cli_inproc("--json", "export", store["MAIN"], "-f", "json"))
    assert snapshot["format"] == "chit-snapshot"
    markdown = json_result(cli_inproc("--json", "export", store["MAIN"]))
    assert markdown["format"] == "md" and "## Turn 1" in markdown["content"]
    lines = json_result(cli_inproc("export", store["MAIN"], "-f", "jsonl", "--json"))
    assert lines["format"] == "jsonl" and len(lines["content"].splitlines()) == 6


# -- the real program: colour, warnings, errors ----------------------------------------

FORCE_COLOUR = {"FORCE_COLOR": "1", "CLICOLOR_FORCE": "1", "TERM": "xterm-256color", "COLUMNS": "120"}


def test_json_is_never_coloured_even_when_colour_is_forced(cli, store):
    human = cli("ls", env=FORCE_COLOUR)
    assert human.code == 0 and ANSI in human.out  # colour really is forced for people
    for argv in (["--json", "ls"], ["show", store["MAIN"], "--json"], ["--json", "search", "question"]):
        json_result(cli(*argv, env=FORCE_COLOUR))
    json_error(cli("--json", "show", "ffffffff", env=FORCE_COLOUR), 3, "NOT_FOUND")


def test_a_warning_goes_to_stderr_and_stdout_stays_one_document(cli, api, home):
    sid = api.create(title="damaged").id
    api.append(sid, "user", "still readable")
    path = next(home.rglob(f"{sid}.jsonl"))
    with path.open("ab") as handle:
        handle.write(b"\x00garbage\n")
    r = cli("--json", "show", sid[:8])
    session = json_result(r)
    assert session["corrupt_lines"] == 1 and session["messages"][0]["content"] == "still readable"
    assert "warning" in r.err and "1 corrupt line" in r.err


@pytest.mark.parametrize("where", ["global", "command"])
def test_errors_are_json_on_stderr(cli_inproc, store, where):
    def run(*args: str):  # type: ignore[no-untyped-def]
        return cli_inproc(*(["--json", *args] if where == "global" else [*args, "--json"]))

    json_error(run("show", "0000000000"), 3, "NOT_FOUND")
    json_error(run("rewind", store["MAIN"], "7"), 5, "INVALID_INPUT")
    json_error(run("append", "-r", "robot", "hi"), 5, "INVALID_INPUT")
    json_error(run("ls", "--no-such-option"), 2, "USAGE")
    json_error(run("export", store["MAIN"], "-o", store["SNAPSHOT"]), 6, "CONFLICT")
    json_error(run("import", store["SNAPSHOT"]), 6, "CONFLICT")
    json_error(run("restore", "ffff"), 3, "NOT_FOUND")


def sharing_a_prefix(api: Chit) -> tuple[str, list[str]]:
    """Sessions until two share a first hex digit: (that digit, their ids)."""
    by_first: dict[str, list[str]] = {}
    while True:
        session_id = api.create(title=f"s{sum(map(len, by_first.values()))}").id
        by_first.setdefault(session_id[0], []).append(session_id)
        if len(by_first[session_id[0]]) == 2:
            return session_id[0], by_first[session_id[0]]


def test_ambiguous_error_lists_the_candidates(cli_inproc, api):
    prefix, ids = sharing_a_prefix(api)
    error = json_error(cli_inproc("--json", "show", prefix), 4, "AMBIGUOUS")
    assert sorted(c["id"] for c in error["candidates"]) == sorted(ids)
    assert sorted(c["short_id"] for c in error["candidates"]) == sorted(i[:8] for i in ids)
    for session_id in ids:
        assert session_id[:8] in error["message"]


def test_errors_of_the_real_program_are_json(cli, store):
    json_error(cli("--json", "no-such-command"), 2, "USAGE")
    json_error(cli("rewind", store["MAIN"], "x", "--json"), 5, "INVALID_INPUT")
    json_error(cli("--json", "-p", "../up", "ls"), 5, "INVALID_INPUT")


def test_imported_timestamps_come_out_in_utc(cli_inproc, api, tmp_path):
    from chit import exporters

    body = {
        "id": "0ffe0ffe-0000-4000-8000-000000000000",
        "created_at": "2024-03-01T12:00:00+02:00",
        "messages": [{"id": "0ffe0ffe-0000-4000-8000-000000000001", "role": "user", "content": "hi",
                      "ts": "2024-03-01T12:30:00.5-05:00"}],
    }
    path = tmp_path / "offsets.json"
    path.write_bytes(orjson.dumps({"format": "chit-snapshot", "version": 1, "checksum": exporters.checksum(body), "session": body}))
    json_result(cli_inproc("import", str(path), "--json"))
    session = json_result(cli_inproc("show", body["id"], "--json"))
    assert session["created_at"] == "2024-03-01T10:00:00.000000Z"
    assert session["messages"][0]["ts"] == "2024-03-01T17:30:00.500000Z"
    json_result(cli_inproc("ls", "--json"))
