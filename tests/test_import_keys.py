"""The key checks of an import's creates (`chit.service.creating`): their
work grows with the sessions imported, not with their square, and they
keep every key unique in its project.

The work is counted, not timed: the files the index's snapshots stat
(each refresh of a project whose directory changed stats every file of
it). Checking each new session's key by itself refreshed the project
after each create, since the create before changed its directory: about
M²/2 files stat'd for M sessions, i.e. M/2 per session.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

import chit.index.db
from chit.api import Chit
from chit.errors import Conflict
from chit.service.creating import Creating
from chit.service.facade import parts_of
from importer_sources import fixture


def export_of(count: int, path: Path) -> Path:
    """The real ChatGPT export's conversations, repeated with fresh ids up to `count`."""
    conversations = json.loads(gzip.decompress(fixture("chatgpt-my_chat_gpt", "conversations.json.gz").read_bytes()))
    made: list[dict[str, Any]] = []
    while len(made) < count:
        for conversation in conversations[: count - len(made)]:
            fresh = str(uuid.uuid4())
            made.append({**conversation, "id": fresh, "conversation_id": fresh})
    path.write_text(json.dumps(made))
    return path


def files_stat_per_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int) -> float:
    stat_by_snapshots = [0]
    real = chit.index.db.snapshot

    def counted(*args: Any, **kwargs: Any) -> Any:
        snap, dfd = real(*args, **kwargs)
        stat_by_snapshots[0] += len(snap.files)
        return snap, dfd

    export = export_of(count, tmp_path / f"conversations-{count}.json")
    (tmp_path / "proj").mkdir(exist_ok=True)
    api = Chit(tmp_path / f"home-{count}", cwd=tmp_path / "proj", durable=False)
    with monkeypatch.context() as patched:
        patched.setattr(chit.index.db, "snapshot", counted)
        report = api.import_from("chatgpt", export)
    assert (report.imported, report.problems) == (count, [])
    assert len(api.list(all_projects=True)) == count
    return stat_by_snapshots[0] / count


def test_an_import_stats_a_few_files_per_session_whatever_its_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = files_stat_per_session(tmp_path, monkeypatch, 32)
    large = files_stat_per_session(tmp_path, monkeypatch, 128)
    # a refresh per create stats 16.5 files per session of 32, 64.5 of 128
    assert small <= 4 and large <= 4, (small, large)


@pytest.fixture
def keyed(home: Path, workdir: Path) -> Chit:
    return Chit(home, cwd=workdir, durable=False)


def test_a_hold_refuses_a_key_the_project_has(keyed: Chit) -> None:
    first = keyed.create(key="chatgpt:one")
    parts = parts_of(keyed)
    scope = parts.ctx.project(None)
    with Creating(parts.ctx, scope) as creating:
        made = creating.create(str(uuid.uuid4()), "two", "chatgpt:two", {}, [])
        with pytest.raises(Conflict, match="already has a session with key 'chatgpt:one'"):
            creating.create(str(uuid.uuid4()), "one again", "chatgpt:one", {}, [])
        with pytest.raises(Conflict, match="already has a session with key 'chatgpt:two'"):
            creating.create(str(uuid.uuid4()), "two again", "chatgpt:two", {}, [])
        assert (creating.holder("chatgpt:one"), creating.holder("chatgpt:two")) == (first.id, made)
    assert sorted(s.key or "" for s in keyed.list()) == ["chatgpt:one", "chatgpt:two"]
    assert parts.queries.find_key(scope, "chatgpt:two") == made


def test_a_file_copied_in_during_a_hold_is_seen_by_the_next(keyed: Chit, home: Path) -> None:
    """Another program (a file sync) takes no lock: what it puts in the
    project's directory is seen when the keys are next read."""
    parts = parts_of(keyed)
    scope = parts.ctx.project(None)
    elsewhere = keyed.create(project="elsewhere", key="chatgpt:copied")
    with Creating(parts.ctx, scope) as creating:
        creating.create(str(uuid.uuid4()), "first", "chatgpt:first", {}, [])
        sessions_dir = parts.ctx.layout.sessions_dir(scope.slug)
        shutil.copy(parts.ctx.layout.sessions_dir(parts.ctx.project("elsewhere").slug) / f"{elsewhere.id}.jsonl", sessions_dir)
        creating.close()  # the hold ends (as after HOLD_FOR seconds or a quarter of the project)
        with pytest.raises(Conflict, match="already has a session with key 'chatgpt:copied'"):
            creating.create(str(uuid.uuid4()), "copied", "chatgpt:copied", {}, [])
        assert creating.holder("chatgpt:copied") == elsewhere.id


