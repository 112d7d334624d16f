"""The derived index (chit.index.db): after every kind of change, from this
process or another one, its answers equal those of reading every file;
deleted or corrupt, it is rebuilt; a concurrent writer never makes a
listing inconsistent. Real files in tmp_path, nothing mocked."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chit.store import codec
from chit.api import Chit
from chit.store.fold import fold
from chit.index.rowids import ts_key
from chit.index.search import second_at_or_below
from chit.model import Project, Session
from chit.service.facade import parts_of
from chit.service.queries import Queries
from chit.store.log import parse_log

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import corpus  # noqa: E402


def everything(api: Chit) -> list[Project]:
    return parts_of(api).ctx.projects.all()


def assert_agrees(api: Chit, *queries: str) -> None:
    """Listing and search from the index equal the file scan."""
    scope = everything(api)
    assert api.list(all_projects=True) == parts_of(api).queries.scan_summaries(scope)
    for query in queries:
        assert api.search(query, limit=None) == parts_of(api).queries.scan_search(scope, query.casefold())
        assert api.search(query, limit=3) == parts_of(api).queries.scan_search(scope, query.casefold(), limit=3)


def index_row(api: Chit, session_id: str) -> tuple[int, int, int, int]:
    """(size, offset, whole, messages) of a session's index row."""
    with sqlite3.connect(api.layout.index_file) as conn:
        row = conn.execute("SELECT size, offset, whole, messages FROM sessions WHERE id = ? AND trash = 0", (session_id,)).fetchone()
    return tuple(row)  # type: ignore[return-value]


def index_rows_of(api: Chit, session_id: str) -> int:
    with sqlite3.connect(api.layout.index_file) as conn:
        return int(conn.execute("SELECT count(*) FROM sessions WHERE id = ?", (session_id,)).fetchone()[0])


def session_file(api: Chit, session_id: str) -> Path:
    return api.layout.session_file(parts_of(api).ctx.locate(session_id).slug, session_id)


# -- every change --------------------------------------------------------


def test_every_change_is_followed(api: Chit) -> None:
    a = api.create(title="Alpha plans", tags=["work"], messages=[{"role": "system", "content": "Be brief."}])
    b = api.create("other", title=None)
    api.append(a.id, "user", "Where is the Straße to the harbour?")
    api.append(a.id, "assistant", "Past the STRASSE sign, then left.")
    api.append(b.id, "user", "harbour fees?")
    assert_agrees(api, "strasse", "harbour", "alpha")
    size, offset, whole, messages = index_row(api, a.id)
    assert (size, whole, messages) == (offset, 0, 3)

    api.append(a.id, "user", "And the ferry to the harbour island?")
    assert_agrees(api, "harbour", "ferry")
    assert index_row(api, a.id)[3] == 4  # read from the old offset: same row, one more message

    api.rename(a.id, "Harbour trip")
    api.tag(a.id, "travel", "work")
    api.untag(a.id, "work")
    api.set_state(b.id, "running")
    assert_agrees(api, "harbour", "trip")
    assert api.list(all_projects=True, state="running")[0].id == b.id
    assert [s.id for s in api.list(all_projects=True, tag="travel")] == [a.id]

    api.rewind(a.id, 0)
    assert_agrees(api, "ferry", "harbour")
    assert api.search("ferry") == []
    api.pop(a.id)
    assert_agrees(api, "strasse")
    api.rename(a.id, "")
    assert_agrees(api, "harbour")
    assert api.list(all_projects=True)[0].title in ("Where is the Straße to the harbour?", "harbour fees?")

    api.delete(b.id)
    assert_agrees(api, "harbour")
    assert api.trash(all_projects=True) == sorted(
        parts_of(api).queries.scan_summaries([parts_of(api).ctx.project_by_slug(s) for s in parts_of(api).ctx.store.trash_slugs()], trash=True),
        key=lambda s: s.deleted_at or "", reverse=True,
    )
    api.restore(b.id)
    assert_agrees(api, "harbour")

    before = index_row(api, a.id)
    report = api.compact(a.id)
    assert report.messages_dropped == 2
    assert_agrees(api, "strasse", "ferry", "harbour")
    assert index_row(api, a.id) != before  # re-read whole after the rewrite

    fork = api.fork(a.id, title="Forked harbour")
    assert_agrees(api, "strasse", "harbour")  # a fork repeats the same timestamps
    assert {h.id for h in api.search("strasse")} == {a.id, fork.id}


