"""Per-invocation CLI state: the Environment, output mode, project scope,
the service.

Invariant: the service is built lazily, after every global and per-command
option has been seen, so `-p` and `--json` work before or after the
command name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chit.errors import ChitError
from chit.render.environment import Environment
from chit.render.result import Mode

if TYPE_CHECKING:
    from chit.api import Chit
    from chit.config import Config
    from chit.model import Session
    from chit.service.parts import Parts


class Cli:
    def __init__(self, env: Environment | None = None) -> None:
        self.env = env if env is not None else Environment.from_process()
        self.json = False
        self.jsonl = False
        self.hints = True  # notes such as "this repository moved" on stderr
        self.project: str | None = None
        self._service: Chit | None = None
        self._config: Config | None = None

    def use(self, json: bool = False, project: str | None = None, jsonl: bool = False) -> Cli:
        """Merge a command's own --json / --jsonl / -p into the global ones."""
        if jsonl and (json or (self.json and not self.jsonl)):
            from chit.errors import UsageError

            raise UsageError("give --json (one JSON document) or --jsonl (one object per line), not both")
        self.json = self.json or json or jsonl
        self.jsonl = self.jsonl or jsonl
        if project is not None:
            self.project = project
            self._service = None
        return self

    @property
    def service(self) -> Chit:
        if self._service is None:
            from chit.api import Chit
            from chit.service.facade import parts_of

            self._service = Chit(project=self.project)
            # a listing or search far behind answers from the files and starts
            # a catch-up in the background (chit.cli.catchup), never one in-process
            parts_of(self._service).ctx.catch_up_here = False
            if self.hints:
                _relink_note(self.env, self._service)
        return self._service

    @property
    def parts(self) -> Parts:
        """The parts behind `service`, for what the public API does not offer."""
        from chit.service.facade import parts_of

        return parts_of(self.service)

    @property
    def mode(self) -> Mode:
        """How the result is printed: --jsonl, --json, or for a person."""
        return "jsonl" if self.jsonl else "json" if self.json else "human"

    def colour(self) -> str:
        """The config's colour setting (auto, always or never)."""
        return self.config.color

    @property
    def config(self) -> Config:
        if self._config is None:
            from chit import config

            self._config = config.load()
        return self._config

    def warn_damaged(self, session: Session) -> None:
        """One stderr line when a session had lines set aside."""
        corrupt = [i for i in session.issues if not i.torn]
        torn = len(session.issues) - len(corrupt)
        if corrupt:
            self.env.warn(
                f"session {session.short_id} has {len(corrupt)} corrupt line(s) set aside "
                f"(line {', '.join(str(i.line) for i in corrupt[:5])}{'…' if len(corrupt) > 5 else ''}); "
                "run `chit doctor` for details"
            )
        if torn:
            self.env.warn(f"session {session.short_id} ends in an incomplete line (an interrupted write); it was ignored")
        if session.read_only:
            self.env.warn(f"session {session.short_id} was written by a newer chit; it is read-only here")


def _relink_note(env: Environment, service: Chit) -> None:
    """A note on stderr when this git work tree's history sits in a project
    whose directory is gone (the work tree moved)."""
    try:
        hint = service.relink_hint()
    except ChitError:
        return
    if hint is not None:
        from chit.visible import visible

        env.stderr.write(
            visible(
                f"chit: note: this repository's sessions are in project {hint.project.name!r}, "
                + (f"recorded at {hint.project.path} (now gone)" if hint.project.path else "synced from another machine")
                + f"; to move them here run: {hint.command}"
            )
            + "\n"
        )

