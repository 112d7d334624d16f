"""What every provider's stream goes through before chit shows or stores it.

Invariants: the configured API key never leaves a stream — not in a reply
chunk (even one that holds only part of it, the rest arriving in the next
chunk), not in an error; anything a provider raises other than
`KeyboardInterrupt` comes out as one `ProviderError` line, so a fault in a
provider never ends the REPL or leaves a session `running`; a reply is at
most `MAX_REPLY` characters (a server sending without end fails there,
what it sent so far kept), so memory is bounded whatever the server sends.

A key shorter than `MIN_SECRET` characters is a placeholder that local
servers ignore (`ollama`, `none`); masking it in replies would garble them,
so it is not treated as a secret.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from chit.config import ModelSpec
from chit.model import Tokens
from chit.patterns import LazyPattern
from chit.providers import Conversation, Provider, ProviderError
from chit.visible import visible

MASK = "[API key]"
MIN_SECRET = 8
MAX_ERROR = 400  # characters of an error line
_SURROGATE = LazyPattern("[\ud800-\udfff]")  # what UTF-8 cannot encode
MAX_REPLY = 32 * 2**20  # characters of one reply: far past any model's (a command model's 11 MB is taken)


class Redactor:
    """Masks one secret in text that arrives in pieces.

    `feed()` returns what is safe to show now and holds back the longest
    tail that could still be the start of the secret; `flush()` gives that
    tail up once nothing more will come (it is then not the secret)."""

    def __init__(self, secret: str | None) -> None:
        self.secret = secret if secret and len(secret) >= MIN_SECRET else None
        self._held = ""

    def text(self, text: str) -> str:
        return text.replace(self.secret, MASK) if self.secret else text

    def line(self, text: str) -> str:
        """`text` as one masked line, masked before it is cut short (a cut
        could otherwise leave part of the key). A server's escape sequences,
        NULs and lone surrogates in it are shown as `visible` shows them (and
        as U+FFFD): the line is printed, and stored as the session's error
        state, which holds no control character."""
        line = visible(" ".join(self.text(text).split()))
        line = _SURROGATE.sub("\ufffd", line)
        return line if len(line) <= MAX_ERROR else line[: MAX_ERROR - 1] + "…"

    def feed(self, chunk: str) -> str:
        if not self.secret:
            return chunk
        text = self.text(self._held + chunk)
        keep = self._partial_secret_at_end(text)
        self._held = text[len(text) - keep :]
        return text[: len(text) - keep]

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held

    def _partial_secret_at_end(self, text: str) -> int:
        assert self.secret is not None
        for size in range(min(len(self.secret) - 1, len(text)), 0, -1):
            if self.secret.startswith(text[-size:]):
                return size
        return 0


class Guarded:
    """A provider held to this module's invariants."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.spec: ModelSpec = inner.spec
        self.usage: Tokens | None = None  # the token counts the provider reported, once the stream ended
        self.cut_short = False  # the reply passed MAX_REPLY and was stopped there

    def stream(self, messages: Conversation) -> Iterator[str]:
        redactor = Redactor(self.spec.key())
        failure: str | None = None
        chunks: Iterator[str] = iter(())
        try:
            chunks = self.inner.stream(messages)
            size = 0
            for chunk in chunks:
                size += len(chunk)
                if size > MAX_REPLY:
                    self.cut_short = True
                    raise ProviderError(f"model {self.spec.label} sent a reply longer than {MAX_REPLY // 2**20} M characters; stopped it there")
                shown = redactor.feed(chunk)
                if shown:
                    yield shown
        except ProviderError as exc:
            failure = exc.message
        except Exception as exc:  # a fault the provider did not foresee: still one line
            failure = f"model {self.spec.label} failed: {type(exc).__name__}: {exc}"
        finally:
            if isinstance(chunks, Generator):
                chunks.close()  # now, not when collected: it holds a connection or a running program
        usage = getattr(self.inner, "usage", None)
        self.usage = usage if isinstance(usage, Tokens) else None
        tail = redactor.flush()
        if tail:
            yield tail  # what arrived before a failure is kept
        if failure is not None:
            raise ProviderError(redactor.line(failure))
