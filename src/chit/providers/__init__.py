"""Model providers: turn a conversation into a stream of reply text.

Invariants: `Provider.stream()` yields text chunks as they arrive and
raises only `ProviderError` (one line, never containing an API key) for
foreseeable faults; closing the generator early (Ctrl-C) releases the
connection or kills the program; no request outlives the model's
`deadline`; a model whose name could not be stored with its replies is
refused before any request. `make_provider` wraps every provider in `guard.Guarded`, which
masks the API key in replies and errors and turns any other exception
into a `ProviderError`. HTTP and subprocess modules load only when a
provider is made.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from chit.config import ModelSpec
from chit.errors import ChitError, ExitStatus
from chit.model import Message

if TYPE_CHECKING:
    from chit.providers.guard import Guarded

MODEL_NAME_MAX = 200  # the longest one-line text a session record holds (a title, a model)


class ProviderError(ChitError):
    code = "PROVIDER"
    exit_status = ExitStatus.PROVIDER


Conversation = list[dict[str, str]]


class Provider(Protocol):
    spec: ModelSpec

    def stream(self, messages: Conversation) -> Iterator[str]: ...


def make_provider(spec: ModelSpec) -> Guarded:
    """The provider `spec` names, held to this module's invariants."""
    from chit.providers.guard import Guarded, Redactor

    try:
        return Guarded(_make(spec))
    except ProviderError as exc:
        raise ProviderError(Redactor(spec.key()).line(exc.message)) from None


def _make(spec: ModelSpec) -> Provider:
    _check_recordable(spec)
    if spec.provider == "echo":
        from chit.providers.echo import EchoProvider

        return EchoProvider(spec)
    if spec.provider == "command":
        from chit.providers.command import CommandProvider

        return CommandProvider(spec)
    from chit.providers.openai_compat import OpenAIProvider

    return OpenAIProvider(spec)


def _check_recordable(spec: ModelSpec) -> None:
    """A reply is stored under its model's name, which must be one clean
    line of at most `MODEL_NAME_MAX` characters (as the service checks it):
    a name with control characters (a config's `model = "…\\u001b…"`) is
    refused before the request, never after the reply streamed in (it was
    then lost, the session left running)."""
    import unicodedata

    name = " ".join(spec.model.split())
    if not name or len(name) > MODEL_NAME_MAX or any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise ProviderError(f"model name {spec.model[:MODEL_NAME_MAX]!r} cannot be recorded with its replies; name another model")


def request_messages(messages: Sequence[Message]) -> Conversation:
    """What a model is sent for the stored `messages`: always a valid
    conversation, whatever the store holds after failed or interrupted
    turns (chat templates that insist on alternating roles reject
    anything else).

    - an assistant message that is empty, or whose reply failed
      (`metadata.error`: the part that arrived before the failure), is
      left out; an interrupted reply with text is kept (it was shown);
    - consecutive user messages (a failed turn's prompt, then the next
      one; tool output, which travels as user text) are merged into one,
      separated by a blank line, so nothing the user said is lost;
    - consecutive assistant messages are merged the same way.

    The store keeps every message as it happened; only the request
    differs."""
    wire: Conversation = []
    for message in messages:
        if message.role == "assistant" and (not message.content.strip() or message.metadata.get("error")):
            continue
        sent = to_wire(message.role, message.content)
        if wire and sent["role"] in ("user", "assistant") and wire[-1]["role"] == sent["role"]:
            wire[-1] = {"role": sent["role"], "content": wire[-1]["content"] + "\n\n" + sent["content"]}
        else:
            wire.append(sent)
    return wire


def to_wire(role: str, content: str) -> dict[str, str]:
    """A chit message as an OpenAI-style chat message. Tool output has no
    call id to attach to, so it travels as user text, marked as such."""
    if role == "tool":
        return {"role": "user", "content": f"[tool output]\n{content}"}
    return {"role": role, "content": content}
