"""One chat turn: store the user message, stream the reply, store it.

Invariants (the order is the promise): the user message is on disk before
the request goes out; the session is `running` (with the turn id) while the
reply streams, `idle` after it, `error` when the provider failed; the reply
is stored when it ends, with the token counts the provider reported —
whole, or as far as it got and marked `interrupted` when the user pressed
Ctrl-C (a press is never lost: see chit.repl.interrupts.noticed). A provider failure leaves the user message in place so /retry can
ask again. The model is sent `request_messages()` of the stored ones: a
valid conversation even after failed turns.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from chit.config import SETUP_HELP
from chit.exporters.common import ending
from chit.providers import ProviderError, make_provider, request_messages
from chit.repl import interrupts, view
from chit.repl.state import Repl

if TYPE_CHECKING:
    from chit.providers.guard import Guarded


def send(repl: Repl, text: str) -> None:
    """The user typed `text`: store it and get a reply."""
    if repl.model is None:
        _no_model(repl)
        return
    if repl.session_id is not None:
        _note_outside_messages(repl)
    session_id = continued(repl, repl.ensure_session())
    turn_id = uuid.uuid4().hex[:12]
    repl.service.append(session_id, "user", text, invocation_id=turn_id)
    complete(repl, turn_id)


def continued(repl: Repl, session_id: str) -> str:
    """A session imported from another tool is continued in its fork
    (chit.service.sessions.Sessions.continue_in): the REPL moves there."""
    target, fork = repl.parts.sessions.continue_in(session_id)
    if target != session_id:
        repl.switch(target)
    if fork is not None:
        repl.note(f"this session is imported and follows its source; continuing in a fork of it: {fork.short_id}")
    return target


def _no_model(repl: Repl) -> None:
    """Say how to set a model up; scripted, that is a failed turn (on stderr)."""
    if repl.errors is None:
        repl.note(SETUP_HELP.format(path=repl.config.path))
        return
    repl.model_failed = True
    for line in SETUP_HELP.format(path=repl.config.path).splitlines():
        repl.errors.print(line, soft_wrap=True, markup=False, highlight=False)


def _note_outside_messages(repl: Repl) -> None:
    """Say so when another process added messages since the last turn
    (they are part of the conversation the model gets)."""
    summary = repl.summary()
    if summary is None or repl.known is None or summary.messages <= repl.known:
        return
    session = repl.session()  # only now: someone else wrote to it
    if session is None:
        return
    added = session.messages[repl.known :]
    repl.note(f"{len(added)} message(s) were added to this session elsewhere:")
    for message in added:
        first = " ".join(message.content.split())
        repl.note(f"  {message.role}: {first[:100]}{'…' if len(first) > 100 else ''}")


def complete(repl: Repl, turn_id: str | None = None) -> None:
    """Ask the model to answer the conversation as it is on disk now."""
    if repl.model is None:
        _no_model(repl)
        return
    spec = repl.model
    session_id = repl.ensure_session()
    turn_id = turn_id or uuid.uuid4().hex[:12]
    conversation = request_messages(repl.conversation(session_id))  # as on disk now: other writers' messages too
    repl.service.set_state(session_id, "running", turn_id=turn_id)
    parts: list[str] = []
    interrupted = False
    failure: str | None = None
    provider: Guarded | None = None
    try:
        provider = make_provider(spec)
        with interrupts.noticed() as pressing, view.streaming(repl.console, spec.label) as show:
            for chunk in provider.stream(conversation):
                parts.append(chunk)
                show(chunk)
                if pressing.pressed:
                    raise KeyboardInterrupt  # a press whose own KeyboardInterrupt Python dropped
    except KeyboardInterrupt:
        interrupted = True
    except ProviderError as exc:
        failure = exc.message
    text = "".join(parts)
    stored = None
    with interrupts.held() as ctrl_c:  # the reply and the state after it are written whole
        if text or interrupted:
            metadata: dict[str, object] = {"provider": spec.provider}
            if interrupted:
                metadata["interrupted"] = True
            if failure:
                metadata["error"] = failure
            tokens = provider.usage if provider is not None else None
            stored = repl.service.append(session_id, "assistant", text, invocation_id=turn_id, model=spec.model, tokens=tokens, metadata=metadata)
        if failure:
            repl.service.set_state(session_id, "error", turn_id=turn_id, error=failure)
        else:
            repl.service.set_state(session_id, "idle")
    if stored is not None:
        cut_short = provider is not None and provider.cut_short  # megabytes: its last screenful, as for Ctrl-C
        view.reply(repl.console, text, spec.label, ending(stored), tail_only=interrupted or ctrl_c.pressed or cut_short)
    if failure:
        repl.model_failed = True
        repl.error(failure)
    repl.refresh_status()
