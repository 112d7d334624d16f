"""The git commands one `chit sync` runs in its usual cases, seen through a
`git` on PATH that logs each command and runs the real one: each costs a
process (a few ms of CPU, a connection to the remote for a fetch or a
push), so a sync runs only those its case needs (docs/sync.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_sync import Machine, bare_remote

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="chit sync needs git")


class Logged(Machine):
    """A machine whose git commands are logged, by name."""

    def __init__(self, root: Path, name: str, shims: Path) -> None:
        super().__init__(root, name)
        self.log = root / f"{name}-git.log"
        self.env["PATH"] = f"{shims}{os.pathsep}{os.environ['PATH']}"
        self.env["SHIM_LOG"] = str(self.log)

    def commands(self, *args: str) -> list[str]:
        """The git commands `chit ARGS` ran (their names), in order."""
        self.log.unlink(missing_ok=True)
        self.ok(*args)
        return [_command(line.split()) for line in self.log.read_text().splitlines()] if self.log.exists() else []


def _command(words: list[str]) -> str:
    """A git command line's command: the first word that is no option of git's own."""
    rest = iter(words)
    for word in rest:
        if word == "-c":
            next(rest)
        elif not word.startswith("-"):
            return word
    return ""


@pytest.fixture
def machines(tmp_path: Path) -> tuple[Logged, Logged, Path]:
    git = shutil.which("git")
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "git").write_text(f'#!/bin/sh\necho "$*" >> "$SHIM_LOG"\nexec "{git}" "$@"\n')
    (shims / "git").chmod(0o755)
    return Logged(tmp_path, "a", shims), Logged(tmp_path, "b", shims), bare_remote(tmp_path)


def _remote_head(remote: Path) -> str:
    return subprocess.run(["git", "rev-parse", "main"], cwd=remote, capture_output=True, text=True, check=True).stdout.strip()


def test_each_usual_sync_runs_only_the_git_commands_it_needs(machines: tuple[Logged, Logged, Path]) -> None:
    a, b, remote = machines
    session = a.ok("new", "counted").out.strip()
    a.ok("append", session, "--role", "user", "from A")
    a.ok("sync", "init", str(remote))
    pushed = _remote_head(remote)

    # a new clone starts at the remote's history: nothing merged, committed or pushed back
    # (cat-file: the remote's commit, then HEAD and the remote's; ls-tree: the files to import)
    assert b.commands("sync", "clone", str(remote)) == ["init", "remote", "fetch", "cat-file", "reset", "cat-file", "ls-tree"]
    assert _remote_head(remote) == pushed and b.messages(session) == ["from A"]

    # nothing to do: is the mirror whole, what has the remote, HEAD and the remote's commit
    assert a.commands("sync") == ["status", "fetch", "cat-file"]
    b.ok("append", session, "--role", "user", "from B")
    # an export pushed at once (HEAD asked first): the remote had nothing new
    assert b.commands("sync") == ["status", "commit", "cat-file", "push"]
    # a pull: HEAD and the remote's commit, HEAD after the merge, what changed, and what it was
    assert a.commands("sync") == ["status", "fetch", "cat-file", "merge", "cat-file", "diff", "cat-file"]
    b.ok("new", "new on B")
    assert b.commands("sync") == ["status", "add", "commit", "cat-file", "push"]  # only a file new to git is added before the commit
    b.ok("append", session, "--role", "user", "from B again")
    b.ok("sync")
    a.ok("append", session, "--role", "user", "from A again")
    # both sides: the push is refused, so fetch and merge, push, import what came
    assert a.commands("sync") == [
        "status", "commit", "cat-file", "push", "fetch", "cat-file", "merge", "cat-file", "push", "diff", "cat-file",
    ]
    b.ok("sync")
    for machine in (a, b):
        assert machine.messages(session) == ["from A", "from B", "from B again", "from A again"]
        assert sorted(s["title"] for s in machine.ok("ls", "--json").json()) == ["counted", "new on B"]  # type: ignore[union-attr]
