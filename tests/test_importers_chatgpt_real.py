"""A real ChatGPT data export, checked against an independent reading.

tests/data/chatgpt-my_chat_gpt/conversations.json.gz is the
`conversations.json` of a ChatGPT data export made in June 2023 by the
owner of a public project (see tests/data/README.md), kept compressed: 192
conversations with GPT-3.5 and GPT-4, Dutch and English, browsing
(`open_url`, `quote` calls and their `tether_browsing_display` /
`tether_quote` results, two failed commands), a plugin call, regenerated
answers, and an empty system node at the head of every conversation.

Newer exports cut the array into numbered files (`conversations-000.json`…);
`cut_into_parts` lays the same conversations out that way.

The expectations come from `read_export` below: a few lines of plain JSON
reading written for these tests, sharing nothing with chit's importer, so
a fault in the importer cannot hide in its own expectations. The export
is read so once, and imported into a fresh home once, for the tests that
only read what that import wrote (`first_import`); a test that imports
again, or something else, has its own home (a copy of that import's home,
for the test of a second import). The homes the API imports into write
without fsync (`durable=False`): what is checked is what an import
decides and writes, not what a crash leaves (192 conversations' fsyncs
cost about 0.24 s of CPU an import).
"""

from __future__ import annotations

import gzip
import json
import shutil
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from chit.api import Chit
from chit.model import Session
from chit.service.results import ImportReport
from chit.service.facade import parts_of
from conftest import tree_digest
from importer_sources import fixture

CONVERSATIONS = 192
BROWSING = "902d8aca-bcd3-477a-a348-d46448b6cd06"  # "Improve Website Recommendations."
FIRST = "58f522f1-b174-492d-a52c-5240dacc06d0"  # "Django Multi-DB Setup", first in the file


@dataclass
class Shown:
    """One message of the thread ChatGPT shows, as the export holds it."""

    node: str
    role: str  # user, assistant, tool
    text: str
    ts: str
    tool: str | None = None  # the tool a call goes to or a result comes from
    call: bool = False
    failed: bool = False
    quote_of: str | None = None  # a quoted page's url (the text is then the quote)


@dataclass
class Conversation:
    title: str
    created: str
    shown: list[Shown] = field(default_factory=list)
    off_thread: list[str] = field(default_factory=list)  # message ids on other branches


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def shown_thread(raw: dict[str, Any]) -> list[str]:
    """The node ids from a conversation's `current_node` up to its root."""
    chain, node = [], raw["current_node"]
    while node is not None:
        chain.append(node)
        node = raw["mapping"][node]["parent"]
    return chain


def read_export(path: Path) -> dict[str, Conversation]:
    """What each conversation shows, read plainly: the path from
    `current_node` up its parents, less the empty system message every
    conversation starts with; an assistant message addressed to a tool
    (`recipient`) is a call, a `tool` author's message a result."""
    found: dict[str, Conversation] = {}
    for raw in json.loads(path.read_bytes()):
        mapping, chain = raw["mapping"], shown_thread(raw)
        conversation = Conversation(raw["title"], iso(raw["create_time"]))
        for node in reversed(chain):
            message = mapping[node]["message"]
            if message is not None:
                shown = _shown(node, message)
                if shown is not None:
                    conversation.shown.append(shown)
        on_thread = set(chain)
        conversation.off_thread = [n["message"]["id"] for k, n in mapping.items() if k not in on_thread and n["message"]]
        found[raw["id"]] = conversation
    return found


