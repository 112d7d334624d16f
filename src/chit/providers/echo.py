"""The echo provider: offline and deterministic, for demos and tests.

Invariant: the reply is always "echo: " followed by the last user message,
streamed a word at a time (with `CHIT_ECHO_DELAY` seconds between words).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator

from chit.config import ModelSpec
from chit.providers import Conversation


class EchoProvider:
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        try:
            self.delay = max(0.0, float(os.environ.get("CHIT_ECHO_DELAY", "0.02")))
        except ValueError:
            self.delay = 0.02

    def stream(self, messages: Conversation) -> Iterator[str]:
        last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        for piece in re.findall(r"\S+\s*|\s+", "echo: " + last):
            if self.delay:
                time.sleep(self.delay)
            yield piece
