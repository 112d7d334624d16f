"""Read-side API: list, latest, find, resolve a REF, search, current session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import tree_digest

from chit import exporters
from chit.api import Chit
from chit.errors import Ambiguous, InvalidInput, NotFound
from chit.model import Session
from chit.service.facade import parts_of

ID_A1 = "abcd1111-0000-4000-8000-000000000001"
ID_A2 = "abcd2222-0000-4000-8000-000000000002"
ID_B = "bbbb0000-0000-4000-8000-000000000003"


def planted(api: Chit, session_id: str, *, title: str | None = None, key: str | None = None,
            contents: tuple[str, ...] = ("hello",), project: str | None = None) -> Session:
    """A session with a chosen id, stored through the public import path."""
    body: dict[str, Any] = {
        "id": session_id, "created_at": "2024-05-01T00:00:00.000000Z", "title": title, "key": key,
        "tags": [], "metadata": {}, "values": {}, "parent": None,
        "messages": [
            {"type": "message", "id": f"m{i}", "role": "user", "content": c, "ts": f"2024-05-01T00:00:{i:02d}.000000Z"}
            for i, c in enumerate(contents)
        ],
    }
    doc = {"format": "chit-snapshot", "version": 1, "checksum": exporters.checksum(body), "session": body}
    result = api.import_snapshot(doc, project)
    assert result.session.id == session_id
    return result.session


# -- list and latest -----------------------------------------------------


def test_list_newest_first_with_limit(api: Chit) -> None:
    first = api.create(title="one")
    second = api.create(title="two")
    third = api.create(title="three")
    api.append(first.id, "user", "bump")  # first is now the most recently updated
    listed = api.list()
    assert [s.id for s in listed] == [first.id, third.id, second.id]
    assert [s.title for s in listed] == ["one", "three", "two"]
    assert listed[0].messages == 1 and listed[0].turns == 1
    assert [s.id for s in api.list(limit=2)] == [first.id, third.id]
    assert api.list(limit=0) == []
    with pytest.raises(InvalidInput):
        api.list(limit=-1)


def test_list_per_project_and_all_projects(api: Chit, workdir: Path) -> None:
    here = api.create(title="here")
    there = api.create("other", title="there")
    assert [s.id for s in api.list()] == [here.id]
    assert [s.id for s in api.list("other")] == [there.id]
    everything = api.list(all_projects=True)
    assert [s.id for s in everything] == [there.id, here.id]
    assert {s.id: s.project_name for s in everything} == {here.id: workdir.name, there.id: "other"}
    with pytest.raises(NotFound):
        api.list("never-made")


def test_list_filters_by_tag_and_state(api: Chit) -> None:
    plain = api.create(title="plain")
    tagged = api.create(title="tagged", tags=["work"])
    api.set_state(plain.id, "running", turn_id="t")
    assert [s.id for s in api.list(tag="work")] == [tagged.id]
    assert [s.id for s in api.list(state="running")] == [plain.id]
    assert [s.id for s in api.list(state="idle")] == [tagged.id]
    assert api.list(tag="nope") == []
    with pytest.raises(InvalidInput):
        api.list(state="bogus")


def test_latest(api: Chit) -> None:
    assert api.latest() is None
    api.create(title="a")
    b = api.create(title="b")
    latest = api.latest()
    assert latest is not None and latest.id == b.id and latest.title == "b"


# -- find and resolve ----------------------------------------------------


def test_find_by_id_prefix(api: Chit) -> None:
    planted(api, ID_A1)
    planted(api, ID_A2)
    planted(api, ID_B)
    assert sorted(s.id for s in api.find("ABCD")) == [ID_A1, ID_A2]
    assert [s.id for s in api.find("abcd2")] == [ID_A2]
    assert api.find("ffff") == []
    assert api.find("not-hex!") == []


def test_resolve_every_ref_form(api: Chit) -> None:
    a1 = planted(api, ID_A1, key="deploy-notes")
    planted(api, ID_A2)
    b = planted(api, ID_B)
    assert api.resolve(ID_B).id == ID_B
    assert api.resolve(ID_B.upper()).id == ID_B
    assert api.resolve(f"ctx_{ID_B}").id == ID_B
    assert api.resolve(f"CTX_{ID_A2}").id == ID_A2
    assert api.resolve("abcd1").id == ID_A1
    assert api.resolve("ABCD2").id == ID_A2
    assert api.resolve("  bbbb  ").id == b.id
    assert api.resolve("deploy-notes").id == a1.id


def test_a_key_that_looks_like_an_id_prefix_names_its_session(api: Chit) -> None:
    """Keys before prefixes: a key of hex digits names its own session,
    not the one whose id it begins; the index and the files agree."""
    planted(api, ID_A1)
    keyed = planted(api, ID_B, key="abcd1")
    assert api.resolve("abcd1").id == keyed.id
    assert api.resolve("abcd11").id == ID_A1  # not the key: the prefix
    assert api.load("abcd1").id == keyed.id
    assert parts_of(api).queries.scan_key(api.project(), "abcd1") == keyed.id


def test_resolve_key_is_exact(api: Chit) -> None:
    planted(api, ID_A1, key="deploy-notes")
    with pytest.raises(NotFound):
        api.resolve("Deploy-Notes")
    with pytest.raises(NotFound):
        api.resolve("deploy")


def test_resolve_omitted_means_current(api: Chit) -> None:
    with pytest.raises(NotFound):
        api.resolve()
    s = api.create(title="now")
    assert api.resolve().id == s.id
    assert api.resolve(None).id == s.id


def test_resolve_ambiguous_lists_every_candidate(api: Chit) -> None:
    planted(api, ID_A1, title="First one")
    planted(api, ID_A2, title="Second one")
    planted(api, ID_B)
    with pytest.raises(Ambiguous) as caught:
        api.resolve("abcd")
    candidates = caught.value.details["candidates"]
    assert sorted(c["id"] for c in candidates) == [ID_A1, ID_A2]
    assert sorted(c["short_id"] for c in candidates) == ["abcd1111", "abcd2222"]
    assert sorted(c["title"] for c in candidates) == ["First one", "Second one"]
    message = caught.value.message
    for text in ("abcd1111", "abcd2222", "First one", "Second one", "ago"):
        assert text in message
    assert caught.value.to_dict()["code"] == "AMBIGUOUS"


def test_resolve_prefix_falls_back_to_other_projects(api: Chit) -> None:
    planted(api, ID_A1, project="elsewhere")
    api.create("third")
    assert api.resolve("abcd").id == ID_A1  # cwd project has no match: every project is searched
    # a named scope does not fall back
    with pytest.raises(NotFound):
        api.resolve("abcd", project="third")
    with pytest.raises(NotFound):
        Chit(api.layout.home, cwd=parts_of(api).ctx.cwd, project="third").resolve("abcd")


@pytest.mark.parametrize("ref", ["ffff", "zzz", "abcd-zz", "00000000-0000-4000-8000-000000000000"])
def test_resolve_no_match_is_not_found(api: Chit, ref: str) -> None:
    planted(api, ID_A1)
    with pytest.raises(NotFound):
        api.resolve(ref)


@pytest.mark.parametrize("ref", ["", "   ", "ctx_", "a\x00b"])
def test_resolve_empty_or_nul_ref_is_invalid(api: Chit, ref: str) -> None:
    planted(api, ID_A1)
    with pytest.raises(InvalidInput):
        api.resolve(ref)


# -- current session -----------------------------------------------------


def test_current_set_by_create_and_load_cleared_by_end(api: Chit, home: Path) -> None:
    assert api.current() is None
    assert api.end() is False
    a = api.create(title="a")
    assert api.current().id == a.id  # type: ignore[union-attr]
    b = api.create(title="b")
    assert api.current().id == b.id  # type: ignore[union-attr]
    assert api.load(a.short_id).id == a.id
    assert api.current().id == a.id  # type: ignore[union-attr]
    assert api.end() is True
    assert api.current() is None
    assert api.end() is False
    assert [s.id for s in api.list()] == [b.id, a.id]  # ending deletes nothing


def test_loading_the_current_session_again_writes_nothing(api: Chit) -> None:
    """current.json is replaced when the current session changes, not when
    the one already current is loaded again (a replace is a write, an
    fsync and a rename for nothing)."""
    a = api.create(title="a")
    b = api.create(title="b")
    path = api.layout.current_file(api.project().slug)
    api.load(a.id)
    written = path.read_bytes(), path.stat().st_ino
    api.load(a.short_id)
    api.set_current(a.id)
    assert (path.read_bytes(), path.stat().st_ino) == written
    api.load(b.id)
    assert api.current().id == b.id  # type: ignore[union-attr]
    path.write_bytes(b'{"id": "%s"}' % b.id.encode())  # no `since`: written again whole
    api.load(b.id)
    assert set(orjson.loads(path.read_bytes())) == {"id", "since"}


def test_current_is_per_project(api: Chit) -> None:
    here = api.create(title="here")
    there = api.create("other", title="there")
    assert api.current().id == here.id  # type: ignore[union-attr]
    assert api.current("other").id == there.id  # type: ignore[union-attr]


def test_create_without_make_current_keeps_current(api: Chit) -> None:
    a = api.create(title="a")
    api.create(title="b", make_current=False)
    assert api.current().id == a.id  # type: ignore[union-attr]


# -- search --------------------------------------------------------------


def test_search_casefold_unicode(api: Chit) -> None:
    s = api.create(messages=[{"role": "user", "content": "Wir wohnen in der Straße 5"}])
    hits = api.search("STRASSE")
    assert len(hits) == 1
    hit = hits[0]
    assert (hit.id, hit.role, hit.turn) == (s.id, "user", 0)
    assert hit.message_id == s.messages[0].id
    assert hit.snippet == "Wir wohnen in der Straße 5"
    assert [h.id for h in api.search("straße")] == [s.id]
    assert [h.id for h in api.search("WOHNEN")] == [s.id]


def test_search_snippet_window_and_ellipses(api: Chit) -> None:
    content = "x" * 50 + "\n" + "y" * 49 + "NEEDLE" + "z" * 200
    api.create(messages=[{"role": "assistant", "content": content}])
    (hit,) = api.search("needle")
    start = content.index("NEEDLE")
    expected = "…" + content[start - 30 : start - 30 + 120].replace("\n", " ") + "…"
    assert hit.snippet == expected
    assert len(hit.snippet) == 122
    assert hit.snippet[1:31] == "y" * 30 and hit.snippet[31:37] == "NEEDLE"
    # near the start: no leading ellipsis, newlines as spaces
    api.create(messages=[{"role": "user", "content": "ab\ncd TARGET ef"}])
    (near,) = api.search("target")
    assert near.snippet == "ab cd TARGET ef"


def test_search_titles_but_not_keys_ids_or_metadata(api: Chit) -> None:
    s = api.create(
        title="Quarterly Budget", key="secret-key", metadata={"hidden": "metavalue"},
        messages=[{"role": "user", "content": "plain words"}],
    )
    api.append(s.id, "assistant", "reply", invocation_id="invocationzzz", model="modelzzz", metadata={"note": "metazzz"})
    title_hits = api.search("quarterly")
    assert [(h.id, h.role, h.message_id, h.snippet) for h in title_hits] == [(s.id, None, None, "Quarterly Budget")]
    for query in ("role", "content", "secret-key", "metavalue", "invocationzzz", "modelzzz", "metazzz",
                  s.id[:8], s.messages[0].id[:8], "assistant", "session"):
        assert api.search(query) == [], query


def test_search_newest_first_limit_role_tag(api: Chit) -> None:
    old = api.create(tags=["keep"], messages=[{"role": "user", "content": "alpha one"}])
    new = api.create(messages=[{"role": "user", "content": "alpha two"}])
    api.append(new.id, "assistant", "alpha three")
    hits = api.search("alpha")
    assert [h.snippet for h in hits] == ["alpha three", "alpha two", "alpha one"]
    assert [h.snippet for h in api.search("alpha", limit=2)] == ["alpha three", "alpha two"]
    assert [h.snippet for h in api.search("alpha", role="assistant")] == ["alpha three"]
    assert [h.id for h in api.search("alpha", tag="keep")] == [old.id]
    assert api.search("alpha", limit=0) == []
    with pytest.raises(InvalidInput):
        api.search("alpha", role="wizard")
    with pytest.raises(InvalidInput):
        api.search("   ")


def test_search_covers_every_project_and_ignores_dropped(api: Chit) -> None:
    here = api.create(messages=[{"role": "user", "content": "shared term"}])
    there = api.create("other", messages=[{"role": "user", "content": "shared term too"}])
    assert sorted(h.id for h in api.search("shared")) == sorted([here.id, there.id])
    assert [h.id for h in api.search("shared", "other")] == [there.id]
    api.pop(there.id)
    assert [h.id for h in api.search("shared")] == [here.id]


def test_queries_write_nothing(api: Chit, home: Path) -> None:
    s = api.create(messages=[{"role": "user", "content": "abc"}])
    before = tree_digest(home)
    api.list(all_projects=True)
    api.search("abc")
    api.find(s.id[:4])
    api.resolve(s.id[:6])
    api.latest()
    api.current()
    assert tree_digest(home) == before
