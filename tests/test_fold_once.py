"""The fold builds each message once: a long session's read is not
twice its messages (once by the replay, again to number the turns)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from chit.api import Chit
from chit.model import Message, Session
from chit.service.facade import parts_of
from chit.store.fold import fold
from chit.store.log import parse_log


def folded_counting(path: Path, project_key: str) -> tuple[Session, int]:
    """The fold of a session file, and how many `Message`s it built."""
    log = parse_log(path.stem, path.read_bytes(), project_key)
    built = 0
    init = Message.__init__.__code__

    def count(frame: FrameType, event: str, _: Any) -> None:
        nonlocal built
        if event == "call" and frame.f_code is init:
            built += 1

    sys.setprofile(count)
    try:
        session = fold(log.header, log.events, log.issues, log.read_only)
    finally:
        sys.setprofile(None)
    return session, built


def shown_and_hidden(session: Session) -> int:
    return len(session.messages) + sum(len(change.hidden) for change in session.changes)


def test_a_stamped_session_builds_each_message_once(tmp_path: Path) -> None:
    api = Chit(tmp_path / "home", cwd=tmp_path, durable=False)
    sid = api.create(messages=[{"role": "system", "content": "brief"}]).id
    for n in range(40):
        api.append(sid, "user" if n % 2 == 0 else "assistant", f"message {n}")
    api.rewind(sid, 15)
    api.append(sid, "user", "after the rewind")
    api.pop(sid)
    api.pop(sid)
    api.undo(sid)
    ctx = parts_of(api).ctx
    project = ctx.locate(sid)
    session, built = folded_counting(ctx.store.session_path(project.slug, sid), project.key)
    assert [m.turn for m in session.messages[:3]] == [None, 0, 0]
    assert [c.kind for c in session.changes] == ["rewind", "pop"]  # the second pop was undone
    assert built == shown_and_hidden(session) == 33 + 8 + 1


def test_a_format_1_session_builds_each_message_once(tmp_path: Path) -> None:
    sid = "0b0e5a8c-1d2e-4f30-8a4b-5c6d7e8f9a0b"
    records: list[dict[str, Any]] = [{"type": "session", "version": 1, "id": sid, "project": "/p", "created_at": "2025-01-01T00:00:00.000000Z"}]
    for n in range(30):
        records.append({"type": "message", "id": f"m{n}", "role": "user" if n % 2 == 0 else "assistant", "content": f"old {n}",
                        "ts": f"2025-01-01T00:00:{n:02d}.000000Z"})
    records += [{"type": "rewind", "keep": 20, "change": "c1"}, {"type": "pop", "change": "c2"}]
    path = tmp_path / f"{sid}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    session, built = folded_counting(path, "/p")
    assert [m.turn for m in session.messages[-2:]] == [8, 9]
    assert built == shown_and_hidden(session) == 19 + 10 + 1
