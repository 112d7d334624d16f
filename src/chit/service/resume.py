"""Reopening a session in the tool that wrote it (`chit resume`).

An imported session's header keeps where it came from
(`metadata.import`: `source`, `id`, `cwd`); `plan` turns that into the
command the tool resumes a session with and the directory to run it in.
A session chit made itself is reopened in chit's own REPL.

Invariants: planning reads nothing but the session and never fails for a
tool that is not installed or a directory that is gone (`--print` must
still print the command); `check` is what refuses those, each with one
line and NOT_FOUND. A source id is never passed where the tool would take
it for an option.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chit.errors import InvalidData, InvalidInput, NotFound
from chit.model import AGENT_KEY, Session

#: source -> the command that reopens its session `id`
COMMANDS: dict[str, Callable[[str], list[str]]] = {
    # Claude Code reopens only a main conversation: a sub-agent (`<parent>/agent-<id>`) reopens its parent's
    "claude-code": lambda session_id: ["claude", "--resume", session_id.split(AGENT_KEY, 1)[0]],
    "codex": lambda session_id: ["codex", "resume", session_id],
    "gemini": lambda session_id: ["gemini", "--resume", session_id],
    # a sub-agent's source id is `<parent>/agent-<its own session id>`; opencode reopens its own
    "opencode": lambda session_id: ["opencode", "--session", session_id.rsplit(AGENT_KEY, 1)[-1]],
}
#: tools that find a session only from the directory it ran in
NEEDS_CWD = frozenset({"claude-code", "gemini", "opencode"})


@dataclass(frozen=True)
class Plan:
    """What reopens a session: `argv` run in `cwd` (None: anywhere)."""

    tool: str
    argv: list[str]
    cwd: str | None

    @property
    def command_line(self) -> str:
        """The command as a shell line (with a `cd` when it has a directory)."""
        command = " ".join(map(shell_quote, self.argv))
        return f"cd {shell_quote(self.cwd)} && {command}" if self.cwd else command

    def as_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "argv": self.argv, "cwd": self.cwd, "command": self.command_line}


def shell_quote(word: str) -> str:
    """`word` quoted for a POSIX shell; one holding characters that are not
    printable (a directory or project name with an escape sequence) in
    bash's `$'…'` form, so the line printed for a human runs as it is and
    never drives the terminal."""
    if word.isprintable():
        return shlex.quote(word)
    return "$'" + "".join(_ansi_c_escape(char) for char in word) + "'"


def _ansi_c_escape(char: str) -> str:
    code = ord(char)
    if char in "\\'":
        return "\\" + char
    if char.isprintable():
        return char
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 in a file name
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x80 else f"\\U{code:08x}"


def plan(session: Session, project_name: str) -> Plan:
    """How to reopen `session` (of project `project_name`) where it was made."""
    facts = session.metadata.get("import")
    if not isinstance(facts, dict) or not facts.get("source"):
        return Plan("chit", ["chit", "chat", "--project", project_name, session.id], None)
    source = str(facts["source"])
    command = COMMANDS.get(source)
    if command is None:
        raise InvalidInput(
            f"session {session.short_id} came from {source}, which has no command to reopen it; "
            f"`chit chat {session.short_id}` continues it in chit"
        )
    source_id = facts.get("id")
    argv = command(source_id) if isinstance(source_id, str) else []
    if not argv or not _usable_argument(argv[-1]):
        raise InvalidData(f"session {session.short_id} does not record a usable {source} session id")
    cwd = facts.get("cwd")
    return Plan(source, argv, cwd if isinstance(cwd, str) and os.path.isabs(cwd) else None)


def _usable_argument(session_id: str) -> bool:
    """Whether the id a tool is given (a sub-agent's is cut out of its
    source id) is one: not empty, not an option, nothing unprintable."""
    return bool(session_id) and not session_id.startswith("-") and session_id.isprintable()


def check(resume: Plan) -> str:
    """The executable to run for `resume`, once its tool is installed and
    its directory exists; NotFound (one line) otherwise."""
    executable = shutil.which(resume.argv[0])
    if executable is None:
        raise NotFound(f"{resume.argv[0]} is not installed (not found on PATH); `chit resume --print` prints the command")
    if resume.cwd is not None and not os.path.isdir(resume.cwd):
        raise NotFound(f"the session's working directory {resume.cwd} no longer exists; `chit resume --print` prints the command")
    if resume.cwd is None and resume.tool in NEEDS_CWD:
        raise NotFound(f"the session's working directory is not known, and {resume.argv[0]} finds a session only from there")
    return os.path.abspath(executable)  # found from here (a relative PATH entry), run from the session's directory
