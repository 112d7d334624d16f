"""`chit resume`: an imported session reopens in the tool that wrote it,
run in the session's working directory (a fake `claude`, `codex`,
`gemini` or `opencode` on PATH records how it was called); `--print`
prints the command; a missing tool or directory is one line and exit 3."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import Result, run_cli
from importer_sources import Claude, chatgpt_conversation, codex_lines, fixture, write_export, write_jsonl

GEMINI_LOG = "session-2026-10-05T21-32-7c2e9a41.jsonl"
GEMINI_ID = "7c2e9a41-5b3d-4e8f-9a10-2b4c6d8e0f12"
OPENCODE_ID = "ses_6aade4081ffe216ygZUgcUQdR1"
CODEX_ID = "019a0000-0000-7000-8000-000000000001"


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    """A folder for fake tools, first on PATH in `env`."""
    folder = tmp_path / "bin"
    folder.mkdir()
    return folder


def fake_tool(folder: Path, name: str) -> Path:
    """An executable `name` that writes its working directory and arguments
    (one per line) to `<folder>/<name>.called`."""
    script = folder / name
    script.write_text(f'#!/bin/sh\n{{ pwd -P; printf "%s\\n" "$@"; }} > "{folder / (name + ".called")}"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder / f"{name}.called"


def env(tools: Path) -> dict[str, str]:
    return {"PATH": f"{tools}{os.pathsep}/usr/bin{os.pathsep}/bin"}


def chit(tools: Path, *args: str, cwd: Path | None = None) -> Result:
    return run_cli(list(args), env=env(tools), cwd=cwd)


def project_dir(tmp_path: Path, name: str = "shop") -> Path:
    directory = tmp_path / name
    directory.mkdir()
    return directory


def import_claude(tools: Path, cwd: Path) -> str:
    transcript = Claude(cwd=str(cwd))
    transcript.user("hello")
    transcript.say("hi", "msg_1")
    transcript.write(cwd.parent / "claude" / f"{transcript.session_id}.jsonl")
    assert chit(tools, "import", "--from", "claude-code", str(cwd.parent / "claude"), "-p", "imported").code == 0
    return transcript.session_id


def import_gemini(tools: Path, tmp_path: Path, root: Path) -> None:
    folder = tmp_path / ".gemini" / "tmp" / "shop"
    (folder / "chats").mkdir(parents=True)
    (folder / ".project_root").write_text(str(root), encoding="utf-8")
    shutil.copy(fixture("gemini", GEMINI_LOG), folder / "chats" / GEMINI_LOG)
    assert chit(tools, "import", "--from", "gemini", str(tmp_path / ".gemini" / "tmp"), "-p", "imported").code == 0


def import_opencode(tools: Path, tmp_path: Path, directory: Path) -> None:
    storage = tmp_path / "opencode" / "storage"
    shutil.copytree(fixture("opencode", "storage"), storage)
    for session_file in storage.glob("session/*/*.json"):
        info = json.loads(session_file.read_text(encoding="utf-8"))
        session_file.write_text(json.dumps({**info, "directory": str(directory)}), encoding="utf-8")
    assert chit(tools, "import", "--from", "opencode", str(tmp_path / "opencode"), "-p", "imported").code == 0


def test_a_claude_code_session_runs_claude_resume_in_its_directory(home: Path, workdir: Path, tmp_path: Path, tools: Path) -> None:
    shop = project_dir(tmp_path)
    session_id = import_claude(tools, shop)
    called = fake_tool(tools, "claude")
    result = chit(tools, "resume", "-p", "imported", f"claude-code:{session_id}")
    assert result.code == 0, result.err
    assert called.read_text().splitlines() == [str(shop.resolve()), "--resume", session_id]


def test_a_codex_session_runs_codex_resume(home: Path, workdir: Path, tmp_path: Path, tools: Path) -> None:
    ledger = project_dir(tmp_path, "ledger")
    write_jsonl(tmp_path / "codex" / f"rollout-2026-01-01T00-00-00-{CODEX_ID}.jsonl", codex_lines(CODEX_ID, str(ledger)))
    assert chit(tools, "import", "--from", "codex", str(tmp_path / "codex"), "-p", "imported").code == 0
    called = fake_tool(tools, "codex")
    result = chit(tools, "resume", "-p", "imported", f"codex:{CODEX_ID}")
    assert result.code == 0, result.err
    assert called.read_text().splitlines() == [str(ledger.resolve()), "resume", CODEX_ID]


def test_a_gemini_session_runs_gemini_resume_in_its_project_root(home: Path, workdir: Path, tmp_path: Path, tools: Path) -> None:
    shop = project_dir(tmp_path)
    import_gemini(tools, tmp_path, shop)
    called = fake_tool(tools, "gemini")
    result = chit(tools, "resume", "-p", "imported", f"gemini:{GEMINI_ID}")
    assert result.code == 0, result.err
    assert called.read_text().splitlines() == [str(shop.resolve()), "--resume", GEMINI_ID]


def test_an_opencode_session_runs_opencode_with_the_session(home: Path, workdir: Path, tmp_path: Path, tools: Path) -> None:
    shop = project_dir(tmp_path)
    import_opencode(tools, tmp_path, shop)
    called = fake_tool(tools, "opencode")
    result = chit(tools, "resume", "-p", "imported", f"opencode:{OPENCODE_ID}")
    assert result.code == 0, result.err
    assert called.read_text().splitlines() == [str(shop.resolve()), "--session", OPENCODE_ID]


def test_print_prints_the_command_and_runs_nothing(home: Path, workdir: Path, tmp_path: Path, tools: Path) -> None:
    shop = project_dir(tmp_path, "my shop")
    import_gemini(tools, tmp_path, shop)
    called = fake_tool(tools, "gemini")
    result = chit(tools, "resume", "--print", "-p", "imported", f"gemini:{GEMINI_ID}")
    assert result.code == 0, result.err
    assert result.out == f"cd '{shop}' && gemini --resume {GEMINI_ID}\n"
    assert not called.exists()
    as_json = chit(tools, "resume", "--json", "-p", "imported", f"gemini:{GEMINI_ID}").json()
    assert as_json == {"tool": "gemini", "argv": ["gemini", "--resume", GEMINI_ID], "cwd": str(shop),
                       "command": f"cd '{shop}' && gemini --resume {GEMINI_ID}"}


def test_print_works_without_the_tool_or_the_directory(home: Path, workdir: Path, tmp_path: Path, tools: Path) -> None:
    gone = project_dir(tmp_path, "gone")
    session_id = import_claude(tools, gone)
    gone.rmdir()
    result = chit(tools, "resume", "--print", "-p", "imported", f"claude-code:{session_id}")
    assert (result.code, result.out) == (0, f"cd {gone} && claude --resume {session_id}\n")


def test_a_missing_tool_is_one_line_and_exit_3(home: Path, workdir: Path, tmp_path: Path, tools: Path) -> None:
    shop = project_dir(tmp_path)
    import_gemini(tools, tmp_path, shop)
    result = chit(tools, "resume", "-p", "imported", f"gemini:{GEMINI_ID}")
    assert (result.code, result.out) == (3, "")
    assert result.err == "chit: error: gemini is not installed (not found on PATH); `chit resume --print` prints the command\n"


def test_a_working_directory_that_is_gone_is_one_line_and_exit_3(home: Path, workdir: Path, tmp_path: Path, tools: Path) -> None:
    gone = project_dir(tmp_path, "gone")
    session_id = import_claude(tools, gone)
    gone.rmdir()
    called = fake_tool(tools, "claude")
    result = chit(tools, "resume", "-p", "imported", f"claude-code:{session_id}")
    assert (result.code, result.out) == (3, "")
    assert result.err == f"chit: error: the session's working directory {gone} no longer exists; `chit resume --print` prints the command\n"
    assert not called.exists()


def test_a_session_from_a_tool_without_resume_is_one_line_and_exit_5(home: Path, workdir: Path, tmp_path: Path, tools: Path) -> None:
    export = write_export(tmp_path / "conversations.json",
                          [chatgpt_conversation("c1", [("r", None, "root", ""), ("n1", "r", "user", "hi"), ("n2", "n1", "assistant", "hello")], "n2")])
    assert chit(tools, "import", "--from", "chatgpt", str(export), "-p", "imported").code == 0
    result = chit(tools, "resume", "-p", "imported", "chatgpt:c1")
    assert result.code == 5 and result.out == "" and result.err.count("\n") == 1
    assert "chatgpt, which has no command to reopen it" in result.err


def test_a_chit_session_prints_and_opens_the_repl(home: Path, workdir: Path, tools: Path) -> None:
    session_id = chit(tools, "new", "notes", cwd=workdir).out.strip()
    printed = chit(tools, "resume", "--print", cwd=workdir)
    assert printed.out == f"chit chat --project {workdir.name} {session_id}\n"
    opened = run_cli(["resume", session_id[:8]], stdin=b"", cwd=workdir, env=env(tools))  # the REPL, reading stdin
    assert opened.code == 0, opened.err


def imported_with_source(tools: Path, tmp_path: Path, source: str, source_id: str, cwd: str) -> str:
    """A session imported from a snapshot whose `metadata.import` names
    `source`, `source_id` and `cwd` (as a hostile snapshot or a synced
    file may); its id."""
    from chit.exporters.snapshot import checksum

    made = chit(tools, "new", "-p", "made", "hostile")
    snapshot = json.loads(chit(tools, "export", "-p", "made", made.out.strip(), "-f", "json").out)
    session = snapshot["session"]
    session["id"] = str(uuid.uuid4())
    session["metadata"] = {"import": {"source": source, "id": source_id, "cwd": cwd}}
    snapshot["checksum"] = checksum(session)
    path = tmp_path / f"{session['id']}.json"
    path.write_text(json.dumps(snapshot), encoding="utf-8")
    assert chit(tools, "import", str(path), "-p", "imported").code == 0
    return str(session["id"])


@pytest.mark.parametrize(("source", "source_id"), [
    ("opencode", "ses_a/agent--help"),  # a sub-agent's own id that is an option
    ("opencode", "ses_a/agent-"),
    ("claude-code", "/agent-x"),  # a sub-agent with no parent id: `claude --resume ''`
])
def test_a_resumed_id_that_is_an_option_or_empty_is_refused(home: Path, workdir: Path, tmp_path: Path, tools: Path,
                                                             source: str, source_id: str) -> None:
    called = fake_tool(tools, {"opencode": "opencode", "claude-code": "claude"}[source])
    session_id = imported_with_source(tools, tmp_path, source, source_id, str(workdir))
    for args in (["resume", "--print", session_id], ["resume", session_id]):
        result = chit(tools, *args)
        assert result.code == 5 and result.out == "" and result.err.count("\n") == 1, (args, result)
        assert f"does not record a usable {source} session id" in result.err
    assert not called.exists()


def test_a_relative_working_directory_is_not_run_in(home: Path, workdir: Path, tmp_path: Path, tools: Path) -> None:
    """A recorded cwd is where the tool ran: an absolute path; a relative
    one (`-P`, `..`) would be taken from wherever chit was started."""
    called = fake_tool(tools, "claude")
    session_id = imported_with_source(tools, tmp_path, "claude-code", "3f2a8c11-0000-4000-8000-000000000000", "-P")
    printed = chit(tools, "resume", "--json", session_id)
    assert printed.code == 0 and json.loads(printed.out)["cwd"] is None
    result = chit(tools, "resume", session_id)
    assert result.code == 3 and "working directory is not known" in result.err
    assert not called.exists()


def test_a_working_directory_with_an_escape_sequence_is_printed_quoted_not_raw(home: Path, workdir: Path, tmp_path: Path,
                                                                                 tools: Path) -> None:
    """The printed command line is chit's text, but the directory in it is
    data: it never reaches the terminal raw, and the line still runs."""
    called = fake_tool(tools, "codex")
    directory = tmp_path / "dir\x1b]0;pwned\x07 it's"
    directory.mkdir()
    session_id = imported_with_source(tools, tmp_path, "codex", CODEX_ID, str(directory))
    printed = chit(tools, "resume", "--print", session_id)
    assert printed.code == 0 and "\x1b" not in printed.out and "\x07" not in printed.out
    ran = subprocess.run(["bash", "-c", printed.out], env={**os.environ, **env(tools)}, check=False)
    assert ran.returncode == 0
    assert called.read_text(encoding="utf-8", errors="surrogateescape").splitlines() == [str(directory), "resume", CODEX_ID]


def test_a_tool_found_through_a_relative_path_entry_is_the_one_found_here(home: Path, workdir: Path, tmp_path: Path,
                                                                           tools: Path) -> None:
    """PATH=bin:… finds `bin/claude` where chit runs; the session's
    directory (a cloned repository, say) may hold a `bin/claude` of its
    own, which must not be what runs once chit has moved there."""
    shop = project_dir(tmp_path)
    session_id = import_claude(tools, shop)
    (workdir / "bin").mkdir()
    (shop / "bin").mkdir()
    called = fake_tool(workdir / "bin", "claude")
    planted = fake_tool(shop / "bin", "claude")
    result = run_cli(["resume", "-p", "imported", f"claude-code:{session_id}"], cwd=workdir,
                     env={"PATH": f"bin{os.pathsep}/usr/bin{os.pathsep}/bin"})
    assert result.code == 0, result.err
    assert called.read_text().splitlines() == [str(shop.resolve()), "--resume", session_id]
    assert not planted.exists()
