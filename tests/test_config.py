"""Configuration: the file, the environment, `chit config`, and keys that
never leak."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import forkserver
import orjson
import pytest
from rich.console import Console

from chit import config
from chit.api import Chit
from chit.repl import loop
from fake_openai import FakeServer

KEY = "sk-config-SECRET-123"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CHIT_MODEL", "OPENAI_API_KEY", "CHIT_API_KEY", "CHIT_BASE_URL", "OPENAI_BASE_URL", "CHIT_PROVIDER"):
        monkeypatch.delenv(name, raising=False)


def write(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    return path


def test_file_lives_in_chit_home_and_defaults_apply(home: Path) -> None:
    loaded = config.load()
    assert loaded.path == home / "config.toml"
    assert (loaded.limit, loaded.pager, loaded.color, loaded.default_model, loaded.problems) == (50, True, "auto", None, ())
    assert loaded.resolve_model() is None


def test_models_and_resolution_order(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(home, """
[defaults]
limit = 7
model = "local"
[models.local]
provider = "openai"
base_url = "http://localhost:11434/v1/"
model = "llama3.2"
[models.prog]
provider = "command"
command = ["my-llm", "--json"]
""")
    loaded = config.load()
    assert loaded.limit == 7 and loaded.model_names() == ["echo", "local", "prog"]
    local = loaded.resolve_model()
    assert local is not None and (local.provider, local.model, local.base_url) == ("openai", "llama3.2", "http://localhost:11434/v1")
    assert loaded.resolve_model("prog").command == ("my-llm", "--json")  # type: ignore[union-attr]
    monkeypatch.setenv("CHIT_MODEL", "echo")
    assert loaded.resolve_model().provider == "echo"  # type: ignore[union-attr]
    assert loaded.resolve_model("gpt-x").model == "gpt-x"  # type: ignore[union-attr]
    monkeypatch.setenv("CHIT_BASE_URL", "http://127.0.0.1:9/v1")
    assert loaded.resolve_model("gpt-x").base_url == "http://127.0.0.1:9/v1"  # type: ignore[union-attr]


def test_openai_key_alone_picks_a_default_model(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    spec = config.load().resolve_model()
    assert spec is not None and spec.model == config.DEFAULT_OPENAI_MODEL and spec.key() == KEY


def test_timeout_and_deadline_from_defaults_per_model_and_the_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHIT_DEADLINE", raising=False)
    write(home, """
