"""The REPL: slash registry called directly, chat turns against real
providers, and the prompt driven through prompt-toolkit's pipe input."""

from __future__ import annotations

import _thread
import gc
import io
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import fake_openai
import pytest
from fake_openai import FakeServer, RawServer
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from chit.api import Chit
from chit.config import Config, ModelSpec
from chit.repl import loop, prompt
from chit.repl.registry import COMMANDS
from chit.repl.state import Repl


@pytest.fixture(autouse=True)
def _fast_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIT_ECHO_DELAY", "0")
    for name in ("CHIT_MODEL", "OPENAI_API_KEY", "CHIT_API_KEY", "CHIT_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def make(api: Chit, tmp_path: Path, model: str | None = "echo", session_id: str | None = None) -> Repl:
    console = Console(file=io.StringIO(), width=120, highlight=False)
    return loop.make_repl(api, Config(path=tmp_path / "config.toml"), session_id, model, console=console)


def output(repl: Repl) -> str:
    text = repl.console.file.getvalue()  # type: ignore[attr-defined]
    repl.console.file.seek(0)  # type: ignore[attr-defined]
    repl.console.file.truncate()  # type: ignore[attr-defined]
    return str(text)


def use_server(repl: Repl, server: FakeServer, model: str = "m1") -> None:
    repl.model = ModelSpec(name=model, provider="openai", model=model, base_url=server.base_url, api_key="sk-x", timeout=5)


# -- registry -------------------------------------------------------------

def test_registry_drives_help(api: Chit, tmp_path: Path) -> None:
    repl = make(api, tmp_path)
    loop.handle(repl, "/help")
    shown = output(repl)
    assert {c.name for c in COMMANDS.values()} >= {
        "help", "new", "list", "load", "fork", "rewind", "undo", "retry", "rename", "tag", "untag",
        "search", "show", "export", "model", "system", "delete", "quit",
    }
    for command in COMMANDS.values():
        assert f"/{command.name}" in shown and command.help and command.help in shown


def test_prefix_unknown_and_ambiguous_commands(api: Chit, tmp_path: Path) -> None:
    repl = make(api, tmp_path)
    loop.handle(repl, "hello")
    loop.handle(repl, "/ren Short name")
    assert api.get(repl.session_id).title == "Short name"  # type: ignore[arg-type]
    output(repl)
    loop.handle(repl, "/renmae x")
    assert "unknown command /renmae; did you mean /rename" in output(repl)
    loop.handle(repl, "/re x")
    assert "/re is ambiguous: /rename, /resume, /retry, /rewind" in output(repl)


def test_chat_turn_is_stored_in_order_with_state(api: Chit, tmp_path: Path) -> None:
    repl = make(api, tmp_path)
    loop.handle(repl, "what is chit?")
    session = api.get(repl.session_id)  # type: ignore[arg-type]
    assert [(m.role, m.content) for m in session.messages] == [("user", "what is chit?"), ("assistant", "echo: what is chit?")]
    assert session.messages[0].invocation_id == session.messages[1].invocation_id is not None
    assert session.messages[1].model == "echo"
    assert session.run.state == "idle"
    assert "echo: what is chit?" in output(repl)
    assert api.current().id == session.id  # type: ignore[union-attr]


def test_without_a_model_it_explains_setup_and_stores_nothing(api: Chit, tmp_path: Path) -> None:
    repl = make(api, tmp_path, model=None)
    loop.handle(repl, "hello?")
    shown = output(repl)
    assert "No model is set up" in shown and "OPENAI_API_KEY" in shown and "/model echo" in shown
    assert api.list() == []


def test_session_commands(api: Chit, tmp_path: Path) -> None:
    repl = make(api, tmp_path)
    for text in ("first", "second", "third"):
        loop.handle(repl, text)
    main = repl.session_id
    loop.handle(repl, "/tag work draft")
    loop.handle(repl, "/untag draft")
    assert api.get(main).tags == ("work",)  # type: ignore[arg-type]
    loop.handle(repl, "/fork --at 1 Second try")
    fork = api.get(repl.session_id)  # type: ignore[arg-type]
    assert fork.id != main and fork.title == "Second try" and fork.turns == 2 and fork.parent.id == main  # type: ignore[union-attr]
    loop.handle(repl, f"/load {main[:6]}")  # type: ignore[index]
    assert repl.session_id == main
    loop.handle(repl, "/rewind 1")
    assert api.get(main).turns == 2  # type: ignore[arg-type]
    loop.handle(repl, "/undo")  # the same service call as `chit undo`: the rewind is reverted
    assert api.get(main).turns == 3  # type: ignore[arg-type]
    assert "brought back 2 message(s) hidden by rewind" in output(repl)
    loop.handle(repl, "/undo")
    assert "nothing to undo" in output(repl)
    loop.handle(repl, "/rewind 0")
    loop.handle(repl, "/system Answer in French.")
    assert api.get(main).messages[-1].role == "system"  # type: ignore[arg-type]
    output(repl)
    loop.handle(repl, "/show")
    assert "turn 0" in output(repl)


def test_list_and_search_then_load_by_number(api: Chit, tmp_path: Path) -> None:
    repl = make(api, tmp_path)
    loop.handle(repl, "alpha needle")
    first = repl.session_id
    loop.handle(repl, "/new")
    loop.handle(repl, "beta")
    loop.handle(repl, "/search needle")
    assert "alpha needle" in output(repl)
    loop.handle(repl, "/load 1")
    assert repl.session_id == first
    loop.handle(repl, "/list")
    listing = output(repl)
    assert "beta" in listing and "alpha needle" in listing
    loop.handle(repl, "/load 1")
    assert repl.session_id != first  # newest first: the beta session


def test_retry_replaces_the_last_reply(api: Chit, tmp_path: Path, server: FakeServer) -> None:
    repl = make(api, tmp_path)
    loop.handle(repl, "ping")
    use_server(repl, server)
    loop.handle(repl, "/retry")
    session = api.get(repl.session_id)  # type: ignore[arg-type]
    assert [m.content for m in session.messages] == ["ping", "You said: ping"]
    assert session.dropped == 1


def test_retry_that_cannot_ask_again_writes_nothing(api: Chit, tmp_path: Path) -> None:
    session = api.create(messages=[{"role": "user", "content": "ping"}, {"role": "assistant", "content": "one"}])
    api.append(session.id, "assistant", "two")
    path = api.layout.session_file(api.project().slug, session.id)
    before = path.read_bytes()
    repl = make(api, tmp_path, session_id=session.id)
    loop.handle(repl, "/retry")
    assert output(repl).strip() == "error: nothing to retry: the session does not end with your message"
    assert path.read_bytes() == before  # the last reply is still shown: no pop was written


def test_export_and_model_and_delete(api: Chit, tmp_path: Path) -> None:
    repl = make(api, tmp_path)
    loop.handle(repl, "export me")
    target = tmp_path / "out.md"
    loop.handle(repl, f"/export md {target}")
    assert "## Turn 0" in target.read_text()
    output(repl)
    loop.handle(repl, f"/export md {target}")
    assert "already exists" in output(repl)
    loop.handle(repl, "/model")
    assert "model: echo (offline test model)" in output(repl)
    doomed = repl.session_id
    loop.handle(repl, "/delete")
    assert repl.session_id is None and [s.id for s in api.trash()] == [doomed]


def test_errors_are_one_line_and_the_loop_goes_on(api: Chit, tmp_path: Path) -> None:
    repl = make(api, tmp_path)
    for line in ("/load zzzz", "/rewind 3", "/rewind x", "/export", "/fork --at"):
        loop.handle(repl, line)
        shown = output(repl).strip()
        assert shown.startswith("error: ") and "\n" not in shown, shown
    loop.handle(repl, "/quit")
    assert repl.running is False


def test_provider_failure_keeps_the_user_message(api: Chit, tmp_path: Path, server: FakeServer) -> None:
    repl = make(api, tmp_path)
    use_server(repl, server, "broken")
    loop.handle(repl, "will it work?")
    session = api.get(repl.session_id)  # type: ignore[arg-type]
    assert [m.role for m in session.messages] == ["user"]
    assert session.run.state == "error" and "HTTP 500" in (session.run.error or "")
    assert "error: " in output(repl)
    use_server(repl, server, "m1")
    loop.handle(repl, "/retry")
    session = api.get(repl.session_id)  # type: ignore[arg-type]
    assert [m.content for m in session.messages] == ["will it work?", "You said: will it work?"]
    assert session.run.state == "idle"


def test_messages_from_another_process_are_seen_before_the_next_turn(api: Chit, tmp_path: Path, server: FakeServer) -> None:
    repl = make(api, tmp_path)
    use_server(repl, server)
    loop.handle(repl, "one")
    Chit(api.layout.home, cwd=tmp_path).append(repl.session_id, "tool", "written elsewhere")
    output(repl)
    loop.handle(repl, "two")
    assert "1 message(s) were added to this session elsewhere:" in output(repl)
    sent = [m["content"] for m in server.requests[-1]["body"]["messages"]]
    assert sent == ["one", "You said: one", "[tool output]\nwritten elsewhere\n\ntwo"]  # tool output travels as user text: merged
    assert len(api.get(repl.session_id).messages) == 5  # type: ignore[arg-type]


def press_ctrl_c_mid_reply(server: FakeServer, press: Callable[[], None] = _thread.interrupt_main) -> threading.Thread:
    """Ctrl-C 0.4 s (8 of the "long" reply's 200 words) after the request
    reached the server, however long a loaded machine took to send it."""

    def later() -> None:
        deadline = time.monotonic() + 30
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.4)
        press()

    pressing = threading.Thread(target=later, daemon=True)
    pressing.start()
    return pressing


