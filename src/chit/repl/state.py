"""What a REPL knows between two inputs.

Invariants: the REPL never caches session contents — every command reads
the session afresh from the store, so appends by other processes are seen
before the next turn; a session is created only when something is first
written to it (so opening and leaving the REPL leaves no empty session);
the REPL works in the project of the session it shows — switching to a
session of another project (`chit load REF`, /load, /search) makes that
project the one /list, /new and the toolbar speak of.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console

from chit.api import Chit
from chit.config import Config, ModelSpec
from chit.model import Session
from chit.visible import visible


@dataclass
class Repl:
    service: Chit
    config: Config
    console: Console
    session_id: str | None = None
    model: ModelSpec | None = None
    listing: list[str] = field(default_factory=list)  # ids from the last /list or /search
    running: bool = True
    status: str = ""
    known: int | None = None  # messages the REPL has shown or written, to spot other writers'

    def session(self) -> Session | None:
        return self.service.get(self.session_id) if self.session_id else None

    def ensure_session(self) -> str:
        """The current session's id, creating the session on first write."""
        if self.session_id is None:
            self.session_id = self.service.create().id
        return self.session_id

    def switch(self, session_id: str | None) -> None:
        self.session_id = session_id
        if session_id is not None:
            self.follow_project(session_id)
            self.service.set_current(session_id)
        self.refresh_status()

    def follow_project(self, session_id: str) -> None:
        """Work in the project holding `session_id` from now on."""
        holder = self.service.locate(session_id)
        if holder.slug != self.service.project().slug and self.service.projects.get(holder.slug) is not None:
            self.service.project_name = holder.slug  # a slug names exactly one project

    def say(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text(visible(text)), soft_wrap=True)

    def note(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text(visible(text), style="dim"), soft_wrap=True)

    def error(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text.assemble(("error: ", "bold red"), visible(text)), soft_wrap=True)

    def refresh_status(self) -> None:
        """Recompute the toolbar text (once per command, not per keystroke)."""
        project = self.service.project().name
        model = self.model.label if self.model else "no model"
        session = None
        if self.session_id:
            try:
                session = self.session()
            except Exception:  # deleted underneath us: show it as gone
                session = None
        if session is None:
            self.status = visible(f" {project} · new session · {model} ")
            self.known = None
            return
        self.known = len(session.messages)
        turns = f"{session.turns} turn{'' if session.turns == 1 else 's'}"
        title = session.title if len(session.title) <= 40 else session.title[:39] + "…"
        self.status = visible(f" {project} · {session.short_id} · {title} · {turns} · {model} · {session.run.state} ")