[defaults]
timeout = 20
deadline = 90
[models.own]
provider = "openai"
deadline = 5.5
[models.prog]
provider = "command"
command = ["my-llm"]
""")
    loaded = config.load()
    assert loaded.problems == ()
    own, prog, bare = (loaded.resolve_model(name) for name in ("own", "prog", "llama3.2"))
    assert own is not None and (own.timeout, own.deadline) == (20, 5.5)
    assert prog is not None and prog.deadline == 90
    assert bare is not None and (bare.timeout, bare.deadline) == (20, 90)
    assert config.describe(loaded)["models"]["own"]["deadline"] == 5.5
    monkeypatch.setenv("CHIT_DEADLINE", "2")
    assert loaded.resolve_model("own").deadline == 2  # type: ignore[union-attr]
    monkeypatch.setenv("CHIT_DEADLINE", "never")  # not a number: ignored
    assert loaded.resolve_model("own").deadline == 5.5  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("this is [not toml", "not valid TOML"),
        ("deep = " + "[" * 50_000 + "]" * 50_000, "not valid TOML (nested too deeply"),  # tomllib's RecursionError
        ("[defaults]\nlimit = 'ten'", "defaults.limit must be int"),
        ("[defaults]\ncolor = 'pink'", "defaults.color"),
        ("[models.x]\nprovider = 'smoke-signals'", "models.x.provider"),
        ("[models.x]\nprovider = 'command'\ncommand = 'a string'", "models.x.command"),
        ("[defaults]\ndeadline = 0", "defaults.deadline must be a positive number of seconds"),
        ("[defaults]\ntimeout = 'soon'", "defaults.timeout must be a positive number of seconds"),
        ("[models.x]\ndeadline = true", "models.x.deadline must be a positive number of seconds"),
        ("[prices]\nbig = { input = 'free', output = 1 }", "prices.big must be a table with numbers"),
        ("prices = 3", "[prices] must be a table"),
        ("[sync]\nredact = 'yes'", "sync.redact must be true or false"),
        ("sync = 1", "[sync] must be a table"),
    ],
)
def test_bad_config_is_reported_not_fatal(home: Path, text: str, problem: str, cli) -> None:  # type: ignore[no-untyped-def]
    write(home, text)
    assert any(problem in p for p in config.load().problems)
    shown = cli("config", "--json")
    assert shown.code == 0
    assert any(problem in p for p in shown.json()["problems"])
    assert cli("ls").code == 0


def test_chit_config_masks_keys(home: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    write(home, f'[defaults]\nmodel = "gpt"\n[models.gpt]\nprovider = "openai"\nmodel = "gpt-4o-mini"\napi_key = "{KEY}"\n')
    for args in (("config",), ("config", "--json")):
        shown = cli(*args)
        assert shown.code == 0
        assert KEY not in shown.out + shown.err
        assert "set (config file)" in shown.out
    assert "config file: " + str(home / "config.toml") in cli("config").out


def test_chit_config_masks_a_password_in_a_base_url(home: Path, cli) -> None:  # type: ignore[no-untyped-def]
    write(home, '[models.gpt]\nprovider = "openai"\nmodel = "m"\nbase_url = "https://me:pw-in-url-4711@llm.example/v1"\n')
    for args in (("config",), ("config", "--json")):
        shown = cli(*args)
        assert shown.code == 0 and "pw-in-url-4711" not in shown.out + shown.err
        assert "https://me:***@llm.example/v1" in shown.out


def test_config_limit_and_color_reach_the_commands(home: Path, api: Chit, cli) -> None:  # type: ignore[no-untyped-def]
    for n in range(4):
        api.create(title=f"s{n}")
    write(home, '[defaults]\nlimit = 2\ncolor = "always"\n')
    assert len(cli("ls", "--json").json()) == 2
    assert len(cli("ls", "-n", "0", "--json").json()) == 4
    assert "\x1b[" in cli("ls").out  # colour forced even into a pipe
    write(home, '[defaults]\ncolor = "never"\n')
    plain = cli("ls", env={"FORCE_COLOR": "1"}).out
    assert "\x1b[3" not in plain and "\x1b[9" not in plain  # no colour codes (bold may stay, as NO_COLOR allows)


def test_api_key_never_reaches_the_store(home: Path, api: Chit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakeServer().start()
    try:
        monkeypatch.setenv("CHIT_API_KEY", KEY)
        monkeypatch.setenv("CHIT_BASE_URL", server.base_url)
        console = Console(file=io.StringIO(), width=100)
        for model in ("m1", "unauthorized"):
            repl = loop.make_repl(api, config.load(), None, model, console=console)
            loop.handle(repl, "hello with a key")
        assert server.requests[0]["headers"]["Authorization"] == f"Bearer {KEY}"
    finally:
        server.shutdown()
        server.server_close()
    stored = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())
    assert b"hello with a key" in stored
    assert KEY.encode() not in stored
    assert KEY not in console.file.getvalue()  # type: ignore[attr-defined]


def test_sync_redact_is_read_and_shown(home: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert config.load().sync_redact is False
    assert cli("config", "--json").json()["sync"] == {"redact": False}
    write(home, "[sync]\nredact = true\nauto = true\n")  # other [sync] keys are the sync engine's
    loaded = config.load()
    assert loaded.sync_redact is True and loaded.problems == ()
    assert cli("config", "--json").json()["sync"] == {"redact": True}
    assert "[sync]\nredact = true" in cli("config").out


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "huge"])
def test_a_config_file_that_is_a_fifo_a_device_or_huge_is_a_problem_not_a_hang(home: Path, workdir: Path, kind: str) -> None:
    """Every command reads the config file: before, a FIFO there hung them
    all and a link to /dev/zero ended each in a MemoryError."""
    import os
    import subprocess
    import sys

    home.mkdir(parents=True, exist_ok=True)
    target = home / "config.toml"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "dev-zero":
        target.symlink_to("/dev/zero")
    else:
        target.write_bytes(b"#" * (3 * 2**20))

    def chit(*args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "CHIT_DEBUG"}
        try:
            done = forkserver.run_chit(list(args), stdin=None, env=env, timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"chit {' '.join(args)} hung on a {kind} config file")
        return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())

    listed = chit("ls")
    assert listed.returncode == 0 and "error" not in listed.stderr, listed
    shown = chit("config", "--json")
    assert shown.returncode == 0
    assert [p for p in orjson.loads(shown.stdout)["problems"] if "cannot read" in p and "using defaults" in p], shown.stdout
    added = chit("sources", "add", "codex")  # writes the file: refuses to, in one line
    assert added.returncode == 5 and added.stderr.startswith("chit: error: cannot read") and added.stderr.count("\n") == 1, added
