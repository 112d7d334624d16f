"""A session file's bytes parsed into a `Log`: the header, the valid events
in file order, and the lines set aside.

Invariants: parsing never raises for bad content (a bad line becomes a
`LogIssue`, a torn last line is flagged `torn`); a file without a valid
header gets one made from its name and mtime; a copy of line 1 further down
(what a union of two copies holds) is harmless; a file from a newer format
version is marked read-only; a file read a piece at a time (`read_log`),
or read and then extended by the lines appended to it (`appended`), gives
the very Log its whole bytes give (`parse_log`).
"""

from __future__ import annotations

import os
from typing import Any

from chit.model import LogIssue, format_ts
from chit.store import codec


class Log:
    """A parsed session file: header, valid events in order, lines set aside.

    A plain class, not a dataclass: `@dataclass` compiles its methods when
    the module is imported, which every command reading the store pays."""

    __slots__ = ("session_id", "header", "events", "issues", "read_only", "size", "mtime_ns")

    def __init__(
        self,
        session_id: str,
        header: dict[str, Any],
        events: list[dict[str, Any]],
        issues: list[LogIssue] | None = None,
        read_only: bool = False,
        size: int = 0,
        mtime_ns: int = 0,
    ) -> None:
        self.session_id = session_id
        self.header = header
        self.events = events
        self.issues: list[LogIssue] = [] if issues is None else issues
        self.read_only = read_only
        self.size = size
        self.mtime_ns = mtime_ns

    def __repr__(self) -> str:
        return f"Log({self.session_id!r}, {len(self.events)} events, {len(self.issues)} issues)"


def parse_log(session_id: str, data: bytes | bytearray, project_key: str, mtime_ns: int = 0, scratch: bool = False) -> Log:
    """Parse a whole session file. Never raises for bad content. Lines are
    decoded in place (a long message is never copied before decoding).
    With `scratch` (`data` is a bytearray of the caller's own, not needed
    afterwards), a long message's text is decoded over its own bytes."""
    spans = list(codec.line_spans(data))
    parse = _Parse(session_id, project_key, mtime_ns, scratch)
    parse.add(data, spans)
    return parse.log(len(data), spans[-1][1] + 1 < len(data) if spans else bool(data))


def appended(log: Log, data: bytes | bytearray, mtime_ns: int) -> Log | None:
    """The Log of the file `log` was parsed from, once `data` is appended
    to it: only `data` is decoded. None when only a whole read gives it:
    line 1 was no header of this file (a made one takes the mtime), the
    last line was torn, `data` does not end a line, or a line of it is refused."""
    if not log.size or any(issue.line == 1 or issue.torn for issue in log.issues) or data[-1:] not in (b"", b"\n"):
        return None
    events = list(log.events)
    refused: list[int] = []
    codec.decode_lines(data, list(codec.line_spans(data)), log.header["version"], "whole", events, lambda *_: refused.append(1))
    if refused:
        return None
    return Log(log.session_id, log.header, events, list(log.issues), log.read_only, log.size + len(data), mtime_ns)


#: bytes `read_log` reads at a time (a line longer than half of it doubles it)
PIECE = 1 << 16
#: bytes looked at a time for the end of a long line (`_wanted`)
SCAN = 1 << 20


def read_log(fd: int, size: int, session_id: str, project_key: str, mtime_ns: int = 0, piece: int = PIECE) -> Log:
    """`parse_log` of the first `size` bytes of the open file `fd` (fewer if
    it is shorter now), read a piece at a time into one buffer and decoded
    from it: the same Log, without the whole file's bytes in memory at
    once (fresh memory, which the system hands out page by page, was a
    good part of reading a long session)."""
    parse = _Parse(session_id, project_key, mtime_ns, scratch=True)
    buffer = bytearray(piece)
    held = 0  # bytes at the buffer's start: the beginning of a line not read whole yet
    done = 0
    while done < size:
        if held * 2 > len(buffer):
            wanted = _wanted(fd, len(buffer), held, done, size)
            if wanted > len(buffer):  # (else the line, or the rest of the file, fits)
                buffer = _grown(buffer, held, wanted)
        view = memoryview(buffer)
        got = os.preadv(fd, [view[held : min(len(buffer), held + size - done)]], done)
        view.release()
        if got == 0:
            break
        done += got
        filled = held + got
        complete = buffer.rfind(b"\n", held, filled) + 1  # past the last complete line
        if complete:
            parse.add(buffer, list(codec.line_spans(buffer, 0, complete)))
            buffer[: filled - complete] = buffer[complete:filled]  # the same length: never a resize
            filled -= complete
        held = filled
    return parse.log(done, held > 0)


