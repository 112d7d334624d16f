"""The REPL as a new user meets it: slash-command options parsed like the
shell's, the loaded session's project, marked replies, hard line breaks,
narrow terminals and the endpoint's models. In process, against a real
store and the loopback server (tests/fake_openai.py)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from fake_openai import FakeServer
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from rich.console import Console

from chit.api import Chit
from chit.config import Config, ModelSpec
from chit.repl import loop, prompt
from chit.repl.state import Repl
from chit.service.facade import parts_of


@pytest.fixture(autouse=True)
def _fast_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIT_ECHO_DELAY", "0")
    for name in ("CHIT_MODEL", "OPENAI_API_KEY", "CHIT_API_KEY", "CHIT_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def make(api: Chit, tmp_path: Path, model: str | None = "echo", session_id: str | None = None, width: int = 120, config: Config | None = None) -> Repl:
    console = Console(file=io.StringIO(), width=width, highlight=False)
    return loop.make_repl(api, config or Config(path=tmp_path / "config.toml"), session_id, model, console=console)


def output(repl: Repl) -> str:
    text = repl.console.file.getvalue()  # type: ignore[attr-defined]
    repl.console.file.seek(0)  # type: ignore[attr-defined]
    repl.console.file.truncate()  # type: ignore[attr-defined]
    return str(text)


# -- slash-command options ------------------------------------------------

def test_export_force_and_options_are_parsed_like_the_shell(api: Chit, tmp_path: Path, workdir: Path) -> None:
    repl = make(api, tmp_path)
    loop.handle(repl, "export me")
    target = tmp_path / "out.md"
    loop.handle(repl, f"/export md {target}")
    target.write_text("old")
    output(repl)
    loop.handle(repl, f"/export md {target}")
    assert "already exists" in output(repl) and target.read_text() == "old"
    loop.handle(repl, f"/export md {target} --force")
    assert "## Turn 0" in target.read_text()
    assert not (workdir / "--force").exists() and not (tmp_path / "--force").exists()
    spaced = tmp_path / "with space.txt"
    loop.handle(repl, f"/export -f txt -o '{spaced}'")
    assert "export me" in spaced.read_text()
    loop.handle(repl, f"/export --format=json --output={tmp_path / 'snap.json'}")
    assert (tmp_path / "snap.json").exists()
    output(repl)
    default = workdir / f"chit-{repl.session_id[:8]}.md"  # type: ignore[index]
    loop.handle(repl, "/export md")
    loop.handle(repl, "/export md")
    assert "--force" in output(repl)
    loop.handle(repl, "/export md --force")
    assert "wrote" in output(repl) and default.exists() and not (workdir / "--force").exists()


@pytest.mark.parametrize("line", ["/export md --bogus", "/export -x", "/fork --at", "/fork --nope", "/list --all-of-it", "/export md 'unclosed"])
def test_a_bad_option_is_one_line_and_the_loop_goes_on(api: Chit, tmp_path: Path, line: str) -> None:
    repl = make(api, tmp_path)
    loop.handle(repl, "hello")
    output(repl)
    loop.handle(repl, line)
    shown = output(repl).strip()
    assert shown.startswith("error: ") and "\n" not in shown, shown
    loop.handle(repl, "/rename still here")
    assert api.get(repl.session_id).title == "still here"  # type: ignore[arg-type]


def test_fork_takes_its_option_anywhere(api: Chit, tmp_path: Path) -> None:
    repl = make(api, tmp_path)
    for text in ("one", "two"):
        loop.handle(repl, text)
    loop.handle(repl, "/fork Early copy --at 0")
    fork = api.get(repl.session_id)  # type: ignore[arg-type]
    assert fork.title == "Early copy" and fork.turns == 1


def test_slash_options_are_the_shell_commands_options() -> None:
    """Every option a slash command takes is spelt as in the shell command
    of the same job, so what works in one works in the other."""
    from typer.main import get_command

    from chit.cli.app import build
    from chit.repl.commands import SHELL_TWINS
    from chit.repl.registry import COMMANDS

    group = get_command(build())
    for name, shell_name in SHELL_TWINS.items():
        shell = group.commands[shell_name]  # type: ignore[attr-defined]
        spelt = {opt for param in shell.params for opt in (*param.opts, *param.secondary_opts)}
        for option in COMMANDS[name].options:
            assert set(option.names) <= spelt, (name, option.names)


# -- the loaded session's project -------------------------------------------

def test_a_session_of_another_project_brings_its_project(api: Chit, tmp_path: Path, home: Path) -> None:
    elsewhere = tmp_path / "other-project"
    (elsewhere / ".git").mkdir(parents=True)
    other = Chit(home, cwd=elsewhere)
    first = other.create(title="over there")
    other.append(first.id, "user", "from the other project")
    other.create(title="second over there")
    repl = make(api, tmp_path, session_id=first.id)
    assert "other-project" in repl.status and "proj" not in repl.status.replace("other-project", "")
    loop.handle(repl, "/list")
    listing = output(repl)
    assert "no sessions yet" not in listing and "over there" in listing and "second over there" in listing
    loop.handle(repl, "/new")
    loop.handle(repl, "a new one")
    assert parts_of(api).ctx.locate(repl.session_id).name == "other-project"  # type: ignore[arg-type]
    loop.handle(repl, f"/load {first.id[:8]}")
    assert "other-project" in repl.status


# -- marked replies -----------------------------------------------------------

def test_a_cut_off_reply_is_marked_in_the_repl(api: Chit, tmp_path: Path, server: FakeServer) -> None:
    repl = make(api, tmp_path)
    repl.model = ModelSpec(name="cutoff", provider="openai", model="cutoff", base_url=server.base_url, api_key="sk-x", timeout=5)
    loop.handle(repl, "hello")
    shown = output(repl)
    assert "You said: hello" in shown and "[cut off:" in shown
    loop.handle(repl, "/show")
    assert "[cut off:" in output(repl)


# -- hard line breaks -----------------------------------------------------------

def test_single_newlines_are_kept(api: Chit, tmp_path: Path) -> None:
    repl = make(api, tmp_path)
    loop.handle(repl, "line one\nline two\nline three\n\n- a\n- b\n\n```\ncode  \nmore\n```")
    shown = output(repl)
    lines = [line.strip() for line in shown.splitlines()]
    assert "echo: line one" in lines and "line two" in lines and "line three" in lines, shown
    assert "code" in lines and "more" in lines


# -- narrow terminals ---------------------------------------------------------------

def test_list_and_search_fit_40_columns(api: Chit, tmp_path: Path) -> None:
    repl = make(api, tmp_path, width=40)
    loop.handle(repl, "needle " + "a rather long first message that makes a long title " * 2)
    loop.handle(repl, "/rename " + "A title far longer than forty columns can hold on one line")
    loop.handle(repl, "/new")
    loop.handle(repl, "needle second")
    output(repl)
    for command in ("/list", "/search needle"):
        loop.handle(repl, command)
        lines = [line for line in output(repl).splitlines() if line.strip() and not line.startswith("/load N")]
        assert len(lines) >= 2 and all(re.match(r"\d+ +[0-9a-f]{8} +\S", line) for line in lines), (command, lines)
        assert all(len(line) <= 40 for line in lines)  # one line per row: nothing wrapped


def test_the_toolbar_keeps_model_and_state_at_40_columns(api: Chit, tmp_path: Path) -> None:
    repl = make(api, tmp_path)
    loop.handle(repl, "hello")
    loop.handle(repl, "/rename " + "A title far longer than forty columns can hold on one line")
    bar = repl.toolbar(40)
    assert len(bar) <= 40 and "echo" in bar and "idle" in bar, bar
    assert "A title far longer" in repl.toolbar(200)


# -- models -----------------------------------------------------------------------

def test_model_lists_configured_and_endpoint_models(api: Chit, tmp_path: Path, server: FakeServer) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[models.fast]\nprovider = "openai"\nmodel = "m-fast"\nbase_url = "{server.base_url}"\napi_key = "sk-x"\n')
    from chit import config as config_module

    config = config_module.load(config_file)
    repl = make(api, tmp_path, model="fast", config=config)
    loop.handle(repl, "/model")
    shown = output(repl)
    assert "fast" in shown and "echo" in shown
    assert "gpt-fake-1" in shown and "gpt-fake-2" in shown, shown
    assert [r for r in server.requests if r["path"] == "/v1/models"][0]["headers"]["Authorization"] == "Bearer sk-x"
    completer = prompt.SlashCompleter(repl)
    offered = [c.text for c in completer.get_completions(Document("/model "), CompleteEvent())]
    assert {"fast", "echo", "gpt-fake-1", "gpt-fake-2"} <= set(offered)
    loop.handle(repl, "/model gpt-fake-2")
    assert repl.model is not None and repl.model.model == "gpt-fake-2" and repl.model.base_url == server.base_url


def test_model_listing_redirected_to_another_host_sends_it_no_key(api: Chit, tmp_path: Path, server: FakeServer) -> None:
    """An endpoint answering /models with a redirect must not hand the API
    key (or a password in its base URL) to wherever it points."""
    elsewhere = FakeServer().start()
    try:
        server.redirect = f"http://localhost:{elsewhere.server_address[1]}"
        config_file = tmp_path / "config.toml"
        base_url = server.base_url.replace("http://", "http://me:pw-in-url-123@")
        config_file.write_text(f'[models.fast]\nprovider = "openai"\nmodel = "m"\nbase_url = "{base_url}"\napi_key = "sk-x"\n')
        from chit import config as config_module

        repl = make(api, tmp_path, model="fast", config=config_module.load(config_file))
        loop.handle(repl, "/model")
        shown = output(repl)
        assert "fast" in shown and "pw-in-url-123" not in shown, shown
        assert server.requests[0]["headers"]["Authorization"] == "Bearer sk-x"
        assert elsewhere.requests, "the redirect was not followed"
        assert all("Authorization" not in request["headers"] for request in elsewhere.requests)
    finally:
        elsewhere.shutdown()
        elsewhere.server_close()


def test_model_listing_survives_an_unreachable_endpoint(api: Chit, tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text('[models.gone]\nprovider = "openai"\nmodel = "x"\nbase_url = "http://127.0.0.1:9/v1"\napi_key = "sk-x"\n')
    from chit import config as config_module

    repl = make(api, tmp_path, model="gone", config=config_module.load(config_file))
    loop.handle(repl, "/model")
    shown = output(repl)
    assert "gone" in shown and "echo" in shown
    assert sum("127.0.0.1:9" in line for line in shown.splitlines()) == 1, shown
