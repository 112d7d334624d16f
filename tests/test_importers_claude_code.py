"""Claude Code transcripts the tests write: the live thread of a tree,
sub-agent lines, compaction, bad records, growth and re-imports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chit.api import Chit
from chit.importers import claude_code
from chit.model import Session
from chit.service.facade import parts_of
from conftest import tree_digest
from importer_sources import Claude, append_jsonl


def only(api: Chit) -> Session:
    sessions = [s for p in parts_of(api).ctx.projects.all() for s in parts_of(api).ctx.sessions_in(p)]
    assert len(sessions) == 1
    return sessions[0]


def contents(session: Session) -> list[str]:
    return [m.content for m in session.messages]


def simple(tmp_path: Path) -> tuple[Claude, Path]:
    chat = Claude()
    chat.progress()
    chat.user("hello")
    chat.say("hi there", "m1")
    return chat, chat.write(tmp_path / "src" / "proj" / f"{chat.session_id}.jsonl")


def test_only_the_live_branch_of_an_edited_prompt_is_imported(api: Chit, tmp_path: Path) -> None:
    chat = Claude()
    chat.user("first prompt")
    answer = chat.say("first answer", "m1")
    chat.user("abandoned prompt")
    chat.say("abandoned answer", "m2")
    chat.user("edited prompt", parent=answer)  # the second prompt, edited: a sibling branch
    chat.say("live answer", "m3")
    chat.write(tmp_path / "a.jsonl")
    api.import_from("claude-code", tmp_path / "a.jsonl")
    assert contents(only(api)) == ["first prompt", "first answer", "edited prompt", "live answer"]


def test_sidechain_lines_are_not_the_main_thread(api: Chit, tmp_path: Path) -> None:
    chat = Claude()
    chat.user("main prompt")
    chat.tool_use("Task", "call-task", "m1")
    side = chat.user("sub-agent prompt", isSidechain=True)
    chat.assistant([{"type": "text", "text": "sub-agent answer"}], "m-side", parent=side, isSidechain=True)
    chat.tool_result("call-task", "sub-agent report")
    chat.say("main answer", "m2")
    chat.write(tmp_path / "b.jsonl")
    api.import_from("claude-code", tmp_path / "b.jsonl")
    session = only(api)
    assert contents(session) == ["main prompt", '{"arg":"Task"}', "sub-agent report", "main answer"]
    assert [m.metadata.get("tool_kind") for m in session.messages] == [None, "call", "result", None]


def sub_agent_tree(tmp_path: Path) -> tuple[Claude, Path]:
    """A session whose Task call started sub-agent `a1`, and the sub-agent's
    own transcript in `<session>/subagents/` (plus a compaction agent's)."""
    chat = Claude()
    chat.user("main prompt")
    call = chat.assistant([{"type": "tool_use", "id": "call-task", "name": "Task",
                            "input": {"subagent_type": "Explore", "description": "Find the parser", "prompt": "find it"}}], "m1")
    chat.add("user", {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call-task", "content": "found"}]},
             toolUseResult={"status": "completed", "agentId": "a1", "totalTokens": 9}, parent=call)
    chat.say("main answer", "m2")
    root = tmp_path / "projects" / "proj"
    chat.write(root / f"{chat.session_id}.jsonl")
    agent = Claude(session_id=chat.session_id)
    first = agent.user("find it", isSidechain=True, agentId="a1")
    agent.assistant([{"type": "text", "text": "the parser is in parse.py"}], "s1", parent=first, isSidechain=True, agentId="a1")
    agent.write(root / chat.session_id / "subagents" / "agent-a1.jsonl")
    compactor = Claude(session_id=chat.session_id)
    compactor.user("summarise", isSidechain=True, agentId="acompact-9f")
    compactor.write(root / chat.session_id / "subagents" / "agent-acompact-9f.jsonl")
    return chat, tmp_path / "projects"


def test_a_sub_agent_is_a_child_session_linked_to_its_task_call(api: Chit, home: Path, tmp_path: Path) -> None:
    chat, root = sub_agent_tree(tmp_path)
    report = api.import_from("claude-code", root)
    assert (report.imported, report.skipped, report.errors) == (2, 1, 0)
    assert report.skipped_reasons == {"compaction transcript": 1}
    sessions = {s.key: s for p in parts_of(api).ctx.projects.all() for s in parts_of(api).ctx.sessions_in(p)}
    parent_key = f"claude-code:{chat.session_id}"
    child = sessions[f"{parent_key}/agent-a1"]
    assert contents(child) == ["find it", "the parser is in parse.py"]
    assert child.title == "Find the parser"
    facts = child.metadata["import"]
    assert (facts["parent"], facts["agent_id"], facts["tool_call_id"], facts["agent_type"]) == (
        parent_key, "a1", "call-task", "Explore")
    parent = sessions[parent_key]
    assert [s.id for s in api.list(all_projects=True)] == [parent.id]  # listed under its parent only
    assert [s.agents for s in api.list(all_projects=True)] == [1]
    assert {s.id for s in api.list(all_projects=True, agents=True)} == {parent.id, child.id}
    assert [a.id for a in api.agents(parent)] == [child.id] and api.agents(child) == []
    assert [h.id for h in api.search("parse.py")] == [child.id]
    before = tree_digest(home)
    again = api.import_from("claude-code", root)
    assert (again.imported, again.updated) == (0, 0) and tree_digest(home) == before


def test_an_older_sub_agent_file_beside_the_sessions_is_a_child_too(api: Chit, tmp_path: Path) -> None:
    chat, root = sub_agent_tree(tmp_path)
    folder = root / "proj" / chat.session_id / "subagents"
    (folder / "agent-a1.jsonl").rename(root / "proj" / "agent-a1.jsonl")  # the layout of older versions
    (folder / "agent-acompact-9f.jsonl").unlink()
    report = api.import_from("claude-code", root)
    assert (report.imported, report.skipped) == (2, 0)
    child = next(s for p in parts_of(api).ctx.projects.all() for s in parts_of(api).ctx.sessions_in(p) if s.key == f"claude-code:{chat.session_id}/agent-a1")
    assert (child.title, child.metadata["import"]["tool_call_id"]) == ("Find the parser", "call-task")


def test_a_sub_agent_found_before_its_parent_finishes_is_linked_later(api: Chit, tmp_path: Path) -> None:
    chat, root = sub_agent_tree(tmp_path)
    parent_file = root / "proj" / f"{chat.session_id}.jsonl"
    records = chat.records
    chat.records = records[:2]  # the Task call, no result yet
    chat.write(parent_file)
    api.import_from("claude-code", root)
    child = next(s for p in parts_of(api).ctx.projects.all() for s in parts_of(api).ctx.sessions_in(p) if s.key and s.key.endswith("/agent-a1"))
    assert "tool_call_id" not in child.metadata["import"]
    chat.records = records
    chat.write(parent_file)
    report = api.import_from("claude-code", root)
    assert report.updated == 2
    child = api.get(child.id)
    assert child.metadata["import"]["tool_call_id"] == "call-task" and child.title == "Find the parser"


def test_parallel_tool_calls_and_their_results_are_kept_in_file_order(api: Chit, tmp_path: Path) -> None:
    chat = Claude()
    chat.user("look at two files")
    first = chat.tool_use("Read", "c1", "m1")
    second = chat.tool_use("Grep", "c2", "m1")
    chat.tool_result("c1", "one", parent=first)  # hangs off the chain
    chat.tool_result("c2", "two", parent=second)
    chat.say("both read", "m2")
    chat.write(tmp_path / "c.jsonl")
    api.import_from("claude-code", tmp_path / "c.jsonl")
    session = only(api)
    assert contents(session)[3:] == ["one", "two", "both read"]
    assert [m.metadata.get("tool_name") for m in session.messages[1:5]] == ["Read", "Grep", "Read", "Grep"]
    assert [m.invocation_id for m in session.messages[1:5]] == ["m1"] * 4
    assert session.messages[2].tokens is not None and session.messages[2].tokens.input == 105  # cache reads count
    assert session.messages[1].tokens is None


def test_a_compacted_session_keeps_what_came_before_the_boundary(api: Chit, tmp_path: Path) -> None:
    chat = Claude()
    chat.user("before compaction")
    last = chat.say("old answer", "m1")
    chat.add("system", None, parent=None, subtype="compact_boundary", content="Conversation compacted", logicalParentUuid=last)
    chat.user("This session is being continued from a previous conversation…", isCompactSummary=True)
    chat.user("after compaction")
    chat.say("new answer", "m2")
    chat.write(tmp_path / "d.jsonl")
    api.import_from("claude-code", tmp_path / "d.jsonl")
    session = only(api)
    assert contents(session)[:2] == ["before compaction", "old answer"]
    assert session.messages[3].role == "system" and session.messages[3].metadata["compact_summary"] is True
    assert session.turns == 2


def test_thinking_is_metadata_and_slash_commands_are_tidied(api: Chit, tmp_path: Path) -> None:
    chat = Claude()
    chat.user("<command-message>review</command-message>\n<command-name>/review</command-name>\n<command-args>src/</command-args>")
    chat.user("Review the code in src/ carefully.", isMeta=True)
    chat.assistant([{"type": "thinking", "thinking": "secret plan", "signature": "x"}], "m1")
    chat.say("Looks fine.", "m1")
    chat.user("<local-command-stdout>\x1b[1mdone\x1b[22m</local-command-stdout>")
    chat.user("[Request interrupted by user]")
    chat.write(tmp_path / "e.jsonl")
    api.import_from("claude-code", tmp_path / "e.jsonl")
    session = only(api)
    assert [(m.role, m.content) for m in session.messages] == [
        ("user", "/review src/"), ("system", "Review the code in src/ carefully."), ("assistant", "Looks fine."),
        ("system", "done"), ("system", "[Request interrupted by user]"),
    ]
    assert session.messages[2].metadata["thinking"] == "secret plan"
    assert not any("secret plan" in c or "signature" in c for c in contents(session))


def test_a_compaction_whose_logical_parent_is_not_in_the_file_keeps_the_history(api: Chit, tmp_path: Path) -> None:
    chat = Claude()
    chat.user("the first prompt")
    chat.say("old answer", "m1")
    chat.add("system", None, parent=None, subtype="compact_boundary", content="Conversation compacted",
             logicalParentUuid="not-in-this-file")
    chat.user("This session is being continued from a previous conversation…", isCompactSummary=True)
    chat.user("after compaction")
    chat.say("new answer", "m2")
    chat.write(tmp_path / "d.jsonl")
    api.import_from("claude-code", tmp_path / "d.jsonl")
    session = only(api)
    assert [(m.role, m.content) for m in session.messages] == [
        ("user", "the first prompt"), ("assistant", "old answer"), ("system", "Conversation compacted"),
        ("system", "This session is being continued from a previous conversation…"),
        ("user", "after compaction"), ("assistant", "new answer"),
    ]
    assert session.title == "the first prompt"


def test_a_compaction_naming_no_logical_parent_keeps_the_history(api: Chit, tmp_path: Path) -> None:
    chat = Claude()
    chat.user("the first prompt")
    chat.say("old answer", "m1")
    chat.add("system", None, parent=None, subtype="compact_boundary", content="Conversation compacted")
    chat.user("after compaction")
    chat.write(tmp_path / "d.jsonl")
    api.import_from("claude-code", tmp_path / "d.jsonl")
    assert contents(only(api)) == ["the first prompt", "old answer", "Conversation compacted", "after compaction"]


def test_a_corrupt_line_mid_chain_costs_that_line_only(api: Chit, tmp_path: Path) -> None:
    chat = Claude()
    chat.user("the first prompt")
    chat.say("first answer", "m1")
    chat.user("a prompt whose line is torn")
    chat.say("second answer", "m2")
    chat.user("last prompt")
    path = chat.write(tmp_path / "c.jsonl")
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2][:60]  # the third record, cut short: its children's parent is gone
    path.write_bytes(b"\n".join(lines))
    report = api.import_from("claude-code", path)
    assert report.errors == 1
    session = only(api)
    assert contents(session) == ["the first prompt", "first answer", "second answer", "last prompt"]
    assert session.title == "the first prompt"


def test_injected_user_records_are_neither_turns_nor_titles(api: Chit, tmp_path: Path) -> None:
    chat = Claude()
    chat.user("<command-name>/clear</command-name>\n<command-message>clear</command-message>\n<command-args></command-args>")
    chat.user("<local-command-stdout></local-command-stdout>")
    chat.user("<task-notification>\n<task-id>b1</task-id>\n<status>completed</status>\n</task-notification>")
    chat.user("the real prompt")
    chat.say("the answer", "m1")
    chat.write(tmp_path / "n.jsonl")
    api.import_from("claude-code", tmp_path / "n.jsonl")
    session = only(api)
    assert [m.role for m in session.messages] == ["system", "system", "user", "assistant"]
    assert session.messages[1].metadata["task_notification"] is True
    assert session.messages[0].metadata["slash_command"] is True
    assert (session.turns, session.title) == (1, "the real prompt")


def test_a_structured_tool_result_is_kept_in_metadata(api: Chit, tmp_path: Path) -> None:
    chat = Claude()
    chat.user("read it")
    chat.tool_use("Read", "c1", "m1")
    result = chat.tool_result("c1", "file text")
    structured = {"type": "text", "file": {"filePath": "/a.txt", "numLines": 1}}
    next(r for r in chat.records if r["uuid"] == result)["toolUseResult"] = structured
    chat.write(tmp_path / "t.jsonl")
    api.import_from("claude-code", tmp_path / "t.jsonl")
    tool = only(api).messages[2]
    assert tool.metadata["tool_kind"] == "result" and tool.metadata["tool_use_result"] == structured


def test_bad_records_and_a_torn_last_line_are_counted_not_fatal(api: Chit, tmp_path: Path) -> None:
    chat = Claude()
    chat.user("good prompt")
    chat.say("good answer", "m1")
    path = chat.write(tmp_path / "f.jsonl", tail='{"type": "user", "message": {"role": "us')
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(1, "this is not json\n")
    lines.insert(2, "[1, 2, 3]\n")
    path.write_text("".join(lines))
    report = api.import_from("claude-code", tmp_path)
    assert (report.imported, report.errors) == (1, 3)
    assert [(p.line, p.reason) for p in report.problems] == [(2, "not JSON"), (3, "not a JSON object"), (5, "incomplete last line")]
    assert contents(only(api)) == ["good prompt", "good answer"]


def test_a_record_with_garbage_fields_is_skipped_alone(api: Chit, tmp_path: Path) -> None:
    chat = Claude()
    chat.user("fine")
    chat.add("assistant", {"role": "assistant", "content": 5, "model": ["x"], "id": {"a": 1}})
    chat.add("user", "not a message object")
    chat.say("still fine", "m1")
    chat.write(tmp_path / "g.jsonl")
    report = api.import_from("claude-code", tmp_path / "g.jsonl")
    assert report.imported == 1
    assert contents(only(api)) == ["fine", "still fine"]


def test_one_unreadable_file_does_not_stop_the_others(api: Chit, tmp_path: Path) -> None:
    _, good = simple(tmp_path)
    bad = tmp_path / "src" / "proj" / "bad.jsonl"
    bad.write_bytes(b"\xff\xfe garbage \x00\n")
    report = api.import_from("claude-code", tmp_path / "src")
    assert (report.imported, report.errors) == (1, 1)
    assert report.problems[0].path == str(bad)


def test_grown_source_is_appended_not_rewritten(api: Chit, home: Path, tmp_path: Path) -> None:
    chat, path = simple(tmp_path)
    api.import_from("claude-code", path)
    session = only(api)
    file = parts_of(api).ctx.store.session_path(parts_of(api).ctx.locate(session.id).slug, session.id)
    before, inode = file.read_bytes(), file.stat().st_ino
    chat.records = []
    chat.user("second prompt")
    chat.say("second answer", "m2")
    append_jsonl(path, chat.records)
    report = api.import_from("claude-code", path)
    assert (report.imported, report.updated, report.messages) == (0, 1, 2)
    assert report.sessions[0].action == "updated" and report.sessions[0].id == session.id
    assert file.read_bytes().startswith(before) and file.stat().st_ino == inode
    assert contents(only(api)) == ["hello", "hi there", "second prompt", "second answer"]
    digest = tree_digest(home)
    again = api.import_from("claude-code", path)
    assert (again.imported, again.updated, again.skipped) == (0, 0, 1) and tree_digest(home) == digest


def test_a_source_changed_otherwise_is_rewritten_keeping_chit_changes(api: Chit, tmp_path: Path) -> None:
    chat, path = simple(tmp_path)
    api.import_from("claude-code", path)
    session = only(api)
    api.tag(session.id, "work")
    api.rename(session.id, "My greeting")
    chat.records[1]["message"]["content"] = "hello, edited"  # the source changed in place
    chat.write(path)
    report = api.import_from("claude-code", path)
    assert report.updated == 1 and report.messages == 2
    after = only(api)
    assert after.id == session.id and contents(after) == ["hello, edited", "hi there"]
    assert after.tags == ("work",) and after.title == "My greeting"
    assert after.dropped == 0 and not after.issues


def test_a_session_changed_in_chit_is_left_alone(api: Chit, tmp_path: Path) -> None:
    chat, path = simple(tmp_path)
    api.import_from("claude-code", path)
    session = only(api)
    api.append(session.id, "user", "my own follow-up")
    file = parts_of(api).ctx.store.session_path(parts_of(api).ctx.locate(session.id).slug, session.id)
    before = file.read_bytes()
    chat.user("more from Claude")
    chat.write(path)
    report = api.import_from("claude-code", path)
    assert (report.updated, report.skipped_reasons) == (0, {"changed in chit": 1})
    assert report.sessions[0].reason == "changed in chit"
    assert file.read_bytes() == before


def test_a_trashed_session_is_not_brought_back(api: Chit, tmp_path: Path) -> None:
    _, path = simple(tmp_path)
    api.import_from("claude-code", path)
    api.delete(only(api).id)
    report = api.import_from("claude-code", path)
    assert (report.imported, report.skipped_reasons) == (0, {"in trash": 1})
    assert [s for p in parts_of(api).ctx.projects.all() for s in parts_of(api).ctx.sessions_in(p)] == []


def test_project_follows_the_working_directory_or_the_named_one(home: Path, tmp_path: Path) -> None:
    repo = tmp_path / "work" / "repo"
    (repo / ".git").mkdir(parents=True)
    chat = Claude(cwd=str(repo / "sub"))
    chat.user("in a subdirectory")
    chat.write(tmp_path / "h.jsonl")
    no_cwd = Claude(cwd="")
    no_cwd.user("nowhere")
    no_cwd.write(tmp_path / "i.jsonl")
    api = Chit(home, cwd=tmp_path)
    api.import_from("claude-code", tmp_path)
    names = sorted((p.name, p.key) for p in parts_of(api).ctx.projects.all())
    assert names == [("claude-code", "name:claude-code"), ("repo", str(repo))]
    named = Chit(home / "other", cwd=tmp_path, project="inbox")
    named.import_from("claude-code", tmp_path)
    assert [p.name for p in parts_of(named).ctx.projects.all()] == ["inbox"]


def test_a_custom_title_names_the_session(api: Chit, tmp_path: Path) -> None:
    chat = Claude()
    chat.user("a long first prompt")
    chat.records.append({"type": "custom-title", "customTitle": "Named in Claude", "sessionId": chat.session_id})
    chat.write(tmp_path / "j.jsonl")
    api.import_from("claude-code", tmp_path / "j.jsonl")
    assert only(api).title == "Named in Claude"


def test_the_default_location_honours_claude_config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "cfg"))
    assert claude_code.default_path() == tmp_path / "cfg" / "projects"
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    assert claude_code.default_path() == Path(os.path.expanduser("~")) / ".claude" / "projects"
