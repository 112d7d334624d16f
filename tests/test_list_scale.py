"""A listing costs its rows, not the project's size: the sub-agent count
of each listed session is a range on the key index, never a walk over
every session of the project (which made `ls -n 20` in a project of 700
sessions 10 ms slower than in one of 50)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from chit.api import Chit
from chit.index.summary_rows import AGENTS_COUNT
from chit.service.facade import parts_of


def test_the_sub_agent_count_uses_the_key_index(api: Chit, home: Path) -> None:
    parent = api.create(title="parent", key="claude:abc")
    api.create(title="child", key="claude:abc/agent-1")
    for n in range(5):
        api.create(title=f"other {n}")
    listed = {s.title: s.agents for s in api.list(limit=20)}
    assert listed["parent"] == 1 and listed["other 0"] == 0 and "child" not in listed
    assert api.get(parent.id).title == "parent"
    db = sqlite3.connect(home / "index.sqlite")
    plan = " ".join(str(row[3]) for row in db.execute(f"EXPLAIN QUERY PLAN SELECT {AGENTS_COUNT} FROM sessions s"))
    assert "sessions_key" in plan and "sessions_file" not in plan


def _listing_steps(api: Chit, project: str) -> int:
    """SQLite's virtual-machine steps (in hundreds) of one listing of
    `project`'s 20 newest sessions."""
    conn = parts_of(api).ctx.index.conn
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    conn.set_progress_handler(tick, 100)
    try:
        listed = api.list(project, limit=20)
    finally:
        conn.set_progress_handler(None, 0)
    assert [s.title for s in listed] == ["small 2", "small 1", "small 0"]
    return steps[0]


def test_listing_a_small_project_costs_the_same_beside_a_large_one(home: Path, workdir: Path) -> None:
    api = Chit(home, cwd=workdir, durable=False)
    for n in range(3):
        api.create(title=f"small {n}", project="small")
    api.list("small", limit=20)  # the index is built
    before = _listing_steps(api, "small")
    for n in range(400):
        api.create(title=f"large {n}", project="large")
    api.list("large", limit=1)  # the index has their rows
    after = _listing_steps(api, "small")
    assert after <= before + 2, (before, after)  # without an index by project and age: every row of the store
