"""A pop or rewind appended after other events since the index's last read
is applied to its rows like an append (`chit.index.rows`): the index reads
the file whole only when the pop or rewind would hide other than the last
live messages (one it did not see, or not the last one), and then folds it
as a set. Either way the listing and the search equal the fold of the file.
Stamped lines are written by hand here, as two machines would write them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chit.api import Chit
from chit.index import rows as rows_module
from chit.service.facade import parts_of
from chit.store import codec
from chit.store.fold import fold
from chit.store.log import parse_log
from test_index_writes import message_rows

A, B = "a" * 16, "b" * 16


def _stamp(n: int) -> str:
    return f"{1_790_000_000_000 + n:013d}.000000"


def message(n: int, by: str = A, role: str = "user") -> dict[str, Any]:
    return {"type": "message", "hlc": _stamp(n), "by": by, "id": f"m{n}", "role": role, "content": f"message {n} ss",
            "ts": f"2026-02-01T00:00:{n:02d}.000000Z"}


def rewind(n: int, keep: int | None, seen: dict[str, int]) -> dict[str, Any]:
    return {"type": "rewind", "hlc": _stamp(n), "by": A, "id": f"e{n}", "keep_id": None if keep is None else f"m{keep}",
            "seen": {by: _stamp(at) for by, at in seen.items()}, "change": f"c{n}", "ts": f"2026-02-01T00:00:{n:02d}.000000Z"}


def pop(n: int, hides: int, seen: dict[str, int]) -> dict[str, Any]:
    return {"type": "pop", "hlc": _stamp(n), "by": A, "id": f"e{n}", "hides": f"m{hides}",
            "seen": {by: _stamp(at) for by, at in seen.items()}, "change": f"c{n}", "ts": f"2026-02-01T00:00:{n:02d}.000000Z"}


def rename(n: int) -> dict[str, Any]:
    return {"type": "rename", "hlc": _stamp(n), "by": A, "id": f"e{n}", "title": f"title {n}", "ts": f"2026-02-01T00:00:{n:02d}.000000Z"}


BEFORE = [message(0), message(1, role="assistant"), message(2), message(3, role="assistant")]
CASES = {  # what is appended after the index read BEFORE; whether the index must read the file whole
    "messages then a rewind": ([message(4), message(5, role="assistant"), rewind(6, 2, {A: 5})], False),
    "messages then a pop": ([message(4), message(5, role="assistant"), pop(6, 5, {A: 5})], False),
    "rewinds and pops among messages": (
        [message(4), rewind(5, 1, {A: 4}), rename(6), message(7), message(8), pop(9, 8, {A: 8}), message(10), rewind(11, None, {A: 10})],
        False,
    ),
    "a rewind that did not see a message": ([message(4), message(5, B), rewind(6, 2, {A: 4})], True),
    "a pop of a message not the last": ([message(4), message(5), pop(6, 4, {A: 5})], True),
    "a rewind to a message it hid": ([message(4), pop(5, 4, {A: 4}), message(6), rewind(7, 4, {A: 6})], True),
    "one id on two appended lines": ([message(4), {**message(5), "id": "m4"}], True),  # the set fold keeps one
}


@pytest.mark.parametrize("case", CASES)
def test_a_pop_or_rewind_after_other_appends_is_applied_alone_when_it_hides_the_last_messages(
    api: Chit, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    appended, read_whole = CASES[case]
    session = api.create(title=None)
    path = api.layout.session_file(api.project().slug, session.id)
    with open(path, "ab") as handle:
        handle.write(b"".join(codec.encode(event) for event in BEFORE))
    api.list()
    whole_reads = []
    header = rows_module._header

    def watched(*args: Any) -> Any:
        whole_reads.append(args[2])
        return header(*args)

    monkeypatch.setattr(rows_module, "_header", watched)  # called once for each file read whole
    with open(path, "ab") as handle:
        handle.write(b"".join(codec.encode(event) for event in appended))
    project = api.project()
    log = parse_log(session.id, path.read_bytes(), project.key)
    expected = fold(log.header, log.events).summary(project.name, project.slug)
    assert [s for s in api.list() if s.id == session.id] == [expected]
    assert whole_reads == ([session.id] if read_whole else [])
    assert api.search("ss", limit=None) == parts_of(api).queries.scan_search([project], "ss")


def test_an_append_then_a_rewind_through_the_api_reads_only_what_was_appended(api: Chit, monkeypatch: pytest.MonkeyPatch) -> None:
    session = api.create(title="long", messages=[{"role": "user" if n % 2 == 0 else "assistant", "content": f"m{n}"} for n in range(40)])
    api.list()
    whole_reads: list[Path] = []
    header = rows_module._header
    monkeypatch.setattr(rows_module, "_header", lambda *args: whole_reads.append(args[2]) or header(*args))
    api.append(session.id, "user", "one more")
    api.rewind(session.id, 15)
    api.append(session.id, "user", "again")
    api.pop(session.id)
    scope = [api.project()]
    assert api.list() == parts_of(api).queries.scan_summaries(scope)
    assert whole_reads == []
    assert api.search("m1", limit=None) == parts_of(api).queries.scan_search(scope, "m1")


def test_a_file_read_whole_keeps_the_rows_and_text_of_its_unchanged_start(api: Chit, monkeypatch: pytest.MonkeyPatch) -> None:
    """An undo brings messages back among the others: the file is read
    whole, and the rows of the messages before them stay as they were,
    with their text (before, every row and its text was written again)."""
    session = api.create(title="long", messages=[{"role": "user" if n % 2 == 0 else "assistant", "content": f"m{n}"} for n in range(40)])
    api.search("m1")  # the rows and their text
    before = message_rows(api.layout.home, session.id, "m.rowid, m.mid, m.fts")
    assert len(before) == 40 and all(fts == 1 for _, _, fts in before)
    api.rewind(session.id, 15)  # keeps 32 messages
    api.append(session.id, "user", "after the rewind")
    api.undo(session.id)
    whole_reads: list[Path] = []
    header = rows_module._header
    monkeypatch.setattr(rows_module, "_header", lambda *args: whole_reads.append(args[2]) or header(*args))
    scope = [api.project()]
    assert api.list() == parts_of(api).queries.scan_summaries(scope)
    assert whole_reads == [session.id]
    after = message_rows(api.layout.home, session.id, "m.rowid, m.mid, m.fts")
    assert after[:32] == before[:32]
    assert [mid for _, mid, _ in after] == [m.id for m in api.get(session.id).messages]
    assert api.search("m3", limit=None) == parts_of(api).queries.scan_search(scope, "m3")
    assert api.search("after", limit=None) == parts_of(api).queries.scan_search(scope, "after")


def test_a_listed_stack_finds_the_first_live_place_of_an_id() -> None:
    """`ListStack.after` (a whole read's rewinds by id) answers as a walk of
    its live messages does, through pushes, repeated ids and cuts back."""
    import random

    from chit.index.stacks import ListStack

    rng = random.Random(7)
    for _ in range(200):
        stack = ListStack()
        for _ in range(60):
            if rng.random() < 0.6:
                stack.push({"id": f"m{rng.randrange(12)}"}, None)
            elif rng.random() < 0.5:
                stack.truncate(rng.randrange(len(stack.live) + 1))
            asked = rng.choice([None, *(f"m{n}" for n in range(12))])
            walked = 0 if asked is None else next((place + 1 for place, live in enumerate(stack.live) if live[0]["id"] == asked), len(stack.live))
            assert stack.after(asked) == walked
