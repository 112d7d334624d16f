"""Load a chit corpus into an `llm` logs.db, for the listing comparison.

    <llm venv>/bin/python bench/llm_load.py CHIT_HOME LOGS_DB

Runs inside the venv where the `llm` package is installed: the database is
created by llm's own migrations (llm.migrations.migrate) and filled through
sqlite-utils, llm's storage library. Each chit session becomes a
conversation; each user message, with the replies up to the next user
message, becomes one logged response (llm's unit), timed by the user
message and given a ULID from that time, as llm does.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import sqlite_utils
from llm.migrations import migrate
from ulid import ULID


def live_messages(path: Path) -> tuple[dict, list[dict]]:
    lines = path.read_bytes().splitlines()
    header = json.loads(lines[0])
    messages: list[dict] = []
    title = header.get("title")
    for line in lines[1:]:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        kind = event.get("type")
        if kind == "message":
            messages.append(event)
        elif kind == "rewind" and "keep" in event:  # format 1: a count
            del messages[event["keep"]:]
        elif kind == "rewind" and "keep_id" in event:  # format 2: the last message kept (the corpus has no undo)
            ids = [m.get("id") for m in messages]
            del messages[ids.index(event["keep_id"]) + 1 if event["keep_id"] in ids else 0 :]
        elif kind == "pop" and "hides" in event:
            messages = [m for m in messages if m.get("id") != event["hides"]]
        elif kind == "pop" and messages:
            messages.pop()
        elif kind == "rename":
            title = event.get("title") or None
    return {**header, "title": title}, messages


def main() -> None:
    home, target = Path(sys.argv[1]), Path(sys.argv[2])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    db = sqlite_utils.Database(target)
    migrate(db)
    conversations, responses = [], []
    for path in sorted(home.glob("projects/*/sessions/*.jsonl")):
        header, messages = live_messages(path)
        turns: list[list[dict]] = []
        for message in messages:
            if message["role"] == "user" or not turns:
                turns.append([message])
            else:
                turns[-1].append(message)
        first = next((t[0]["content"] for t in turns if t[0]["role"] == "user"), "")
        conversations.append({"id": header["id"], "name": header["title"] or " ".join(first.split())[:60], "model": "chit-corpus"})
        for turn in turns:
            moment = datetime.fromisoformat(turn[0]["ts"].replace("Z", "+00:00"))
            responses.append({
                "id": str(ULID.from_datetime(moment)),
                "model": "chit-corpus",
                "prompt": turn[0]["content"],
                "system": None,
                "prompt_json": None,
                "options_json": "{}",
                "response": "\n\n".join(m["content"] for m in turn[1:]),
                "response_json": None,
                "conversation_id": header["id"],
                "duration_ms": 0,
                "datetime_utc": moment.replace(tzinfo=None).isoformat(),
            })
        if len(responses) > 20_000:
            _flush(db, conversations, responses)
    _flush(db, conversations, responses)
    print(f"{db['conversations'].count} conversations, {db['responses'].count} responses")


def _flush(db: sqlite_utils.Database, conversations: list[dict], responses: list[dict]) -> None:
    with db.conn:
        db["conversations"].insert_all(conversations, pk="id", replace=True)
        db["responses"].insert_all(responses, pk="id", replace=True)
    conversations.clear()
    responses.clear()


if __name__ == "__main__":
    main()
