"""An edit decided on a read of the session under its lock (tag, untag,
update, save, reopening the last turn) returns the session from that read
and the lines it appended, decoded alone (`LockedSession.read_again`): the
file is read once, not again after the write. What it returns equals a
read of the file after it; so does it for a file whose line 1 is no
header or whose last line was torn, which is read again."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chit.api import Chit
from chit.model import Session
from chit.service.facade import parts_of
from chit.store import sessions as store_sessions

EDITS = ("tag", "untag", "update", "save", "reopen")


def _edit(api: Chit, edit: str, session: Session) -> Session:
    if edit == "tag":
        return api.tag(session.id, "new", "old")
    if edit == "untag":
        return api.untag(session.id, "old", "absent")
    if edit == "update":
        return api.update(session.id, [*session.messages[:3], {"role": "user", "content": "instead"}])
    if edit == "save":
        return api.save(replace(session, manual_title="saved", tags=("old", "saved"), messages=session.messages[:2]))
    return parts_of(api).history.reopen_turn(session.id)


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The whole reads of session files from now on (a read under a lock, or not)."""
    reads: list[str] = []
    for name in ("parse_log", "read_log"):
        real = getattr(store_sessions, name)

        def counted(*args: Any, real: Any = real, **kwargs: Any) -> Any:
            reads.append(args[0] if isinstance(args[0], str) else args[2])
            return real(*args, **kwargs)

        monkeypatch.setattr(store_sessions, name, counted)
    return reads


def _conversation(api: Chit) -> Session:
    messages = [{"role": "user" if n % 2 == 0 else "assistant", "content": f"message {n}"} for n in range(6)]
    return api.create(title=None, messages=messages, tags=["old"])


@pytest.mark.parametrize("edit", EDITS)
def test_an_edit_reads_the_session_once_and_returns_what_a_read_after_gives(api: Chit, edit: str, monkeypatch: pytest.MonkeyPatch) -> None:
    session = _conversation(api)
    reads = _counting_reads(monkeypatch)
    got = _edit(api, edit, session)
    assert reads == [session.id]
    assert got == api.get(session.id)
    assert got != session


@pytest.mark.parametrize("edit", EDITS)
@pytest.mark.parametrize("flaw", ["torn last line", "no header"])
def test_a_file_with_a_flaw_is_read_again_after_the_edit(api: Chit, edit: str, flaw: str) -> None:
    session = _conversation(api)
    path = api.layout.session_file(api.project().slug, session.id)
    data = path.read_bytes()
    if flaw == "torn last line":
        path.write_bytes(data + b'{"type":"message","id":"torn","role":"user"')
    else:
        path.write_bytes(data[data.index(b"\n") + 1 :])  # the header gone: one is made from the file's name and mtime
    session = api.get(session.id)
    got = _edit(api, edit, session)
    assert got == api.get(session.id)