def test_keys_are_found_and_stay_unique(api: Chit, home: Path, workdir: Path) -> None:
    first = api.create(title="k", key="build-1")
    assert parts_of(api).queries.find_key(api.project(), "build-1") == first.id
    other = Chit(home, cwd=workdir)  # another process's view: its own connection
    second = other.create(title="k2", key="build-2")
    assert api.resolve("build-2").id == second.id
    with pytest.raises(Exception) as caught:
        api.create(title="dup", key="build-2")
    assert getattr(caught.value, "code", "") == "CONFLICT"
    assert parts_of(api).queries.find_key(api.project(), "nope") is None
    assert parts_of(api).queries.find_key(api.project(), "build-1") == parts_of(api).queries.scan_key(api.project(), "build-1")


def _outside_append(path: Path, data: bytes) -> None:
    """`data` appended to `path` by a process that is not chit (a shell's
    `cat`: a Python interpreter started for it costs ten times the CPU)."""
    subprocess.run(["sh", "-c", 'cat >> "$1"', "sh", str(path)], input=data, check=True)


def _message(text: str, ts: str = "2026-01-01T00:00:00.000000Z", role: str = "user") -> bytes:
    return codec.encode({"type": "message", "id": f"m-{abs(hash(text))}", "role": role, "content": text, "ts": ts})


def test_an_outside_process_appends_whole_and_torn_lines(api: Chit) -> None:
    s = api.create(title="watched")
    api.append(s.id, "user", "first words")
    path = session_file(api, s.id)
    assert_agrees(api, "words")
    _outside_append(path, _message("outside words", "2099-01-01T00:00:00.000000Z"))
    assert_agrees(api, "words", "outside")
    assert api.search("outside")[0].snippet == "outside words"
    half = _message("completed later", "2099-01-02T00:00:00.000000Z")
    _outside_append(path, half[:20])  # a writer is midway through its line
    assert_agrees(api, "completed", "words")
    assert api.search("completed") == []
    _outside_append(path, half[20:])
    assert_agrees(api, "completed")
    assert len(api.search("completed")) == 1
    api.append(s.id, "assistant", "after a torn line")  # chit terminates a torn line before appending
    _outside_append(path, b'{"type": "message", "broken')
    api.append(s.id, "assistant", "after another torn line")
    assert_agrees(api, "torn line", "words")


def test_odd_timestamps_and_a_bad_header_agree_with_the_scan(api: Chit) -> None:
    s = api.create(title="odd")
    path = session_file(api, s.id)
    for text, ts in [("odd one", "yesterday"), ("odd two", "2026-13-01T00:00:00.000000Z"), ("odd three", "2026-01-01T00:00:00Z")]:
        _outside_append(path, _message(text, ts))
    assert_agrees(api, "odd", "one")
    headless = api.create(title="headless")
    api.append(headless.id, "user", "odd but headless")
    target = session_file(api, headless.id)
    lines = target.read_bytes().split(b"\n", 1)
    target.write_bytes(b'{"garbage\n' + lines[1])
    assert_agrees(api, "odd", "headless")
    _outside_append(target, _message("odd and later"))
    assert_agrees(api, "odd")


def _write(path: Path, text: str, ts: str) -> None:
    with open(path, "ab") as handle:
        handle.write(_message(text, ts))


def test_messages_sharing_a_second_keep_the_order_of_the_scan(api: Chit) -> None:
    """Row ids are seconds: a burst in one second takes the ids of later
    seconds, and a later message then lands below it. Search still stops
    only where nothing newer can follow, at every limit."""
    late, burst, other = (session_file(api, api.create(title=None).id) for _ in range(3))
    _write(late, "tick at second three", "2026-03-01T10:00:03.000000Z")
    for n in range(6):  # one second, six messages: ids of seconds 1, 2, 4, 5, 6, 7
        _write(burst, f"tick burst {n}", f"2026-03-01T10:00:01.{(n * 7) % 6:06d}Z")
    _write(other, "tick at second two", "2026-03-01T10:00:02.500000Z")
    _write(other, "tick again at second two", "2026-03-01T10:00:02.500000Z")  # the same timestamp twice
    _write(late, "tick, before it all", "2026-03-01T09:59:59.999999Z")
    _write(late, "tick, odd", "sometime")
    scope = everything(api)
    every = parts_of(api).queries.scan_search(scope, "tick")
    assert len(every) == 11
    for limit in [None, *range(0, 13)]:
        assert api.search("tick", limit=limit) == every[:limit]
    with sqlite3.connect(api.layout.index_file) as conn:
        rows = conn.execute("SELECT rowid, ts FROM messages").fetchall()
    for rowid, ts in rows:  # a message's second is never above its row id
        key = ts_key(ts)
        assert (rowid < 0) if key is None else key <= rowid


