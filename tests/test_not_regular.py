"""A FIFO, socket or directory where chit expects a regular file (a session
log, a change journal, current.json, project.json, the import cache) is
refused like a planted link: no command blocks on it, none fails with a
traceback, and `doctor` names it and goes on with the rest of the store.

Every command runs as a real `chit` process with a timeout: a hang fails."""

from __future__ import annotations

import locale
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import forkserver
import pytest

from chit.api import Chit
from importer_sources import fixture

TIMEOUT = 10
LOCATIONS = ["session log", "journal", "current.json", "project.json", "import cache"]
KINDS = ["fifo", "socket", "directory"]


def make_special(path: Path, kind: str) -> None:
    if path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        with tempfile.TemporaryDirectory() as short, socket.socket(socket.AF_UNIX) as sock:
            sock.bind(os.path.join(short, "s"))  # a socket's path is short; the node then moves into place
            os.rename(os.path.join(short, "s"), path)


def chit(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("CHIT_DEBUG", None)
    try:
        done = forkserver.run_chit(args, stdin=None, cwd=cwd, env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`chit {' '.join(args)}` hung")
    return subprocess.CompletedProcess(done.args, done.returncode, as_text(done.stdout), as_text(done.stderr))


def as_text(output: bytes) -> str:
    """`output` as subprocess's text=True reads it (locale's encoding, universal newlines)."""
    return output.decode(locale.getpreferredencoding(False)).replace("\r\n", "\n").replace("\r", "\n")


def plant(api: Chit, home: Path, where: str, kind: str) -> tuple[str, Path]:
    session = api.create(title="kept", messages=[{"role": "user", "content": "hello"}])
    api.append(session.id, "user", "second")
    slug = api.project().slug
    path = {
        "session log": api.layout.session_file(slug, session.id),
        "journal": api.layout.changes_file(slug),
        "current.json": api.layout.current_file(slug),
        "project.json": api.layout.project_file(slug),
        "import cache": api.layout.import_cache_file,
    }[where]
    make_special(path, kind)
    return session.id, path


def one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 1, result.stderr


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("where", LOCATIONS)
def test_no_command_blocks_on_a_special_file(api: Chit, home: Path, workdir: Path, where: str, kind: str) -> None:
    session_id, path = plant(api, home, where, kind)
    rel = str(path.relative_to(home))

    doctor = chit(["doctor"], workdir)
    one_line_error(doctor)
    assert doctor.returncode == 5 and f"{rel}: not a regular file" in doctor.stdout, doctor

    for args in (["ls"], ["projects"], ["import", "--from", "codex", str(fixture("codex"))]):
        result = chit(args, workdir)
        one_line_error(result)
        assert result.returncode == 0, (args, result)

    appended = chit(["append", "third"], workdir)
    one_line_error(appended)
    if where == "session log":
        assert appended.returncode == 3  # the session is not there to use
    else:  # an unreadable current.json: the latest session stands in, as for a missing one
        assert appended.returncode == 0, appended
        assert [m.content for m in api.get(session_id).messages] == ["hello", "second", "third"]
    if where != "session log":  # named, the session takes the append whatever is beside it
        named = chit(["append", session_id, "fourth"], workdir)
        assert named.returncode == 0, named
        assert api.get(session_id).messages[-1].content == "fourth"


def test_an_explicit_session_whose_log_is_a_fifo_is_refused_in_one_line(api: Chit, home: Path, workdir: Path) -> None:
    session_id, _ = plant(api, home, "session log", "fifo")
    for args in (["show", session_id], ["append", session_id, "x"]):
        result = chit(args, workdir)
        one_line_error(result)
        assert result.returncode == 3, (args, result)  # not listed: like a missing file


def test_doctor_goes_on_past_a_fifo_session(api: Chit, home: Path, workdir: Path) -> None:
    _, path = plant(api, home, "session log", "fifo")
    other = api.create(title="other", messages=[{"role": "user", "content": "x"}])
    other_path = api.layout.session_file(api.project().slug, other.id)
    with open(other_path, "ab") as handle:
        handle.write(b"{torn")
    result = chit(["doctor", "--repair"], workdir)
    one_line_error(result)
    assert f"{path.relative_to(home)}: not a regular file (a FIFO)" in result.stdout
    assert f"{other_path.relative_to(home)}:" in result.stdout  # the torn line further on is still found
    assert path.exists() and not path.is_file()  # left to its owner


@pytest.mark.parametrize("args", [
    ["import", "/dev/zero"],
    ["replace", "REF", "/dev/zero"],
    ["import", "--from", "chatgpt", "/dev/zero"],
], ids=" ".join)
def test_a_device_named_as_the_input_is_refused_before_a_byte_is_read(api: Chit, home: Path, workdir: Path, args: list[str]) -> None:
    """/dev/zero never ends: read whole it filled 4 GB of memory in 6 s
    (then the machine's). A device is refused; a pipe still reads."""
    from conftest import tree_digest

    session = api.create(title="kept", messages=[{"role": "user", "content": "hello"}])
    before = tree_digest(home)
    result = chit([session.id if arg == "REF" else arg for arg in args], workdir)
    one_line_error(result)
    assert result.returncode == 5 and "not a regular file (a character device)" in result.stderr, result
    assert tree_digest(home) == before


def test_dev_null_is_still_an_empty_input(api: Chit, home: Path, workdir: Path) -> None:
    session = api.create(title="kept", messages=[{"role": "user", "content": "hello"}])
    result = chit(["replace", session.id, os.devnull], workdir)
    assert result.returncode == 0 and "0 message(s)" in result.stdout, result
    assert chit(["import", os.devnull], workdir).returncode == 5  # an empty snapshot: not JSON


def test_a_snapshot_read_from_a_pipe_still_imports(api: Chit, home: Path, workdir: Path) -> None:
    session = api.create(title="kept", messages=[{"role": "user", "content": "hello"}])
    snapshot = chit(["export", session.id, "-f", "json"], workdir).stdout
    done = subprocess.run(["bash", "-c", 'printf %s "$SNAPSHOT" | "$0" -m chit import /dev/stdin -p elsewhere', sys.executable],
                          cwd=workdir, env={**os.environ, "SNAPSHOT": snapshot}, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode in (0, 6), done.stderr  # imported, or "already imported": read either way
    assert "not a regular file" not in done.stderr


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_an_llm_database_that_is_a_fifo_or_a_device_is_refused_not_waited_on(api: Chit, home: Path, workdir: Path, tmp_path: Path,
                                                                              kind: str) -> None:
    """SQLite opens a FIFO and waits for its writer (before: `import --from
    llm` of a folder whose logs.db is a FIFO hung)."""
    from conftest import tree_digest

    folder = tmp_path / "llm"
    if kind == "fifo":
        make_special(folder / "logs.db", "fifo")
    source = str(folder) if kind == "fifo" else "/dev/zero"
    before = tree_digest(home)
    result = chit(["import", "--from", "llm", source, "-p", "elsewhere"], workdir)
    one_line_error(result)
    assert result.returncode == 5 and "not a regular file" in result.stderr, result
    assert tree_digest(home) == before


@pytest.mark.parametrize("kind", KINDS)
def test_a_machine_id_that_is_not_a_file_is_made_again(api: Chit, home: Path, workdir: Path, kind: str) -> None:
    """Every write stamps its lines with the home's machine id: before, a
    FIFO there hung every append and `new`."""
    session = api.create(title="kept", messages=[{"role": "user", "content": "hello"}])
    make_special(home / "machine-id", kind)
    for args in (["append", session.id, "second"], ["new", "another"]):
        result = chit(args, workdir)
        one_line_error(result)
        assert result.returncode == 0, (args, result)
    assert [m.content for m in api.get(session.id).messages] == ["hello", "second"]


@pytest.mark.parametrize("kind", ["fifo", "device"])
@pytest.mark.parametrize("where", ["", "-wal", "-shm"])
@pytest.mark.parametrize("tool", ["opencode", "llm"])
def test_a_sqlite_database_or_its_side_file_that_is_a_fifo_or_a_device_is_refused(
    api: Chit, home: Path, workdir: Path, tmp_path: Path, tool: str, where: str, kind: str,
) -> None:
    """opencode.db and llm's logs.db, or the `-wal` or `-shm` beside them:
    SQLite opens whatever is there (a FIFO waits for a writer, /dev/zero
    reads as zeros). Before: a FIFO `-wal` beside opencode.db was read as
    an empty log, a FIFO opencode.db made the folder "hold no opencode
    data", the others failed with SQLite's "disk I/O error"."""
    from conftest import tree_digest
    from importer_sources import llm_log

    folder = tmp_path / tool
    folder.mkdir()
    database = folder / ("opencode.db" if tool == "opencode" else "logs.db")
    if tool == "opencode":
        database.write_bytes(fixture("opencode-1.18.33", "opencode.db").read_bytes())
    else:
        llm_log(database, ["hello"])
    special = database.with_name(database.name + where)
    if kind == "fifo":
        make_special(special, "fifo")
    else:
        special.unlink(missing_ok=True)
        special.symlink_to("/dev/zero")
    if where == "-wal":
        (folder / (database.name + "-shm")).touch()  # both there: what a running tool leaves
    before = tree_digest(home)
    result = chit(["import", "--from", tool, str(folder), "-p", "elsewhere"], workdir)
    one_line_error(result)
    assert result.returncode == 5, result
    assert f"{special.name} is not a regular file" in result.stderr, result.stderr
    assert tree_digest(home) == before
