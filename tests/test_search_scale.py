"""`chit search` one line per session costs the sessions it shows, not
every session with a hit: once the sessions with the newest hits are
known, older candidates are confirmed only in those sessions (every hit
of a shown session is still counted)."""

from __future__ import annotations

import os
import re
import uuid
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from chit.api import Chit
from chit.cli.main import run
from chit.exporters import SNAPSHOT_FORMAT, SNAPSHOT_VERSION, checksum
from chit.index import search
from chit.render.environment import Environment
from chit.service.facade import parts_of

from calls import calls_of

WORD = "zanzibarquill"
T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)


def hits_made() -> AbstractContextManager[list[int]]:
    """Counts the search hits confirmed from the index's candidates meanwhile."""
    return calls_of(search._hit)


def chit(*args: str) -> str:
    env = Environment.captured(b"", dict(os.environ))
    assert run(list(args), env) == 0
    return env.output()[0].decode()


def _session(n: int, hits: int) -> dict[str, Any]:
    """Session n, an hour after session n - 1, with `hits` messages holding WORD."""
    start = T0 + timedelta(hours=n)
    texts = [f"question {n} about the {WORD} here" if k < hits else f"plain message {k}" for k in range(4)]
    messages = [
        {"id": str(uuid.uuid4()), "role": "user" if k % 2 == 0 else "assistant", "content": text, "ts": (start + timedelta(minutes=k)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        for k, text in enumerate(texts)
    ]
    return {"id": str(uuid.uuid4()), "created_at": messages[0]["ts"], "messages": messages, "tags": [], "metadata": {}, "title": None}


def test_one_line_per_session_confirms_the_hits_of_the_shown_sessions(api: Chit) -> None:
    ids = []
    for n in range(40):
        body = _session(n, hits=1 + n % 3)
        doc = {"format": SNAPSHOT_FORMAT, "version": SNAPSHOT_VERSION, "exported_at": body["created_at"], "checksum": checksum(body), "session": body}
        ids.append(api.import_snapshot(doc).session.id)
    assert len(chit("search", WORD, "--json", "-n", "0").splitlines()) == 1  # the index is built (a JSON list)
    with hits_made() as made:
        lines = chit("search", WORD, "--jsonl", "--limit", "0").splitlines()
    assert len(lines) == sum(1 + n % 3 for n in range(40)) == made[0]  # all of them: every hit is confirmed
    with hits_made() as made:
        shown = chit("search", WORD, "-n", "3").splitlines()
    heads = [line for line in shown if not line.startswith(" ")]  # each session's line, then its snippet
    assert [line.split()[0] for line in heads] == [i[:8] for i in ids[::-1][:3]]
    counts = [re.search(r"(\d+) hits? ·", line) for line in heads]
    assert [int(c.group(1)) if c else 0 for c in counts] == [1 + n % 3 for n in (39, 38, 37)]  # every hit of each counted
    assert made[0] <= sum(1 + n % 3 for n in (39, 38, 37)) + 3, made[0]


def test_a_limited_search_reads_no_line_older_than_the_hits_it_holds(api: Chit) -> None:
    """Many messages of one second (an import, a fork's copies): once
    `limit` hits are held, a candidate whose stamp is older than all of
    them is passed over unread, and the answer is the file scan's."""
    second = T0.replace(microsecond=0)
    messages = [
        {"id": str(uuid.uuid4()), "role": "user", "content": f"{WORD} {k}", "ts": (second + timedelta(microseconds=k)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        for k in range(300)
    ]
    body = {"id": str(uuid.uuid4()), "created_at": messages[0]["ts"], "messages": messages, "tags": [], "metadata": {}, "title": None}
    doc = {"format": SNAPSHOT_FORMAT, "version": SNAPSHOT_VERSION, "exported_at": body["created_at"], "checksum": checksum(body), "session": body}
    sid = api.import_snapshot(doc).session.id
    api.fork(sid, title="copy")  # 300 more candidates of that second, with the same stamps
    scope = parts_of(api).ctx.projects.all()
    api.search(WORD, limit=1)  # the index is built
    with calls_of(search._check) as checked:
        hits = api.search(WORD, limit=5)
    assert hits == parts_of(api).queries.scan_search(scope, WORD, limit=5)
    assert [hit.snippet.split()[-1] for hit in hits] == ["299", "299", "298", "298", "297"]
    assert checked[0] <= 20, checked[0]  # of 600 candidates