def test_a_fork_of_a_packed_stretch_of_time_agrees(api: Chit) -> None:
    """Ten messages a second: their row ids run past their seconds, and a
    fork repeats every timestamp on top of them."""
    s = api.create(title=None)
    with open(session_file(api, s.id), "ab") as handle:
        for n in range(60):
            handle.write(_message(f"packed {n}", f"2026-03-01T10:00:{n // 10:02d}.{n % 10:06d}Z"))
    api.list()
    api.fork(s.id, title="copy")
    api.rewind(s.id, 3)
    every = parts_of(api).queries.scan_search(everything(api), "packed")
    assert len(every) == 64
    for limit in (None, 1, 5, 25, 70):
        assert api.search("packed", limit=limit) == every[:limit]


def test_a_file_rewritten_between_its_rows_and_its_text_is_read_again(api: Chit) -> None:
    s = api.create(title=None)
    with open(session_file(api, s.id), "ab") as handle:
        handle.write(b'{"type": "message", "broken\n')
    for n in range(3):
        api.append(s.id, "user", f"draft words {n}")
    api.rewind(s.id, 0)
    assert api.list()[0].messages == 1  # rows written, their text not yet
    api.compact(s.id)  # rewritten without the corrupt line: the rows' offsets point elsewhere
    with parts_of(api).ctx.index.writing() as rows:
        while rows.drain():
            pass
    assert index_rows_of(api, s.id) == 1 and index_row(api, s.id)[0] == -1  # doubted: to be read again whole
    assert_agrees(api, "draft", "words 0")
    assert [h.snippet for h in api.search("words")] == ["draft words 0"]


@given(st.one_of(
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
    st.sampled_from(["", "sometime", "2026-13-01T00:00:00.000000Z", "2026-01-01T00:00:00Z", "1969-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"]),
    st.text(alphabet="0123456789-:TZ.", max_size=28),
))
def test_the_last_second_at_or_before_a_timestamp(ts: str) -> None:
    from datetime import datetime, timedelta, timezone

    def canonical(second: int) -> str:
        return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    second = second_at_or_below(ts)
    assert second == -1 or canonical(second) <= ts
    if second + 1 <= ts_key("9999-12-31T23:59:59.000000Z"):  # type: ignore[operator]
        assert canonical(second + 1) > ts


# -- the index itself ------------------------------------------------------


def test_deleted_or_garbage_index_is_rebuilt(api: Chit) -> None:
    s = api.create(title="kept")
    api.append(s.id, "user", "survives any index damage")
    assert_agrees(api, "damage")
    index = api.layout.index_file
    parts_of(api).ctx.index.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    assert_agrees(api, "damage")
    assert index.exists()

    parts_of(api).ctx.index.close()
    index.write_bytes(os.urandom(8192))
    Path(f"{index}-wal").unlink(missing_ok=True)
    fresh = Chit(api.layout.home, cwd=parts_of(api).ctx.cwd)
    assert_agrees(fresh, "damage")
    with sqlite3.connect(index) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    parts_of(fresh).ctx.index.close()
    with sqlite3.connect(index) as conn:  # a valid database, but not ours
        conn.execute("PRAGMA user_version = 99")
    assert_agrees(Chit(api.layout.home, cwd=parts_of(api).ctx.cwd), "damage")


def test_opening_a_current_index_writes_nothing(api: Chit) -> None:
    """A command that only reads opens the index without a write
    transaction (setting auto_vacuum wrote the file's header each time)."""
    s = api.create(title="read only")
    api.append(s.id, "user", "hello")
    assert_agrees(api, "hello")
    index = api.layout.index_file
    parts_of(api).ctx.index.close()
    with sqlite3.connect(index) as keeper:  # held open: no close checkpoints the log away
        keeper.execute("SELECT count(*) FROM sessions").fetchone()
        wal = Path(f"{index}-wal")
        before = wal.stat().st_size if wal.exists() else 0
        fresh = Chit(api.layout.home, cwd=parts_of(api).ctx.cwd)
        assert fresh.get(s.id).messages[0].content == "hello"
        assert [found.id for found in fresh.list()] == [s.id]
        parts_of(fresh).ctx.index.close()
        assert (wal.stat().st_size if wal.exists() else 0) == before
        assert keeper.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental, as the new file was made


