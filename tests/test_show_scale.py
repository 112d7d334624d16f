"""`show` costs its session, not its project's size: the session's forks
and sub-agents come from the index's parent and key lookups, never from a
summary of every session in the project (which made `show PREFIX --json`
over 30,000 sessions 1.6 times its cost over 1,000)."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import orjson

from chit.api import Chit
from chit.cli.main import run
from chit.index.summary_rows import summary_from_row
from chit.render.environment import Environment

from calls import calls_of


def summaries_built() -> AbstractContextManager[list[int]]:
    """Counts the session summaries made from index rows meanwhile."""
    return calls_of(summary_from_row)


def show_json(ref: str) -> dict[str, Any]:
    env = Environment.captured(b"", dict(os.environ))
    assert run(["show", ref, "--json"], env) == 0
    data: dict[str, Any] = orjson.loads(env.output()[0])
    return data


def test_show_builds_the_summaries_of_its_forks_and_agents_only(api: Chit, home: Path) -> None:
    parent = api.create(title="parent", key="claude:abc")
    api.append(parent.id, "user", "first question")
    api.append(parent.id, "assistant", "first answer")
    agent = api.create(title="agent", key="claude:abc/agent-1")
    api.create(title="someone else's agent", key="claude:abd/agent-1")
    fork = api.fork(parent.id, at=0, title="fork")
    api.fork(fork.id, title="fork of the fork")
    for n in range(40):
        api.create(title=f"other {n}")
    show_json(parent.id)  # the index is built
    with summaries_built() as built:
        data = show_json(parent.id)
    assert [f["id"] for f in data["forks"]] == [fork.id]
    assert [a["id"] for a in data["agents"]] == [agent.id]
    assert built[0] == 2


def test_an_agents_show_names_its_parent(api: Chit) -> None:
    parent = api.create(title="parent", key="claude:abc")
    agent = api.create(title="agent", key="claude:abc/agent-1")
    data = show_json(agent.id)
    assert data["agent_of"]["id"] == parent.id and data["agents"] == [] and data["forks"] == []


def test_without_the_index_show_finds_the_same_forks_and_agents(api: Chit, home: Path) -> None:
    parent = api.create(title="parent", key="claude:abc")
    api.append(parent.id, "user", "first question")
    agents = [api.create(title=f"agent {n}", key=f"claude:abc/agent-{n}").id for n in range(2)]
    forks = [api.fork(parent.id, title=f"fork {n}").id for n in range(2)]
    api.create(title="other")
    indexed = show_json(parent.id)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{home / 'index.sqlite'}{suffix}").unlink(missing_ok=True)
    (home / "index.sqlite").mkdir()  # SQLite cannot open it: the files answer
    from_files = show_json(parent.id)
    assert [f["id"] for f in from_files["forks"]] == [f["id"] for f in indexed["forks"]] == forks
    assert [a["id"] for a in from_files["agents"]] == [a["id"] for a in indexed["agents"]] == agents
    assert from_files["forks"] == indexed["forks"] and from_files["agents"] == indexed["agents"]


def test_forks_and_agents_written_to_since_show_their_new_messages(api: Chit) -> None:
    """A fork's and a sub-agent's summaries are brought up to date before
    they are shown (appends change no directory: the journal names them)."""
    parent = api.create(title="parent", key="claude:abc")
    api.append(parent.id, "user", "first question")
    agent = api.create(title="agent", key="claude:abc/agent-1")
    fork = api.fork(parent.id, title="fork")
    show_json(parent.id)  # the index is built
    api.append(fork.id, "user", "a question in the fork")
    api.append(agent.id, "assistant", "the agent's answer")
    data = show_json(parent.id)
    assert [(f["id"], f["message_count"]) for f in data["forks"]] == [(fork.id, 2)]
    assert [(a["id"], a["message_count"]) for a in data["agents"]] == [(agent.id, 1)]
    listed = {s.id: s for s in api.list(agents=True)}
    assert data["forks"] == [listed[fork.id].as_dict()]
    assert data["agents"] == [listed[agent.id].as_dict()]


def test_a_session_without_forks_or_agents_reads_no_other_file(api: Chit) -> None:
    """`show` (and `load`) of a session that has no fork and no sub-agent
    asks the index only what a new or removed file changes: another
    session's new lines are left for the next listing to read."""
    from chit.index.rows import Rows

    shown = api.create(title="shown", key="claude:abc")
    other = api.create(title="other")
    api.append(shown.id, "user", "hello")
    api.append(other.id, "user", "a first append")
    sessions = api.layout.sessions_dir(api.project().slug)
    past = os.stat(sessions).st_mtime_ns - 10**10
    os.utime(sessions, ns=(past, past))  # its mtime is old enough for the index to trust it
    show_json(shown.id)  # the index is built
    api.append(other.id, "user", "an append elsewhere")
    with calls_of(Rows.read_file) as read:
        data = show_json(shown.id)
    assert data["forks"] == [] and data["agents"] == []
    assert read[0] == 0
    assert sorted(s.messages for s in api.list()) == [1, 2]  # a listing reads it
