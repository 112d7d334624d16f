"""Command lines of `ls`, `show` and `search`, the commands scripts call
in loops: every spelling of their options (before or after the command,
`--opt=value`, `-n5`, clusters, repeats) gives the documented exit code,
and a failure is one line on stderr. The lines and their exit codes are
those chit gave when these commands had a parser of their own; the one
Typer parser keeps them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from chit.api import Chit
from chit.cli.main import run
from chit.store.projects import sha256_hex


@pytest.fixture
def store(home: Path, workdir: Path) -> dict[str, str]:
    api = Chit(home, cwd=workdir)
    first = api.create(title="Harbour plans", tags=["work", "travel"], messages=[{"role": "user", "content": "Where is the harbour?"}])
    api.append(first.id, "assistant", "Past the HARBOUR sign.")
    second = api.create(title="Ferry times", tags=["travel"], key="ferry-1")
    api.append(second.id, "user", "ferry to the harbour island")
    api.set_state(second.id, "running")
    third = api.create(title="-dash title")
    api.append(third.id, "tool", "tool output with harbour")
    other = Chit(home, cwd=workdir, project="other").create(title="Other project harbour")
    return {"first": first.id, "second": second.id, "third": third.id, "other": other.id}


def lines_and_codes(ids: dict[str, str]) -> list[tuple[list[str], int]]:
    first, second, other = ids["first"][:8], ids["second"], ids["other"][:6]
    ok = [
        ["ls"], ["ls", "--json"], ["ls", "--jsonl"], ["--json", "ls"], ["ls", "-n", "1", "--json"], ["ls", "-n1", "--json"],
        ["ls", "--limit=2", "--json"], ["ls", "--limit", "0", "--json"], ["ls", "-a", "--json"], ["ls", "--all", "-q"], ["ls", "-q"],
        ["ls", "-q", "--json"], ["ls", "-t", "travel", "--json"], ["ls", "--tag", "nope", "--json"], ["ls", "--state", "running", "--json"],
        ["ls", "-p", "other", "--json"], ["-p", "other", "ls", "--json"], ["--project", "other", "ls"], ["--project=other", "ls"],
        ["ls", "-n", "1", "-n", "2", "--json"], ["ls", "-aq"], ["ls", "-h"], ["ls", "--help"], ["ls", "-n", "007", "--json"],
        ["ls", "-n", "+3", "--json"], ["ls", "-t", "-x"], ["--json", "-p", "other", "ls", "-a"],
        ["show", first, "--json"], ["show", first], ["show", first, "--no-pager"], ["show", "--json"], ["show", second.upper(), "--json"],
        ["show", "ferry-1", "--json"], ["show", f"ctx_{second}", "--json"], ["show", "-p", "other", other, "--json"],
        ["search", "harbour", "--json"], ["search", "harbour"], ["search", "HARBOUR", "--jsonl"], ["search", "harbour", "-n", "2", "--json"],
        ["search", "harbour", "--limit=0", "--json"], ["search", "--json", "harbour", "-r", "tool"], ["search", "harbour", "-t", "travel", "--json"],
        ["search", "harbour", "-p", "other", "--json"], ["-p", "other", "search", "harbour", "--json"], ["search", "-", "--json"],
        ["search", "ha", "--json"], ["search", "Straße", "--json"], ["search", "a", "b"],
    ]
    usage = [
        ["ls", "extra"], ["ls", "-n", "x"], ["ls", "-n"], ["ls", "--limit"], ["ls", "--", "--json"], ["ls", "--json=1"], ["ls", "--nope"],
        ["--nope", "ls"], ["show", first, "extra"], ["show", first, "-j"], ["search", "--json"], ["search"],
        ["search", "-harbour"], ["search", "harbour", "-n"], ["search", "harbour", "-nx"], ["search", "harbour", "--json", "--jsonl"],
        ["ls", "--json", "--jsonl"], ["--json", "ls", "--jsonl"],
    ]
    not_found = [
        ["-p", "nope", "ls", "--json"], ["ls", "-p", "other", "-p", "nope", "--json"], ["-p", "ls", "ls", "--json"], ["show", "-", "--json"],
        ["show", "zzzz", "--json"], ["show", "zzzz"], ["show", first, "--json", "-p", "other"], ["-p", "othr", "ls"], ["show", "-p", "othr", first],
    ]
    invalid = [
        ["ls", "--limit=-1", "--json"], ["ls", "-n", "-1"], ["ls", "--state", "bogus", "--json"], ["show", "", "--json"],
        ["search", "harbour", "-n", "-2"], ["search", "harbour", "--role", "bogus", "--json"], ["search", "", "--json"],
    ]
    one_letter = 4 if any(ids[name].startswith(first[:1]) for name in ("second", "third")) else 0  # ids are random
    found = [(args, code) for lines, code in ((ok, 0), (usage, 2), (not_found, 3), (invalid, 5)) for args in lines]
    return [*found, (["--json", "show", first[:1]], one_letter)]


def test_every_spelling_gives_its_exit_code_and_one_line_errors(store: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    for args, expected in lines_and_codes(store):
        code = run(list(args))
        out, err = capsys.readouterr()
        assert code == expected, f"chit {' '.join(args)}: exit {code}\n{err}"
        if code:
            assert out == "" and err.count("\n") == 1, args
            options = args[: args.index("--")] if "--" in args else args
            if "--json" in options or "--jsonl" in options:
                assert orjson.loads(err)["error"]["message"], args
            else:
                assert err.startswith("chit: error: "), args
        elif "--json" in args and "--help" not in args and "-h" not in args:
            orjson.loads(out)


def test_options_before_and_after_the_command_mean_the_same(store: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for args in (["-p", "other", "--json", "ls", "-n", "5"], ["ls", "--json", "-p", "other", "--limit=5"], ["--json", "ls", "-n5", "--project", "other"]):
        assert run(args) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2]
    assert [s["title"] for s in orjson.loads(outputs[0])] == ["Other project harbour"]


@pytest.mark.parametrize(("value", "titles"), [("other", ["Other project harbour"]), ("", None), ("nope", None)])
def test_the_project_variable_is_the_project_option(
    store: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, value: str, titles: list[str] | None
) -> None:
    monkeypatch.setenv("CHIT_PROJECT", value)
    code = run(["ls", "--json"])
    out = capsys.readouterr().out
    if value == "nope":
        assert code == 3
        return
    assert code == 0
    found = [s["title"] for s in orjson.loads(out)]
    assert found == (titles or ["-dash title", "Ferry times", "Harbour plans"])
    assert run(["-p", "other", "ls", "--json"]) == 0  # the option wins over the variable
    assert [s["title"] for s in orjson.loads(capsys.readouterr().out)] == ["Other project harbour"]


def test_project_slugs_hash_as_hashlib_does() -> None:
    import hashlib

    for data in (b"", b"/home/me/project", "Straße/ü".encode(), b"\x00" * 1000):
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def three_hundred_sessions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(home, its project's directory): 300 sessions, made once for the
    tests below; each copies the home before it runs chit on it."""
    folder = tmp_path_factory.mktemp("three-hundred")
    home, workdir = folder / "home", folder / "proj"
    (workdir / ".git").mkdir(parents=True)
    api = Chit(home, cwd=workdir, durable=False)
    for n in range(300):
        api.create(title=f"session {n} " + "x" * 50)
    return home, workdir


