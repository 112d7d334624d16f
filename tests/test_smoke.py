"""The shortest path through chit: create, append, list, from each surface."""

from __future__ import annotations


def test_api_cli_and_subprocess_agree(api, cli, cli_inproc):
    session = api.create(title="smoke")
    api.append(session.id, "user", "hello there")
    listed = cli("ls", "--json")
    assert listed.code == 0, listed.err
    assert [s["id"] for s in listed.json()] == [session.id]
    shown = cli_inproc("show", session.id[:6], "--json")
    assert shown.code == 0
    assert shown.json()["messages"][0]["content"] == "hello there"
