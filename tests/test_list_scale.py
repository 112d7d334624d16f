"""A listing costs its rows, not the project's size: the sub-agent count
of each listed session is a range on the key index, never a walk over
every session of the project (which made `ls -n 20` in a project of 700
sessions 10 ms slower than in one of 50)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from chit.api import Chit
from chit.index.search import _AGENTS


def test_the_sub_agent_count_uses_the_key_index(api: Chit, home: Path) -> None:
    parent = api.create(title="parent", key="claude:abc")
    api.create(title="child", key="claude:abc/agent-1")
    for n in range(5):
        api.create(title=f"other {n}")
    listed = {s.title: s.agents for s in api.list(limit=20)}
    assert listed["parent"] == 1 and listed["other 0"] == 0 and "child" not in listed
    assert api.get(parent.id).title == "parent"
    db = sqlite3.connect(home / "index.sqlite")
    plan = " ".join(str(row[3]) for row in db.execute(f"EXPLAIN QUERY PLAN SELECT {_AGENTS} FROM sessions s"))
    assert "sessions_key" in plan and "sessions_file" not in plan
