"""The `txt` export: the transcript as plain text, nothing folded.

Invariant: control characters (terminal escapes included) are shown as
visible symbols, so `cat`-ing an export can never drive the terminal.
"""

from __future__ import annotations

from chit.exporters.common import ending, failure, label, thinking, turns
from chit.visible import visible
from chit.model import Session

RULE_WIDTH = 40


def to_text(session: Session, project_name: str) -> str:
    out = [visible(session.title), ""]
    fields = [("id", session.id), ("project", project_name), ("created", session.created_at), ("updated", session.updated_at)]
    if session.tags:
        fields.append(("tags", ", ".join(session.tags)))
    if session.parent:
        fields.append(("forked from", f"{session.parent.id} at turn {session.parent.turn}"))
    width = max(len(name) for name, _ in fields)
    out.extend(f"{name.ljust(width)}  {visible(value)}" for name, value in fields)
    for turn, messages in turns(session.messages):
        heading = " preamble " if turn is None else f" turn {turn} "
        out.append("")
        out.append(f"──{heading}".ljust(RULE_WIDTH, "─"))
        for message in messages:
            reasoning = thinking(message)
            if reasoning:
                out.append("")
                out.append("[thinking]")
                out.append(visible(reasoning.strip()))
            out.append("")
            out.append(f"[{visible(label(message))}]  {message.ts}")
            out.append(visible(message.content))
            if mark := ending(message):
                out.append(visible(f"[{mark}]"))
    if mark := failure(session):
        out.extend(["", visible(f"[{mark}]")])
    if not session.messages:
        out.extend(["", "(no messages yet)"])
    return "\n".join(out).rstrip("\n") + "\n"