def test_damaged_pages_are_rebuilt(api: Chit) -> None:
    for n in range(30):
        api.append(api.create(title=f"s{n}").id, "user", f"page filler {n} " * 50)
    assert_agrees(api, "filler")
    parts_of(api).ctx.index.close()
    index = api.layout.index_file
    data = bytearray(index.read_bytes())
    data[4096 * 2 : 4096 * 6] = os.urandom(4096 * 4)  # keep the header, break pages
    index.write_bytes(bytes(data))
    assert_agrees(Chit(api.layout.home, cwd=parts_of(api).ctx.cwd), "filler", "page")


def test_an_empty_store_gets_no_index(home: Path, workdir: Path) -> None:
    api = Chit(home, cwd=workdir)
    assert api.list(all_projects=True) == [] and api.list() == []
    assert api.search("anything") == []
    assert not home.exists()


def test_index_files_are_private(api: Chit) -> None:
    api.append(api.create(title="p").id, "user", "secret text")
    api.search("secret")
    for path in api.layout.home.glob("index.*"):
        assert path.stat().st_mode & 0o777 == 0o600, path


# -- a corpus ------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Chit, corpus.Manifest, Queries]:
    """The index's Chit on a generated corpus nothing writes to after, and
    the file scans it must agree with, through another Chit that folds each
    project's files once: every scan of this corpus folds the same files to
    the same sessions, over and over (most of these tests' time)."""
    home = tmp_path_factory.mktemp("corpus") / "home"
    manifest = corpus.generate(home, 60, projects=4, seed=3, big=0)
    scans = parts_of(Chit(home, cwd=home))
    folded: dict[tuple[str, bool], list[Session]] = {}
    read = scans.ctx.sessions_in

    def sessions_in(project: Project, trash: bool = False) -> list[Session]:
        if (project.slug, trash) not in folded:
            folded[(project.slug, trash)] = read(project, trash)
        return folded[(project.slug, trash)]

    scans.ctx.sessions_in = sessions_in  # type: ignore[method-assign]
    return Chit(home, cwd=home), manifest, scans.queries


NEEDLE_QUERIES = [*corpus.NEEDLES, corpus.TITLE_NEEDLE, "XYLOPHONEQUARTZ", "zephyrmosaicy", "ka", "e", "lo mi", "def ", "error]", '"', "id=1"]


def test_corpus_listing_and_keys_equal_the_scan(small_corpus: tuple[Chit, corpus.Manifest, Queries]) -> None:
    api, manifest, scans = small_corpus
    scope = everything(api)
    assert len(api.list(all_projects=True)) == manifest.sessions
    assert api.list(all_projects=True) == scans.scan_summaries(scope)
    for project in scope:
        scanned = scans.scan_summaries([project])
        assert api.list(project.name) == scanned
        for tag in corpus.TAGS:
            assert api.list(project.name, tag=tag, limit=5) == [s for s in scanned if tag in s.tags][:5]
    assert api.list(all_projects=True, state="running") == []


@pytest.mark.parametrize("query", NEEDLE_QUERIES)
def test_corpus_search_equals_the_scan(small_corpus: tuple[Chit, corpus.Manifest, Queries], query: str) -> None:
    api, manifest, scans = small_corpus
    scope = everything(api)
    every = scans.scan_search(scope, query.casefold())
    assert api.search(query, limit=None) == every
    for limit in (1, 20):
        assert api.search(query, limit=limit) == every[:limit]
    assert api.search(query, role="assistant", limit=None) == scans.scan_search(scope, query.casefold(), role="assistant")
    assert api.search(query, tag="work", limit=7) == scans.scan_search(scope, query.casefold(), tag="work", limit=7)
    name = scope[0].name
    assert api.search(query, name, limit=None) == scans.scan_search(scope[:1], query.casefold())
    if query in corpus.NEEDLES:
        assert len({h.message_id for h in every}) == manifest.needles[query]


