"""Soak: a child process runs a random mix of every write operation chit
has and is killed with SIGKILL at a random moment, round after round.

The operations: append, compact, rewind, pop, fork, rename, tag, import of a
snapshot, rm, restore, projects mv, gc, doctor --repair and index refreshes
(a listing and a search). After every kill this test checks, before any
repair:
- the index answers listings and searches exactly as a fresh scan of the
  files does (live and trash, every project);
- every session file loads;
- every message whose append returned is in some session file, unless the
  child had announced that a rewind or pop was about to hide it (compaction
  may then forget it, as documented);
and after `doctor --repair`, doctor reports nothing.

A move of the project killed part way is finished by running the same move
again, as a user would: the child writes its intent before moving and the
next child repeats it first.

The default run makes 60 rounds; CHIT_LONG=1 makes 600 (docs/reliability.md).
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from chit.api import Chit
from chit.errors import InvalidInput
from chit.store.files import TEMP_GRACE
from chit.service.facade import parts_of
from scans import Kept, each_file_read_once

LONG = bool(os.environ.get("CHIT_LONG"))
ROUNDS = 600 if LONG else 60
QUERIES = ("soak", "m1", "zq", "Straße", "fork")


def _say(fd: int, *words: str) -> None:
    os.write(fd, (" ".join(words) + "\n").encode())


def _put(path: Path, text: str) -> None:
    """Write the child's record whole or not at all (it may be killed at any moment)."""
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(text)
    os.replace(temp, path)


def _where(base: Path) -> tuple[Path, Path]:
    """(the project's directory now, the other one), from the child's record."""
    a, b = base / "a", base / "b"
    state = base / "at"
    here = b if state.exists() and state.read_text() == "b" else a
    return here, (a if here == b else b)


def _finish_move(api: Chit, base: Path) -> None:
    intent = base / "moving"
    if intent.exists():
        old, new = intent.read_text().split("\n")
        try:
            api.move_project(old, Path(new))
        except InvalidInput as exc:  # the killed move had finished: nothing left to move
            if "already at" not in str(exc):
                raise
        _put(base / "at", Path(new).name)
        intent.unlink()


