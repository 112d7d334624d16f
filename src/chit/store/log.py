"""A session file's bytes parsed into a `Log`: the header, the valid events
in file order, and the lines set aside.

Invariants: parsing never raises for bad content (a bad line becomes a
`LogIssue`, a torn last line is flagged `torn`); a file without a valid
header gets one made from its name and mtime; a copy of line 1 further down
(what a union of two copies holds) is harmless; a file from a newer format
version is marked read-only.
"""

from __future__ import annotations

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
    torn = spans[-1][1] + 1 < len(data) if spans else bool(data)
    issues: list[LogIssue] = []
    header: dict[str, Any] | None = None
    start = 0
    if spans:
        first = data[: spans[0][1]]
        try:
            header = codec.decode_header(first)
            start = 1
        except codec.BadRecord as exc:
            try:
                codec.decode_event(first)
            except codec.BadRecord:
                issues.append(LogIssue(1, f"bad header: {exc.reason}"))
                start = 1
            else:
                issues.append(LogIssue(1, "missing header"))
    if not data:
        issues.append(LogIssue(1, "empty file (no header)"))
    if header is None:
        header = {
            "type": "session",
            "version": codec.FORMAT_VERSION,
            "id": session_id,
            "project": project_key,
            "created_at": format_ts_ns(mtime_ns),
        }
    elif header["id"] != session_id:
        issues.append(LogIssue(1, "header id does not match the file name"))
        header = {**header, "id": session_id}
    version = header["version"]
    events: list[dict[str, Any]] = []
    text: codec.Text = "in_place" if scratch else "whole"
    view = memoryview(data)  # one for every line (a long session has thousands)
    for number, (begin, end) in enumerate(spans[start:], start=start + 1):
        if codec.is_blank(data, begin, end):
            continue
        try:
            events.append(codec.decode_event_in(data, begin, end, version, text, view))
        except codec.BadRecord as exc:
            if not (start and end - begin == spans[0][1] and data.startswith(data[: spans[0][1]], begin)):
                issues.append(LogIssue(number, exc.reason))  # (a copy of line 1 is a union's: harmless)
    if torn:
        issues.append(LogIssue(len(spans) + 1, "incomplete last line", torn=True))
    return Log(session_id, header, events, issues, version > codec.FORMAT_VERSION, len(data), mtime_ns)


def format_ts_ns(mtime_ns: int) -> str:
    from datetime import datetime, timezone

    return format_ts(datetime.fromtimestamp(mtime_ns / 1e9, tz=timezone.utc))