def _shown(node: str, message: dict[str, Any]) -> Shown | None:
    content, role = message["content"], message["author"]["role"]
    if "parts" in content:
        assert all(isinstance(p, str) for p in content["parts"])  # this export has no images
        body = "\n".join(content["parts"])
    else:
        body = content.get("text") or content.get("result") or ""
    if role == "system" and not body:
        return None
    shown = Shown(node, role, body, iso(message["create_time"]))
    if role == "assistant" and message["recipient"] != "all":
        shown.role, shown.tool, shown.call = "tool", message["recipient"], True
    elif role == "tool":
        shown.tool, shown.failed = message["author"]["name"], content["content_type"] == "system_error"
        if content["content_type"] == "tether_quote":
            shown.quote_of = content["url"]
    return shown


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The export's conversations.json as ChatGPT wrote it."""
    path = tmp_path_factory.mktemp("export") / "conversations.json"
    path.write_bytes(gzip.decompress(fixture("chatgpt-my_chat_gpt", "conversations.json.gz").read_bytes()))
    return path


@pytest.fixture(scope="module")
def expected(export: Path) -> dict[str, Conversation]:
    """`read_export` of the export (the tests only read it)."""
    return read_export(export)


def imported(api: Chit) -> dict[str, Session]:
    return {s.key: s for p in parts_of(api).ctx.projects.all() for s in parts_of(api).ctx.sessions_in(p) if s.key}


@dataclass
class FirstImport:
    home: Path
    report: ImportReport
    sessions: dict[str, Session]  # by key, read back from the files the import wrote


@pytest.fixture(scope="module")
def first_import(export: Path, tmp_path_factory: pytest.TempPathFactory) -> FirstImport:
    """The export imported into a fresh home, as each test that only reads the result imported it for itself."""
    work = tmp_path_factory.mktemp("first-import")
    (work / "proj" / ".git").mkdir(parents=True)
    api = Chit(work / "home", cwd=work / "proj", durable=False)
    report = api.import_from("chatgpt", export)
    return FirstImport(work / "home", report, imported(api))


def test_every_conversation_is_the_thread_chatgpt_shows(first_import: FirstImport, expected: dict[str, Conversation]) -> None:
    assert len(expected) == CONVERSATIONS
    report = first_import.report
    assert (report.imported, report.errors, report.problems) == (CONVERSATIONS, 0, [])
    assert report.messages == sum(len(c.shown) for c in expected.values())
    sessions = first_import.sessions
    assert len(sessions) == CONVERSATIONS
    for cid, conversation in expected.items():
        session = sessions[f"chatgpt:{cid}"]
        assert (session.title, session.created_at) == (conversation.title, conversation.created)
        assert [(m.metadata["source_id"], m.role, m.ts) for m in session.messages] == [
            (s.node, s.role, s.ts) for s in conversation.shown]
        for message, shown in zip(session.messages, conversation.shown):
            if shown.quote_of is None:
                assert message.content == shown.text, (cid, shown.node)
            else:  # a quote is shown with the page it comes from
                assert shown.text in message.content and shown.quote_of in message.content
    first = sessions[f"chatgpt:{FIRST}"]
    assert first.messages[0].content.startswith("I want to develop a django application with multiple databases.")
    assert first.messages[-1].content == expected[FIRST].shown[-1].text and first.messages[-1].role == "assistant"
    assert Counter(m.role for s in sessions.values() for m in s.messages) == Counter(
        s.role for c in expected.values() for s in c.shown)


def test_browsing_and_plugin_calls_are_tool_calls_and_results(first_import: FirstImport, expected: dict[str, Conversation]) -> None:
    sessions = first_import.sessions
    for cid, conversation in expected.items():
        tools = [m for m in sessions[f"chatgpt:{cid}"].messages if m.role == "tool"]
        assert [(m.metadata["tool_name"], m.metadata["tool_kind"], bool(m.metadata.get("tool_error"))) for m in tools] == [
            (s.tool, "call" if s.call else "result", s.failed) for s in conversation.shown if s.role == "tool"]
    every = [s for c in expected.values() for s in c.shown if s.role == "tool"]
    assert Counter((s.tool, s.call) for s in every) == {
        ("browser", True): 27, ("browser", False): 32, ("show_me.get_MermaidRoute", True): 1, ("show_me.get_MermaidRoute", False): 1}
    failed = [m for m in sessions[f"chatgpt:{BROWSING}"].messages if m.metadata.get("tool_error")]
    assert [m.content.splitlines()[0] for m in failed] == [
        "Error when executing command `open_url(www.pieterkuppens.net)`",
        "Error when executing command `quote('freelance software en data science', 'Voor intermediairs\u2020www.pieterkuppens.net')`"]


