"""ChatGPT data exports: `conversations.json` (alone, in its folder, or in
the export's .zip), or the numbered parts newer exports split it into
(`conversations-000.json`, `conversations-001.json`…).

Each file is an array of conversations; each has `title`, `create_time`
(epoch seconds), `mapping` (node id → {message, parent, children}) and
`current_node`.

Invariants:
- the thread shown in ChatGPT is imported: the path from `current_node` up
  to the root (without a usable `current_node`: the newest leaf). Other
  children are abandoned branches (edited prompts, regenerations) and are
  not imported;
- hidden nodes are skipped: `metadata.is_visually_hidden_from_conversation`,
  empty system messages, `user_editable_context` / `model_editable_context`
  (custom instructions, memory), and nodes whose message has no text;
- an assistant message addressed to a tool (`recipient` other than "all",
  e.g. `python`) is a tool call and a `tool` author's message (e.g.
  `execution_output`) a tool result, both role tool with `tool_name`;
  `thoughts` go to `metadata.thinking` of the next assistant message;
  images in `multimodal_text` become `[image: <pointer>]`, voice
  recordings `[audio: <pointer>]` (beside their transcription);
- every conversation goes to one project (`chatgpt` unless the import
  names one); the ChatGPT title becomes the session's title;
- one conversation is one unit: a malformed conversation is a problem,
  the others still import.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from chit.errors import InvalidData
from chit.store.files import NotRegular, is_named_file, read_named
from chit.importers.base import (
    Batch,
    Problem,
    Scan,
    Source,
    SourceSession,
    Transcript,
    Unit,
    json_text,
    loads,
    obj,
    one_line,
    text,
    ts_from_epoch,
)

NAME = "chatgpt"
PROJECT = "chatgpt"
HIDDEN_TYPES = ("user_editable_context", "model_editable_context", "reasoning_recap")
WHOLE = "conversations.json"
PART = re.compile(r"conversations-[0-9]+\.json")  # newer exports: the array cut into numbered files


def default_path() -> Path | None:
    return None  # an export lives wherever it was unpacked: FILE is required


def scan(path: Path) -> Scan:
    units, problems = [], []
    export, files = _read(path)
    numbered = [(source, index, c) for source, data in files for index, c in enumerate(_conversations(source, data))]
    for number, (source, index, conversation) in enumerate(numbered):
        where = f"{source}[{index}]"
        if not isinstance(conversation, dict):
            problems.append(Problem(where, None, "conversation is not an object"))
            continue
        cid = one_line(conversation.get("conversation_id") or conversation.get("id")) or f"index-{number}"
        label = one_line(conversation.get("title"), 60) or cid
        units.append(Unit(f"{NAME}:{export}:{cid}", label, _stamp(conversation),
                          lambda c=conversation, w=where, i=cid, p=source: read_conversation(c, w, i, p)))  # type: ignore[misc]
    return Scan(units, problems)


def _conversations(source: str, data: bytes) -> list[Any]:
    try:
        conversations = loads(data)
    except ValueError:
        raise InvalidData(f"{source} is not JSON (expected a ChatGPT export's conversations.json)") from None
    if isinstance(conversations, dict) and isinstance(conversations.get("conversations"), list):
        conversations = conversations["conversations"]
    if not isinstance(conversations, list):
        raise InvalidData(f"{source} is not a ChatGPT export (expected an array of conversations)")
    return conversations


SOURCE = Source(NAME, default_path, scan, "a ChatGPT data export (conversations.json or the .zip)")


def _read(path: Path) -> tuple[str, list[tuple[str, bytes]]]:
    """Where the export is, and (where, bytes) of each of its conversations
    files: the file itself, or in a folder or .zip its `conversations.json`,
    else its numbered parts in order. The export's place, not a part's,
    names its conversations, so one moving to another part stays itself."""
    try:
        if not path.is_dir() and not is_named_file(path):  # /dev/zero: the zip check would read it for ever
            raise NotRegular(path, os.stat(path).st_mode)
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = _export_files(archive.namelist())
                if not names:
                    raise InvalidData(f"{path} holds no {WHOLE}")
                if len(names) == 1:
                    return str(path), [(str(path), archive.read(names[0]))]
                return str(path), [(f"{path}:{name}", archive.read(name)) for name in names]
        if not path.is_dir():
            return str(path), [(str(path), read_named(path))]
        names = _export_files(p.name for p in path.iterdir())
        if not names:
            raise InvalidData(f"{path} holds no {WHOLE}")
        files = [(str(path / name), (path / name).read_bytes()) for name in names]
        return (files[0][0] if names == [WHOLE] else str(path)), files
    except (OSError, zipfile.BadZipFile, RuntimeError) as exc:
        raise InvalidData(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def _export_files(names: Iterable[str]) -> list[str]:
    """The conversations files among an export's names: the shallowest
    `conversations.json`, else the numbered parts beside the shallowest one."""
    names = list(names)
    whole = [n for n in names if n.rsplit("/", 1)[-1] == WHOLE]
    if whole:
        return [min(whole, key=len)]
    parts = [n for n in names if PART.fullmatch(n.rsplit("/", 1)[-1])]
    if not parts:
        return []
    folder = min(parts, key=lambda n: (n.count("/"), n)).rpartition("/")[0]
    return sorted((n for n in parts if n.rpartition("/")[0] == folder), key=_part_number)


def _part_number(name: str) -> int:
    return int(name.rsplit("-", 1)[-1].removesuffix(".json"))


def _stamp(conversation: dict[str, Any]) -> str:
    mapping = conversation.get("mapping")
    size = len(mapping) if isinstance(mapping, dict) else -1
    return json_text([conversation.get("update_time"), conversation.get("current_node"), conversation.get("title"), size])


def read_conversation(conversation: dict[str, Any], where: str, cid: str, path: str) -> Batch:
    batch = Batch()
    mapping = conversation.get("mapping")
    if not isinstance(mapping, dict):
        batch.problems.append(Problem(where, None, "conversation has no mapping"))
        return batch
    start = ts_from_epoch(conversation.get("create_time")) or "1970-01-01T00:00:00.000000Z"
    out = Transcript(NAME, cid, start)
    for node_id in _thread(mapping, conversation.get("current_node")):
        node = mapping[node_id]
        message = node.get("message") if isinstance(node, dict) else None
        if isinstance(message, dict):
            try:
                _message(out, node_id, message)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                batch.problems.append(Problem(where, None, f"unusable node {node_id[:40]} ({type(exc).__name__})"))
    if not out.messages:
        batch.skipped.append((where, "no messages"))
        return batch
    metadata = {
        "path": path,
        "model": one_line(conversation.get("default_model_slug")),
        "gizmo_id": one_line(conversation.get("gizmo_id")),
        "archived": conversation.get("is_archived") is True or None,
    }
    batch.sessions.append(SourceSession(
        NAME, cid, start, out.messages, title=one_line(conversation.get("title")), project=PROJECT,
        metadata={k: v for k, v in metadata.items() if v},
    ))
    return batch


def _thread(mapping: dict[str, Any], current: Any) -> list[str]:
    """Node ids from the root down to `current` (the shown thread)."""
    if not isinstance(current, str) or current not in mapping:
        current = _newest_leaf(mapping)
    path: list[str] = []
    seen: set[str] = set()
    while isinstance(current, str) and current in mapping and current not in seen:
        seen.add(current)
        path.append(current)
        node = mapping[current]
        current = node.get("parent") if isinstance(node, dict) else None
    path.reverse()
    return path


def _newest_leaf(mapping: dict[str, Any]) -> str | None:
    leaves = [(k, v) for k, v in mapping.items() if isinstance(v, dict) and not v.get("children")]

    def created(item: tuple[str, Any]) -> float:
        message = item[1].get("message")
        value = message.get("create_time") if isinstance(message, dict) else None
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0

    return max(leaves, key=created)[0] if leaves else None


def _message(out: Transcript, node_id: str, message: dict[str, Any]) -> None:
    metadata = obj(message.get("metadata"))
    content = obj(message.get("content"))
    kind = content.get("content_type")
    if metadata.get("is_visually_hidden_from_conversation") or kind in HIDDEN_TYPES:
        return
    author = obj(message.get("author"))
    role, tool = author.get("role"), one_line(author.get("name"))
    ts = ts_from_epoch(message.get("create_time")) or ts_from_epoch(message.get("update_time"))
    local = one_line(message.get("id")) or node_id
    if kind == "thoughts":
        thoughts = content.get("thoughts")
        if isinstance(thoughts, list):
            out.think("\n\n".join(text(t.get("content") or t.get("summary")) for t in thoughts if isinstance(t, dict)))
        return
    body = _text(content)
    recipient = message.get("recipient")
    common: dict[str, Any] = {"source_id": local}
    if role == "assistant" and isinstance(recipient, str) and recipient not in ("all", ""):
        out.add("tool", body, local, ts, model=one_line(metadata.get("model_slug")), tool_kind="call",
                tool_name=one_line(recipient), **common)
    elif role == "tool":
        if tool is None:  # unnamed: the tool the last call went to
            calls = [m for m in out.messages if m.metadata.get("tool_kind") == "call"]
            tool = calls[-1].metadata.get("tool_name") if calls else None
        out.add("tool", body, local, ts, tool_kind="result", tool_name=tool,
                tool_error=kind == "system_error", **common)
    elif role == "assistant":
        out.add("assistant", body, local, ts, model=one_line(metadata.get("model_slug")), **common)
    elif role in ("user", "system"):
        out.add(role, body, local, ts, **common)


def _asset(part: dict[str, Any]) -> str | None:
    """`[audio: <pointer>]`, `[image: <pointer>]`… for a part that points to
    a file; None for other parts. Voice mode's recordings are audio, held
    directly or inside a real-time part (`audio_asset_pointer`)."""
    kind = part.get("content_type")
    inner = part.get("audio_asset_pointer")
    if isinstance(inner, dict):
        return f"[audio: {text(inner.get('asset_pointer'))}]"
    if kind == "audio_asset_pointer":
        return f"[audio: {text(part.get('asset_pointer'))}]"
    if kind == "image_asset_pointer" or "asset_pointer" in part:
        return f"[image: {text(part.get('asset_pointer'))}]"
    return None


def _text(content: dict[str, Any]) -> str:
    """The readable text of a message's content, whatever its type."""
    pieces: list[str] = []
    parts = content.get("parts")
    if isinstance(parts, list):
        for part in parts:
            if isinstance(part, str):
                pieces.append(text(part))
            elif isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    pieces.append(text(part["text"]))
                elif (asset := _asset(part)) is not None:
                    pieces.append(asset)
                elif part.get("content_type"):
                    pieces.append(f"[{text(part['content_type'])}]")
    for name in ("text", "result"):
        if not pieces and isinstance(content.get(name), str):
            pieces.append(text(content[name]))
    if content.get("content_type") == "tether_quote":
        header = " ".join(text(content.get(k)) for k in ("title", "url") if isinstance(content.get(k), str))
        if header:
            pieces.insert(0, header)
    return "\n".join(p for p in pieces if p)