@pytest.mark.parametrize("args", [["ls", "-n", "0", "--json"], ["ls", "-n", "0", "-aq"], ["--json", "ls", "-n", "0", "--"]], ids=["json", "quiet", "json --"])
def test_a_reader_that_stops_early_is_no_error(three_hundred_sessions: tuple[Path, Path], tmp_path: Path, args: list[str]) -> None:
    built, workdir = three_hundred_sessions
    home = tmp_path / "home"
    shutil.copytree(built, home)
    env = {**os.environ, "CHIT_HOME": str(home)}
    env.pop("CHIT_PROJECT", None)
    proc = subprocess.Popen([sys.executable, "-m", "chit", *args], cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10)
    proc.stdout.close()  # like `| head -c 10`
    assert proc.wait(timeout=60) == 0
    assert proc.stderr.read() == b""


@pytest.mark.parametrize(("args", "said"), [(["ls"], "no sessions\n"), (["search", "x"], "no matches\n"), (["ls", "-a", "-t", "nope"], "no sessions\n")])
def test_an_empty_result_off_a_terminal_is_one_plain_line_without_rich(home: Path, workdir: Path, args: list[str], said: str) -> None:
    probe = f"import sys\nfrom chit.cli.main import run\ncode = run({args!r})\nprint(code, 'rich' in sys.modules)"
    env = {"CHIT_HOME": str(home), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=workdir, env=env, stdin=subprocess.DEVNULL)
    assert (done.stdout, done.stderr) == ("0 False\n", said)
    env["FORCE_COLOR"] = "1"  # colour forced: rich draws the note (dim)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=workdir, env=env, stdin=subprocess.DEVNULL)
    assert done.stdout == "0 True\n" and said.strip() in done.stderr and "\x1b[" in done.stderr
