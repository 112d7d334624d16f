"""Filters and order through the real `chit` program: --since/--until on
ls, search, export --all and gc; ls --sort; repeated --tag."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from chit.api import Chit
from chit.exporters.snapshot import checksum
from chit.model import Session

OLD = "2020-01-02T10:00:00.000000Z"


def _aged(api: Chit, session: Session, ts: str) -> str:
    """A copy of `session` whose every time is `ts` (through a snapshot, the
    way an imported session keeps its times); the original is trashed."""
    doc = api.export_snapshot(session.id)
    body = doc["session"]
    body["id"] = str(uuid.uuid4())
    body["created_at"] = body["updated_at"] = ts
    for message in body["messages"]:
        message["ts"] = ts
    doc["checksum"] = checksum(body)
    api.delete(session.id)
    return api.import_snapshot(doc).session.id


def _corpus(api: Chit) -> dict[str, str]:
    old = api.create(title="Old gateway notes", tags=["ops"], make_current=False)
    api.append(old.id, "user", "restart the gateway")
    mid = api.create(title="Middle", tags=["ops", "db"], make_current=False)
    api.append(mid.id, "user", "restart the database")
    big = api.create(title="Big", tags=["db"], make_current=False)
    api.append(big.id, "user", "one")
    api.append(big.id, "assistant", "reply", tokens=(5000, 100))
    api.append(big.id, "user", "two")
    new = api.create(title="New", make_current=False)
    api.append(new.id, "user", "the gateway is down, restart it", tokens=(10, 10))
    return {"old": _aged(api, old, OLD), "mid": _aged(api, mid, "2020-06-01T10:00:00.000000Z"), "big": big.id, "new": new.id}


def _ids(result: Any) -> list[str]:
    assert result.code == 0, result.err
    return [s["id"] for s in result.json()]


def test_ls_since_and_until(api: Chit, cli: Any) -> None:
    c = _corpus(api)
    assert _ids(cli("ls", "--since", "1h", "--json")) == [c["new"], c["big"]]
    assert _ids(cli("ls", "--since", "today", "--json")) == [c["new"], c["big"]]
    assert _ids(cli("ls", "--until", "2020-03-01", "--json")) == [c["old"]]
    assert _ids(cli("ls", "--since", "2020-01-01", "--until", "2021-01-01T00:00", "--json")) == [c["mid"], c["old"]]
    assert _ids(cli("ls", "--until", "yesterday", "-n", "1", "--json")) == [c["mid"]]
    assert _ids(cli("ls", "--since", "2w", "--until", "90m", "--json")) == []


def test_ls_bad_window_is_one_line_exit_5(api: Chit, cli: Any) -> None:
    _corpus(api)
    for args in (["--since", "soon"], ["--until", "3y"], ["--since", "1d", "--until", "2d"]):
        result = cli("ls", *args)
        assert result.code == 5 and result.out == "", args
        assert len(result.err.splitlines()) == 1 and result.err.startswith("chit: error: --")


def test_ls_sort(api: Chit, cli: Any) -> None:
    c = _corpus(api)
    assert _ids(cli("ls", "--sort", "updated", "--json")) == [c["new"], c["big"], c["mid"], c["old"]]
    assert _ids(cli("ls", "--sort", "created", "--json")) == [c["new"], c["big"], c["mid"], c["old"]]
    assert _ids(cli("ls", "--sort", "turns", "--json"))[0] == c["big"]
    assert _ids(cli("ls", "--sort", "tokens", "--json"))[:2] == [c["big"], c["new"]]
    assert _ids(cli("ls", "--sort", "tokens", "-n", "1", "--json")) == [c["big"]]
    bad = cli("ls", "--sort", "size")
    assert bad.code == 5 and "unknown sort" in bad.err


def test_ls_created_order_differs_from_updated(api: Chit, cli: Any) -> None:
    first = api.create(title="First made", make_current=False)
    second = api.create(title="Second made", make_current=False)
    api.append(first.id, "user", "touched last")
    assert _ids(cli("ls", "--json")) == [first.id, second.id]
    assert _ids(cli("ls", "--sort", "created", "--json")) == [second.id, first.id]


def test_repeated_tag_means_all_of_them(api: Chit, cli: Any) -> None:
    c = _corpus(api)
    assert _ids(cli("ls", "--tag", "ops", "--json")) == [c["mid"], c["old"]]
    assert _ids(cli("ls", "-t", "ops", "-t", "db", "--json")) == [c["mid"]]
    assert _ids(cli("ls", "-t", "db", "-t", "nope", "--json")) == []


def test_export_all_since(api: Chit, cli: Any, tmp_path: Path) -> None:
    c = _corpus(api)
    out = tmp_path / "out"
    result = cli("export", "--all", "-o", str(out), "--since", "1d", "--json")
    assert result.code == 0, result.err
    written = sorted(p.name for p in out.iterdir())
    assert len(written) == 2 and all(c["old"][:8] not in name and c["mid"][:8] not in name for name in written)
    bad = cli("export", "--all", "-o", str(tmp_path / "none"), "--since", "nope")
    assert bad.code == 5 and not (tmp_path / "none").exists()
    lone = cli("export", "--since", "1d")
    assert lone.code == 2 and "--all" in lone.err


def test_gc_within_a_window(api: Chit, cli: Any) -> None:
    c = _corpus(api)
    result = cli("gc", "--older-than", "30d", "--until", "2020-03-01", "--json")
    assert _ids(result) == [c["old"]]
    assert {s.id for s in api.list()} == {c["mid"], c["big"], c["new"]}
    result = cli("gc", "--since", "2020-01-01", "--until", "2021-01-01", "--dry-run", "--json")
    assert _ids(result) == [c["mid"]]
    assert {s.id for s in api.list()} == {c["mid"], c["big"], c["new"]}
    unbounded = cli("gc", "--since", "1d")
    assert unbounded.code == 2 and {s.id for s in api.list()} == {c["mid"], c["big"], c["new"]}


def _searchable(api: Chit) -> dict[str, str]:
    gateway = api.create(title="Gateway", tags=["ops", "net"], make_current=False)
    api.append(gateway.id, "user", "the gateway hangs; restart it please")
    api.append(gateway.id, "assistant", "restart done, the gateway is back")
    api.append(gateway.id, "user", "restart the gateway again")
    db = api.create(title="Database", tags=["ops"], make_current=False)
    api.append(db.id, "user", "restart the database, not the gateway")
    old = api.create(title="Old", make_current=False)
    api.append(old.id, "user", "gateway restart long ago")
    return {"gateway": gateway.id, "db": db.id, "old": _aged(api, old, OLD)}


def test_search_finds_messages_holding_every_word(api: Chit, cli: Any) -> None:
    c = _searchable(api)
    hits = cli("search", "GATEWAY restart", "--each", "--json").json()
    assert sorted({h["id"] for h in hits}) == sorted(c.values())
    assert len(hits) == 5
    assert cli("search", "gateway database", "--each", "--json").json()[0]["id"] == c["db"]
    assert cli("search", "gateway nowhere", "--json").json() == []


def test_search_phrase_keeps_its_words_together(api: Chit, cli: Any) -> None:
    c = _searchable(api)
    hits = cli("search", '"restart the gateway"', "--each", "--json").json()
    assert [h["id"] for h in hits] == [c["gateway"]] and "restart the gateway again" in hits[0]["snippet"]
    both = cli("search", '"the gateway" database', "--each", "--json").json()
    assert [h["id"] for h in both] == [c["db"]]
    unclosed = cli("search", '"restart the')
    assert unclosed.code == 5 and unclosed.out == "" and len(unclosed.err.splitlines()) == 1


def test_search_groups_one_line_per_session(api: Chit, cli: Any) -> None:
    c = _searchable(api)
    shown = cli("search", "gateway restart")
    assert shown.code == 0, shown.err
    heads = [line for line in shown.out.splitlines() if not line.startswith("  ")]
    assert [line.split()[0] for line in heads] == [c["db"][:8], c["gateway"][:8], c["old"][:8]]
    assert "3 hits" in heads[1] and "1 hit " in heads[0]
    assert len(shown.out.splitlines()) == 6  # each session: its line, then its best snippet
    limited = cli("search", "gateway restart", "-n", "1")
    assert len(limited.out.splitlines()) == 2


def test_search_json_keeps_one_object_per_hit_with_its_group(api: Chit, cli: Any) -> None:
    c = _searchable(api)
    hits = cli("search", "gateway restart", "--json").json()
    assert len(hits) == 5 and all(h["group"] == h["id"] for h in hits)
    assert len(cli("search", "gateway restart", "-n", "2", "--json").json()) == 2  # hits, as --each counts them
    assert [h["group"] for h in hits].count(c["gateway"]) == 3
    lines = cli("search", "gateway restart", "--jsonl").out.splitlines()
    assert len(lines) == 5


def test_search_since_until_and_every_tag(api: Chit, cli: Any) -> None:
    c = _searchable(api)
    assert {h["id"] for h in cli("search", "gateway", "--since", "1d", "--json").json()} == {c["gateway"], c["db"]}
    assert {h["id"] for h in cli("search", "gateway", "--until", "2021-01-01", "--json").json()} == {c["old"]}
    assert {h["id"] for h in cli("search", "gateway", "-t", "ops", "-t", "net", "--json").json()} == {c["gateway"]}
    bad = cli("search", "gateway", "--since", "whenever")
    assert bad.code == 5 and bad.out == ""


def test_search_takes_the_words_as_separate_arguments(api: Chit, cli: Any) -> None:
    c = _searchable(api)
    assert cli("search", "gateway", "database", "--each", "--json").json()[0]["id"] == c["db"]
    assert cli("search").code == 2
