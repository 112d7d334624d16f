"""`chit import --from`: output contract, exit codes, the progress bar,
and the house rules the importers keep."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from chit import importers
from chit.cli import cmd_import
from importer_sources import Claude, codex_lines, fixture, write_jsonl

SRC = Path(__file__).resolve().parent.parent / "src" / "chit"
MINE = sorted((SRC / "importers").glob("*.py")) + [SRC / "service" / "imports.py"]


def test_json_summary_on_stdout_and_counts_on_stderr(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("import", "--from", "claude-code", str(fixture("claude-code")), "--json")
    assert r.code == 0, r.err
    data = orjson.loads(r.out)
    assert {k: data[k] for k in ("source", "imported", "updated", "skipped", "errors", "messages_written")} == {
        "source": "claude-code", "imported": 3, "updated": 0, "skipped": 0, "errors": 0, "messages_written": 73}
    assert {s["action"] for s in data["sessions"]} == {"imported"} and len(data["sessions"]) == 3
    assert set(data["sessions"][0]) == {"action", "key", "id", "title", "project", "messages", "reason", "hidden", "shown_again", "changed"}
    assert r.err == "claude-code: imported 3, updated 0, skipped 0, errors 0\n"
    again = cli("import", "--from", "claude-code", str(fixture("claude-code")), "--json")
    assert orjson.loads(again.out)["skipped_reasons"] == {"unchanged": 3}
    assert again.err == "claude-code: imported 0, updated 0, skipped 3 (3 unchanged), errors 0\n"


def test_human_output_lists_what_changed(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("import", "--from", "chatgpt", str(fixture("chatgpt", "conversations.json")))
    assert r.code == 0
    lines = r.out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("imported ") and "SQLite locked on CI  (chatgpt, 7 messages)" in lines[0]
    assert "\x1b[" not in r.err  # no progress bar when stderr is not a terminal
    listed = orjson.loads(cli("ls", "-p", "chatgpt", "--json").out)
    assert sorted(s["title"] for s in listed) == ["Regex for ISO dates", "SQLite locked on CI"]


def test_problems_are_warnings_and_the_import_goes_on(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_jsonl(tmp_path / "x.jsonl", [{"type": "user", "uuid": "u1", "sessionId": "s", "message": {"content": "hi"}}], tail="{oops")
    r = cli("import", "--from", "claude-code", str(tmp_path))
    assert r.code == 0
    assert f"chit: warning: {tmp_path / 'x.jsonl'}:2: incomplete last line" in r.err
    assert r.err.endswith("claude-code: imported 1, updated 0, skipped 0, errors 1\n")


@pytest.mark.parametrize("tool", ["claude-code", "codex", "gemini"])
@pytest.mark.parametrize("special", ["fifo", "device"])
def test_a_source_that_is_no_file_or_folder_is_refused(cli, tmp_path: Path, tool: str, special: str) -> None:  # type: ignore[no-untyped-def]
    """A FIFO or a device named as the source holds no sessions: one error
    line (before: "imported 0, ... errors 0", as if all were well)."""
    path = tmp_path / "fifo" if special == "fifo" else Path("/dev/zero")
    if special == "fifo":
        os.mkfifo(path)
    r = cli("import", "--from", tool, str(path))
    kind = "a FIFO" if special == "fifo" else "a character device"
    assert (r.code, r.out) == (5, "") and r.err == f"chit: error: {path} is not a file or folder ({kind})\n", r.err


def _sources(tool: str, directory: Path, cwds: list[str]) -> None:
    """One session per working directory, in files named in this order."""
    for n, cwd in enumerate(cwds):
        if tool == "claude-code":
            chat = Claude(cwd=cwd)
            chat.user(f"prompt {n}")
            chat.say(f"answer {n}", f"m{n}")
            chat.write(directory / f"{n}-{chat.session_id}.jsonl")
        else:
            write_jsonl(directory / f"rollout-{n}.jsonl", codex_lines(f"019a0000-0000-7000-8000-00000000000{n}", cwd))


@pytest.mark.parametrize("tool", ["claude-code", "codex"])
@pytest.mark.parametrize("too_long", ["a name", "the whole path"])
def test_a_working_directory_too_long_for_a_path_is_one_short_problem(cli, tmp_path: Path, tool: str, too_long: str) -> None:  # type: ignore[no-untyped-def]
    long_cwd = str(tmp_path / ("n" * 300)) if too_long == "a name" else str(tmp_path) + "/dir" * 1100
    fine = tmp_path / "fine"
    (fine / ".git").mkdir(parents=True)
    source = tmp_path / "source"
    _sources(tool, source, [long_cwd, str(fine), long_cwd + "/sub"])
    r = cli("import", "--from", tool, str(source), "--json")
    assert r.code == 0, r.err[:500]
    assert all(len(line) < len(str(source)) + 200 for line in r.err.splitlines()), r.err[:500]  # never the directory
    report = orjson.loads(r.out)
    assert (report["imported"], report["errors"]) == (3, 2)  # no session lost: the two go to the tool's project
    assert sorted(s["project"] for s in report["sessions"]) == sorted([tool, tool, "fine"])
    says = "a name in the working directory is too long for a path (300 bytes)" if too_long == "a name" else "working directory too long for a path ("
    assert says in r.err, r.err[:500]


@pytest.mark.parametrize("tool", ["claude-code", "codex"])
def test_a_working_directory_holding_a_nul_is_reported_as_such(cli, tmp_path: Path, tool: str) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "source"
    _sources(tool, source, [str(tmp_path / "pro\x00ject")])
    r = cli("import", "--from", tool, str(source), "--json")
    assert r.code == 0, r.err[:500]
    assert orjson.loads(r.out)["imported"] == 1
    assert f"working directory holds a NUL byte, which no path can; put in project {tool!r}" in r.err, r.err
    assert "too long" not in r.err


def test_project_option_collects_every_session(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("import", "--from", "codex", str(fixture("codex")), "-p", "inbox").code == 0
    assert [p["name"] for p in orjson.loads(cli("projects", "--json").out)] == ["inbox"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["import"], 2),
        (["import", "--from", "chatgpt"], 2),
        (["import", "--from", "codex", "--new-id"], 2),
        (["import", "--from", "llm", "-"], 2),
        (["import", "--from", "bogus"], 5),
        (["import", "--from", "codex", "/nonexistent/chit-test-path"], 3),
    ],
)
def test_bad_command_lines(cli_inproc, args: list[str], code: int) -> None:  # type: ignore[no-untyped-def]
    r = cli_inproc(*args, "--json")
    assert r.code == code
    assert r.out == ""
    assert "error" in orjson.loads(r.err.strip().splitlines()[-1])


def test_an_unreadable_single_file_source_exits_5(cli_inproc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "conversations.json").write_text("not json")
    assert cli_inproc("import", "--from", "chatgpt", str(tmp_path / "conversations.json")).code == 5


def test_a_progress_bar_when_stderr_is_a_terminal(home: Path, workdir: Path) -> None:
    controller, terminal = os.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "chit", "import", "--from", "claude-code", str(fixture("claude-code"))],
        stdout=subprocess.PIPE, stderr=terminal, stdin=subprocess.DEVNULL, cwd=workdir, env=env, timeout=60,
    )
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    assert proc.returncode == 0
    assert b"importing from claude-code" in seen
    assert b"imported 3, updated 0" in seen
    assert proc.stdout.count(b"imported ") == 3  # stdout still carries only the result


def test_the_cli_lists_every_importer() -> None:
    from chit import config
    from chit.cli import cmd_sources

    assert cmd_import.SOURCES == importers.NAMES == config.SOURCE_TOOLS == cmd_sources.TOOLS


@pytest.mark.parametrize("path", MINE, ids=lambda p: p.name)
def test_importer_modules_keep_the_house_rules(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & {"typer", "click", "rich", "prompt_toolkit"}
    docstring = ast.get_docstring(tree)
    assert docstring and ("Invariant" in docstring or path.name == "__init__.py" and "Invariants" in docstring)
    assert len(path.read_text().splitlines()) <= 500


def test_importers_load_only_when_asked(tmp_path: Path) -> None:
    probe = "import sys\nfrom chit.api import Chit\nChit().list()\nprint(sorted(m for m in sys.modules if m.startswith('chit.importers')))"
    env = {"CHIT_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env, check=True)
    assert out.stdout.strip() == "[]"


# -- the import cache is only an optimisation ----------------------------------


def _without_ids(report: dict[str, object]) -> dict[str, object]:
    """A report with the random ids of newly created sessions left out."""
    sessions = [{k: v for k, v in s.items() if k != "id"} for s in report["sessions"]]  # type: ignore[attr-defined]
    return {**report, "sessions": sessions}


def _import_both_ways(home: Path, workdir: Path, tmp_path: Path, source: Path, step: str) -> dict[str, object]:
    """Import into a copy of the store without its cache, then into the
    store with it; both reports must be the same. Returns the cached one."""
    import shutil

    from chit.api import Chit

    bare = tmp_path / f"bare-{step}"
    if home.exists():
        shutil.copytree(home, bare, symlinks=True)
    (bare / "import-cache.json").unlink(missing_ok=True)
    uncached = Chit(bare, cwd=workdir).import_from("claude-code", source).as_dict()
    cached = Chit(home, cwd=workdir).import_from("claude-code", source).as_dict()
    assert _without_ids(cached) == _without_ids(uncached), step
    return cached


def test_keeping_or_deleting_the_import_cache_gives_the_same_result(home: Path, workdir: Path, tmp_path: Path) -> None:
    """Through every state a session can be in (imported, unchanged, in the
    trash, deleted for good, changed in chit, no messages), an import with
    the cache reports and stores exactly what one without it does; a
    session deleted for good is imported again, as docs/importing.md says."""
    from chit.api import Chit
    from importer_sources import Claude

    source = tmp_path / "claude"
    kept, dropped, empty = Claude(cwd=str(workdir)), Claude(cwd=str(workdir)), Claude(cwd=str(workdir))
    for transcript in (kept, dropped):
        transcript.user("a question")
        transcript.say("an answer", "m1")
    empty.progress()
    for name, transcript in (("kept", kept), ("dropped", dropped), ("empty", empty)):
        transcript.write(source / f"{name}.jsonl")
    api = Chit(home, cwd=workdir)
    first = _import_both_ways(home, workdir, tmp_path, source, "first")
    assert first["imported"] == 2
    assert _import_both_ways(home, workdir, tmp_path, source, "again")["imported"] == 0
    key = f"claude-code:{dropped.session_id}"
    victim = api.resolve(key).id
    api.delete(victim)
    assert _import_both_ways(home, workdir, tmp_path, source, "in trash")["skipped_reasons"]["in trash"] == 1  # type: ignore[index]
    assert _import_both_ways(home, workdir, tmp_path, source, "in trash, cached")["skipped_reasons"]["in trash"] == 1  # type: ignore[index]
    api.empty_trash()
    back = _import_both_ways(home, workdir, tmp_path, source, "deleted for good")
    assert back["imported"] == 1 and api.resolve(key).id != victim
    api.append(api.resolve(f"claude-code:{kept.session_id}").id, "user", "my own")
    kept.user("a second question")  # the source grows too: chit will not touch the session
    kept.write(source / "kept.jsonl")
    changed = _import_both_ways(home, workdir, tmp_path, source, "changed in chit")
    assert changed["skipped_reasons"]["changed in chit"] == 1  # type: ignore[index]
    _import_both_ways(home, workdir, tmp_path, source, "changed in chit, cached")
