"""The fast path (chit.cli.fastpath): command lines of `ls`, `show` and
`search` that it parses itself must do exactly what Typer does with them.
Each command line runs both ways on the same store (real files) and the
exit code, stdout and stderr are compared; lines it is unsure of must go to
Typer."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chit.api import Chit
from chit.cli.fastpath import plan
from chit.cli.main import _guarded, _wants_json, run, run_typer
from chit.store.projects import sha256_hex

AGES = re.compile(r"\b\d+(s|m|h|d|w|mo|y) ago\b")


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


def both_ways(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    code = run(list(args))
    fast = capsys.readouterr()
    as_json = _wants_json(args)
    slow_code = _guarded(lambda: run_typer(list(args), as_json), as_json)
    slow = capsys.readouterr()
    return (code, AGES.sub("N ago", fast.out), fast.err), (slow_code, AGES.sub("N ago", slow.out), slow.err)


def hand_written(ids: dict[str, str]) -> list[list[str]]:
    first, second = ids["first"][:8], ids["second"]
    return [
        ["ls"], ["ls", "--json"], ["ls", "--jsonl"], ["--json", "ls"], ["ls", "-n", "1", "--json"], ["ls", "-n1", "--json"],
        ["ls", "--limit=2", "--json"], ["ls", "--limit", "0", "--json"], ["ls", "--limit=-1", "--json"], ["ls", "-n", "-1"],
        ["ls", "-a", "--json"], ["ls", "--all", "-q"], ["ls", "-q"], ["ls", "-q", "--json"], ["ls", "-t", "travel", "--json"],
        ["ls", "--tag", "nope", "--json"], ["ls", "--state", "running", "--json"], ["ls", "--state", "bogus", "--json"],
        ["ls", "-p", "other", "--json"], ["-p", "other", "ls", "--json"], ["--project", "other", "ls"], ["--project=other", "ls"],
        ["-p", "nope", "ls", "--json"], ["ls", "-p", "other", "-p", "nope", "--json"], ["ls", "-n", "1", "-n", "2", "--json"],
        ["ls", "extra"], ["ls", "-n", "x"], ["ls", "-n"], ["ls", "--limit"], ["ls", "-aq"], ["ls", "-h"], ["ls", "--help"],
        ["ls", "--", "--json"], ["ls", "--json=1"], ["ls", "-n", "007", "--json"], ["ls", "-n", "+3", "--json"],
        ["ls", "-t", "-x"], ["ls", "--nope"], ["--nope", "ls"], ["-p", "ls", "ls", "--json"], ["--json", "-p", "other", "ls", "-a"],
        ["show", first, "--json"], ["show", first], ["show", first, "--no-pager"], ["show", "--json"], ["show", second.upper(), "--json"],
        ["show", "ferry-1", "--json"], [ "show", f"ctx_{second}", "--json"], ["show", "-", "--json"], ["show", "", "--json"],
        ["show", "zzzz", "--json"], ["show", "zzzz"], ["show", first, "extra"], ["show", "-p", "other", ids["other"][:6], "--json"],
        ["show", first, "--json", "-p", "other"], ["--json", "show", first[:1]], ["show", first, "-j"],
        ["search", "harbour", "--json"], ["search", "harbour"], ["search", "HARBOUR", "--jsonl"], ["search", "harbour", "-n", "2", "--json"],
        ["search", "harbour", "--limit=0", "--json"], ["search", "harbour", "-n", "-2"], ["search", "--json", "harbour", "-r", "tool"],
        ["search", "harbour", "--role", "bogus", "--json"], ["search", "harbour", "-t", "travel", "--json"], ["search", "harbour", "-p", "other", "--json"],
        ["-p", "other", "search", "harbour", "--json"], ["search", "--json"], ["search"], ["search", "a", "b"], ["search", "", "--json"],
        ["search", "-harbour"], ["search", "-", "--json"], ["search", "harbour", "-n"], ["search", "harbour", "-nx"],
        ["search", "ha", "--json"], ["search", "Straße", "--json"], ["search", "harbour", "--json", "--jsonl"],
        ["ls", "--json", "--jsonl"], ["--json", "ls", "--jsonl"], ["-p", "othr", "ls"], ["show", "-p", "othr", first],
    ]


def generated(ids: dict[str, str], count: int) -> list[list[str]]:
    """Random orders and spellings of valid option sets."""
    rng = random.Random(7)
    pieces = {
        "ls": [["--json"], ["--jsonl"], ["-a"], ["--all"], ["-q"], ["-n", "2"], ["-n3"], ["--limit=1"], ["-t", "travel"], ["--state", "idle"], ["-p", "other"]],
        "show": [["--json"], ["--no-pager"], ["-p", "other"], [ids["first"][:6]], [ids["other"][:6]]],
        "search": [["--json"], ["--jsonl"], ["-n", "1"], ["--limit=3"], ["-r", "user"], ["--role=assistant"], ["-t", "travel"], ["-p", "other"]],
    }
    found = []
    for _ in range(count):
        command = rng.choice(sorted(pieces))
        chosen = rng.sample(pieces[command], rng.randint(0, 3))
        if command == "search":
            chosen.append([rng.choice(["harbour", "ferry", "HARB", "island"])])
        rng.shuffle(chosen)
        front = rng.choice([[], ["--json"], ["-p", "other"], ["--project", "other", "--json"]])
        found.append([*front, command, *[word for piece in chosen for word in piece]])
    return found


def test_fast_and_typer_agree(store: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    lines = hand_written(store) + generated(store, 150)
    planned = 0
    for args in lines:
        planned += plan(args) is not None
        fast, slow = both_ways(args, capsys)
        assert fast == slow, f"chit {' '.join(args)!r}: the fast path and Typer differ"
    assert planned >= 150, planned  # most lines did take the fast path
    assert len(lines) - planned >= 25  # and the unsure ones went to Typer


@pytest.mark.parametrize("value", ["other", "", "nope"])
def test_the_project_variable_is_read_like_typer_reads_it(store: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CHIT_PROJECT", value)
    for args in (["ls", "--json"], ["-p", "other", "ls", "--json"], ["search", "harbour", "--json"], ["show", store["other"][:8], "--json"]):
        assert plan(args) is not None
        fast, slow = both_ways(args, capsys)
        assert fast == slow, args


@pytest.mark.parametrize(
    "args",
    [["ls", "--help"], ["ls", "-aq"], ["ls", "--", "x"], ["ls", "-n", "x"], ["search"], ["show", "a", "b"], ["new", "x"], ["--version", "ls"], ["ls", "-t", "-x"], []],
)
def test_unsure_lines_go_to_typer(args: list[str]) -> None:
    assert plan(args) is None


def test_shell_completion_goes_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    assert plan(["ls", "--json"]) is not None
    monkeypatch.setenv("_CHIT_COMPLETE", "bash_complete")
    assert plan(["ls", "--json"]) is None


def test_project_slugs_hash_as_hashlib_does() -> None:
    import hashlib

    for data in (b"", b"/home/me/project", "Straße/ü".encode(), b"\x00" * 1000):
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("args", [["ls", "-n", "0", "--json"], ["ls", "-n", "0", "-aq"], ["--json", "ls", "-n", "0", "--", ]], ids=["fast", "typer", "typer --"])
def test_a_reader_that_stops_early_is_no_error(home: Path, workdir: Path, args: list[str]) -> None:
    api = Chit(home, cwd=workdir, durable=False)
    for n in range(300):
        api.create(title=f"session {n} " + "x" * 50)
    proc = subprocess.Popen([sys.executable, "-m", "chit", *args], cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10)
    proc.stdout.close()  # like `| head -c 10`
    assert proc.wait(timeout=60) == 0
    assert proc.stderr.read() == b""