# -- incremental fold == fold ---------------------------------------------------

EVENTS = st.one_of(
    st.tuples(st.just("message"), st.sampled_from(["user", "assistant", "tool", "system"]), st.sampled_from(["hi", "Straße", "ok then"])),
    st.tuples(st.just("rewind"), st.integers(0, 6)),
    st.tuples(st.just("pop")),
    st.tuples(st.just("rename"), st.sampled_from(["", "Named", "Other name"])),
    st.tuples(st.just("tag"), st.lists(st.sampled_from("abc"), min_size=1, max_size=3)),
    st.tuples(st.just("untag"), st.lists(st.sampled_from("abc"), min_size=1, max_size=2)),
    st.tuples(st.just("state"), st.sampled_from(["idle", "running", "error"])),
    st.tuples(st.just("trash")),
    st.tuples(st.just("restore")),
    st.tuples(st.just("junk")),
)


def _record(event: tuple[object, ...], n: int) -> bytes:
    kind = event[0]
    ts = f"2026-02-01T00:00:{n % 60:02d}.{n:06d}Z"
    if kind == "message":
        return codec.encode({"type": "message", "id": f"m{n}", "role": event[1], "content": event[2], "ts": ts})
    if kind == "rewind":
        return codec.encode({"type": "rewind", "keep": event[1], "ts": ts})
    if kind == "rename":
        return codec.encode({"type": "rename", "title": event[1], "ts": ts})
    if kind in ("tag", "untag"):
        return codec.encode({"type": kind, "tags": event[1], "ts": ts})
    if kind == "state":
        return codec.encode({"type": "state", "state": event[1], "ts": ts})
    if kind == "junk":
        return b'{"type": "message", "role": 5}\n'
    return codec.encode({"type": kind, "ts": ts})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(EVENTS, max_size=25), cuts=st.sets(st.integers(0, 25), max_size=4))
def test_incremental_fold_equals_fold(api: Chit, events: list[tuple[object, ...]], cuts: set[int]) -> None:
    s = api.create(title=None)
    path = session_file(api, s.id)
    for n, event in enumerate(events):
        with open(path, "ab") as handle:
            handle.write(_record(event, n))
        if n in cuts:
            api.list()  # refresh from the offset reached so far
    project = api.project()
    log = parse_log(s.id, path.read_bytes(), project.key)
    expected = fold(log.header, log.events).summary(project.name, project.slug)
    assert [x for x in api.list() if x.id == s.id] == [expected]
    hits = api.search("ss", limit=None)
    assert hits == parts_of(api).queries.scan_search([project], "ss")


STAMPED = st.one_of(
    st.tuples(st.just("message"), st.sampled_from(["user", "assistant"]), st.sampled_from(["hi", "Straße", "ok then"])),
    st.tuples(st.just("rewind"), st.integers(-1, 12), st.integers(0, 30)),  # the message kept (-1: none), what it saw
    st.tuples(st.just("pop"), st.integers(0, 12)),
    st.tuples(st.just("undo"), st.integers(0, 30)),
    st.tuples(st.just("rename"), st.sampled_from(["", "Named", "Other name"])),
    st.tuples(st.just("tag"), st.lists(st.sampled_from("abc"), min_size=1, max_size=3)),
    st.tuples(st.just("untag"), st.lists(st.sampled_from("abc"), min_size=1, max_size=2)),
    st.tuples(st.just("state"), st.sampled_from(["idle", "running", "error"])),
    st.tuples(st.just("trash"), st.integers(0, 30)),
    st.tuples(st.just("restore"), st.integers(0, 30)),
    st.tuples(st.just("compact"), st.integers(0, 30)),
)
MACHINES = ("a" * 16, "b" * 16)


def _stamp(n: int) -> str:
    return f"{1_790_000_000_000 + n:013d}.{n % 7:06d}"