def test_regenerated_answers_are_not_imported(first_import: FirstImport, expected: dict[str, Conversation]) -> None:
    sessions = first_import.sessions
    regenerated = {cid: c.off_thread for cid, c in expected.items() if c.off_thread}
    assert len(regenerated) == 4 and sum(map(len, regenerated.values())) == 9
    for cid, away in regenerated.items():
        kept = {m.metadata["source_id"] for m in sessions[f"chatgpt:{cid}"].messages}
        assert not kept & set(away)


def test_the_empty_system_node_of_every_conversation_is_skipped(first_import: FirstImport, export: Path) -> None:
    raw = json.loads(export.read_bytes())
    heads = [n for c in raw for n in c["mapping"].values()
             if n["message"] and n["message"]["author"]["role"] == "system" and n["message"]["content"]["parts"] == [""]]
    assert len(heads) == CONVERSATIONS
    messages = [m for s in first_import.sessions.values() for m in s.messages]
    assert not [m for m in messages if m.role == "system" or not m.content.strip()]


def test_a_second_import_of_the_export_or_its_zip_writes_nothing(
    first_import: FirstImport, home: Path, workdir: Path, export: Path, tmp_path: Path
) -> None:
    shutil.copytree(first_import.home, home)  # what a first import of the export wrote
    api = Chit(home, cwd=workdir)
    before = tree_digest(home)
    again = api.import_from("chatgpt", export)
    assert (again.imported, again.updated, again.messages, again.skipped_reasons) == (0, 0, 0, {"unchanged": CONVERSATIONS})
    assert tree_digest(home) == before
    sessions = tree_digest(home / "projects")
    archive = tmp_path / "chatgpt-export.zip"
    with zipfile.ZipFile(archive, "w") as packed:
        packed.write(export, "conversations.json")
    zipped = api.import_from("chatgpt", archive)
    assert (zipped.imported, zipped.updated, zipped.messages) == (0, 0, 0)
    assert tree_digest(home / "projects") == sessions  # only the import cache learns the .zip


def test_the_cli_imports_lists_and_shows_the_export(cli, export: Path) -> None:  # type: ignore[no-untyped-def]
    done = cli("import", "--from", "chatgpt", str(export), "--json")
    assert done.code == 0, done.err
    assert (orjson.loads(done.out)["imported"], orjson.loads(done.out)["errors"]) == (CONVERSATIONS, 0)
    listed = [orjson.loads(line) for line in cli("ls", "-a", "-n", "0", "--jsonl").out.splitlines()]
    assert len(listed) == CONVERSATIONS and {s["project_name"] for s in listed} == {"chatgpt"}
    row = next(s for s in listed if s["key"] == f"chatgpt:{BROWSING}")
    assert (row["title"], row["turns"], row["created_at"]) == ("Improve Website Recommendations.", 2, "2023-05-25T12:00:50.164553Z")
    shown = cli("show", row["id"], "--no-pager")
    assert shown.code == 0
    assert "tool · browser · call" in shown.out and "tool · browser · error" in shown.out
    assert "assistant · gpt-4-browsing" in shown.out


