"""The input line: prompt-toolkit session, keys, completion, toolbar.

Invariants: Enter sends, Alt-Enter / Esc Enter inserts a newline, a
bracketed paste arrives whole (newlines included) without sending;
completion comes from the slash registry (names with their help, then each
command's argument kind); input history is a 0600 file in the store.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from chit import exporters
from chit.repl.registry import COMMANDS, lookup
from chit.repl.state import Repl
from chit.store.files import FILE_MODE, make_dir, open_regular
from chit.visible import visible


class SlashCompleter(Completer):
    def __init__(self, repl: Repl) -> None:
        self.repl = repl

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        text = document.text_before_cursor
        if not text.startswith("/") or "\n" in text:
            return
        name, space, rest = text[1:].partition(" ")
        if not space:
            for command in sorted(COMMANDS.values(), key=lambda c: c.name):
                if command.name.startswith(name):
                    yield Completion(command.name, start_position=-len(name), display_meta=command.help)
            return
        try:
            kind = lookup(name).completes
        except Exception:
            return
        word = rest.rsplit(" ", 1)[-1]
        for value, meta in self._values(kind):
            if value.lower().startswith(word.lower()):
                yield Completion(value, start_position=-len(word), display_meta=meta)

    def _values(self, kind: str | None) -> list[tuple[str, str]]:
        service = self.repl.service
        try:
            if kind == "session":
                return [(s.short_id, visible(s.title)) for s in service.list(limit=50)]
            if kind == "tag":
                tags: dict[str, int] = {}
                for summary in service.list(all_projects=True):
                    for tag in summary.tags:
                        tags[tag] = tags.get(tag, 0) + 1
                return [(t, f"{n} session(s)") for t, n in sorted(tags.items())]
            if kind == "format":
                return [(f, "") for f in exporters.FORMATS]
            if kind == "model":
                return self._models()
        except Exception:  # completion must never break typing
            return []
        return []


    def _models(self) -> list[tuple[str, str]]:
        """Configured models, then what the endpoints listed (asked once,
        on the first completion, unless /model asked already)."""
        from chit.repl import models
        from chit.urls import shown

        repl = self.repl
        if repl.endpoints is None:
            repl.endpoints = models.survey(repl.config, repl.model, models.COMPLETION_TIMEOUT)
        offered = [(name, "configured") for name in repl.config.model_names()]
        seen = {name for name, _ in offered}
        for endpoint in repl.endpoints:
            offered += [(name, shown(endpoint.spec.base_url)) for name in endpoint.models if name not in seen]
            seen.update(endpoint.models)
        return offered


def _bindings() -> KeyBindings:
    keys = KeyBindings()

    @keys.add("enter")
    def _send(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        state = buffer.complete_state
        if state is not None and state.current_completion is not None:
            buffer.apply_completion(state.current_completion)  # Enter picks the highlighted completion
            return
        buffer.validate_and_handle()

    @keys.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return keys


def history_file(home: Path) -> Path:
    make_dir(home)
    path = home / "history"
    fd = open_regular(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)  # a FIFO: NotRegular, never waited on
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return path


def _columns() -> int:
    from prompt_toolkit.application import get_app

    return get_app().output.get_size().columns


def build(repl: Repl, **io: Any) -> PromptSession[str]:
    """A prompt session for `repl`; `io` may pass input=/output= for tests."""
    try:
        history: Any = FileHistory(str(history_file(repl.service.layout.home)))
    except OSError:
        from prompt_toolkit.history import InMemoryHistory

        history = InMemoryHistory()
    return PromptSession(
        message=[("class:prompt", "› ")],
        multiline=True,
        key_bindings=_bindings(),
        history=history,
        completer=SlashCompleter(repl),
        complete_while_typing=True,
        bottom_toolbar=lambda: repl.toolbar(_columns()),
        prompt_continuation=lambda width, line, wrap: "  ",
        enable_open_in_editor=False,
        **io,
    )