def test_ctrl_c_during_a_reply_keeps_what_arrived(api: Chit, tmp_path: Path, server: FakeServer) -> None:
    repl = make(api, tmp_path)
    use_server(repl, server, "long")
    pressing = press_ctrl_c_mid_reply(server)
    loop.handle(repl, "talk a lot")
    pressing.join()
    reply = api.get(repl.session_id).messages[-1]  # type: ignore[arg-type]
    assert reply.role == "assistant" and reply.metadata.get("interrupted") is True
    assert 0 < reply.content.count("word") < 200
    assert api.get(repl.session_id).run.state == "idle"  # type: ignore[arg-type]


def test_a_ctrl_c_python_drops_still_stops_the_reply(api: Chit, tmp_path: Path, server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python runs a signal handler wherever the main thread is when it
    next checks: inside a finalizer or a garbage-collector callback its
    KeyboardInterrupt is printed and dropped. The press is still seen: the
    reply stops at its next chunk, kept and marked interrupted (before, it
    ran to its end as if no key had been pressed)."""
    repl = make(api, tmp_path)
    use_server(repl, server, "long")
    dropped: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: dropped.append(unraisable.exc_value))
    armed = threading.Event()

    def ctrl_c_inside_the_collector(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and armed.is_set() and threading.current_thread() is threading.main_thread():
            armed.clear()
            _thread.interrupt_main()  # the handler runs here, in the collector's callback

    pressing = press_ctrl_c_mid_reply(server, armed.set)
    thresholds = gc.get_threshold()
    gc.set_threshold(1)  # a collection at nearly every allocation: one in the main thread soon after the press
    gc.callbacks.append(ctrl_c_inside_the_collector)
    try:
        loop.handle(repl, "talk a lot")
    finally:
        gc.callbacks.remove(ctrl_c_inside_the_collector)
        gc.set_threshold(*thresholds)
    pressing.join()
    assert [type(exc) for exc in dropped] == [KeyboardInterrupt]  # Python did drop it
    reply = api.get(repl.session_id).messages[-1]  # type: ignore[arg-type]
    assert reply.role == "assistant" and reply.metadata.get("interrupted") is True
    assert 0 < reply.content.count("word") < 200
    assert api.get(repl.session_id).run.state == "idle"  # type: ignore[arg-type]


KEY = "sk-repl-SECRET-5e1d0c9a"


@pytest.mark.parametrize(
    "reply",
    [fake_openai.reply_status_line_with_key, fake_openai.reply_long_status_line_with_key,
     fake_openai.reply_long_header_with_key, fake_openai.reply_many_headers_with_key],
)
def test_a_malformed_answer_is_one_redacted_line_state_error_and_the_loop_goes_on(
    api: Chit, tmp_path: Path, reply: fake_openai.Reply
) -> None:
    server = RawServer(reply).start()
    try:
        repl = make(api, tmp_path)
        repl.model = ModelSpec(name="raw", provider="openai", model="m", base_url=server.base_url, api_key=KEY, timeout=5)
        loop.handle(repl, "hello")
        shown = output(repl)
        session = api.get(repl.session_id)  # type: ignore[arg-type]
        assert session.run.state == "error" and session.run.error and KEY not in session.run.error
        assert shown.strip() == f"error: {session.run.error}"
        assert [m.role for m in session.messages] == ["user"]
        loop.handle(repl, "/rename goes on")
        assert api.get(repl.session_id).title == "goes on"  # type: ignore[arg-type]
    finally:
        server.close()


def test_a_reply_echoing_the_key_is_redacted_on_screen_and_on_disk(api: Chit, tmp_path: Path, server: FakeServer) -> None:
    repl = make(api, tmp_path)
    repl.model = ModelSpec(name="k", provider="openai", model="echokey", base_url=server.base_url, api_key=KEY, timeout=5)
    loop.handle(repl, "what did I send?")
    reply = api.get(repl.session_id).messages[-1]  # type: ignore[arg-type]
    assert reply.content == "Your header is Bearer [API key] (echoed)"
    assert KEY not in output(repl)
    assert not any(KEY.encode() in path.read_bytes() for path in api.layout.home.rglob("*") if path.is_file())


# -- the prompt -----------------------------------------------------------

def test_prompt_keys_enter_newline_paste_ctrl_c_ctrl_d(api: Chit, tmp_path: Path) -> None:
    repl = make(api, tmp_path)
    with create_pipe_input() as keys:
        keys.send_text("hello\r")
        keys.send_text("line one\x1b\rline two\r")
        keys.send_text("\x1b[200~pasted\nblock\x1b[201~\r")
        keys.send_text("never sent\x03")
        keys.send_text("/rename Typed title\r")
        keys.send_text("\x04")
        loop.run(repl, input=keys, output=DummyOutput())
    session = api.get(repl.session_id)  # type: ignore[arg-type]
    users = [m.content for m in session.messages if m.role == "user"]
    assert users == ["hello", "line one\nline two", "pasted\nblock"]
    assert session.title == "Typed title"
    history = (api.layout.home / "history").read_text()
    assert "hello" in history and oct((api.layout.home / "history").stat().st_mode)[-3:] == "600"


def test_completion_offers_commands_sessions_tags_formats_models(api: Chit, tmp_path: Path) -> None:
    repl = make(api, tmp_path)
    loop.handle(repl, "complete me")
    loop.handle(repl, "/tag alpha beta")
    completer = prompt.SlashCompleter(repl)

    def offers(text: str) -> list[str]:
        return [c.text for c in completer.get_completions(Document(text), CompleteEvent())]

    assert offers("/lo") == ["load"]
    assert offers("/re") == ["rename", "resume", "retry", "rewind"]
    assert offers("/load ") == [repl.session_id[:8]]  # type: ignore[index]
    assert offers("/tag a") == ["alpha"]
    assert offers("/export j") == ["json", "jsonl"]
    assert "echo" in offers("/model ")
    assert offers("plain text") == []
