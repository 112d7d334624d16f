"""Random mutations of every fixture — bytes flipped, lines cut, dropped
or repeated, JSON values swapped for others of any type, database rows
scrambled — never make an import raise anything but chit's own errors."""

from __future__ import annotations

import functools
import json
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chit import importers
from chit.api import Chit
from chit.errors import ChitError
from conftest import fresh_home
from importer_sources import FIXTURES, llm_log


FILES = {
    "claude-code": ["claude-code/short.jsonl", "claude-code/tool_heavy.jsonl"],
    "codex": ["codex/rollout-2026-10-05T09-00-00-019a1b2c-3d4e-7f00-8a00-0000000c0de5.jsonl"],
    "chatgpt": ["chatgpt/conversations.json"],
    "gemini": ["gemini/session-2025-10-21T20-04-0b23371a.json", "gemini/session-2026-10-05T21-32-7c2e9a41.jsonl"],
}
CASES = [(source, name) for source, names in FILES.items() for name in names]
# more examples, or a fresh random search: FUZZ_EXAMPLES=2000 FUZZ_RANDOM=1
# (CHIT_LONG=1, the long run of docs/reliability.md: 2,000 each, random)
LONG = bool(os.environ.get("CHIT_LONG"))
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "2000" if LONG else "40")),
    derandomize=not (os.environ.get("FUZZ_RANDOM") or LONG),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20)
    | st.sampled_from(["user", "assistant", "tool", "system", "\ud800", "", "tool_use", "text", "message", "tool_result"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["type", "role", "content", "text", "id", "parts"]), inner, max_size=4),
    max_leaves=8,
)


def paths_in(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_in(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:50]):
            found += paths_in(child, (*prefix, index))
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = replaced(copy[head], rest, new)
    return copy


@functools.cache
def _parsed(data: bytes, jsonl: bool) -> tuple[tuple[Any, ...], tuple[list[tuple[Any, ...]], ...]]:
    """The fixture's documents and the paths into each, parsed once for
    all its examples: `replaced` copies what it changes, never alters them."""
    documents = tuple(json.loads(line) for line in data.splitlines() if line.strip()) if jsonl else (json.loads(data),)
    return documents, tuple(paths_in(document) for document in documents)


@st.composite
def mutated(draw: st.DrawFn, data: bytes, jsonl: bool) -> bytes:
    kind = draw(st.sampled_from(["json", "json", "truncate", "flip", "lines"]))
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if kind == "flip":
        buffer = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            buffer[draw(st.integers(0, len(buffer) - 1))] = draw(st.integers(0, 255))
        return bytes(buffer)
    if kind == "lines":
        lines = data.split(b"\n")
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "repeat", "swap"]))
        if action == "drop":
            del lines[index]
        elif action == "repeat":
            lines.insert(index, lines[index])
        else:
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        return b"\n".join(lines)
    originals, original_paths = _parsed(data, jsonl)
    documents = list(originals)
    for _ in range(draw(st.integers(1, 5))):
        which = draw(st.integers(0, len(documents) - 1))
        path = draw(st.sampled_from(original_paths[which] if documents[which] is originals[which] else paths_in(documents[which])))
        documents[which] = replaced(documents[which], path, draw(json_values))
    if jsonl:
        return b"".join(json.dumps(d).encode() + b"\n" for d in documents)
    return json.dumps(documents[0]).encode()


def run_import(source: str, path: Path, home: Path, empty_home: Path | None = None) -> None:
    """Read the source the way the service does, then import it for real;
    only ChitErrors may come out of either. With `empty_home`, the home
    starts as a copy of it (conftest.fresh_home: a fifth of the index's
    cost to create, worth it where most imports reach the index)."""
    importer = importers.get(source)
    try:
        scan = importer.scan(path)
    except ChitError:
        return
    for unit in scan.units:
        unit.load()  # must never raise: bad content is a problem, not an exception
    try:
        api = fresh_home(empty_home, home, home.parent) if empty_home is not None else Chit(home, cwd=home.parent, durable=False)
        api.import_from(source, path)
    except ChitError:
        pass


@pytest.mark.parametrize(("source", "name"), CASES)
def test_mutated_fixtures_never_raise(source: str, name: str, empty_home: Path) -> None:
    original = (FIXTURES / name).read_bytes()

    @FUZZ
    @given(data=mutated(original, name.endswith(".jsonl")))
    def check(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            target = Path(scratch) / "src" / Path(name).name
            target.parent.mkdir()
            target.write_bytes(data)
            run_import(source, target, Path(scratch) / "home", empty_home)

    check()


def test_scrambled_llm_databases_never_raise(tmp_path: Path, empty_home: Path) -> None:
    pytest.importorskip("llm")
    pristine = tmp_path / "pristine.db"
    llm_log(pristine, ["hello", "look up chit", "bye"], system="be brief")
    cells = st.none() | st.integers(-5, 5) | st.text(max_size=12) | st.binary(max_size=8) | st.sampled_from(
        ['{"text_ref": [{"fragment": 99}, {"literal": 3}]}', '{"name": 1, "arguments": [1]}', "[]", "not json", "b2:none"])

    @FUZZ
    @given(edits=st.lists(st.tuples(st.sampled_from(["threads", "turns", "messages", "parts"]), st.integers(0, 20), st.integers(0, 20), cells),
                          min_size=1, max_size=6))
    def check(edits: list[tuple[str, int, int, Any]]) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            db_path = Path(scratch) / "logs.db"
            shutil.copy(pristine, db_path)
            db = sqlite3.connect(db_path)
            for table, row, column, value in edits:
                names = [r[1] for r in db.execute(f"pragma table_info({table})")]
                rowids = [r[0] for r in db.execute(f"select rowid from {table}")]
                if rowids:
                    try:
                        db.execute(f'update {table} set "{names[column % len(names)]}" = ? where rowid = ?', [value, rowids[row % len(rowids)]])
                    except sqlite3.Error:
                        pass  # a constraint refused it: fine, it stays a valid database
            db.commit()
            db.close()
            run_import("llm", db_path, Path(scratch) / "home", empty_home)

    check()


@pytest.mark.parametrize("junk", [b"", b"\x00" * 64, b"SQLite format 3\x00garbage", b"{}"])
def test_junk_llm_files_are_refused_cleanly(tmp_path: Path, junk: bytes) -> None:
    (tmp_path / "logs.db").write_bytes(junk)
    run_import("llm", tmp_path / "logs.db", tmp_path / "home")
