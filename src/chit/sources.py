"""The sources `chit import` refreshes: the `[sources]` table of config.toml.

    [sources]
    refresh = 300                        # seconds: ls and search refresh first when
                                         # the last refresh is older (0 or false: never)
    claude-code = true                   # where the tool keeps its data
    codex = "~/old-laptop/.codex/sessions"
    chatgpt = ["~/a/conversations.json", "~/b/conversations.json"]

A tool is enabled when it has an entry: `true` (its default path), a path,
or a list of paths. A tool without an entry, or set to `false`, is not.

Invariants:
- reading never fails: a bad entry is a config problem (`chit.config`
  parses the table), reported by `chit config` and ignored;
- `set_paths` changes only that tool's line inside `[sources]`; comments
  and every other line are kept as written. The new file replaces the old
  atomically, and only once it has been parsed again and found to hold
  exactly the intended entry; otherwise nothing is written;
- nothing here reads a tool's data: `found` only asks whether its default
  path exists.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chit.config import Paths, read_config_file, source_paths
from chit.errors import InvalidData

_HEADER = re.compile(r"^\s*\[\s*sources\s*\]\s*(#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")


@dataclass(frozen=True)
class SourceRow:
    """One tool as `chit sources` lists it."""

    tool: str
    default_path: str | None
    found: bool
    enabled: Paths

    def as_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "default_path": self.default_path,
            "found": self.found,
            "enabled": bool(self.enabled),
            "paths": [p if p is not None else self.default_path for p in self.enabled],
        }


def rows(enabled: dict[str, Paths]) -> list[SourceRow]:
    """Every tool chit imports from: its default path, whether that exists
    here, and the paths enabled for it."""
    from chit import importers

    listed = []
    for tool in importers.NAMES:
        default = importers.get(tool).default_path()
        listed.append(SourceRow(tool, str(default) if default else None, bool(default and default.exists()), enabled.get(tool, ())))
    return listed


def set_paths(config: Path, tool: str, paths: Paths) -> None:
    """Write `tool`'s entry of `[sources]` in `config` (no entry when
    `paths` is empty), keeping the rest of the file as it is."""
    try:
        text = read_config_file(config).decode("utf-8") if config.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidData(f"cannot read {config}: {getattr(exc, 'strerror', None) or exc}") from None
    changed = _with_entry(text, tool, _toml_value(paths) if paths else None)
    _check(config, changed, tool, paths)
    from chit.store.files import write_atomic

    config.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_atomic(config, changed.encode("utf-8"), True)
    except OSError as exc:
        raise InvalidData(f"cannot write {config}: {exc.strerror or exc}") from None


def _toml_value(paths: Paths) -> str:
    if paths == (None,):
        return "true"
    if len(paths) == 1 and paths[0] is not None:
        return json.dumps(paths[0], ensure_ascii=False)  # a JSON string is a TOML basic string
    return "[" + ", ".join(json.dumps(p, ensure_ascii=False) if p is not None else "true" for p in paths) + "]"


def _with_entry(text: str, tool: str, value: str | None) -> str:
    """`text` with the line `tool = value` in [sources] (none when value is None)."""
    lines = text.splitlines(keepends=True)
    start = next((n for n, line in enumerate(lines) if _HEADER.match(line)), None)
    entry = f"{tool} = {value}\n" if value is not None else ""
    if start is None:
        if not entry:
            return text
        gap = "" if not text else ("\n" if text.endswith("\n") else "\n\n")
        return f"{text}{gap}[sources]\n{entry}"
    if not lines[start].endswith("\n"):
        lines[start] += "\n"
    end = next((n for n in range(start + 1, len(lines)) if _ANY_HEADER.match(lines[n])), len(lines))
    mine = re.compile(rf"^\s*(?:{re.escape(tool)}|\"{re.escape(tool)}\"|'{re.escape(tool)}')\s*=")
    body = [line for line in lines[start + 1 : end] if not mine.match(line)]
    last = max((n for n, line in enumerate(body) if line.strip()), default=-1)
    if body and not body[last].endswith("\n"):
        body[last] += "\n"
    body.insert(last + 1, entry)
    return "".join([*lines[: start + 1], *body, *lines[end:]])


def _check(config: Path, text: str, tool: str, paths: Paths) -> None:
    """The edited file must parse and hold exactly the intended entry."""
    import tomllib

    try:
        table = tomllib.loads(text).get("sources", {})
    except tomllib.TOMLDecodeError as exc:
        raise InvalidData(f"cannot change [sources] of {config} ({exc}); edit it by hand") from None
    value = table.get(tool) if isinstance(table, dict) else None
    got = () if value is None else source_paths(value)
    if got != paths:
        raise InvalidData(f"cannot change sources.{tool} in {config} (an entry this edit cannot replace); edit it by hand")


def expand(path: str | None) -> str | None:
    """A configured path as import reads it (`~` expanded)."""
    return os.path.expanduser(path) if path is not None else None
