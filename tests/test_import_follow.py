"""A grown source file is followed: only its new lines are read, and the
session they give is the one a whole import of the file gives.

Every real transcript of tests/data is cut at many line boundaries: the
first part is imported, the rest appended to the file, and the import run
again; the session must then equal, field for field, the session a fresh
home imports from the whole file. Either path may be taken at a cut (a
follow gives way to a whole read when the new lines could change what came
before); both must agree, and the follow must be taken at most cuts.
The homes write without fsync (`durable=False`): what is compared is what
an import decides, not what a crash leaves. Each starts as a copy of one
home holding only an empty index (`fresh_home`: an index's tables cost
more to create than most cuts' imports).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chit.api import Chit
from chit.model import Session
from chit.service.facade import parts_of
from conftest import fresh_home
from importer_sources import fixture

REAL = [
    ("codex", "codex"),
    ("codex", "codex-desktop"),
    ("claude-code", "claude-code"),
    ("claude-code", "claude-code-compacted"),
    ("codex", "ai-sessions"),
    ("claude-code", "ai-sessions"),
    ("codex", "codex-0.60.1"),
    ("codex", "codex-0.171.0"),
]


def sessions(api: Chit) -> dict[str, Session]:
    ctx = parts_of(api).ctx
    return {s.key: s for p in ctx.projects.all() for s in ctx.sessions_in(p) if s.key}


def view(session: Session) -> dict[str, object]:
    """What an import decides of a session (its chit id aside): messages
    compare field by field as values (`asdict` of each would copy them)."""
    return {
        "key": session.key, "title": session.title, "created_at": session.created_at, "metadata": session.metadata,
        "messages": list(session.messages),
    }


def main_files(folder: Path, tool: str = "codex") -> list[Path]:
    return sorted(folder.glob("rollout-*.jsonl" if tool == "codex" else "[!r]*.jsonl"))


def cuts(lines: int) -> list[int]:
    step = max(1, lines // 12)
    return sorted({*range(1, lines, step), lines - 1, lines - 2})


@pytest.mark.parametrize(("tool", "folder"), REAL)
def test_following_a_grown_file_gives_the_session_a_whole_import_gives(tool: str, folder: str, tmp_path: Path, empty_home: Path) -> None:
    followed = tried = 0
    for original in main_files(fixture(folder), tool):
        lines = original.read_bytes().splitlines(keepends=True)
        # Every cut of a file grows to the same whole file at the same path:
        # what a fresh home imports of it is imported once.
        work = tmp_path / original.stem
        source = work / "src" / original.name
        source.parent.mkdir(parents=True)
        source.write_bytes(b"".join(lines))
        whole = fresh_home(empty_home, work / "whole", work)
        whole.import_from(tool, source.parent)
        theirs = {key: view(session) for key, session in sessions(whole).items()}
        for cut in cuts(len(lines)):
            source.write_bytes(b"".join(lines[:cut]))
            grown = fresh_home(empty_home, work / f"grown-{cut}", work)
            first = grown.import_from(tool, source.parent)
            source.write_bytes(b"".join(lines))
            again = grown.import_from(tool, source.parent)
            if first.imported == 1 and not first.problems and not again.problems:
                tried += 1
                followed += again.followed
            mine = sessions(grown)
            assert sorted(mine) == sorted(theirs), (original.name, cut)
            for key in theirs:
                assert view(mine[key]) == theirs[key], (original.name, cut)
            shutil.rmtree(work / f"grown-{cut}")
        shutil.rmtree(work)
    if (tool, folder) == ("claude-code", "claude-code-compacted"):
        assert tried == 0  # corrupt lines: every cut before them leaves them in the new part, always read whole
    elif (tool, folder) in (("codex", "ai-sessions"), ("codex", "codex-0.60.1")):
        assert tried and not followed  # Codex 0.47 and 0.60 have no turn ids: their prompts' events need the whole file
    else:
        assert followed * 2 > tried, (followed, tried)


def test_an_unchanged_follow_state_survives_and_a_rewritten_file_is_read_whole(tmp_path: Path) -> None:
    original = main_files(fixture("codex-desktop"))[-1]
    lines = original.read_bytes().splitlines(keepends=True)
    source = tmp_path / "src" / original.name
    source.parent.mkdir()
    source.write_bytes(b"".join(lines[:10]))
    api = Chit(tmp_path / "home", cwd=tmp_path)
    api.import_from("codex", source.parent)
    source.write_bytes(b"".join(lines[:20]))
    assert api.import_from("codex", source.parent).followed == 1
    # rewritten in place with other bytes before the old end: read whole
    changed = b"".join(lines[:20]).replace(b"\"timestamp\":\"2026", b"\"timestamp\":\"2027", 1)
    source.write_bytes(changed + b"".join(lines[20:]))
    report = api.import_from("codex", source.parent)
    assert (report.followed, report.updated) == (0, 1)
    whole = Chit(tmp_path / "whole", cwd=tmp_path)
    whole.import_from("codex", source.parent)
    assert [view(s) for s in sessions(api).values()] == [view(s) for s in sessions(whole).values()]


@pytest.mark.parametrize(("tool", "folder"), REAL)
def test_a_file_followed_through_many_growths_gives_the_session_a_whole_import_gives(
    tool: str, folder: str, tmp_path: Path, empty_home: Path
) -> None:
    """Each follow starts from the state the previous follow left."""
    for original in main_files(fixture(folder), tool):
        lines = original.read_bytes().splitlines(keepends=True)
        work = tmp_path / original.stem
        source = work / "src" / original.name
        source.parent.mkdir(parents=True)
        grown = fresh_home(empty_home, work / "grown", work)
        for cut in range(1, len(lines) + 1, max(1, len(lines) // 25)):
            source.write_bytes(b"".join(lines[:cut]))
            grown.import_from(tool, source.parent)
        source.write_bytes(b"".join(lines))
        grown.import_from(tool, source.parent)
        whole = fresh_home(empty_home, work / "whole", work)
        whole.import_from(tool, source.parent)
        mine, theirs = sessions(grown), sessions(whole)
        assert sorted(mine) == sorted(theirs), original.name
        for key in theirs:
            assert view(mine[key]) == view(theirs[key]), original.name
