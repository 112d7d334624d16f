"""A source that now holds fewer messages than chit imported from it.

A tool may rewrite or cut its transcript (the user deleted messages in the
tool, the file was truncated). A re-import then shows what the source shows
now, and keeps every message it had imported: those the source no longer
has are hidden by a rewind, as `chit rewind` would hide them, so `chit undo`
brings them back; a second import of the same source writes nothing.

Real transcripts of tests/data, cut short after a first import of the whole.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import orjson
import pytest

from chit.api import Chit
from chit.model import Session
from chit.service.facade import parts_of
from importer_sources import fixture

REAL = [
    ("claude-code", fixture("claude-code", "tool_heavy.jsonl")),
    ("codex", next(fixture("codex").glob("rollout-*.jsonl"))),
    ("gemini", next(fixture("gemini").glob("*.jsonl"))),
]


def codex_source(tmp_path: Path) -> tuple[str, list[bytes], Path]:
    """(tool, lines, source file) of the real Codex rollout, copied whole
    into tmp_path/src."""
    tool, original = REAL[1]
    lines = original.read_bytes().splitlines(keepends=True)
    source = tmp_path / "src" / original.name
    source.parent.mkdir()
    source.write_bytes(b"".join(lines))
    return tool, lines, source


def only_session(api: Chit) -> Session:
    ctx = parts_of(api).ctx
    found = [s for p in ctx.projects.all() for s in ctx.sessions_in(p) if s.key]
    assert len(found) == 1
    return found[0]


def session_file(api: Chit, session: Session) -> Path:
    ctx = parts_of(api).ctx
    slug = next(p.slug for p in ctx.projects.all() if p.key == session.project)
    return ctx.store.session_path(slug, session.id)


def shown(session: Session, ids: bool = True) -> list[dict[str, object]]:
    return [{k: v for k, v in asdict(m).items() if ids or k != "id"} for m in session.messages]


def lines_for_fewer(tool: str, source: Path, home: Path) -> bytes:
    """The longest first part of `source` that gives fewer messages than the whole (at least one)."""
    lines = source.read_bytes().splitlines(keepends=True)
    whole = len(only_session(_imported(tool, source.read_bytes(), source.name, home / "whole")).messages)
    for cut in range(len(lines) // 2, 0, -1):
        part = b"".join(lines[:cut])
        api = _imported(tool, part, source.name, home / f"cut{cut}")
        count = len(only_session(api).messages) if parts_of(api).ctx.projects.all() else 0
        if 0 < count < whole:
            return part
    raise AssertionError("no cut gives fewer messages")


def body(data: bytes) -> bytes:
    """A session file's lines after its header (an import may write a new header)."""
    return data.split(b"\n", 1)[1]


def _imported(tool: str, data: bytes, name: str, where: Path) -> Chit:
    (where / "src").mkdir(parents=True)
    (where / "src" / name).write_bytes(data)
    api = Chit(where / "home", cwd=where)
    api.import_from(tool, where / "src")
    return api


