"""ChatGPT exports the tests write: branching trees, hidden nodes, odd
content, bad conversations, the .zip, an export in numbered parts,
and re-imports."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from chit.api import Chit
from chit.errors import InvalidData, NotFound
from chit.model import Session
from chit.service.facade import parts_of
from conftest import tree_digest
from importer_sources import chatgpt_conversation, write_export

TREE = [
    ("root", None, "root", ""),
    ("sys", "root", "system", ""),
    ("q1", "sys", "user", "first question"),
    ("a1", "q1", "assistant", "first answer"),
    ("q2-old", "a1", "user", "original follow-up"),
    ("a2-old", "q2-old", "assistant", "answer to the original"),
    ("q2", "a1", "user", "edited follow-up"),
    ("a2-retry1", "q2", "assistant", "regenerated away"),
    ("a2", "q2", "assistant", "kept answer"),
]


def sessions(api: Chit) -> dict[str, Session]:
    return {s.key or "": s for p in parts_of(api).ctx.projects.all() for s in parts_of(api).ctx.sessions_in(p)}


def test_only_the_thread_to_current_node_is_imported(api: Chit, tmp_path: Path) -> None:
    export = write_export(tmp_path / "conversations.json", [chatgpt_conversation("c-1", TREE, "a2")])
    report = api.import_from("chatgpt", export)
    session = sessions(api)["chatgpt:c-1"]
    assert (report.imported, report.messages) == (1, 4)
    assert [m.content for m in session.messages] == ["first question", "first answer", "edited follow-up", "kept answer"]
    assert [m.metadata["source_id"] for m in session.messages] == ["q1", "a1", "q2", "a2"]
    assert session.messages[0].ts == "2023-11-14T22:13:22.000000Z"  # epoch 1700000002


def test_without_a_current_node_the_newest_leaf_is_followed(api: Chit, tmp_path: Path) -> None:
    export = write_export(tmp_path / "c.json", [chatgpt_conversation("c-2", TREE, None)])
    api.import_from("chatgpt", export)
    assert sessions(api)["chatgpt:c-2"].messages[-1].content == "kept answer"


def test_hidden_and_odd_nodes(api: Chit, tmp_path: Path) -> None:
    conversation = chatgpt_conversation("c-3", TREE[:4], "a1")
    mapping = conversation["mapping"]
    mapping["q1"]["message"]["content"] = {"content_type": "multimodal_text", "parts": [
        "look at this", {"content_type": "image_asset_pointer", "asset_pointer": "file-service://x"}, {"content_type": "audio_transcription", "text": "spoken"}]}
    mapping["sys"]["message"]["metadata"]["is_visually_hidden_from_conversation"] = True
    mapping["sys"]["message"]["content"]["parts"] = ["hidden system text"]
    thoughts = {"content_type": "thoughts", "thoughts": [{"summary": "Thinking", "content": "weigh options"}]}
    mapping["think"] = {"id": "think", "parent": "q1", "children": ["a1"], "message": {
        "id": "think", "author": {"role": "assistant"}, "create_time": None, "content": thoughts, "recipient": "all"}}
    mapping["a1"]["parent"] = "think"
    mapping["q1"]["children"] = ["think"]
    write_export(tmp_path / "c.json", [conversation])
    api.import_from("chatgpt", tmp_path / "c.json")
    session = sessions(api)["chatgpt:c-3"]
    assert [m.content for m in session.messages] == ["look at this\n[image: file-service://x]\nspoken", "first answer"]
    assert session.messages[1].metadata["thinking"] == "weigh options"


def test_voice_mode_recordings_are_audio_beside_their_transcription(api: Chit, tmp_path: Path) -> None:
    conversation = chatgpt_conversation("c-voice", TREE[:4], "a1")
    mapping = conversation["mapping"]
    recording = {"asset_pointer": "sediment://file_in", "content_type": "audio_asset_pointer", "format": "wav"}
    mapping["q1"]["message"]["content"] = {"content_type": "multimodal_text", "parts": [
        {"content_type": "real_time_user_audio_video_asset_pointer", "audio_asset_pointer": recording,
         "video_container_asset_pointer": None, "frames_asset_pointers": []},
        {"content_type": "audio_transcription", "direction": "in", "text": "what time is it"}]}
    mapping["a1"]["message"]["content"] = {"content_type": "multimodal_text", "parts": [
        {"content_type": "audio_transcription", "direction": "out", "text": "noon"},
        {"content_type": "audio_asset_pointer", "asset_pointer": "sediment://file_out", "format": "wav"}]}
    write_export(tmp_path / "v.json", [conversation])
    api.import_from("chatgpt", tmp_path / "v.json")
    session = sessions(api)["chatgpt:c-voice"]
    assert [m.content for m in session.messages] == [
        "[audio: sediment://file_in]\nwhat time is it", "noon\n[audio: sediment://file_out]"]


def test_a_bad_conversation_is_a_problem_not_the_end(api: Chit, tmp_path: Path) -> None:
    good = chatgpt_conversation("c-good", TREE, "a2")
    broken = {"title": "broken", "id": "c-broken", "mapping": "not a mapping"}
    write_export(tmp_path / "c.json", ["not an object", broken, good, {"id": "c-empty", "mapping": {}}])
    report = api.import_from("chatgpt", tmp_path / "c.json")
    assert (report.imported, report.errors, report.skipped) == (1, 2, 1)
    assert sorted(p.reason for p in report.problems) == ["conversation has no mapping", "conversation is not an object"]


def test_an_unreadable_export_is_refused_whole(api: Chit, tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text("{not json")
    with pytest.raises(InvalidData):
        api.import_from("chatgpt", tmp_path / "c.json")
    (tmp_path / "d.json").write_text('{"a": 1}')
    with pytest.raises(InvalidData):
        api.import_from("chatgpt", tmp_path / "d.json")
    with pytest.raises(NotFound):
        api.import_from("chatgpt", tmp_path / "missing.json")


def test_the_export_zip_and_its_folder_are_read(api: Chit, tmp_path: Path) -> None:
    data = json.dumps([chatgpt_conversation("c-zip", TREE, "a2")])
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:
        archive.writestr("user-123/conversations.json", data)
        archive.writestr("user-123/chat.html", "<html></html>")
    assert api.import_from("chatgpt", tmp_path / "export.zip").imported == 1
    (tmp_path / "unzipped").mkdir()
    (tmp_path / "unzipped" / "conversations.json").write_text(data)
    again = api.import_from("chatgpt", tmp_path / "unzipped")
    assert (again.imported, again.skipped_reasons) == (0, {"unchanged": 1})  # same conversation, another file


def newest_shape(conversation: dict[str, object]) -> dict[str, object]:
    """A conversation as the newest exports write it: nodes without
    `children`, messages without the fields that are null or default
    (`recipient`, `status`, an empty `metadata`)."""
    mapping = conversation["mapping"]
    assert isinstance(mapping, dict)
    for node in mapping.values():
        del node["children"]
        message = node["message"]
        if message is not None:
            for name in ("recipient", "status"):
                del message[name]
            if not message["metadata"]:
                del message["metadata"]
    return conversation


def test_an_export_in_numbered_parts_is_read_from_its_folder_and_zip(api: Chit, tmp_path: Path) -> None:
    parts = [[newest_shape(chatgpt_conversation("c-p0", TREE, "a2"))],
             [newest_shape(chatgpt_conversation("c-p1", TREE[:4], "a1", "Zweite Unterhaltung \u00fc"))]]
    folder = tmp_path / "export"
    folder.mkdir()
    for number, part in enumerate(parts):
        (folder / f"conversations-{number:03d}.json").write_text(json.dumps(part, indent=2, sort_keys=True))
    (folder / "export_manifest.json").write_text('{"export_files": []}')
    report = api.import_from("chatgpt", folder)
    assert (report.imported, report.messages, report.errors) == (2, 6, 0)
    found = sessions(api)
    assert [m.content for m in found["chatgpt:c-p0"].messages] == ["first question", "first answer", "edited follow-up", "kept answer"]
    assert [m.role for m in found["chatgpt:c-p1"].messages] == ["user", "assistant"]
    assert found["chatgpt:c-p1"].title == "Zweite Unterhaltung \u00fc"
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"user-123/{path.name}")
    again = api.import_from("chatgpt", tmp_path / "export.zip")
    assert (again.imported, again.updated, again.skipped_reasons) == (0, 0, {"unchanged": 2})
    (folder / "conversations-000.json").unlink()
    (folder / "conversations-001.json").unlink()
    with pytest.raises(InvalidData, match="holds no conversations.json"):
        api.import_from("chatgpt", folder)


def test_a_new_branch_rewrites_and_growth_appends(api: Chit, home: Path, tmp_path: Path) -> None:
    conversation = chatgpt_conversation("c-4", TREE, "a2-old")
    export = write_export(tmp_path / "c.json", [conversation])
    api.import_from("chatgpt", export)
    session = sessions(api)["chatgpt:c-4"]
    api.tag(session.id, "kept")
    conversation["current_node"] = "a2"  # the person switched to another branch
    write_export(export, [conversation])
    report = api.import_from("chatgpt", export)
    after = sessions(api)["chatgpt:c-4"]
    assert (report.updated, after.id, after.tags) == (1, session.id, ("kept",))
    assert [m.content for m in after.messages][2:] == ["edited follow-up", "kept answer"]
    grown = chatgpt_conversation("c-4", [*TREE, ("q3", "a2", "user", "third"), ("a3", "q3", "assistant", "3rd")], "a3")
    write_export(export, [grown])
    report = api.import_from("chatgpt", export)
    assert (report.updated, report.messages) == (1, 2)
    digest = tree_digest(home)
    assert api.import_from("chatgpt", export).skipped_reasons == {"unchanged": 1}
    assert tree_digest(home) == digest


def test_a_new_title_is_taken_but_a_rename_in_chit_wins(api: Chit, tmp_path: Path) -> None:
    conversation = chatgpt_conversation("c-5", TREE, "a2", title="Old title")
    export = write_export(tmp_path / "c.json", [conversation])
    api.import_from("chatgpt", export)
    conversation["title"] = "New title"
    write_export(export, [conversation])
    assert api.import_from("chatgpt", export).updated == 1
    session = sessions(api)["chatgpt:c-5"]
    assert session.title == "New title"
    api.rename(session.id, "Mine")
    conversation["title"] = "Newer title"
    write_export(export, [conversation])
    assert api.import_from("chatgpt", export).updated == 1
    assert sessions(api)["chatgpt:c-5"].title == "Mine"
    api.compact(session.id)  # folds the rename into the header
    conversation["title"] = "Newest title"
    write_export(export, [conversation])
    assert api.import_from("chatgpt", export).updated == 1
    after = sessions(api)["chatgpt:c-5"]
    assert (after.title, after.metadata["import"]["title"]) == ("Mine", "Newest title")


def test_chatgpt_needs_a_file(api: Chit) -> None:
    from chit.errors import InvalidInput

    with pytest.raises(InvalidInput):
        api.import_from("chatgpt")
