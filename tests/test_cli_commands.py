"""Every `chit` command from the command line: what it prints, what it
changes in the store, and the options the guide and docs/cli.md promise.

Most behaviour runs in-process (`cli_inproc`, fast); `test_every_command_as_a_real_program`
and the other `cli` tests run the real program in a subprocess (stdin piping,
exit codes, environment). Nothing is mocked: every check reads the real
store, through the API or the files themselves.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from chit import __version__
from chit.api import Chit
from chit.service.facade import parts_of
from conftest import tree_digest

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def ok(r):  # type: ignore[no-untyped-def]
    assert r.code == 0, f"exit {r.code}\nstdout: {r.out}\nstderr: {r.err}"
    assert "Traceback" not in r.err
    return r


def conversation(api: Chit, title: str | None = None, project: str | None = None, turns: int = 3) -> str:
    """A session with a system preamble and `turns` user/assistant turns."""
    messages = [{"role": "system", "content": "be brief"}]
    for n in range(turns):
        messages.append({"role": "user", "content": f"question {n}"})
        messages.append({"role": "assistant", "content": f"answer {n}"})
    return api.create(project, title=title, messages=messages).id


def session_file(home: Path, session_id: str, trash: bool = False) -> Path:
    root = home / ("trash" if trash else "projects")
    found = list(root.rglob(f"{session_id}.jsonl"))
    assert len(found) == 1, found
    return found[0]


# -- new ------------------------------------------------------------------


def test_new_prints_the_id_stores_options_and_becomes_current(cli_inproc, api):
    r = ok(cli_inproc("new", "planning", "--key", "k1", "--tag", "x", "-t", "y", "--meta", "n=3", "--meta", "who=me", "--system", "be kind"))
    new_id = r.out.strip()
    assert UUID.match(new_id), r.out
    session = api.get(new_id)
    assert session.title == "planning"
    assert session.key == "k1"
    assert session.tags == ("x", "y")
    assert session.metadata == {"n": 3, "who": "me"}
    assert [(m.role, m.content, m.turn) for m in session.messages] == [("system", "be kind", None)]
    current = api.current()
    assert current is not None and current.id == new_id


def test_new_without_title_is_titled_by_its_first_user_message(cli_inproc, api):
    new_id = ok(cli_inproc("new")).out.strip()
    assert api.get(new_id).title == "new session"
    ok(cli_inproc("append", "  how do I\n  rename a branch?  "))
    assert api.get(new_id).title == "how do I rename a branch?"


# -- ls ---------------------------------------------------------------------


def test_ls_table_lists_newest_first_with_short_ids_and_titles(cli_inproc, api):
    older = api.create(title="older one").id
    newer = api.create(title="newer one").id
    out = ok(cli_inproc("ls")).out
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["id", "title"]
    assert "project" not in lines[0]
    assert newer[:8] in lines[1] and "newer one" in lines[1]
    assert older[:8] in lines[2] and "older one" in lines[2]
    assert older not in out  # short ids in the table, not full ones


def test_ls_limit_tag_and_quiet(cli_inproc, api):
    a = api.create(title="a", tags=["work"]).id
    b = api.create(title="b").id
    c = api.create(title="c", tags=["work"]).id
    assert ok(cli_inproc("ls", "-q")).out.splitlines() == [c, b, a]
    assert ok(cli_inproc("ls", "-q", "-n", "2")).out.splitlines() == [c, b]
    assert ok(cli_inproc("ls", "-q", "--limit", "0")).out.splitlines() == [c, b, a]
    assert ok(cli_inproc("ls", "-q", "--tag", "work")).out.splitlines() == [c, a]
    table = ok(cli_inproc("ls", "-n", "1")).out
    assert c[:8] in table and b[:8] not in table and a[:8] not in table
    assert [s["id"] for s in ok(cli_inproc("ls", "--json", "-n", "1")).json()] == [c]
    assert [s["id"] for s in ok(cli_inproc("ls", "--json", "-t", "work")).json()] == [c, a]


def test_ls_all_shows_the_project_of_each_session(cli_inproc, api, workdir):
    here = api.create(title="local talk").id
    there = api.create("elsewhere", title="remote talk").id
    scoped = ok(cli_inproc("ls")).out
    assert here[:8] in scoped and there[:8] not in scoped
    everything = ok(cli_inproc("ls", "--all")).out
    header, *rows = everything.splitlines()
    assert "project" in header.split()
    row_of = {row.split()[0]: row for row in rows}
    assert row_of[here[:8]].split()[-1] == workdir.name
    assert row_of[there[:8]].split()[-1] == "elsewhere"
    listed = ok(cli_inproc("ls", "-a", "--json")).json()
    assert {s["id"]: s["project_name"] for s in listed} == {here: workdir.name, there: "elsewhere"}


def test_ls_in_an_empty_store_prints_nothing_on_stdout(cli_inproc):
    r = ok(cli_inproc("ls"))
    assert r.out == ""
    assert ok(cli_inproc("ls", "--json")).json() == []


# -- show and load ----------------------------------------------------------


def test_show_prints_the_transcript_with_turn_numbers(cli_inproc, api):
    sid = conversation(api, title="numbered")
    out = ok(cli_inproc("show", sid[:6])).out
    for text in ("numbered", sid[:8], "preamble", "be brief", "turn 0", "turn 1", "turn 2", "question 2", "answer 2"):
        assert text in out, text
    positions = [out.index(t) for t in ("preamble", "be brief", "turn 0", "question 0", "turn 1", "question 1", "turn 2", "answer 2")]
    assert positions == sorted(positions)
    assert "turn 3" not in out


def test_show_without_ref_is_the_current_session_and_json_has_turns(cli_inproc, api):
    conversation(api, title="first")
    sid = conversation(api, title="second", turns=2)
    data = ok(cli_inproc("show", "--json")).json()
    assert data["id"] == sid
    assert [(m["role"], m["turn"]) for m in data["messages"]] == [
        ("system", None), ("user", 0), ("assistant", 0), ("user", 1), ("assistant", 1)
    ]
    assert data["turns"] == 2 and data["message_count"] == 5


def test_show_accepts_every_kind_of_ref(cli_inproc, api):
    sid = api.create(title="refs", key="my-key").id
    for ref in (sid, sid.upper(), f"ctx_{sid}", sid[:5], sid[:8].upper(), "my-key"):
        assert ok(cli_inproc("show", ref, "--json")).json()["id"] == sid, ref


def test_load_makes_the_session_current_and_prints_it_whole(cli_inproc, api):
    old = conversation(api, title="old one", turns=1)
    api.create(title="newer")
    r = ok(cli_inproc("load", old[:8], "--json"))
    data = r.json()
    for field in ("id", "short_id", "project", "title", "key", "parent", "tags", "metadata", "created_at", "updated_at",
                  "turns", "message_count", "state", "values", "messages"):
        assert field in data, field
    assert data["id"] == old and data["title"] == "old one"
    assert [m["content"] for m in data["messages"]] == ["be brief", "question 0", "answer 0"]
    current = api.current()
    assert current is not None and current.id == old
    ok(cli_inproc("append", "follow-up"))
    assert api.get(old).messages[-1].content == "follow-up"


def test_load_human_output_is_the_transcript(cli_inproc, api):
    sid = conversation(api, turns=1)
    api.create(title="other")
    out = ok(cli_inproc("load", sid[:8])).out
    assert "turn 0" in out and "question 0" in out
    assert api.current().id == sid  # type: ignore[union-attr]


# -- append -------------------------------------------------------------------


def test_append_argument_role_and_json(cli_inproc, api):
    sid = api.create(title="t").id
    first = ok(cli_inproc("append", "hello"))
    assert UUID.match(first.out.strip())
    data = ok(cli_inproc("append", sid[:8], "hi there", "--role", "assistant", "--json")).json()
    assert data["session_id"] == sid and data["role"] == "assistant" and data["content"] == "hi there"
    ok(cli_inproc("append", "-r", "tool", "ran ls"))
    session = api.get(sid)
    assert [(m.id, m.role, m.content) for m in session.messages] == [
        (first.out.strip(), "user", "hello"), (data["id"], "assistant", "hi there"), (session.messages[2].id, "tool", "ran ls")
    ]


def test_append_model_invocation_tokens_and_meta(cli_inproc, api):
    sid = api.create(title="t").id
    ok(cli_inproc("append", "q"))
    ok(cli_inproc("append", sid, "a", "-r", "assistant", "--model", "gpt-x", "--invocation-id", "inv-1",
                  "--input-tokens", "12", "--output-tokens", "34", "--meta", "cost=0.5", "--meta", "note=plain text"))
    message = api.get(sid).messages[-1]
    assert message.model == "gpt-x"
    assert message.invocation_id == "inv-1"
    assert message.tokens is not None and (message.tokens.input, message.tokens.output) == (12, 34)
    assert message.metadata == {"cost": 0.5, "note": "plain text"}
    shown = ok(cli_inproc("show", sid, "--json")).json()["messages"][-1]
    assert shown["tokens"] == {"input": 12, "output": 34} and shown["model"] == "gpt-x"


def test_append_key_creates_the_session_once_then_appends_to_it(cli_inproc, api):
    other = api.create(title="unrelated").id
    ok(cli_inproc("append", "--key", "build-42", "first"))
    ok(cli_inproc("append", "-k", "build-42", "second", "-r", "assistant"))
    keyed = [s for s in api.list() if s.key == "build-42"]
    assert len(keyed) == 1
    assert [m.content for m in api.get(keyed[0].id).messages] == ["first", "second"]
    assert api.get(other).messages == ()
    assert len(api.list()) == 2
    assert ok(cli_inproc("show", "build-42", "--json")).json()["id"] == keyed[0].id


def test_append_reads_stdin_with_dash(cli, api):
    sid = api.create(title="piped").id
    text = "line one\nline two — ünïcode ✓\n\n  indented\n"
    r = ok(cli("append", sid[:8], "-", "-r", "assistant", stdin=text.encode()))
    assert UUID.match(r.out.strip())
    message = api.get(sid).messages[-1]
    assert message.content == text and message.role == "assistant"
    ok(cli("append", "-", "--key", "from-pipe", stdin=b"keyed via stdin"))
    keyed = next(s for s in api.list() if s.key == "from-pipe")
    assert [m.content for m in api.get(keyed.id).messages] == ["keyed via stdin"]


# -- fork, rewind, pop --------------------------------------------------------


def test_fork_at_a_turn_copies_the_preamble_and_turns_and_records_the_parent(cli_inproc, api):
    sid = conversation(api, title="origin")
    data = ok(cli_inproc("fork", sid[:8], "--at", "1", "--json")).json()
    fork = api.get(data["id"])
    assert fork.id != sid
    assert [m.content for m in fork.messages] == ["be brief", "question 0", "answer 0", "question 1", "answer 1"]
    assert fork.parent is not None and (fork.parent.id, fork.parent.turn) == (sid, 1)
    assert fork.title == "origin (fork)"
    assert api.current().id == fork.id  # type: ignore[union-attr]
    assert len(api.get(sid).messages) == 7  # the source is untouched


def test_fork_whole_session_with_a_title_and_of_the_current_session(cli_inproc, api):
    sid = conversation(api, title="origin", turns=2)
    new_id = ok(cli_inproc("fork", "--title", "experiment")).out.strip()
    fork = api.get(new_id)
    assert fork.title == "experiment"
    assert [m.content for m in fork.messages] == [m.content for m in api.get(sid).messages]
    assert fork.parent is not None and fork.parent.id == sid and fork.parent.turn == 1
    assert ok(cli_inproc("fork", sid[:8], "--at", "0")).out.strip() != new_id


def test_rewind_ref_and_turn_keeps_turns_up_to_n(cli_inproc, api, home):
    sid = conversation(api)
    data = ok(cli_inproc("rewind", sid[:8], "0", "--json")).json()
    assert data == {"id": sid, "dropped": 4, "turns": 1, "messages": 3}
    assert [m.content for m in api.get(sid).messages] == ["be brief", "question 0", "answer 0"]
    assert b"answer 2" in session_file(home, sid).read_bytes()  # recoverable until compact


def test_rewind_turn_alone_uses_the_current_session(cli_inproc, api):
    other = conversation(api, title="not current")
    sid = conversation(api, title="current")
    r = ok(cli_inproc("rewind", "1"))
    assert "dropped 2" in r.out
    assert api.get(sid).turns == 2
    assert api.get(other).turns == 3


def test_rewind_to_an_invocation(cli_inproc, api):
    sid = api.create(title="tools").id
    api.append(sid, "user", "go")
    api.append(sid, "assistant", "calling", invocation_id="call-1")
    api.append(sid, "tool", "result", invocation_id="call-1")
    api.append(sid, "assistant", "next step", invocation_id="call-2")
    api.append(sid, "user", "more")
    data = ok(cli_inproc("rewind", sid[:8], "--invocation", "call-1", "--json")).json()
    assert data["dropped"] == 2
    assert [m.content for m in api.get(sid).messages] == ["go", "calling", "result"]
    ok(cli_inproc("rewind", "--invocation", "call-1"))  # current session, nothing more to drop
    assert len(api.get(sid).messages) == 3


def test_pop_drops_the_last_message(cli_inproc, api):
    sid = conversation(api, turns=1)
    assert ok(cli_inproc("pop", "--json")).json() == {"id": sid, "popped": True}
    assert [m.content for m in api.get(sid).messages] == ["be brief", "question 0"]
    ok(cli_inproc("pop", sid[:8]))
    ok(cli_inproc("pop"))
    assert api.get(sid).messages == ()
    r = ok(cli_inproc("pop", "--json"))
    assert r.json() == {"id": sid, "popped": False}


# -- rename, tag, untag ---------------------------------------------------------


def test_rename_sets_a_manual_title_and_empty_clears_it(cli_inproc, api):
    sid = api.create().id
    api.append(sid, "user", "what is a monad")
    data = ok(cli_inproc("rename", sid[:8], "Monads", "--json")).json()
    assert data["title"] == "Monads" and data["manual_title"] is True
    api.append(sid, "user", "another question")
    assert api.get(sid).title == "Monads"
    ok(cli_inproc("rename", "Renamed current"))
    assert api.get(sid).title == "Renamed current"
    cleared = ok(cli_inproc("rename", sid[:8], "", "--json")).json()
    assert cleared["title"] == "what is a monad" and cleared["manual_title"] is False
    assert api.get(sid).title == "what is a monad"


def test_tag_and_untag(cli_inproc, api):
    sid = api.create(title="t").id
    out = ok(cli_inproc("tag", sid[:8], "red", "green", "red")).out
    assert "red" in out and "green" in out
    assert api.get(sid).tags == ("red", "green")
    assert ok(cli_inproc("tag", sid, "blue", "--json")).json()["tags"] == ["red", "green", "blue"]
    ok(cli_inproc("untag", sid[:8], "green", "missing"))
    assert api.get(sid).tags == ("red", "blue")
    assert ok(cli_inproc("untag", sid, "red", "blue", "--json")).json()["tags"] == []


# -- search ---------------------------------------------------------------------


HIT_FIELDS = {"id", "project", "title", "updated_at", "turn", "role", "snippet"}


def test_search_looks_in_every_project_unless_p(cli_inproc, api, workdir):
    here = api.create(title="here", messages=[{"role": "user", "content": "the Needle is here"}]).id
    there = api.create("elsewhere", title="there", messages=[{"role": "user", "content": "another needle"}]).id
    api.create(title="no match", messages=[{"role": "user", "content": "hay"}])
    hits = ok(cli_inproc("search", "NEEDLE", "--json")).json()
    assert {h["id"] for h in hits} == {here, there}
    for hit in hits:
        assert HIT_FIELDS <= set(hit), hit
        assert hit["turn"] == 0 and hit["role"] == "user"
        assert "needle" in hit["snippet"].lower()
    by_id = {h["id"]: h for h in hits}
    assert by_id[there]["project_name"] == "elsewhere" and by_id[here]["project_name"] == workdir.name
    scoped = ok(cli_inproc("search", "needle", "-p", "elsewhere", "--json")).json()
    assert [h["id"] for h in scoped] == [there]
    human = ok(cli_inproc("search", "needle")).out
    assert here[:8] in human and there[:8] in human and "another needle" in human


def test_search_limit_defaults_to_20(cli_inproc, api):
    api.create(title="many", messages=[{"role": "user", "content": f"match number {n}"} for n in range(25)])
    assert len(ok(cli_inproc("search", "match", "--json")).json()) == 20
    assert len(ok(cli_inproc("search", "match", "--limit", "3", "--json")).json()) == 3
    assert len(ok(cli_inproc("search", "match", "-n", "0", "--json")).json()) == 25


def test_search_role_and_tag_filters(cli_inproc, api):
    tagged = api.create(title="t", tags=["keep"], messages=[
        {"role": "user", "content": "apple question"}, {"role": "assistant", "content": "apple answer"}]).id
    api.create(title="u", messages=[{"role": "assistant", "content": "apple elsewhere"}])
    by_role = ok(cli_inproc("search", "apple", "--role", "assistant", "--json")).json()
    assert sorted(h["snippet"] for h in by_role) == ["apple answer", "apple elsewhere"]
    by_tag = ok(cli_inproc("search", "apple", "--tag", "keep", "--json")).json()
    assert {h["id"] for h in by_tag} == {tagged} and len(by_tag) == 2
    both = ok(cli_inproc("search", "apple", "-r", "user", "-t", "keep", "--json")).json()
    assert [h["snippet"] for h in both] == ["apple question"]


# -- export and import ------------------------------------------------------------


def test_export_markdown_has_turn_numbers(cli_inproc, api):
    sid = conversation(api, title="exported", turns=2)
    out = ok(cli_inproc("export", sid[:8])).out
    assert out.startswith("# exported\n")
    for heading in ("## Preamble", "## Turn 0", "## Turn 1"):
        assert f"\n{heading}\n" in out, heading
    assert out.index("## Turn 0") < out.index("question 0") < out.index("## Turn 1") < out.index("answer 1")
    assert ok(cli_inproc("export", sid[:8], "--format", "md")).out == out


def test_export_json_and_jsonl(cli_inproc, api):
    sid = conversation(api, title="exported", turns=1)
    snapshot = ok(cli_inproc("export", sid, "-f", "json")).json()
    assert snapshot["format"] == "chit-snapshot" and snapshot["checksum"].startswith("sha256:")
    assert snapshot["session"]["id"] == sid
    assert [m["content"] for m in snapshot["session"]["messages"]] == ["be brief", "question 0", "answer 0"]
    lines = ok(cli_inproc("export", sid, "-f", "jsonl")).out.splitlines()
    assert len(lines) == 4
    assert orjson.loads(lines[0])["id"] == sid
    assert [orjson.loads(x)["content"] for x in lines[1:]] == ["be brief", "question 0", "answer 0"]


def test_export_to_a_file_refuses_to_overwrite_without_force(cli_inproc, api, tmp_path):
    sid = conversation(api, title="to file", turns=1)
    target = tmp_path / "out.md"
    r = ok(cli_inproc("export", sid, "-o", str(target)))
    assert r.out.strip() == str(target)
    assert "## Turn 0" in target.read_text()
    assert target.stat().st_mode & 0o777 == 0o600
    target.write_text("precious")
    refused = cli_inproc("export", sid, "-o", str(target))
    assert refused.code == 6 and "--force" in refused.err
    assert target.read_text() == "precious"
    data = ok(cli_inproc("export", sid, "-f", "json", "--output", str(target), "--force", "--json")).json()
    assert data == {"path": str(target), "format": "json"}
    assert orjson.loads(target.read_bytes())["session"]["id"] == sid


def test_export_then_import_round_trips_a_session(cli_inproc, api, tmp_path):
    sid = conversation(api, title="round trip", turns=2)
    api.tag(sid, "t1")
    api.append(sid, "assistant", "with model", model="m1", tokens=(1, 2), metadata={"k": [1, 2]})
    before = ok(cli_inproc("show", sid, "--json")).json()
    snapshot = tmp_path / "s.json"
    ok(cli_inproc("export", sid, "-f", "json", "-o", str(snapshot)))
    ok(cli_inproc("rm", sid))
    ok(cli_inproc("trash", "--empty", "--yes"))
    assert api.list() == []
    data = ok(cli_inproc("import", str(snapshot), "--json")).json()
    assert data["id"] == sid and data["id_changed"] is False and data["messages"] == 6
    after = ok(cli_inproc("show", sid, "--json")).json()
    for field in ("id", "title", "manual_title", "tags", "metadata", "created_at", "turns", "messages", "key", "parent"):
        assert after[field] == before[field], field


def test_import_of_a_session_already_in_the_store(cli_inproc, api, tmp_path):
    sid = conversation(api, title="dup", turns=1)
    snapshot = tmp_path / "s.json"
    ok(cli_inproc("export", sid, "-f", "json", "-o", str(snapshot)))
    again = cli_inproc("import", str(snapshot))
    assert again.code == 6 and "already imported" in again.err
    data = ok(cli_inproc("import", str(snapshot), "--new-id", "--json")).json()
    assert data["id"] != sid and data["id_changed"] is True
    assert [m.content for m in api.get(data["id"]).messages] == [m.content for m in api.get(sid).messages]


def test_import_from_stdin_into_a_named_project(cli, api):
    sid = conversation(api, title="piped in", turns=1)
    snapshot = api.export_bytes(sid, "json")[1]
    api.delete(sid)
    api.empty_trash()
    r = ok(cli("-p", "inbox", "import", "-", stdin=snapshot))
    assert r.out.strip() == sid
    assert parts_of(api).ctx.locate(sid).name == "inbox"
    assert api.get(sid).title == "piped in"


# -- rm, restore, trash -------------------------------------------------------------


def test_rm_restore_and_trash(cli_inproc, api, home):
    keep = api.create(title="keep").id
    a = api.create(title="gone a").id
    b = api.create(title="gone b").id
    out = ok(cli_inproc("rm", a[:8], b)).out
    assert a[:8] in out and b[:8] in out
    assert [s.id for s in api.list()] == [keep]
    assert session_file(home, a, trash=True).exists()
    listed = ok(cli_inproc("trash", "--json")).json()
    assert {s["id"] for s in listed} == {a, b}
    assert all(s["deleted_at"] for s in listed)
    table = ok(cli_inproc("trash")).out
    assert a[:8] in table and "gone b" in table
    restored = ok(cli_inproc("restore", a[:6], "--json")).json()
    assert restored["id"] == a and restored["deleted_at"] is None
    assert {s.id for s in api.list()} == {keep, a}
    gone = ok(cli_inproc("trash", "--empty", "--yes", "--json")).json()
    assert [s["id"] for s in gone] == [b]
    assert ok(cli_inproc("trash", "--json")).json() == []
    assert list(home.rglob(f"{b}.jsonl")) == []


def test_trash_empty_dry_run_changes_nothing(cli_inproc, api, home):
    sid = api.create(title="doomed").id
    api.delete(sid)
    before = tree_digest(home)
    r = ok(cli_inproc("trash", "--empty", "--dry-run"))
    assert sid[:8] in r.out
    assert tree_digest(home) == before


# -- state ------------------------------------------------------------------------------


def test_state_set_running_idle_error_and_values(cli_inproc, api):
    sid = api.create(title="worker").id
    running = ok(cli_inproc("state", sid[:8], "running", "--turn-id", "t-1", "--set", "n=1", "--set", "who=bot", "--json")).json()
    assert running["id"] == sid and running["state"] == "running" and running["turn_id"] == "t-1"
    assert running["since"] and running["values"] == {"n": 1, "who": "bot"}
    shown = ok(cli_inproc("state", sid[:8])).out
    assert "running" in shown and "t-1" in shown and "who" in shown
    failed = ok(cli_inproc("state", "error", "--error", "model timed out", "--json")).json()
    assert failed["state"] == "error" and failed["error"] == "model timed out"
    idle = ok(cli_inproc("state", sid, "idle", "--unset", "n", "--json")).json()
    assert idle["state"] == "idle" and idle["values"] == {"who": "bot"}
    assert api.get(sid).run.state == "idle" and api.get(sid).values == {"who": "bot"}


def test_state_and_values_are_set_in_one_write(cli_inproc, api):
    sid = api.create(title="worker").id
    api.set_value(sid, "gone", 1)
    path = api.layout.session_file(api.project().slug, sid)
    before = path.read_bytes().splitlines()
    ok(cli_inproc("state", sid[:8], "running", "--set", "a=1", "--set", "b=2", "--unset", "gone"))
    added = [orjson.loads(line) for line in path.read_bytes().splitlines()[len(before):]]
    assert [r["type"] for r in added] == ["state", "set", "set", "unset"]
    assert len({r["ts"] for r in added}) == 1  # one append under one lock, not four
    session = api.get(sid)
    assert session.run.since == session.updated_at and session.values == {"a": 1, "b": 2}


def test_state_running_and_stuck_list_sessions_in_every_project(cli_inproc, api):
    busy = api.create(title="busy").id
    remote = api.create("elsewhere", title="remote busy").id
    api.create(title="resting")
    api.set_state(busy, "running")
    api.set_state(remote, "running")
    assert {s["id"] for s in ok(cli_inproc("state", "--running", "--json")).json()} == {busy, remote}
    assert busy[:8] in ok(cli_inproc("state", "--running")).out
    assert {s["id"] for s in ok(cli_inproc("state", "--stuck", "0s", "--json")).json()} == {busy, remote}
    assert ok(cli_inproc("state", "--stuck", "1h", "--json")).json() == []


# -- gc, compact, doctor --------------------------------------------------------------


def _old_session(api: Chit, title: str) -> str:
    """A session last touched in 2020 (through a snapshot import)."""
    from chit import exporters

    body = {
        "id": "0badc0de-0000-4000-8000-000000000000",
        "created_at": "2020-01-01T00:00:00.000000Z",
        "title": title,
        "messages": [{"id": "0badc0de-0000-4000-8000-000000000001", "role": "user", "content": "ancient", "ts": "2020-01-02T00:00:00.000000Z"}],
    }
    doc = {"format": "chit-snapshot", "version": 1, "checksum": exporters.checksum(body), "session": body}
    return api.import_snapshot(doc).session.id


def test_gc_dry_run_lists_stale_sessions_and_changes_nothing(cli_inproc, api, home):
    old = _old_session(api, "stale")
    fresh = api.create(title="fresh").id
    before = tree_digest(home)
    dry = ok(cli_inproc("gc", "--older-than", "30d", "--dry-run", "--json")).json()
    assert [s["id"] for s in dry] == [old]
    human = ok(cli_inproc("gc", "--older-than", "30d", "--dry-run")).out
    assert old[:8] in human and fresh[:8] not in human
    assert tree_digest(home) == before
    trashed = ok(cli_inproc("gc", "--older-than", "4w", "--json")).json()
    assert [s["id"] for s in trashed] == [old]
    assert [s.id for s in api.list()] == [fresh]
    assert [s.id for s in api.trash()] == [old]


def test_compact_forgets_what_rewind_and_pop_dropped(cli_inproc, api, home):
    sid = conversation(api)
    api.rewind(sid, 1)
    api.pop(sid)
    path = session_file(home, sid)
    size = path.stat().st_size
    before = ok(cli_inproc("show", sid, "--json")).json()
    report = ok(cli_inproc("compact", sid[:8], "--json")).json()
    assert report["id"] == sid and report["messages_dropped"] == 3 and report["lines_dropped"] == 0
    assert report["bytes_before"] == size and report["bytes_after"] == path.stat().st_size < size
    assert b"answer 2" not in path.read_bytes() and b"answer 1" not in path.read_bytes()
    after = ok(cli_inproc("show", sid, "--json")).json()
    assert after["messages"] == before["messages"] and after["dropped"] == 0
    assert "dropped 0 message(s)" in ok(cli_inproc("compact")).out


def test_doctor_reports_file_and_line_then_repairs(cli_inproc, api, home):
    assert ok(cli_inproc("doctor", "--json")).json()["ok"] is True
    sid = conversation(api, turns=1)
    path = session_file(home, sid)
    with path.open("ab") as handle:
        handle.write(b"{not json at all\n")
    api.append(sid, "user", "after the damage")
    rel = str(path.relative_to(home))
    r = cli_inproc("doctor")
    assert r.code == 5
    assert f"{rel}:5" in r.out
    data = cli_inproc("doctor", "--json")
    assert data.code == 5
    report = data.json()
    assert report["ok"] is False
    assert [(f["path"], f["line"], f["repaired"]) for f in report["findings"]] == [(rel, 5, False)]
    fixed = ok(cli_inproc("doctor", "--repair", "--json")).json()
    assert fixed["ok"] is True and fixed["findings"][0]["repaired"] is True
    assert ok(cli_inproc("doctor", "--json")).json() == {"sessions_checked": 1, "index_checked": 0, "ok": True, "findings": []}  # no index yet: none made
    assert b"not json" not in path.read_bytes()
    assert [m.content for m in api.get(sid).messages][-1] == "after the damage"


# -- projects, global options, environment ---------------------------------------------


def test_projects_lists_each_project_with_its_session_count(cli_inproc, api, workdir):
    api.create(title="a")
    api.create(title="b")
    api.create("side", title="c")
    rows = {p["name"]: p for p in ok(cli_inproc("projects", "--json")).json()}
    assert rows[workdir.name]["sessions"] == 2 and rows[workdir.name]["path"] == str(workdir)
    assert rows["side"]["sessions"] == 1 and rows["side"]["path"] is None
    table = ok(cli_inproc("projects")).out
    assert workdir.name in table and "side" in table and "sessions" in table.splitlines()[0]


def test_json_before_or_after_the_command_is_the_same(cli_inproc, api):
    sid = conversation(api, turns=1)
    for args in (("ls",), ("show", sid[:8]), ("search", "question")):
        before = ok(cli_inproc("--json", *args)).json()
        after = ok(cli_inproc(*args, "--json")).json()
        assert before == after, args


def test_project_option_before_or_after_the_command(cli_inproc, api):
    sid = ok(cli_inproc("-p", "named", "new", "in named")).out.strip()
    assert parts_of(api).ctx.locate(sid).name == "named"
    assert [s["id"] for s in ok(cli_inproc("ls", "-p", "named", "--json")).json()] == [sid]
    assert [s["id"] for s in ok(cli_inproc("--project", "named", "ls", "--json")).json()] == [sid]
    assert ok(cli_inproc("ls", "--json")).json() == []  # the directory's project is another one
    second = ok(cli_inproc("new", "also named", "--project", "named")).out.strip()
    assert parts_of(api).ctx.locate(second).name == "named"


def test_chit_project_env_names_the_project(cli, api):
    r = ok(cli("new", "via env", env={"CHIT_PROJECT": "envproj"}))
    assert parts_of(api).ctx.locate(r.out.strip()).name == "envproj"
    assert ok(cli("ls", "--json")).json() == []


def test_version(cli):
    r = ok(cli("--version"))
    assert r.out.strip() == f"chit {__version__}"


def test_chit_home_moves_the_whole_store(cli, home, tmp_path):
    other = tmp_path / "elsewhere-home"
    before = tree_digest(home)
    sid = ok(cli("new", "moved", env={"CHIT_HOME": str(other)})).out.strip()
    assert list(other.rglob(f"{sid}.jsonl"))
    assert tree_digest(home) == before
    assert [s["id"] for s in ok(cli("ls", "--json", env={"CHIT_HOME": str(other)})).json()] == [sid]
    assert ok(cli("ls", "--json")).json() == []


# -- help -------------------------------------------------------------------------------


def _commands():  # type: ignore[no-untyped-def]
    from typer.main import get_command

    from chit.cli.app import build

    return get_command(build()).commands  # type: ignore[attr-defined]


COMMANDS = sorted(_commands())
INTERACTIVE = {"chat"}


def test_the_registry_has_the_documented_commands():
    assert set(COMMANDS) >= {
        "new", "ls", "show", "load", "append", "fork", "rewind", "pop", "rename", "tag", "untag", "search",
        "export", "import", "rm", "restore", "trash", "state", "gc", "compact", "doctor", "projects",
    }


def test_top_level_help_lists_every_command(cli):
    r = ok(cli("--help"))
    for name in COMMANDS:
        assert re.search(rf"^\W*{name}\s", r.out, re.MULTILINE), name
    for option in ("--json", "--project", "--version"):
        assert option in r.out


@pytest.mark.parametrize("name", COMMANDS)
def test_command_help_mentions_its_options(cli_inproc, name):
    r = ok(cli_inproc(name, "--help"))
    assert f"chit {name}" in r.out
    options = [opt for p in _commands()[name].params if p.param_type_name == "option" for opt in p.opts if opt.startswith("--")]
    assert ("--json" in options) is (name not in INTERACTIVE)  # the REPL has no single result to print
    for option in options:
        assert option in r.out, option


def test_command_help_as_a_real_program(cli):
    r = ok(cli("append", "--help"))
    for option in ("--role", "--key", "--model", "--invocation-id", "--input-tokens", "--output-tokens", "--meta"):
        assert option in r.out
    rewind = ok(cli("rewind", "-h"))
    assert "chit rewind" in rewind.out and "--invocation" in rewind.out


# -- the real program, every command once -------------------------------------------------


def test_every_command_as_a_real_program(cli, home, tmp_path):
    used: set[str] = set()

    def run(*args: str, stdin: bytes | None = None, code: int = 0):  # type: ignore[no-untyped-def]
        used.add(next(a for a in args if not a.startswith("-")))
        r = cli(*args, stdin=stdin)
        assert r.code == code, f"{args}: exit {r.code}\n{r.out}\n{r.err}"
        assert "Traceback" not in r.err
        return r

    sid = run("new", "scripted").out.strip()
    assert UUID.match(sid)
    run("append", "first question")
    run("append", sid[:8], "-", "-r", "assistant", stdin=b"first answer")
    run("append", "second question")
    assert [s["id"] for s in run("ls", "--json").json()] == [sid]
    assert "turn 1" in run("show", sid[:8]).out
    fork = run("fork", "--at", "0", "--json").json()["id"]
    run("load", sid[:8], "--no-pager")
    assert run("resume", sid[:8], "--print").out.endswith(f" {sid}\n")
    assert "needs a terminal" in run("pick", code=2).err  # the picker has no terminal here
    assert run("rewind", "0", "--json").json()["dropped"] == 1
    assert run("pop", "--json").json()["popped"] is True
    assert run("undo", "--json").json()["undone"] == "pop"
    same = b'[{"role": "user", "content": "first question"}, {"role": "assistant", "content": "first answer"}]'
    assert run("replace", sid[:8], "-", "--json", stdin=same).json()["message_count"] == 2
    run("rename", "renamed")
    run("tag", sid[:8], "t1", "t2")
    run("untag", sid[:8], "t2")
    assert {h["id"] for h in run("search", "first question", "--json").json()} == {sid, fork}
    assert run("projects", "--json").json()[0]["sessions"] == 2
    assert run("tree", fork[:8], "--json").json()["edges"] == [{"parent": sid, "child": fork, "turn": 0}]
    assert run("diff", sid[:8], fork[:8], "--json").json()["shared_turns"] == 1
    assert run("stats", "--json").json()["total"]["sessions"] == 2
    snapshot = tmp_path / "snap.json"
    run("export", sid, "-f", "json", "-o", str(snapshot))
    run("export", sid, "-o", str(snapshot), code=6)
    imported = run("import", str(snapshot), "--new-id", "--json").json()["id"]
    run("rm", imported)
    assert [s["id"] for s in run("trash", "--json").json()] == [imported]
    run("restore", imported[:8])
    run("state", sid[:8], "running", "--set", "k=v")
    assert [s["id"] for s in run("state", "--running", "--json").json()] == [sid]
    assert run("gc", "--older-than", "1d", "--dry-run", "--json").json() == []
    assert run("compact", sid[:8], "--json").json()["messages_dropped"] == 1  # the rewind's; the undo brought the pop's back
    assert run("doctor", "--json").json()["ok"] is True
    assert run("index", "--json").json()["files_read"] >= 0
    chat = run("chat", "--new", "--model", "echo", stdin=b"scripted chat\n/rename Chatted\n/quit\n")
    assert "echo: scripted chat" in chat.out and "title: Chatted" in chat.out
    assert run("config", "--json").json()["path"] == str(home / "config.toml")
    assert [row["tool"] for row in run("sources", "--json").json()][0] == "claude-code"
    assert "complete -F _chit chit" in run("completion", "bash").out
    assert run("sync", "status", "--json").json()["configured"] is False
    assert "chit sync init" in run("sync", code=3).err
    assert used >= set(COMMANDS), set(COMMANDS) - used
