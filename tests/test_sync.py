"""`chit sync` between two stores ("machine A" and "machine B") through a
real bare git repository in tmp_path, with real `chit` subprocesses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from conftest import Result, run_cli

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="chit sync needs git")


class Machine:
    """One store with its own home, run as a separate `chit` each time."""

    def __init__(self, root: Path, name: str) -> None:
        self.home = root / name
        self.cwd = root / f"{name}-work"
        self.cwd.mkdir(parents=True)
        self.env = {"CHIT_HOME": str(self.home), "CHIT_PROJECT": "demo", "CHIT_LOCK_TIMEOUT": "20"}

    def __call__(self, *args: str) -> Result:
        return run_cli(list(args), cwd=self.cwd, env=self.env)

    def ok(self, *args: str) -> Result:
        done = self(*args)
        assert done.code == 0, (args, done.err)
        return done

    def messages(self, ref: str) -> list[str]:
        session = self.ok("show", ref, "--json").json()
        assert isinstance(session, dict)
        return [m["content"] for m in session["messages"]]


def bare_remote(tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True, env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull})
    return remote


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Machine, Machine, Path]:
    return Machine(tmp_path, "a"), Machine(tmp_path, "b"), bare_remote(tmp_path)


def test_a_session_started_on_a_continues_on_b_and_is_seen_whole_on_a(pair: tuple[Machine, Machine, Path]) -> None:
    a, b, remote = pair
    session = a.ok("new", "started on A").out.strip()
    a.ok("append", session, "--role", "user", "question on A")
    a.ok("append", session, "--role", "assistant", "answer on A")
    first = a.ok("sync", "init", str(remote), "--json").json()
    assert isinstance(first, dict) and first["sent"] == 1 and first["pushed"] is True

    cloned = b.ok("sync", "clone", str(remote), "--json").json()
    assert isinstance(cloned, dict) and [s["id"] for s in cloned["new"]] == [session]
    assert b.messages(session) == ["question on A", "answer on A"]
    b.ok("append", session, "--role", "user", "question on B")
    b.ok("append", session, "--role", "assistant", "answer on B")
    b.ok("sync")

    report = a.ok("sync", "--json").json()
    assert isinstance(report, dict) and [s["id"] for s in report["grown"]] == [session]
    assert a.messages(session) == ["question on A", "answer on A", "question on B", "answer on B"]
    assert a.ok("sync", "--json").json()["grown"] == []  # type: ignore[index]  # nothing twice

    # the live store is no git work tree; the mirror sits beside it
    assert not (a.home / ".git").exists() and (a.home / "sync" / "repo" / ".git").is_dir()


def test_both_machines_append_between_syncs_and_both_end_with_every_message(pair: tuple[Machine, Machine, Path]) -> None:
    a, b, remote = pair
    session = a.ok("new", "shared").out.strip()
    a.ok("sync", "init", str(remote))
    b.ok("sync", "clone", str(remote))
    a.ok("append", session, "--role", "user", "from A")
    b.ok("append", session, "--role", "user", "from B")
    b_only = b.ok("new", "only on B").out.strip()
    a.ok("sync")
    b.ok("sync")
    a.ok("sync")
    for machine in (a, b):
        assert sorted(machine.messages(session)) == ["from A", "from B"]
        assert machine.ok("show", b_only, "--json").json()["title"] == "only on B"  # type: ignore[index]
    assert (a.home / "sync" / "repo" / ".gitattributes").read_text().count("merge=union") == 1


def test_a_report_off_a_terminal_is_plain_lines_without_rich(pair: tuple[Machine, Machine, Path]) -> None:
    """Off a terminal (a script's pipe, the log of an automatic sync) the
    report's lines are written as they are, without loading rich: about
    40 ms of CPU of every such sync."""
    a, b, remote = pair
    session = a.ok("new", "reported").out.strip()
    a.ok("sync", "init", str(remote))
    probe = f"import sys\nfrom chit.cli.main import run\ncode = run(['sync', 'clone', {str(remote)!r}])\nprint(code, 'rich' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=b.cwd, env={**os.environ, **b.env}, stdin=subprocess.DEVNULL)
    assert done.stdout == f"synced with {remote}: 0 sessions sent; 1 new\n  new      {session[:8]}  demo: reported\n0 False\n", done.stderr


def test_an_http_remote_is_refused_and_nothing_is_made(pair: tuple[Machine, Machine, Path]) -> None:
    a, _, _ = pair
    a.ok("new", "secret")
    done = a("sync", "init", "http://example.com/history.git")
    assert done.code == 5
    assert done.err.count("\n") == 1 and "use ssh or https" in done.err and "private" in done.err
    assert not (a.home / "sync").exists()


def test_sync_before_init_says_how_to_start(pair: tuple[Machine, Machine, Path]) -> None:
    a, _, _ = pair
    done = a("sync")
    assert done.code == 3 and "chit sync init REMOTE" in done.err and "Traceback" not in done.err
    assert a.ok("sync", "status", "--json").json() == {  # type: ignore[comparison-overlap]
        "configured": False, "remote": None, "commit": None, "imported": None, "pending": 0,
    }


def test_an_unreachable_remote_is_one_line_and_exit_1(pair: tuple[Machine, Machine, Path], tmp_path: Path) -> None:
    a, _, remote = pair
    a.ok("new", "x")
    a.ok("sync", "init", str(remote))
    shutil.rmtree(remote)
    done = a("sync")
    assert done.code == 1 and done.err.startswith("chit: error: fetching from the remote failed") and done.err.count("\n") == 1
    done = a("sync", "clone", str(tmp_path / "nowhere.git"))
    assert done.code == 6  # already set up here


def test_clone_of_an_empty_remote_says_to_init(pair: tuple[Machine, Machine, Path]) -> None:
    _, b, remote = pair
    done = b("sync", "clone", str(remote))
    assert done.code == 1 and "sync init" in done.err


def test_a_push_that_lost_the_race_is_retried(pair: tuple[Machine, Machine, Path]) -> None:
    """A's export is pushed first and refused (B sent a message), so A
    fetches and merges; then B pushes again between A's fetch and A's push
    (from A's pre-push hook, so the race is real, not simulated): A's push
    is rejected, A fetches, merges and pushes again, and both histories end
    up everywhere."""
    a, b, remote = pair
    session = a.ok("new", "raced").out.strip()
    a.ok("sync", "init", str(remote))
    b.ok("sync", "clone", str(remote))
    b.ok("append", session, "--role", "user", "from B")
    b.ok("sync")
    a.ok("append", session, "--role", "user", "from A")
    hook = a.home / "sync" / "repo" / ".git" / "hooks" / "pre-push"
    pushes = a.home.parent / "pushes"
    b_chit = f"CHIT_HOME={b.home} CHIT_PROJECT=demo {sys.executable} -m chit"
    hook.write_text(
        "#!/bin/sh\n"
        f"echo push >> {pushes}\n"
        f"[ $(wc -l < {pushes}) -eq 2 ] || exit 0\n"
        f"{b_chit} append {session} --role user 'from B, racing' >/dev/null 2>&1 || exit 1\n"
        f"{b_chit} sync >/dev/null 2>&1 || exit 1\n"
        "exit 0\n"
    )
    hook.chmod(0o755)
    report = a.ok("sync", "--json").json()
    assert pushes.read_text().count("push") == 3  # refused (B's first message), lost the race (B's second), landed
    assert isinstance(report, dict) and report["pushed"] is True and [s["id"] for s in report["grown"]] == [session]
    b.ok("sync")
    for machine in (a, b):
        assert sorted(machine.messages(session)) == ["from A", "from B", "from B, racing"]


def test_rm_on_one_machine_trashes_it_on_the_other_and_restore_brings_it_back(pair: tuple[Machine, Machine, Path]) -> None:
    a, b, remote = pair
    session = a.ok("new", "to be removed").out.strip()
    a.ok("append", session, "--role", "user", "kept in the trash")
    a.ok("sync", "init", str(remote))
    b.ok("sync", "clone", str(remote))
    a.ok("rm", session)
    a.ok("sync")
    report = b.ok("sync", "--json").json()
    assert isinstance(report, dict) and [s["id"] for s in report["trashed"]] == [session]
    assert [s["id"] for s in b.ok("trash", "--json").json()] == [session]  # type: ignore[union-attr]
    b.ok("restore", session)
    b.ok("sync")
    report = a.ok("sync", "--json").json()
    assert isinstance(report, dict) and [s["id"] for s in report["restored"]] == [session]
    assert a.messages(session) == ["kept in the trash"]


def _session_lines(home: Path, session: str) -> set[bytes]:
    found = list(home.glob(f"projects/*/sessions/{session}.jsonl")) + list(home.glob(f"trash/*/{session}.jsonl"))
    assert len(found) == 1, found
    return {line for line in found[0].read_bytes().splitlines() if line}


def test_after_syncs_both_machines_hold_the_same_lines(pair: tuple[Machine, Machine, Path]) -> None:
    a, b, remote = pair
    session = a.ok("new", "lines").out.strip()
    a.ok("sync", "init", str(remote))
    b.ok("sync", "clone", str(remote))
    for n in range(3):
        a.ok("append", session, "--role", "user", f"a{n}")
        b.ok("append", session, "--role", "user", f"b{n}")
        b.ok("tag", session, f"t{n}")
        a.ok("sync")
        b.ok("sync")
    a.ok("sync")
    assert _session_lines(a.home, session) == _session_lines(b.home, session)
    tags = a.ok("show", session, "--json").json()["tags"]  # type: ignore[index]
    assert tags == b.ok("show", session, "--json").json()["tags"] == ["t0", "t1", "t2"]  # type: ignore[index]


def _git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def test_a_project_meets_its_copy_by_git_root_commit_not_by_path(pair: tuple[Machine, Machine, Path], tmp_path: Path) -> None:
    """A's work tree and B's clone of it live at different paths: the
    project is matched by its root commit, B is told how to adopt it, and
    after that both machines keep one project in the mirror."""
    a, b, remote = pair
    for machine in (a, b):
        del machine.env["CHIT_PROJECT"]
    _git("init", "--quiet", "-b", "main", cwd=a.cwd)
    (a.cwd / "README").write_text("x\n")
    _git("add", "README", cwd=a.cwd)
    _git("commit", "--quiet", "-m", "root", cwd=a.cwd)
    root_commit = _git("rev-parse", "HEAD", cwd=a.cwd).strip()
    session = a.ok("new", "work on the repo").out.strip()
    a.ok("sync", "init", str(remote))

    b_tree = tmp_path / "elsewhere" / "my-checkout"
    _git("clone", "--quiet", str(a.cwd), str(b_tree), cwd=tmp_path)
    b.cwd = tmp_path / "b-work"
    b.ok("sync", "clone", str(remote))
    listed = b.ok("projects", "--json").json()
    assert isinstance(listed, list) and len(listed) == 1
    assert listed[0]["git_root"] == root_commit and listed[0]["path"] is None
    assert "not on this machine" in b.ok("projects").out

    b.cwd = b_tree
    noted = b.ok("ls")
    assert "synced from another machine" in noted.err and "chit projects mv" in noted.err
    b.ok("projects", "mv", listed[0]["name"], str(b_tree))
    assert b.ok("ls", "--json").json()[0]["id"] == session  # type: ignore[index]
    b.ok("append", session, "--role", "user", "from B's checkout")
    b.ok("new", "started in B's checkout")
    b.ok("sync")
    a.ok("sync")
    assert a.messages(session) == ["from B's checkout"]
    assert sorted(s["title"] for s in a.ok("ls", "--json").json()) == ["started in B's checkout", "work on the repo"]  # type: ignore[union-attr]
    folders = list((a.home / "sync" / "repo" / "projects").iterdir())
    assert len(folders) == 1, folders
    record = orjson.loads((folders[0] / "project.json").read_bytes())
    assert record == {"identity": f"git:{root_commit}", "name": a.cwd.name}


def _place_of(machine: Machine, session: str) -> str:
    in_trash = any(s["id"] == session for s in machine.ok("trash", "--json").json())  # type: ignore[union-attr]
    return "trash" if in_trash else "live"


def test_rm_on_a_while_b_appends_loses_nothing(pair: tuple[Machine, Machine, Path]) -> None:
    a, b, remote = pair
    session = a.ok("new", "removed here, written there").out.strip()
    a.ok("append", session, "--role", "user", "before")
    a.ok("sync", "init", str(remote))
    b.ok("sync", "clone", str(remote))
    a.ok("rm", session)
    b.ok("append", session, "--role", "user", "written on B after A removed it")
    a.ok("sync")
    b.ok("sync")
    a.ok("sync")
    for machine in (a, b):
        lines = [orjson.loads(line) for line in _session_lines(machine.home, session)]
        assert sorted(r["content"] for r in lines if r["type"] == "message") == ["before", "written on B after A removed it"]
    assert _place_of(a, session) == _place_of(b, session)


def test_rm_on_a_while_b_appends_ends_restored_and_both_are_told(pair: tuple[Machine, Machine, Path]) -> None:
    a, b, remote = pair
    session = a.ok("new", "removed here, written there").out.strip()
    a.ok("sync", "init", str(remote))
    b.ok("sync", "clone", str(remote))
    a.ok("rm", session)
    b.ok("append", session, "--role", "user", "written on B after A removed it")
    a.ok("sync")
    told_b = b.ok("sync", "--json").json()
    told_a = a.ok("sync", "--json").json()
    for told in (told_a, told_b):
        assert isinstance(told, dict) and [s["id"] for s in told["restored"]] == [session]
    assert _place_of(a, session) == _place_of(b, session) == "live"


def _one_session_on_both(a: Machine, b: Machine, remote: Path, title: str) -> str:
    """A session of one message made on A, which starts syncing; B clones."""
    session = a.ok("new", title).out.strip()
    a.ok("append", session, "--role", "user", "first")
    a.ok("sync", "init", str(remote))
    b.ok("sync", "clone", str(remote))
    return session


def test_rm_on_a_of_a_message_b_sent_popped_and_compacted_holds_on_both(pair: tuple[Machine, Machine, Path]) -> None:
    """B writes a message and syncs it; A, not having synced it, runs rm;
    B pops the message and compacts. B's compacted file no longer holds the
    message that A's copy and the remote still hold: both must fold alike,
    and since the rm hides nothing shown that it did not see, it holds."""
    a, b, remote = pair
    session = _one_session_on_both(a, b, remote, "removed here, written and popped there")
    b.ok("append", session, "--role", "user", "written on B, popped, compacted")
    b.ok("sync")
    a.ok("rm", session)
    b.ok("pop", session)
    b.ok("compact", session)
    for machine in (a, b, a, b):
        machine.ok("sync")
    assert (_place_of(a, session), _place_of(b, session)) == ("trash", "trash")


def test_undo_on_a_of_a_pop_b_then_compacts_shows_the_same_messages_on_both(pair: tuple[Machine, Machine, Path]) -> None:
    """B pops its message and syncs; A undoes the pop; B, not having seen
    the undo, compacts: the popped message is gone from B's file. The
    compaction made the pop final, so A's undo brings back nothing on
    either machine, and both show the same messages."""
    a, b, remote = pair
    session = _one_session_on_both(a, b, remote, "undone here, compacted there")
    b.ok("append", session, "--role", "user", "popped on B")
    b.ok("pop", session)
    b.ok("sync")
    a.ok("sync")
    a.ok("undo", session)
    b.ok("compact", session)
    for machine in (a, b, a, b):
        machine.ok("sync")
    assert a.messages(session) == b.messages(session) == ["first"]


def test_redact_sends_markers_and_keeps_the_secret_here(pair: tuple[Machine, Machine, Path]) -> None:
    """`[sync] redact = true`: the remote and the other machine get the
    line with a marker; this machine keeps what it wrote, and never gets
    the redacted copy back."""
    a, b, remote = pair
    token = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5" + "Zz12"
    session = a.ok("new", "with a secret").out.strip()
    a.ok("append", session, "--role", "user", f"my token is {token}")
    a.home.joinpath("config.toml").write_text("[sync]\nredact = true\n")
    a.ok("sync", "init", str(remote))
    a.ok("sync")
    b.ok("sync", "clone", str(remote))
    assert token in a.messages(session)[0] and a.messages(session) == [f"my token is {token}"]
    assert token not in b.messages(session)[0]
    mirror = b"".join(p.read_bytes() for p in (a.home / "sync" / "repo").rglob("*.jsonl"))
    assert token.encode() not in mirror


def test_a_remote_folder_this_chit_cannot_place_is_skipped_not_fatal(pair: tuple[Machine, Machine, Path], tmp_path: Path) -> None:
    """What another machine pushed is untrusted: a folder naming an unknown
    identity, a file that is no session id, a path that climbs: skipped,
    nothing written outside the store, the rest still comes in."""
    a, b, remote = pair
    good = a.ok("new", "good").out.strip()
    a.ok("sync", "init", str(remote))
    other = tmp_path / "other"
    _git("clone", "--quiet", "-b", "main", str(remote), str(other), cwd=tmp_path)
    evil = other / "projects" / "evil"
    (evil / "sessions").mkdir(parents=True)
    (evil / "project.json").write_text('{"name": "../../x", "identity": "evil:../../x"}\n')
    bad_id = "0f2c8a4e-1b7d-4e3a-9c5f-2d6b8e1a3c7f"
    (evil / "sessions" / f"{bad_id}.jsonl").write_text('{"type": "session", "version": 1}\n')
    (evil / "sessions" / "not-an-id.jsonl").write_text("x\n")
    _git("add", "-A", cwd=other)
    _git("commit", "--quiet", "-m", "evil", cwd=other)
    _git("push", "--quiet", "origin", "HEAD:main", cwd=other)
    report = b.ok("sync", "clone", str(remote), "--json").json()
    assert isinstance(report, dict) and [s["id"] for s in report["new"]] == [good]
    assert report["skipped"] == [f"projects/evil/sessions/{bad_id}.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "a-work", "b", "b-work", "other", "remote.git"]


def test_a_password_in_the_remote_url_is_never_printed(pair: tuple[Machine, Machine, Path], tmp_path: Path) -> None:
    """`ssh://me:PASSWORD@host/path`: a stand-in `ssh` (GIT_SSH_COMMAND)
    runs git's own command here; no output of `sync init`, `sync`,
    `sync status`, `sync clone` or their --json names the password."""
    a, b, remote = pair
    ssh = tmp_path / "ssh-here"
    ssh.write_text('#!/bin/sh\nfor arg; do last=$arg; done\nexec sh -c "$last"\n')
    ssh.chmod(0o700)
    password = "pw-in-the-remote-4711"
    url = f"ssh://me:{password}@localhost{remote}"
    for machine in (a, b):
        machine.env["GIT_SSH_COMMAND"] = str(ssh)
    a.ok("new", "x")
    outputs = [a.ok("sync", "init", url), a.ok("sync"), a.ok("sync", "--json"), a.ok("sync", "status"), a.ok("sync", "status", "--json"),
               a("sync", "init", url), b.ok("sync", "clone", url)]
    assert outputs[-2].code == 6  # already set up here: the error names the remote
    for done in outputs:
        assert password not in done.out + done.err, done
    assert f"ssh://me:***@localhost{remote}" in outputs[0].out
    assert [row["title"] for row in b.ok("ls", "--json").json()] == ["x"]  # type: ignore[union-attr, index]
