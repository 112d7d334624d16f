"""Nobody in: what chit writes is private whatever the umask, exports never
write through a link, the command provider runs no shell unless its config
says so, an API key never lands in a session file, an error message, the
REPL history or a traceback, and Typer never prints local variables."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import forkserver
import pytest

from chit.api import Chit
from conftest import Result, run_cli, tree_digest

SECRET = "sk-proj-SECRET-8f3a1c77d2e94b0a"


def run_with_umask(args: list[str], cwd: Path, umask: int, stdin: bytes = b"", env: dict[str, str] | None = None) -> Result:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("CHIT_DEBUG", None)
    proc = forkserver.run_chit(args, stdin=stdin, cwd=cwd, env=full_env, timeout=60, umask=umask)
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


# -- modes ------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o002])
def test_every_file_0600_every_directory_0700_through_the_cli(home: Path, workdir: Path, tmp_path: Path, umask: int) -> None:
    def ok(*args: str, stdin: bytes = b"") -> str:
        result = run_with_umask(list(args), workdir, umask, stdin)
        assert result.code == 0, (args, result.err)
        return result.out.strip()

    sid = ok("new", "first", "--tag", "a")
    ok("append", "hello there")
    ok("append", "-r", "assistant", "-", stdin=b"a reply")
    other = ok("-p", "side", "new", "second")
    ok("fork", sid)
    ok("rename", sid, "renamed")
    ok("rewind", sid, "0")
    ok("compact", sid)
    ok("ls")
    ok("search", "hello")
    ok("rm", other)
    ok("restore", other[:8])
    ok("rm", other)
    ok("export", sid, "-f", "json", "-o", str(tmp_path / "snap.json"))
    ok("export", "--all", "-f", "md", "-o", str(tmp_path / "all"))
    ok("import", str(tmp_path / "snap.json"), "--new-id")
    ok("chat", "--new", "--model", "echo", stdin=b"hi\n/rename chatted\n")
    ok("state", sid, "running", "--set", "k=1")
    ok("doctor", "--repair")
    paths = [home, *home.rglob("*")]
    wrong = {str(p.relative_to(home)): oct(stat.S_IMODE(p.lstat().st_mode)) for p in paths
             if stat.S_IMODE(p.lstat().st_mode) != (0o700 if p.is_dir() else 0o600)}
    assert wrong == {}
    kinds = {p.name.split(".")[-1] for p in paths if p.is_file()}
    assert {"jsonl", "json", "sqlite", "lock"} <= kinds  # sessions, records, the index and the locks were all checked
    exported = [tmp_path / "snap.json", *(tmp_path / "all").iterdir()]
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in exported} == {"0o600"}
    assert oct(stat.S_IMODE((tmp_path / "all").stat().st_mode)) == "0o700"


def test_doctor_repairs_loosened_modes(api: Chit, home: Path) -> None:
    s = api.create(title="x", messages=[{"role": "user", "content": "hi"}])
    path = api.layout.session_file(api.project().slug, s.id)
    path.chmod(0o644)
    report = api.doctor(repair=True)
    assert [f.problem for f in report.findings] == ["permissions 644, expected 600"] and report.ok
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- exports never write through a link ---------------------------------------------------


def test_export_all_never_follows_a_planted_link(api: Chit, cli_inproc: Any, tmp_path: Path) -> None:
    api.create(title="Alpha plan", messages=[{"role": "user", "content": "hi"}])
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    first = cli_inproc("export", "--all", "-f", "md", "-o", str(out))
    assert first.code == 0
    name = next(out.iterdir()).name
    (out / name).unlink()
    (out / name).symlink_to(victim)
    refused = cli_inproc("export", "--all", "-f", "md", "-o", str(out))
    assert refused.code == 6 and "--force" in refused.err
    forced = cli_inproc("export", "--all", "-f", "md", "-o", str(out), "--force")
    assert forced.code == 0
    assert victim.read_bytes() == b"precious" and not (out / name).is_symlink()


def test_a_forced_export_never_replaces_a_device_or_pipe(api: Chit, cli_inproc: Any, tmp_path: Path) -> None:
    api.create(title="x", messages=[{"role": "user", "content": "hi"}])
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for target in (fifo, Path(os.devnull)):
        result = cli_inproc("export", "-f", "txt", "-o", str(target), "--force")
        assert result.code == 5 and "not a regular file" in result.err, result.err
        assert not stat.S_ISREG(os.lstat(target).st_mode)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


# -- the command provider ---------------------------------------------------------------


def _config(home: Path, body: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(textwrap.dedent(body))


@pytest.mark.parametrize("shell_setting", ["", "shell = false", 'shell = "true"', "shell = 1"])
def test_the_command_provider_runs_no_shell_unless_configured(home: Path, workdir: Path, tmp_path: Path, shell_setting: str) -> None:
    marker = tmp_path / "pwned"
    _config(home, f"""
        [models.mine]
        provider = "command"
        command = ["echo", "reply; touch {marker}", "$(touch {marker})", "`touch {marker}`"]
        {shell_setting}
    """)
    result = run_cli(["chat", "--new", "--model", "mine"], stdin=f"hi $(touch {marker})\n".encode(), cwd=workdir)
    assert result.code == 0, result.err
    assert not marker.exists()
    assert f"reply; touch {marker} $(touch {marker})" in " ".join(result.out.split())  # the arguments, as given


def test_a_configured_shell_still_never_interprets_the_conversation(home: Path, workdir: Path, tmp_path: Path) -> None:
    ran, injected = tmp_path / "ran", tmp_path / "injected"
    _config(home, f"""
        [models.mine]
        provider = "command"
        command = ["cat >/dev/null; touch {ran}; echo done"]
        shell = true
    """)
    result = run_cli(["chat", "--new", "--model", "mine"], stdin=f"$(touch {injected}) `touch {injected}`\n".encode(), cwd=workdir)
    assert result.code == 0, result.err
    assert ran.exists() and not injected.exists()  # the configured shell ran; the message went in as data


# -- secrets --------------------------------------------------------------------------------


class Hostile(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that echoes the Authorization header back
    in every error it sends: an error message must still never show the key."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        echoed = f"you sent {self.headers.get('Authorization')}"
        model = body.get("model")
        if model == "midstream":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            chunk = {"choices": [{"delta": {"content": "partial "}}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\ndata: {json.dumps({'error': {'message': echoed}})}\n\n".encode())
            return
        status = {"unauthorized": 401, "bad": 400, "broken": 500}.get(model, 404)
        payload = json.dumps({"error": {"message": echoed}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def hostile() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def everything_written(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file() and not p.is_symlink())


@pytest.mark.parametrize("model", ["unauthorized", "bad", "broken", "midstream"])
@pytest.mark.parametrize("debug", [False, True])
def test_the_api_key_reaches_no_file_message_or_traceback(home: Path, workdir: Path, hostile: str, model: str, debug: bool) -> None:
    env = {"OPENAI_API_KEY": SECRET, "CHIT_BASE_URL": hostile, "CHIT_MODEL": model}
    if debug:
        env["CHIT_DEBUG"] = "1"
    proc = forkserver.run_chit(["chat", "--new"], stdin=b"my question\n/show\n", cwd=workdir, env={**os.environ, **env}, timeout=60)
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert "you sent Bearer" in out + err  # the server's message is shown ...
    assert SECRET not in out + err  # ... without the key
    assert SECRET.encode() not in everything_written(home)
    sessions = list(home.rglob("*.jsonl"))
    assert sessions and b"my question" in sessions[0].read_bytes()  # (the session was written)


@pytest.mark.parametrize(
    "reply",
    ["reply_status_line_with_key", "reply_long_status_line_with_key", "reply_long_header_with_key", "reply_many_headers_with_key"],
)
def test_a_malformed_answer_quoting_the_key_is_one_redacted_line_in_scripted_chat(home: Path, workdir: Path, reply: str) -> None:
    import fake_openai

    server = fake_openai.RawServer(getattr(fake_openai, reply)).start()
    try:
        env = {"OPENAI_API_KEY": SECRET, "CHIT_BASE_URL": server.base_url, "CHIT_MODEL": "m"}
        result = run_cli(["chat", "--new"], stdin=b"my question\n/rename went on\n", cwd=workdir, env=env)
    finally:
        server.close()
    assert SECRET not in result.out + result.err
    assert "internal error" not in result.err and "error" not in result.out
    assert result.code == 7  # the model failed
    assert len([line for line in result.err.splitlines() if line.startswith("error: ")]) == 1
    assert SECRET.encode() not in everything_written(home)
    session = Chit(home, cwd=workdir).list()[0]
    assert session.state == "error" and session.title == "went on"


def test_a_reply_echoing_the_key_is_never_stored_or_shown(home: Path, workdir: Path) -> None:
    from fake_openai import FakeServer

    server = FakeServer().start()
    try:
        env = {"OPENAI_API_KEY": SECRET, "CHIT_BASE_URL": server.base_url, "CHIT_MODEL": "echokey"}
        result = run_cli(["chat", "--new"], stdin=b"what did I send?\n/show\n", cwd=workdir, env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert "Bearer [API key] (echoed)" in result.out
    assert SECRET not in result.out + result.err
    assert SECRET.encode() not in everything_written(home)


def test_api_keys_from_the_environment_are_never_stored(home: Path, workdir: Path) -> None:
    env = {"OPENAI_API_KEY": SECRET, "CHIT_API_KEY": SECRET + "-2"}
    for args, stdin in ((["chat", "--new", "--model", "echo"], b"hello\n/rename x\n"), (["config", "--json"], b""), (["new", "t"], b""),
                        (["append", "hi"], b""), (["export", "-f", "json"], b"")):
        result = run_cli(args, stdin=stdin, cwd=workdir, env=env)
        assert result.code == 0, result.err
        assert SECRET not in result.out + result.err
    assert SECRET.encode() not in everything_written(home)


# -- tracebacks -------------------------------------------------------------------------------


def test_typer_never_shows_locals_in_tracebacks() -> None:
    import importlib

    from chit.cli import app

    modules = {f"chit.cli.{name}" for name in app.COMMANDS.values()}
    for typer_app in [app.app, *(importlib.import_module(name).app for name in sorted(modules))]:
        assert typer_app.pretty_exceptions_show_locals is False
        assert typer_app.pretty_exceptions_enable is False


CRASHER = textwrap.dedent(
    """
    import sys
    import chit.service.queries as queries
    def broken(self, *args, **kwargs):
        api_key = sys.argv[1]  # a local that must not be printed
        raise RuntimeError("unforeseen")
    queries.Queries.list = broken
    from chit.cli.main import run
    sys.exit(run(["ls"]))
    """
)


@pytest.mark.parametrize("debug", [False, True])
def test_an_unforeseen_error_prints_no_locals(home: Path, workdir: Path, debug: bool) -> None:
    env = {**os.environ}
    env.pop("CHIT_DEBUG", None)
    if debug:
        env["CHIT_DEBUG"] = "1"
    proc = subprocess.run([sys.executable, "-c", CRASHER, SECRET], capture_output=True, cwd=workdir, env=env, timeout=60)
    err = proc.stderr.decode()
    assert proc.returncode == 1
    assert SECRET not in err
    if debug:
        assert "Traceback" in err and "RuntimeError: unforeseen" in err  # the traceback, for a developer
    else:
        assert err == "chit: error: internal error: RuntimeError: unforeseen (set CHIT_DEBUG=1 for a traceback)\n"


def test_the_store_outside_chit_is_left_alone(api: Chit, home: Path, tmp_path: Path) -> None:
    """Session ids that climb are refused before they become paths."""
    before = tree_digest(tmp_path)
    for bad in ("../../x", "..", "/etc/passwd", "a" * 36):
        with pytest.raises(Exception) as caught:
            api.get(bad)
        assert caught.type.__module__ == "chit.errors"
    assert tree_digest(tmp_path) == before