@pytest.mark.parametrize(("tool", "original"), REAL, ids=[t for t, _ in REAL])
def test_a_shrunk_source_hides_what_it_lost_and_keeps_it(tool: str, original: Path, tmp_path: Path) -> None:
    part = lines_for_fewer(tool, original, tmp_path / "probe")
    fresh = only_session(_imported(tool, part, original.name, tmp_path / "fresh"))
    source = tmp_path / "src" / original.name
    source.parent.mkdir()
    source.write_bytes(original.read_bytes())
    api = Chit(tmp_path / "home", cwd=tmp_path)
    api.import_from(tool, source.parent)
    before = only_session(api)
    file = session_file(api, before)
    kept = file.read_bytes()

    source.write_bytes(part)
    report = api.import_from(tool, source.parent)
    after = only_session(api)
    assert report.updated == 1 and report.problems == []
    assert report.hidden == len(before.messages) - len(fresh.messages) == report.sessions[0].hidden
    assert shown(after) == shown(fresh)  # what the source shows now
    assert body(file.read_bytes()).startswith(body(kept))  # every line chit had is still there: only appended to
    assert len(after.changes) == 1 and after.changes[0].kind == "rewind"
    assert [m.id for m in after.changes[0].hidden] == [m.id for m in before.messages[len(fresh.messages):]]

    written = file.read_bytes()
    again = api.import_from(tool, source.parent)
    assert (again.updated, again.imported) == (0, 0)
    assert file.read_bytes() == written  # idempotent
    (tmp_path / "home" / "import-cache.json").unlink()
    assert api.import_from(tool, source.parent).updated == 0
    assert file.read_bytes() == written

    api.undo(after.id)  # chit's own undo brings every message back
    assert shown(only_session(api)) == shown(before)
    undone = file.read_bytes()
    third = api.import_from(tool, source.parent)
    assert third.skipped_reasons == {"changed in chit": 1}  # the person's undo is respected
    assert file.read_bytes() == undone