def _wanted(fd: int, length: int, held: int, done: int, size: int) -> int:
    """The buffer the line being read (`held` bytes of it so far, then the
    file from `done`) wants: twice as large as it is (`length`), never
    more than the rest of the file needs. A long line (`codec.LONG_LINE`
    held) is looked ahead in the file for its end, to be read whole into
    a buffer grown once: each doubling copied what was held into fresh
    pages, for twice the bytes of the line in all."""
    if held < codec.LONG_LINE:
        return min(2 * length, held + size - done)
    scratch = bytearray(SCAN)
    with memoryview(scratch) as view:
        at = done
        while at < size:
            got = os.preadv(fd, [view[: min(SCAN, size - at)]], at)
            if got == 0:
                break
            found = scratch.find(b"\n", 0, got)
            if found >= 0:
                return held + at + found + 1 - done
            at += got
    return held + size - done


def _grown(buffer: bytearray, held: int, length: int) -> bytearray:
    """A buffer of `length` bytes holding the first `held` bytes of
    `buffer` (a new one: the old one may still be seen through a
    memoryview), copied once, never through a slice of their own first."""
    grown = bytearray(length)
    with memoryview(buffer) as view:
        grown[:held] = view[:held]
    return grown


class _Parse:
    """One session file being parsed, its complete lines given in file order
    (`add`, once or piece by piece), then what followed the last one (`log`)."""

    def __init__(self, session_id: str, project_key: str, mtime_ns: int, scratch: bool) -> None:
        self.session_id = session_id
        self.project_key = project_key
        self.mtime_ns = mtime_ns
        self.text: codec.Text = "in_place" if scratch else "whole"
        self.issues: list[LogIssue] = []
        self.header: dict[str, Any] | None = None
        self.events: list[dict[str, Any]] = []
        self.lines = 0  # complete lines seen
        self.first: bytes | None = None  # line 1 when it is no event: a copy of it further down is a union's

    def add(self, data: bytes | bytearray, spans: list[tuple[int, int]]) -> None:
        if not spans:
            return
        skip = 0
        if not self.lines:
            skip = self._line_one(bytes(data[: spans[0][1]]))
        first = self.first
        number_of_first = self.lines + skip + 1  # the line number of spans[skip]

        def refused(index: int, begin: int, end: int, reason: str) -> None:
            if not (first is not None and end - begin == len(first) and data.startswith(first, begin)):
                self.issues.append(LogIssue(number_of_first + index, reason))  # (a copy of line 1 is a union's: harmless)

        codec.decode_lines(data, spans[skip:] if skip else spans, self.header_or_made()["version"], self.text, self.events, refused)
        self.lines += len(spans)

    def _line_one(self, first: bytes) -> int:
        """Read line 1 as the header; how many lines that takes (0: line 1
        is an event, decoded as the others)."""
        try:
            self.header = codec.decode_header(first)
        except codec.BadRecord as exc:
            try:
                codec.decode_event(first)
            except codec.BadRecord:
                self.issues.append(LogIssue(1, f"bad header: {exc.reason}"))
            else:
                self.issues.append(LogIssue(1, "missing header"))
                return 0
        self.first = first
        header = self.header_or_made()
        if header["id"] != self.session_id:
            self.issues.append(LogIssue(1, "header id does not match the file name"))
            self.header = {**header, "id": self.session_id}
        return 1

    def header_or_made(self) -> dict[str, Any]:
        """The header, or one made from the file's name and mtime when
        line 1 is none."""
        if self.header is None:
            self.header = {
                "type": "session",
                "version": codec.FORMAT_VERSION,
                "id": self.session_id,
                "project": self.project_key,
                "created_at": format_ts_ns(self.mtime_ns),
            }
        return self.header

    def log(self, size: int, torn: bool) -> Log:
        if not size:
            self.issues.append(LogIssue(1, "empty file (no header)"))
        if torn:
            self.issues.append(LogIssue(self.lines + 1, "incomplete last line", torn=True))
        header = self.header_or_made()
        version = header["version"]
        return Log(self.session_id, header, self.events, self.issues, version > codec.FORMAT_VERSION, size, self.mtime_ns)


def format_ts_ns(mtime_ns: int) -> str:
    from datetime import datetime, timezone

    return format_ts(datetime.fromtimestamp(mtime_ns / 1e9, tz=timezone.utc))


