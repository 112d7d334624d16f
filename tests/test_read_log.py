"""A session file read a piece at a time (`chit.store.log.read_log`, what
`Store.read` uses) gives the very Log its whole bytes give (`parse_log`):
lines across pieces, lines longer than a piece, blank, bad and torn lines,
a missing or bad header, a copy of line 1, a file shorter than its stat
said. Real files in tmp_path."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chit.store import log, longline
from chit.store.log import Log, parse_log, read_log

SESSION = "0b9c6c1e-5a7e-4c1f-9d1b-7a1e2f3c4d5e"
HEADER = orjson.dumps({"type": "session", "version": 2, "id": SESSION, "project": "p", "created_at": "2026-01-01T00:00:00.000000Z"})


def message(n: int, length: int) -> bytes:
    return orjson.dumps({"type": "message", "hlc": f"1765036800000.{n:06d}", "by": "0123456789abcdef", "id": f"m{n}",
                         "role": "user" if n % 2 else "assistant", "content": ("é x\n" * length)[:length], "ts": "2026-01-01T00:00:00.000000Z"})  # fmt: skip


LINES = st.one_of(
    st.builds(message, st.integers(0, 999), st.sampled_from([0, 1, 7, 30, 61, 200, 900])),
    st.sampled_from([b"", b"  \t", b"{bad", b"[1]", b'{"type": "tag", "tags": ["a"]}', HEADER, b'{"type":"session"}',
                     orjson.dumps({"type": "session", "version": 2, "id": "another", "project": "p", "created_at": "x"})]),
)  # fmt: skip


def same(got: Log, want: Log) -> None:
    assert (got.session_id, got.header, got.events, got.issues) == (want.session_id, want.header, want.events, want.issues)
    assert (got.read_only, got.size, got.mtime_ns) == (want.read_only, want.size, want.mtime_ns)


def read_back(path: Path, size: int, piece: int) -> Log:
    fd = os.open(path, os.O_RDONLY)
    try:
        return read_log(fd, size, SESSION, "p", 12345, piece)
    finally:
        os.close(fd)


@settings(max_examples=300, deadline=None)
@given(
    first=st.sampled_from([HEADER, b"{bad", message(0, 5), b""]),
    lines=st.lists(LINES, max_size=12),
    tail=st.sampled_from([b"", b'{"type":"mess', b"  "]),
    piece=st.sampled_from([1, 8, 64, 256, 1 << 16]),
    shorter=st.integers(0, 3),
)
def test_a_file_read_in_pieces_is_the_log_of_its_bytes(first: bytes, lines: list[bytes], tail: bytes, piece: int, shorter: int) -> None:
    data = b"".join(line + b"\n" for line in [first, *lines]) + tail
    with tempfile.TemporaryDirectory() as scratch:  # (hypothesis runs many examples in one test: no tmp_path)
        path = Path(scratch) / f"{SESSION}.jsonl"
        path.write_bytes(data)
        want = parse_log(SESSION, data, "p", 12345)
        same(read_back(path, len(data), piece), want)
        # the file is shorter than its stat said (cut back meanwhile): what was there
        same(read_back(path, len(data) + shorter, piece), want)


def test_an_empty_file_and_a_lone_torn_line(tmp_path: Path) -> None:
    for data in (b"", b'{"type":"sess', b"\n", b"\n\n"):
        path = tmp_path / f"{SESSION}.jsonl"
        path.write_bytes(data)
        same(read_back(path, len(data), 4), parse_log(SESSION, data, "p", 12345))


def test_a_line_longer_than_a_long_line_is_decoded_in_place_the_same(tmp_path: Path) -> None:
    """A message past `LONG_LINE` (decoded over its own bytes) among short
    ones, read with pieces far shorter than it."""
    long = message(2, longline.LONG_LINE + 1000)
    data = b"\n".join([HEADER, message(1, 10), long, message(3, 10), b""])
    path = tmp_path / f"{SESSION}.jsonl"
    path.write_bytes(data)
    got = read_back(path, len(data), 1 << 16)
    same(got, parse_log(SESSION, data, "p", 12345))
    assert len(got.events) == 3 and len(got.events[1]["content"]) == longline.LONG_LINE + 1000


@pytest.fixture(scope="module")
def long_files(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, int, dict[int, Log]]]:
    """Long lines among short ones, then the same with a torn long line
    last: each written once, with its size, the Log of its whole bytes
    and that of all but the last byte: the references every piece size
    and stated size is read against, built once (a file read as longer
    than it is reads its whole bytes)."""
    lines = [HEADER, message(1, 10), message(2, 3 * longline.LONG_LINE), message(3, 10), message(4, 2 * longline.LONG_LINE + 12345), message(5, 10)]
    whole = b"".join(line + b"\n" for line in lines)
    files = []
    for n, data in enumerate((whole, whole + message(6, 2 * longline.LONG_LINE)[:-5])):
        path = tmp_path_factory.mktemp(f"long{n}") / f"{SESSION}.jsonl"
        path.write_bytes(data)
        files.append((path, len(data), {size: parse_log(SESSION, data[:size], "p", 12345) for size in (len(data), len(data) - 1)}))
    return files


@pytest.mark.parametrize("piece", [1 << 16, (1 << 20) + 3])
def test_long_lines_are_looked_ahead_for_and_read_the_same(piece: int, long_files: list[tuple[Path, int, dict[int, Log]]]) -> None:
    """Past `LONG_LINE` held, the buffer is grown to the end of the line,
    looked ahead for (`log.SCAN` bytes at a time): long lines among short
    ones, a torn one last, and the file shorter or longer than its stated
    size, read as the whole bytes are."""
    for path, length, whole_and_short in long_files:
        for size in (length, length + 2, length - 1):
            got = read_back(path, size, piece)
            same(got, whole_and_short[min(size, length)])  # a file shorter than its stated size: its whole bytes
            if size == length:
                whole_read = got
    assert [len(event["content"]) for event in whole_read.events] == [10, 3 * longline.LONG_LINE, 10, 2 * longline.LONG_LINE + 12345, 10]
    assert [(issue.line, issue.torn) for issue in whole_read.issues] == [(7, True)]
