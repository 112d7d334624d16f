"""Lineage through the real `chit` program: tree, diff, and forks shown by ls and show."""

from __future__ import annotations

from typing import Any

from chit.api import Chit


def _family(api: Chit) -> tuple[str, str, str, str]:
    """A root with two turns, a fork at turn 0 that goes its own way, a fork
    of that fork, and an unrelated session."""
    root = api.create(title="Root plan", make_current=False)
    api.append(root.id, "user", "first question")
    api.append(root.id, "assistant", "first answer")
    api.append(root.id, "user", "second question")
    api.append(root.id, "assistant", "second answer\nline two")
    fork = api.fork(root.id, at=0, title="Alt plan")
    api.append(fork.id, "user", "another second question")
    grandchild = api.fork(fork.id, title="Alt alt")
    unrelated = api.create(title="Elsewhere", make_current=False)
    api.append(unrelated.id, "user", "hello")
    return root.id, fork.id, grandchild.id, unrelated.id


def test_tree_draws_parents_forks_and_fork_turns(api: Chit, cli: Any) -> None:
    root, fork, grandchild, _ = _family(api)
    shown = cli("tree", grandchild[:8])
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert [line.replace("└─", "").split()[0] for line in lines] == [root[:8], fork[:8], grandchild[:8]]
    assert "Alt plan" in lines[1] and "at turn 0" in lines[1]
    assert "at turn 1" in lines[2] and lines[2].rstrip().endswith("◀")


def test_tree_counts_one_turn_in_the_singular(api: Chit, cli: Any) -> None:
    root, fork, _, _ = _family(api)
    single = api.fork(root, at=0, title="One turn")
    lines = {line.replace("└─", "").split()[0]: line for line in cli("tree", root[:8]).out.splitlines()}
    assert "  2 turns · " in lines[root[:8]] and "at turn 0 · 2 turns · " in lines[fork[:8]]
    assert "at turn 0 · 1 turn · " in lines[single.id[:8]]
    assert not any("1 turns" in line for line in lines.values())


def test_tree_json_gives_nodes_and_edges(api: Chit, cli: Any) -> None:
    root, fork, grandchild, unrelated = _family(api)
    data = cli("tree", root, "--json").json()
    assert data["focus"] == root
    assert [n["id"] for n in data["nodes"]] == [root, fork, grandchild]
    assert [n["depth"] for n in data["nodes"]] == [0, 1, 2]
    assert data["edges"] == [{"parent": root, "child": fork, "turn": 0}, {"parent": fork, "child": grandchild, "turn": 1}]
    alone = cli("tree", unrelated, "--json").json()
    assert [n["id"] for n in alone["nodes"]] == [unrelated] and alone["edges"] == []


def test_tree_all_gives_every_tree_holding_a_fork(api: Chit, cli: Any) -> None:
    root, fork, grandchild, unrelated = _family(api)
    other = api.create(title="Second tree", make_current=False)
    api.append(other.id, "user", "x")
    twig = api.fork(other.id)
    data = cli("tree", "--all", "--json").json()
    ids = [n["id"] for n in data["nodes"]]
    assert set(ids) == {root, fork, grandchild, other.id, twig.id} and unrelated not in ids
    assert data["focus"] is None
    both = cli("tree", root, "--all")
    assert both.code == 2 and both.err.startswith("chit: error:")


def test_tree_of_an_unknown_session_is_not_found(api: Chit, cli: Any) -> None:
    _family(api)
    missing = cli("tree", "ffffffff")
    assert missing.code == 3 and missing.out == "" and len(missing.err.splitlines()) == 1