def child(home: Path, base: Path, out: int, seed: int) -> None:
    """Operate until killed; acknowledge appends and announce hides on `out`."""
    rng = random.Random(seed)
    here, there = _where(base)
    api = Chit(home, cwd=here)
    _finish_move(api, base)
    here, there = _where(base)
    api = Chit(home, cwd=here)
    seq = seed * 100_000
    while True:
        seq += 1
        live = [s.id for s in api.list(all_projects=True)]
        if not live:
            trashed = [s.id for s in api.trash(all_projects=True)]
            if trashed:
                api.restore(rng.choice(trashed))
            else:
                api.create(title=f"soak {seq}")
            continue
        sid = rng.choice(live)
        roll = rng.random()
        if roll < 0.45:
            role = "user" if rng.random() < 0.5 else "assistant"
            size = 40 if rng.random() < 0.95 else 200_000
            text = f"m{seq} soak Straße " + "ü" * (size // 10) + "x" * size
            message = api.append(sid, role, text)
            _say(out, "ack", message.id)
        elif roll < 0.50:
            api.compact(sid)
        elif roll < 0.55:
            session = api.get(sid)
            starts = [i for i, m in enumerate(session.messages) if m.role == "user"]
            if len(starts) >= 2:
                keep = rng.randrange(len(starts) - 1)
                for message in session.messages[starts[keep + 1]:]:
                    _say(out, "hide", message.id)
                api.rewind(sid, keep)
        elif roll < 0.60:
            session = api.get(sid)
            if session.messages:
                _say(out, "hide", session.messages[-1].id)
                api.pop(sid)
        elif roll < 0.64:
            api.fork(sid, title=f"fork {seq}")
        elif roll < 0.68:
            api.rename(sid, f"renamed {seq}")
        elif roll < 0.71:
            api.tag(sid, f"t{seq % 4}")
        elif roll < 0.74:
            api.import_snapshot(api.export_snapshot(sid), new_id_always=True)
        elif roll < 0.78:
            api.delete(sid)
        elif roll < 0.82:
            trashed = [s.id for s in api.trash(all_projects=True)]
            if trashed:
                api.restore(rng.choice(trashed))
        elif roll < 0.84:
            _put(base / "moving", f"{here}\n{there}")
            _finish_move(api, base)
            here, there = there, here
            api = Chit(home, cwd=here)
        elif roll < 0.86:
            api.cleanup(0.0, all_projects=True)
        elif roll < 0.90:
            api.doctor(repair=True)
        else:
            api.list(all_projects=True)
            api.search(rng.choice(QUERIES), limit=None)


def _all_records(home: Path, seen: dict[Path, tuple[bytes, set[str]]]) -> dict[str, set[str]]:
    """session id -> ids of the message lines in its files (live and trash).
    `seen` keeps each file's bytes and ids from round to round: a file whose
    bytes are those of an earlier round is not parsed again."""
    found: dict[str, set[str]] = {}
    for path in home.rglob("*.jsonl"):
        data = path.read_bytes()
        before = seen.get(path)
        if before is None or before[0] != data:
            before = seen[path] = (data, _message_ids(data))
        found.setdefault(path.stem, set()).update(before[1])
    return found


def _message_ids(data: bytes) -> set[str]:
    ids = set()
    for line in data.splitlines():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("type") == "message":
            ids.add(str(record.get("id")))
    return ids


def _same(found: list[Any], scanned: list[Any], what: str) -> None:
    """The index's answer equals the scan's; else name what differs. A
    session under two projects (a move cut short) is one row in each, in
    any order."""
    if found == scanned:
        return
    mine, theirs = {(s.id, s.project_name): s for s in found}, {(s.id, s.project_name): s for s in scanned}
    for key in sorted(set(mine) | set(theirs)):
        a, b = mine.get(key), theirs.get(key)
        if a != b:
            fields = [f for f in (a or b).__dataclass_fields__ if getattr(a, f, None) != getattr(b, f, None)] if a and b else "missing"
            raise AssertionError(f"{what}: {key[0][:8]} differs from the files in {fields}: index {a} / files {b}")
    if [(s.updated_at, s.id) for s in found] == [(s.updated_at, s.id) for s in scanned]:
        return
    raise AssertionError(f"{what}: same rows, another order")


def _check_index(api: Chit, home: Path, kept: Kept) -> None:
    """The index answers as a scan of the files does, and every session file
    loads (or was loaded, byte for byte as it is, in an earlier round)."""
    scope = parts_of(api).ctx.projects.all()
    listed, trashed = api.list(all_projects=True), api.trash(all_projects=True)
    found = {query: api.search(query, limit=None) for query in QUERIES}
    with each_file_read_once(api, kept):  # the scans below share one read of each file, none folded again unchanged (tests/scans.py)
        _same(listed, parts_of(api).queries.scan_summaries(scope), "ls")
        by_id = lambda s: s.id  # noqa: E731
        # a trashed file without a trash event (a restore cut short) is dated by its ctime on both sides
        scanned_trash = [parts_of(api).maintenance._with_trash_age(s) for s in parts_of(api).queries.scan_summaries(scope, trash=True)]
        _same(sorted(trashed, key=by_id), sorted(scanned_trash, key=by_id), "trash")
        for query in QUERIES:
            assert found[query] == parts_of(api).queries.scan_search(scope, query.casefold()), f"search {query!r}"
        for path in home.rglob("*.jsonl"):  # every session file loads (the scans folded most of them already)
            trash = "trash" in path.relative_to(home).parts
            parts_of(api).ctx.read_session(parts_of(api).ctx.locate(path.stem, trash=trash), path.stem, trash=trash)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_mixed_sigkills_over_every_write_lose_nothing_and_keep_the_index_true(home: Path, tmp_path: Path) -> None:
    base = tmp_path / "work"
    for name in ("a", "b"):
        (base / name / ".git").mkdir(parents=True)
    rng = random.Random(int(os.environ.get("CHIT_SOAK_SEED", "20261206")))
    acked: set[str] = set()
    hidden: set[str] = set()
    kills = 0
    kept = Kept()  # what earlier rounds folded and parsed, for the files that have not changed since
    seen: dict[Path, tuple[bytes, set[str]]] = {}
    for round_no in range(ROUNDS):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read_fd)
                child(home, base, write_fd, round_no + 1)
            except BaseException as exc:  # reported to the parent, which fails the test
                _say(write_fd, "error", repr(exc).replace("\n", " "))
            finally:
                os._exit(1)
        os.close(write_fd)
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        kills += 1
        with os.fdopen(read_fd, "rb") as pipe:
            for line in pipe.read().decode().splitlines():
                kind, _, ident = line.partition(" ")
                assert kind != "error", f"round {round_no}: the child failed: {ident}"
                (acked if kind == "ack" else hidden).add(ident)
        assert os.WIFSIGNALED(status), f"round {round_no}: the child stopped by itself (status {status})"

        here, _ = _where(base)
        api = Chit(home, cwd=here)
        _check_index(api, home, kept)
        files = _all_records(home, seen)
        if not (base / "moving").exists():
            holding = {p.slug for p in parts_of(api).ctx.projects.all() if parts_of(api).ctx.store.session_ids(p.slug) or parts_of(api).ctx.store.session_ids(p.slug, trash=True)}
            assert len(holding) <= 1, f"round {round_no}: sessions split between projects {sorted(holding)}"
        present = set().union(*files.values()) if files else set()
        lost = acked - present - hidden
        assert not lost, f"round {round_no}: acknowledged messages lost: {sorted(lost)[:5]}"
        if round_no % 10 == 9:
            api.doctor(repair=True)
            after = api.doctor().findings
            if after:  # a temp file or project directory this young may still be its writer's
                time.sleep(TEMP_GRACE)
                api.doctor(repair=True)
                after = api.doctor().findings
            assert after == [], f"round {round_no}: doctor not clean after --repair: {after}"
    print(f"\nsoak: {kills} kills, {len(acked)} acknowledged messages, {len(hidden)} hidden on purpose, 0 lost")
