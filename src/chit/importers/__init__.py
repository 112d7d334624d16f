"""Importers: read other tools' sessions as chit messages.

One module per source (`claude_code`, `codex`, `chatgpt`, `llm_logs`,
`gemini`, `opencode`),
each exposing `SOURCE` (a `base.Source`); `base` holds what they share.

Invariants: importers only read their source and return plain model
objects; writing to the store, deciding what is new and keeping
re-imports idempotent is the service's job (`chit.service.imports`).
They never import typer, click, rich or prompt_toolkit, and a module is
loaded only when its source is asked for.
"""

from __future__ import annotations

import importlib

from chit.errors import InvalidInput
from chit.importers.base import Source

#: source name -> module, in the order help and docs list them
MODULES = {
    "claude-code": "chit.importers.claude_code",
    "codex": "chit.importers.codex",
    "chatgpt": "chit.importers.chatgpt",
    "llm": "chit.importers.llm_logs",
    "gemini": "chit.importers.gemini",
    "opencode": "chit.importers.opencode",
}
NAMES: tuple[str, ...] = tuple(MODULES)


def get(name: str) -> Source:
    """The importer for `name` (InvalidInput for an unknown one)."""
    module = MODULES.get(name)
    if module is None:
        raise InvalidInput(f"unknown source {name!r} (expected one of: {', '.join(NAMES)})")
    source: Source = importlib.import_module(module).SOURCE
    return source