def _stamped_record(event: tuple[object, ...], n: int) -> bytes:
    """Event n of a format-2 log written by two machines; references name
    events and messages by number (some never written: a compacted copy)."""
    kind = event[0]
    record: dict[str, object] = {"type": kind, "hlc": _stamp(n), "by": MACHINES[n % 2], "id": f"e{n}",
                                 "ts": f"2026-02-01T00:00:{n % 60:02d}.{n:06d}Z"}
    seen = {MACHINES[0]: _stamp(int(event[-1])), MACHINES[1]: _stamp(int(event[-1]) - 3)} if isinstance(event[-1], int) else {}
    if kind == "message":
        record.update(id=f"m{n}", role=event[1], content=event[2])
    elif kind == "rewind":
        keep = int(event[1])  # type: ignore[call-overload]
        record.update(keep_id=f"m{keep}" if keep >= 0 else None, seen=seen, change=f"c{n}")
    elif kind == "pop":
        record.update(hides=f"m{event[1]}", seen=seen, change=f"c{n}")
    elif kind == "undo":
        record.update(type="rewind", undo=f"c{event[1]}")
    elif kind == "rename":
        record.update(title=event[1])
    elif kind in ("tag", "untag"):
        record.update(tags=event[1])
    elif kind == "state":
        record.update(state=event[1])
    elif kind in ("trash", "compact"):
        record.update(seen=seen)
    elif kind == "restore":
        record.update(trash=f"e{event[1]}", seen={})
    return codec.encode(record)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(STAMPED, max_size=30), cuts=st.sets(st.integers(0, 40), max_size=5),
       shuffle=st.booleans(), again=st.sets(st.integers(0, 30), max_size=4), seed=st.integers(0, 1000))
def test_incremental_fold_equals_set_fold_of_stamped_lines(
    api: Chit, events: list[tuple[object, ...]], cuts: set[int], shuffle: bool, again: set[int], seed: int
) -> None:
    """Format 2: lines of two machines, written in stamp order or not (a
    union merge appends older stamps), some twice; refreshed at random
    points. The index always equals the fold of the set of lines."""
    import random

    s = api.create(title=None)
    path = session_file(api, s.id)
    lines = [_stamped_record(event, n) for n, event in enumerate(events)]
    lines += [lines[n] for n in sorted(again) if n < len(lines)]
    if shuffle:
        random.Random(seed).shuffle(lines)
    for n, line in enumerate(lines):
        with open(path, "ab") as handle:
            handle.write(line)
        if n in cuts:
            api.list()  # refresh from the offset reached so far
    project = api.project()
    log = parse_log(s.id, path.read_bytes(), project.key)
    expected = fold(log.header, log.events).summary(project.name, project.slug)
    assert [x for x in api.list() if x.id == s.id] == [expected]
    hits = api.search("ss", limit=None)
    assert hits == parts_of(api).queries.scan_search([project], "ss")


# -- concurrency -------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from chit.api import Chit
    home, cwd, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    api = Chit(home, cwd=cwd, durable=False)
    ids = [api.create(title=f"writer {n}").id for n in range(3)]
    print("ready", flush=True)
    for n in range(count):
        api.append(ids[n % 3], "user", f"message {n} from the writer")
        if n % 40 == 0:
            api.create(title=f"extra {n}")
    """
)


def test_listing_while_another_process_writes(api: Chit, home: Path, workdir: Path) -> None:
    api.create(title="before")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(home), str(workdir), "400"], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    seen: dict[str, int] = {}
    listings = 0
    while proc.poll() is None or listings < 3:
        listing = api.list(limit=None)
        listings += 1
        for summary in listing:
            assert summary.messages >= seen.get(summary.id, 0), "a listing went back in time"
            seen[summary.id] = summary.messages
        assert [s.updated_at for s in listing] == sorted((s.updated_at for s in listing), reverse=True)
    assert proc.wait() == 0
    assert api.list(limit=None) == parts_of(api).queries.scan_summaries([api.project()])
    assert sum(s.messages for s in api.list(limit=None)) == 400
    assert len(api.search("from the writer", limit=None)) == 400
    assert listings >= 3


def test_two_processes_refreshing_at_once(api: Chit, home: Path, workdir: Path) -> None:
    for n in range(40):
        api.append(api.create(title=f"s{n}").id, "user", f"shared words {n}")
    script = "import sys\nfrom chit.api import Chit\napi = Chit(sys.argv[1], cwd=sys.argv[2])\nprint(len(api.search('shared', limit=None)))"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(home), str(workdir)], stdout=subprocess.PIPE) for _ in range(3)]
    outs = [p.communicate()[0] for p in procs]
    assert outs == [b"40\n"] * 3
    assert_agrees(api, "shared")
    assert orjson.loads(orjson.dumps([s.as_dict() for s in api.list(limit=None)]))
