"""Human `show` of a long session: the latest messages are laid out, the
ones before them are printed as plain text (each after its turn rule and
role line), so printing costs time in proportion to the text, not to
rich's layout of all of it. Real `chit show` subprocesses."""

from __future__ import annotations

import re

from conftest import Result

from chit.api import Chit
from chit.render.human import FORMATTED


def test_a_long_session_lays_out_only_its_latest_messages(cli, api: Chit) -> None:  # type: ignore[no-untyped-def]
    session = api.create(title="long")
    filler = "word " * 1000
    count = 2 * (FORMATTED // len(filler) + 4)
    api.append_many(session.id, [
        {"role": "user" if n % 2 == 0 else "assistant", "content": f"**bold{n}** {filler}"} for n in range(count)
    ])
    result: Result = cli("show", session.id)
    assert result.code == 0, result
    out = result.out
    assert "**bold1**" in out  # an early reply: plain text, as written
    assert f"**bold{count - 1}**" not in out and f"bold{count - 1}" in out  # the last one: laid out as Markdown
    positions = [re.search(rf"bold{n}\b", out).start() for n in range(count)]  # type: ignore[union-attr]
    assert positions == sorted(positions)  # every message, in order
    assert "── turn 1 " in out and "turn 2" in out
    assert out.count("\nassistant\n") + out.startswith("assistant\n") >= count // 2 - 20  # role lines, plain or laid out


def test_a_short_session_is_laid_out_whole(cli, api: Chit) -> None:  # type: ignore[no-untyped-def]
    session = api.create(title="short")
    api.append(session.id, "user", "hello")
    api.append(session.id, "assistant", "**bold** reply")
    result: Result = cli("show", session.id)
    assert result.code == 0, result
    assert "bold reply" in result.out and "**bold**" not in result.out
