"""Model providers: turn a conversation into a stream of reply text.

Invariants: `Provider.stream()` yields text chunks as they arrive and
raises only `ProviderError` (one line, never containing an API key) for
foreseeable faults; closing the generator early (Ctrl-C) releases the
connection or kills the program; no request outlives the model's
`deadline`. `make_provider` wraps every provider in `guard.Guarded`, which
masks the API key in replies and errors and turns any other exception
into a `ProviderError`. HTTP and subprocess modules load only when a
provider is made.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from chit.config import ModelSpec
from chit.errors import ChitError, ExitStatus


class ProviderError(ChitError):
    code = "PROVIDER"
    exit_status = ExitStatus.ERROR


Conversation = list[dict[str, str]]


class Provider(Protocol):
    spec: ModelSpec

    def stream(self, messages: Conversation) -> Iterator[str]: ...


def make_provider(spec: ModelSpec) -> Provider:
    """The provider `spec` names, held to this module's invariants."""
    from chit.providers.guard import Guarded, Redactor

    try:
        return Guarded(_make(spec))
    except ProviderError as exc:
        raise ProviderError(Redactor(spec.key()).line(exc.message)) from None


def _make(spec: ModelSpec) -> Provider:
    if spec.provider == "echo":
        from chit.providers.echo import EchoProvider

        return EchoProvider(spec)
    if spec.provider == "command":
        from chit.providers.command import CommandProvider

        return CommandProvider(spec)
    from chit.providers.openai_compat import OpenAIProvider

    return OpenAIProvider(spec)


def to_wire(role: str, content: str) -> dict[str, str]:
    """A chit message as an OpenAI-style chat message. Tool output has no
    call id to attach to, so it travels as user text, marked as such."""
    if role == "tool":
        return {"role": "user", "content": f"[tool output]\n{content}"}
    return {"role": role, "content": content}
