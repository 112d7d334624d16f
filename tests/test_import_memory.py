"""An import's peak memory stays in proportion to the transcript it reads.

Each import runs as a real `chit import` process whose own peak resident
size is measured when it ends (tests/measured.py). The transcript is made
of the lines of a real Claude Code transcript, renumbered
(tests/big_sources.py).

By default a 20 MB transcript: its import takes at most 4× its size over
the import of a small transcript. `CHIT_LONG=1` adds a 100 MB transcript
(within 3× its size in all) and one of 200,000 short messages, 128 MB
(within 650 MB in all: 609 MB measured, 1,483 MB before).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from big_sources import claude_code_transcript, short_transcript
from importer_sources import fixture
from measured import run_measured

MB = 1_000_000
LONG = bool(os.environ.get("CHIT_LONG"))


def import_peak(source: Path, home: Path) -> int:
    """Peak RSS in bytes of `chit import --from claude-code SOURCE` into a new store `home`."""
    env = {k: v for k, v in os.environ.items() if k != "CHIT_DEBUG"} | {"CHIT_HOME": str(home)}
    args = [sys.executable, "-m", "chit", "import", "--from", "claude-code", str(source), "-p", "big"]
    done = run_measured(args, home.parent, env, timeout=600)
    assert done.code == 0, done.err[-500:].decode("utf-8", "replace")
    return done.peak


def session_lines(home: Path) -> int:
    """Lines of the one session file of the store at `home`."""
    [path] = home.glob("projects/*/sessions/*.jsonl")
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def test_a_20_mb_transcript_imports_within_4x_its_size_over_a_small_one(tmp_path: Path) -> None:
    source = tmp_path / "long.jsonl"
    claude_code_transcript(source, 20 * MB)
    size = source.stat().st_size
    small = import_peak(fixture("claude-code", "short.jsonl"), tmp_path / "small")
    peak = import_peak(source, tmp_path / "home")
    assert session_lines(tmp_path / "home") > 4000  # every message of the live thread, in one file
    assert peak - small <= 4 * size, f"{(peak - small) / MB:.0f} MB over a small import for {size / MB:.0f} MB"


@pytest.mark.skipif(not LONG, reason="a 100 MB import: CHIT_LONG=1")
def test_a_100_mb_transcript_imports_within_3x_its_size(tmp_path: Path) -> None:
    source = tmp_path / "long.jsonl"
    claude_code_transcript(source, 100 * MB)
    size = source.stat().st_size
    peak = import_peak(source, tmp_path / "home")
    assert session_lines(tmp_path / "home") > 20000
    assert peak <= 3 * size, f"{peak / MB:.0f} MB for {size / MB:.0f} MB"


@pytest.mark.skipif(not LONG, reason="200,000 messages: CHIT_LONG=1")
def test_200000_short_messages_import_within_650_mb(tmp_path: Path) -> None:
    source = tmp_path / "short.jsonl"
    short_transcript(source, 200_000)
    peak = import_peak(source, tmp_path / "home")
    assert session_lines(tmp_path / "home") == 200_001
    assert peak <= 650 * MB, f"{peak / MB:.0f} MB"