def test_a_keyed_create_waits_for_a_hold(keyed: Chit, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """While an import holds the project's lock, no other chit creates a
    keyed session there: the key check could not see it."""
    parts = parts_of(keyed)
    scope = parts.ctx.project(None)
    with Creating(parts.ctx, scope) as creating:
        creating.create(str(uuid.uuid4()), "held", "chatgpt:held", {}, [])
        refused = cli("new", "--key", "chatgpt:held", env={"CHIT_LOCK_TIMEOUT": "0.2"})
        assert refused.code == 6 and "locked by another chit process" in refused.err, refused.err
    again = cli("new", "--key", "chatgpt:held")
    assert again.code != 0 and "already has a session with key 'chatgpt:held'" in again.err, again.err
    assert [s.key for s in keyed.list()] == ["chatgpt:held"]


def test_two_imports_at_once_create_each_key_once(tmp_path: Path) -> None:
    """Two imports of one export at once, each with its own `Chit` (its own
    lock files: `flock` excludes them as it does two processes): every
    conversation is created once, by one of them; the other reports it
    imported by another process, or finds it unchanged."""
    export = export_of(96, tmp_path / "conversations.json")
    (tmp_path / "proj").mkdir()
    start = threading.Barrier(2)
    reports: list[Any] = [None, None]

    def run(which: int) -> None:
        api = Chit(tmp_path / "home", cwd=tmp_path / "proj", durable=False)
        start.wait()
        reports[which] = api.import_from("chatgpt", export)

    threads = [threading.Thread(target=run, args=(which,)) for which in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.problems for r in reports] == [[], []]
    assert sum(r.imported for r in reports) == 96
    assert all(set(r.skipped_reasons) <= {"imported by another process", "unchanged"} for r in reports)
    keys = [s.key for s in Chit(tmp_path / "home", cwd=tmp_path / "proj", durable=False).list(all_projects=True)]
    assert len(keys) == len(set(keys)) == 96


def test_the_keys_of_a_source_come_from_a_current_index_as_from_the_files(keyed: Chit, monkeypatch: pytest.MonkeyPatch) -> None:
    """An import finds where each key of its source is (live projects
    first, then the trash) from the index's rows of every directory no
    create, removal or replacement changed since its last refresh, reading
    no header of them; a directory changed since is read from its files."""
    from chit.service.import_plan import _file_keys, import_keys

    parts = parts_of(keyed)
    ctx = parts.ctx
    here = keyed.create(key="codex:here")
    there = keyed.create(project="there", key="codex:there")
    keyed.create(project="there", key="chatgpt:other")
    gone = keyed.create(project="there", key="codex:gone")
    keyed.delete(gone.id)
    twice = keyed.create(project="there", key="codex:here")  # a key in two projects: the first project's, by slug
    dirs = [(slug, False) for slug in ctx.store.project_slugs()] + [(slug, True) for slug in ctx.store.trash_slugs()]
    expected = {}
    for slug, trash in dirs:
        for key, session_id in _file_keys(ctx.store, slug, trash):
            if isinstance(key, str) and key.startswith("codex:"):
                expected.setdefault(key, (slug, session_id, trash))
    first = min(ctx.project(None).slug, ctx.project("there").slug)
    assert expected["codex:here"] == (first, here.id if first == ctx.project(None).slug else twice.id, False)
    assert expected["codex:gone"][1:] == (gone.id, True) and expected["codex:there"][1] == there.id

    headers = [0]
    for name in ("read_header", "read"):
        real = getattr(ctx.store, name)

        def counted(*args: Any, real: Any = real, **kwargs: Any) -> Any:
            headers[0] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(ctx.store, name, counted)
    assert import_keys(ctx, "codex") == expected  # the directories are too new for their mtimes to vouch: files read
    assert headers[0] == 5
    long_ago = time.time() - 60
    for slug, trash in dirs:
        os.utime(ctx.layout.trash_dir(slug) if trash else ctx.layout.sessions_dir(slug), (long_ago, long_ago))
    ctx.indexed(lambda index: index.refresh(dirs))
    headers[0] = 0
    assert import_keys(ctx, "codex") == expected
    assert headers[0] == 0
    # a file another program copies into a project is read from its files
    monkeypatch.undo()
    copied = keyed.create(project="zz-last", key="codex:copied")  # its own project sorts last
    shutil.copy(ctx.layout.session_file(ctx.project("zz-last").slug, copied.id), ctx.layout.sessions_dir(first))
    assert import_keys(ctx, "codex")["codex:copied"] == (first, copied.id, False)