def test_a_cut_then_regrown_codex_file_shows_the_whole_again(tmp_path: Path) -> None:
    """Codex message ids come from line numbers: the lines a cut hid and the
    lines the file gains again share them, and both are kept."""
    tool, lines, source = codex_source(tmp_path)
    api = Chit(tmp_path / "home", cwd=tmp_path)
    api.import_from(tool, source.parent)
    whole = only_session(api)
    source.write_bytes(b"".join(lines[: len(lines) // 2]))
    cut = api.import_from(tool, source.parent)
    changed = b"".join(lines[: len(lines) // 2] + [line.replace(b"the ", b"THE ") for line in lines[len(lines) // 2:]])
    source.write_bytes(changed)
    report = api.import_from(tool, source.parent)
    assert report.updated == 1 and report.followed == 0
    regrown = only_session(api)
    assert (cut.hidden, report.hidden) == (len(regrown.changes[-1].hidden), 0)  # the cut's rewind; the regrowth only adds
    fresh = only_session(_imported(tool, changed, source.name, tmp_path / "fresh"))
    assert shown(regrown, ids=False) == shown(fresh, ids=False) != shown(whole, ids=False)
    ids = [m.id for m in regrown.messages] + [m.id for c in regrown.changes for m in c.hidden]
    assert len(ids) == len(set(ids))
    file = session_file(api, regrown)
    written = file.read_bytes()
    assert api.import_from(tool, source.parent).updated == 0 and file.read_bytes() == written


def test_cli_import_of_a_shrunk_transcript_then_undo(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tool, original = REAL[0]
    part = lines_for_fewer(tool, original, tmp_path / "probe")
    source = tmp_path / "src" / original.name
    source.parent.mkdir()
    source.write_bytes(original.read_bytes())
    assert cli("import", "--from", tool, str(source.parent)).code == 0
    key_id = orjson.loads(cli("ls", "-a", "--json").out)[0]["id"]
    count = len(orjson.loads(cli("show", key_id, "--json").out)["messages"])
    source.write_bytes(part)
    human = cli("import", "--from", tool, str(source.parent))
    fewer = len(orjson.loads(cli("show", key_id, "--json").out)["messages"])
    assert 0 < fewer < count
    lost = count - fewer
    assert human.code == 0 and human.out.endswith(f"{lost} messages hidden, `chit undo` shows them)\n"), human.out
    source.write_bytes(original.read_bytes())  # whole again: the import's own rewind undone, nothing hidden
    r = cli("import", "--from", tool, str(source.parent), "--json")
    assert r.code == 0 and orjson.loads(r.out)["messages_hidden"] == 0 and orjson.loads(r.out)["sessions"][0]["hidden"] == 0
    source.write_bytes(part)
    r = cli("import", "--from", tool, str(source.parent), "--json")
    report = orjson.loads(r.out)
    assert r.code == 0 and report["updated"] == 1
    assert (report["messages_written"], report["messages_hidden"]) == (0, lost)
    assert [(s["action"], s["messages"], s["hidden"]) for s in report["sessions"]] == [("updated", 0, lost)]
    assert len(orjson.loads(cli("show", key_id, "--json").out)["messages"]) == fewer
    assert cli("undo", key_id).code == 0
    assert len(orjson.loads(cli("show", key_id, "--json").out)["messages"]) == count


def test_a_message_deleted_in_the_middle_of_a_codex_rollout(tmp_path: Path) -> None:
    """Every later line moves up (Codex ids are line numbers): the session
    shows what the source shows, and every message chit had stays in it."""
    tool, original = REAL[1]
    lines = original.read_bytes().splitlines(keepends=True)
    middle = next(i for i in range(len(lines) // 2, len(lines)) if b'"role":"assistant"' in lines[i])
    source = tmp_path / "src" / original.name
    source.parent.mkdir()
    source.write_bytes(b"".join(lines))
    api = Chit(tmp_path / "home", cwd=tmp_path)
    api.import_from(tool, source.parent)
    whole = only_session(api)
    cut = b"".join(lines[:middle] + lines[middle + 1:])
    source.write_bytes(cut)
    report = api.import_from(tool, source.parent)
    assert report.updated == 1
    after = only_session(api)
    assert report.hidden == len(after.changes[-1].hidden) > report.sessions[0].messages == after.changes[-1].added > 0  # a replace
    fresh = only_session(_imported(tool, cut, original.name, tmp_path / "fresh"))
    assert shown(after, ids=False) == shown(fresh, ids=False) and len(after.messages) < len(whole.messages)
    kept = {m.id for m in after.messages} | {m.id for c in after.changes for m in c.hidden}
    assert {m.id for m in whole.messages} <= kept
    file = session_file(api, after)
    written = file.read_bytes()
    assert api.import_from(tool, source.parent).updated == 0 and file.read_bytes() == written
    api.undo(after.id)
    assert shown(only_session(api)) == shown(whole)


@pytest.mark.parametrize(("tool", "original"), REAL, ids=[t for t, _ in REAL])
def test_a_source_cut_then_whole_again_undoes_the_import_rewind(tool: str, original: Path, tmp_path: Path) -> None:
    """A transcript cut, then whole again (read while its tool rewrote it):
    the import's rewind is undone, and the session is the one a fresh
    import of the whole gives, ids and all, with no message written twice."""
    part = lines_for_fewer(tool, original, tmp_path / "probe")
    whole = only_session(_imported(tool, original.read_bytes(), original.name, tmp_path / "whole"))
    source = tmp_path / "src" / original.name
    source.parent.mkdir()
    source.write_bytes(original.read_bytes())
    api = Chit(tmp_path / "home", cwd=tmp_path)
    api.import_from(tool, source.parent)
    file = session_file(api, only_session(api))
    count = file.read_bytes().count(b'"type":"message"')
    source.write_bytes(part)
    api.import_from(tool, source.parent)
    source.write_bytes(original.read_bytes())
    assert api.import_from(tool, source.parent).updated == 1
    again = only_session(api)
    assert shown(again) == shown(whole) and again.changes == ()
    assert file.read_bytes().count(b'"type":"message"') == count
    written = file.read_bytes()
    assert api.import_from(tool, source.parent).updated == 0 and file.read_bytes() == written
    source.write_bytes(part)  # cut again: hidden again, and still undoable
    api.import_from(tool, source.parent)
    assert len(only_session(api).messages) < len(whole.messages)
    api.undo(again.id)
    assert shown(only_session(api)) == shown(whole)


def test_a_refresh_of_enabled_sources_hides_what_a_cut_source_lost(tmp_path: Path) -> None:
    """The refresh `ls` and the REPL run (`chit sources`) takes the same path."""
    tool, lines, source = codex_source(tmp_path)
    api = Chit(tmp_path / "home", cwd=tmp_path)
    imports = parts_of(api).imports
    imports.refresh([(tool, str(source.parent))])
    whole = only_session(api)
    source.write_bytes(b"".join(lines[: len(lines) // 2]))
    [report] = imports.refresh([(tool, str(source.parent))])
    assert report.updated == 1 and report.problems == []
    cut = only_session(api)
    assert 0 < len(cut.messages) < len(whole.messages)
    assert [m.id for m in cut.messages + cut.changes[0].hidden] == [m.id for m in whole.messages]


def test_the_refresh_before_ls_says_how_many_messages_it_hid(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The note of a refresh `ls` runs first counts what a cut source's
    messages hid, as `chit import` does (before: "0 imported, 1 updated")."""
    tool, lines, source = codex_source(tmp_path)
    assert cli("sources", "add", tool, str(source.parent)).code == 0
    config = home / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("[sources]\n", "[sources]\nrefresh = 0.001\n"), encoding="utf-8")
    first = cli("ls", "--all", "--json")
    assert first.err == "refreshed the sources: 1 imported, 0 updated\n"
    count = first.json()[0]["message_count"]  # type: ignore[index]
    source.write_bytes(b"".join(lines[: len(lines) // 2]))
    cut = cli("ls", "--all", "--json")
    lost = count - cut.json()[0]["message_count"]  # type: ignore[index]
    assert lost > 0
    assert cut.err == f"refreshed the sources: 0 imported, 1 updated, {lost} messages hidden (`chit undo` shows them)\n"


def test_cli_import_says_what_it_showed_again_and_changed_in_place(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An import that writes no message but undoes its own rewind (the
    source whole again) or updates messages where they are says so, in
    the human line and in --json, never "(0 messages)"."""
    tool, lines, source = codex_source(tmp_path)
    half = b"".join(lines[: len(lines) // 2])
    assert cli("import", "--from", tool, str(source.parent)).code == 0
    key_id = orjson.loads(cli("ls", "-a", "--json").out)[0]["id"]
    count = len(orjson.loads(cli("show", key_id, "--json").out)["messages"])
    source.write_bytes(half)
    assert cli("import", "--from", tool, str(source.parent)).code == 0
    lost = count - len(orjson.loads(cli("show", key_id, "--json").out)["messages"])
    assert lost > 0
    source.write_bytes(b"".join(lines))  # whole again: the import's rewind undone
    human = cli("import", "--from", tool, str(source.parent))
    assert human.code == 0 and human.out.endswith(f", {lost} messages shown again)\n"), human.out
    source.write_bytes(half)
    assert cli("import", "--from", tool, str(source.parent)).code == 0
    before = orjson.loads(cli("show", key_id, "--json").out)["messages"]
    source.write_bytes(half.replace(b"the ", b"THE "))  # still cut, and the messages it keeps changed
    r = cli("import", "--from", tool, str(source.parent), "--json")
    after = orjson.loads(cli("show", key_id, "--json").out)["messages"]
    changed = sum(1 for a, b in zip(before, after) if a != b)
    assert r.code == 0 and len(after) == len(before) and changed > 0
    report = orjson.loads(r.out)
    assert (report["messages_written"], report["messages_hidden"], report["messages_changed"]) == (0, 0, changed)
    assert [(s["messages"], s["changed"], s["shown_again"]) for s in report["sessions"]] == [(0, changed, 0)]
    source.write_bytes(b"".join(lines).replace(b"the ", b"THE "))
    r = cli("import", "--from", tool, str(source.parent), "--json")
    report = orjson.loads(r.out)
    assert r.code == 0 and report["messages_hidden"] == 0 and report["messages_shown_again"] + report["messages_written"] > 0, r.out