def test_ls_marks_forks_and_sessions_with_forks(api: Chit, cli: Any) -> None:
    root, fork, grandchild, unrelated = _family(api)
    rows = {line.split()[0]: line for line in cli("ls").out.splitlines()[1:]}
    assert "[1 fork] Root plan" in rows[root[:8]]
    assert "↳ [1 fork] Alt plan" in rows[fork[:8]]
    assert "↳ Alt alt" in rows[grandchild[:8]]
    assert "↳" not in rows[unrelated[:8]] and "fork" not in rows[unrelated[:8]]
    listed = {s["id"]: s for s in cli("ls", "--json").json()}
    assert (listed[root]["forks"], listed[fork]["forks"], listed[grandchild]["forks"]) == (1, 1, 0)
    assert listed[fork]["parent_id"] == root


def test_show_names_the_parent_and_the_forks(api: Chit, cli: Any) -> None:
    root, fork, grandchild, _ = _family(api)
    shown = cli("show", fork, "--no-pager")
    assert f"fork of {root[:8]} at turn 0" in shown.out
    assert "forks (1):" in shown.out and f"{grandchild[:8]}  Alt alt" in shown.out
    data = cli("show", fork, "--json").json()
    assert data["parent"] == {"id": root, "turn": 0}
    assert [f["id"] for f in data["forks"]] == [grandchild]


def test_diff_of_a_fork_and_its_parent(api: Chit, cli: Any) -> None:
    root, fork, _, _ = _family(api)
    shown = cli("diff", root[:8], fork[:8])
    assert shown.code == 0, shown.err
    assert "shared: 1 turn, they part after turn 0" in shown.out
    assert f"recorded: {fork[:8]} forked at turn 0" in shown.out
    lines = shown.out.splitlines()
    assert f"--- {root[:8]}" in lines and f"+++ {fork[:8]}" in lines
    assert "-second question" in lines and "+another second question" in lines
    assert "-second answer" in lines and "-line two" in lines


def test_diff_json_gives_the_fork_point_and_the_differing_turns(api: Chit, cli: Any) -> None:
    root, fork, _, _ = _family(api)
    data = cli("diff", fork, root, "--json").json()
    assert (data["shared_turns"], data["fork_turn"]) == (1, 0)
    assert data["recorded_fork"] == {"parent": root, "child": fork, "turn": 0}
    assert [t["turn"] for t in data["turns"]] == [1]
    turn = data["turns"][0]
    assert [m["content"] for m in turn["a"]] == ["another second question"]
    assert [m["content"] for m in turn["b"]] == ["second question", "second answer\nline two"]
    assert "+second question" in data["diff"].splitlines()


def test_diff_finds_the_fork_point_by_content_without_recorded_parentage(api: Chit, cli: Any) -> None:
    root, _, _, _ = _family(api)
    copy = api.create(title="Retyped", make_current=False)
    api.append(copy.id, "user", "first question")
    api.append(copy.id, "assistant", "first answer")
    api.append(copy.id, "user", "a different second")
    data = cli("diff", root, copy.id, "--json").json()
    assert (data["shared_turns"], data["fork_turn"], data["recorded_fork"]) == (1, 0, None)


def test_diff_of_two_unrelated_sessions(api: Chit, cli: Any) -> None:
    root, _, _, unrelated = _family(api)
    shown = cli("diff", root, unrelated)
    assert shown.code == 0, shown.err
    assert "shared: nothing" in shown.out and "+hello" in shown.out.splitlines()
    data = cli("diff", root, unrelated, "--json").json()
    assert (data["shared_turns"], data["fork_turn"], data["recorded_fork"]) == (0, None, None)
    assert [t["turn"] for t in data["turns"]] == [0, 1]
    assert data["turns"][1]["b"] == []


def test_diff_of_a_session_with_itself_or_a_missing_one(api: Chit, cli: Any) -> None:
    root, _, _, _ = _family(api)
    same = cli("diff", root, root[:8])
    assert same.code == 5 and same.out == "" and same.err.startswith("chit: error:")
    missing = cli("diff", root, "ffffffff")
    assert missing.code == 3 and missing.out == ""
    usage = cli("diff", root)
    assert usage.code == 2