def cut_into_parts(export: Path, folder: Path, sizes: list[int]) -> list[Path]:
    """The export laid out as newer ChatGPT exports are: its array cut into
    `conversations-000.json`, `conversations-001.json`… (indented, keys
    sorted), beside an `export_manifest.json` and no `conversations.json`."""
    conversations = json.loads(export.read_bytes())
    assert sum(sizes) == len(conversations)
    folder.mkdir(parents=True, exist_ok=True)
    parts, start = [], 0
    for number, size in enumerate(sizes):
        part = folder / f"conversations-{number:03d}.json"
        part.write_text(json.dumps(conversations[start:start + size], indent=2, sort_keys=True), encoding="utf-8")
        parts.append(part)
        start += size
    manifest = {"export_files": [{"path": p.name, "size_bytes": p.stat().st_size} for p in parts]}
    (folder / "export_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return parts


def test_an_export_cut_into_numbered_parts_imports_whole(
    home: Path, workdir: Path, export: Path, expected: dict[str, Conversation], tmp_path: Path
) -> None:
    api = Chit(home, cwd=workdir, durable=False)
    folder = tmp_path / "export"
    cut_into_parts(export, folder, [64, 64, 64])
    report = api.import_from("chatgpt", folder)
    assert (report.imported, report.errors, report.messages) == (CONVERSATIONS, 0, sum(len(c.shown) for c in expected.values()))
    sessions = imported(api)
    for cid, conversation in expected.items():
        assert [m.metadata["source_id"] for m in sessions[f"chatgpt:{cid}"].messages] == [s.node for s in conversation.shown]
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as packed:
        for path in sorted(folder.iterdir()):
            packed.write(path, path.name)
    zipped = api.import_from("chatgpt", archive)
    assert (zipped.imported, zipped.updated, zipped.messages) == (0, 0, 0)
    # a later export cut elsewhere moves conversations between parts: nothing changes
    recut = tmp_path / "later"
    cut_into_parts(export, recut, [10, 100, 50, 32])
    again = api.import_from("chatgpt", recut)
    assert (again.imported, again.updated, again.messages, again.skipped_reasons) == (0, 0, 0, {"unchanged": CONVERSATIONS})


def test_a_folder_without_conversations_is_refused_in_one_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "not-an-export"
    folder.mkdir()
    (folder / "user.json").write_text("{}", encoding="utf-8")
    result = cli("import", "--from", "chatgpt", str(folder))
    assert (result.code, result.out, result.err) == (5, "", f"chit: error: {folder} holds no conversations.json\n")


def earlier_export(export: Path, path: Path) -> Path:
    """The export as an earlier one held it: every conversation with more
    than four nodes on its shown thread less its last two (the nodes gone
    from `mapping` and their parent's children, `current_node` moved up)."""
    conversations = json.loads(export.read_bytes())
    for raw in conversations:
        mapping, chain = raw["mapping"], shown_thread(raw)
        if len(chain) > 4:
            for gone in chain[:2]:
                del mapping[gone]
            mapping[chain[2]]["children"] = [c for c in mapping[chain[2]]["children"] if c != chain[1]]
            raw["current_node"] = chain[2]
    path.write_bytes(json.dumps(conversations).encode())
    return path


def _session_files(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in home.glob("projects/*/sessions/*.jsonl")}


def test_a_later_export_appends_only_the_new_messages(
    home: Path, workdir: Path, export: Path, expected: dict[str, Conversation], tmp_path: Path
) -> None:
    api = Chit(home, cwd=workdir, durable=False)
    earlier = earlier_export(export, tmp_path / "earlier.json")
    before_counts = {cid: len(c.shown) for cid, c in read_export(earlier).items()}
    after_counts = {cid: len(c.shown) for cid, c in expected.items()}
    grown = [cid for cid in after_counts if after_counts[cid] > before_counts[cid]]
    assert len(grown) > 100  # most conversations lost their last exchange in the earlier export

    first = api.import_from("chatgpt", earlier)
    assert (first.imported, first.messages) == (CONVERSATIONS, sum(before_counts.values()))
    files = _session_files(home)
    later = api.import_from("chatgpt", export)
    assert (later.imported, later.updated) == (0, len(grown))
    assert later.messages == sum(after_counts.values()) - sum(before_counts.values())
    now = _session_files(home)
    assert set(now) == set(files)
    assert all(now[name].startswith(old) for name, old in files.items())  # grown by appending, nothing rewritten
    sessions = imported(api)
    assert {key.removeprefix("chatgpt:"): len(s.messages) for key, s in sessions.items()} == after_counts
