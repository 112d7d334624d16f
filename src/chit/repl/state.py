"""What a REPL knows between two inputs.

Invariants: the REPL never caches session contents — every command reads
the session afresh from the store, so appends by other processes are seen
before the next turn; the one exception is the conversation a chat turn
sends, which is read as the session grows (only the lines appended since
the last turn, `chit.repl.conversation`, with the same result as a full
read); the toolbar and the check for other writers' messages read the
session's summary, which the index keeps by reading only what was
appended (so a turn on a long session costs its new lines, not the
session's length); a session is created only when something is first
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
from chit.model import Message, Session, SessionSummary
from chit.repl.conversation import Conversation
from chit.repl.models import Endpoint
from chit.service.facade import parts_of
from chit.service.parts import Parts
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
    status: str = ""  # the toolbar at full width
    fields: Toolbar = field(default_factory=lambda: Toolbar())
    endpoints: list[Endpoint] | None = None  # what the endpoints listed at the last /model
    known: int | None = None  # messages the REPL has shown or written, to spot other writers'
    errors: Console | None = None  # where errors go when scripted (stderr); None: the console
    model_failed: bool = False  # a turn got no whole reply (a scripted chat then exits 7)
    unknown_command: bool = False  # a line named no slash command (a scripted chat then exits 2)
    _conversation: Conversation | None = None

    def conversation(self, session_id: str) -> list[Message]:
        """The live messages of `session_id` as they are on disk now, read
        as the session grows (`chit.repl.conversation`)."""
        if self._conversation is None:
            self._conversation = Conversation(self.parts)
        return self._conversation.messages(session_id)

    @property
    def parts(self) -> Parts:
        """The parts behind `service`, for what the public API does not offer."""
        return parts_of(self.service)

    def session(self) -> Session | None:
        return self.service.get(self.session_id) if self.session_id else None

    def summary(self) -> SessionSummary | None:
        """The current session's summary (None without one, or when it was
        deleted underneath us), without reading its messages."""
        if not self.session_id:
            return None
        try:
            return self.parts.queries.summary(self.session_id)
        except Exception:  # deleted underneath us: show it as gone
            return None

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
        ctx = self.parts.ctx
        holder = ctx.locate(session_id)
        if holder.slug != ctx.project().slug and ctx.projects.get(holder.slug) is not None:
            ctx.project_name = holder.slug  # a slug names exactly one project

    def say(self, text: str) -> None:
        from chit.render import human

        human.say(self.console, text)

    def note(self, text: str) -> None:
        from chit.render import human

        human.remark(self.console, text)

    def error(self, text: str) -> None:
        from chit.render import human

        human.error(self.errors or self.console, text)

    def refresh_status(self) -> None:
        """Recompute the toolbar's fields (once per command, not per keystroke)."""
        project = self.service.project().name
        model = self.model.label if self.model else "no model"
        summary = self.summary()
        if summary is None:
            self.fields = Toolbar(project=project, model=model)
            self.known = None
        else:
            self.known = summary.messages
            turns = f"{summary.turns} turn{'' if summary.turns == 1 else 's'}"
            self.fields = Toolbar(project, summary.short_id, summary.title, turns, model, summary.state)
        self.status = self.toolbar(10_000)

    def toolbar(self, width: int) -> str:
        """The toolbar text for a terminal `width` columns wide."""
        return self.fields.fit(width)


@dataclass(frozen=True)
class Toolbar:
    """The toolbar's fields. To fit a narrow terminal it gives up, in this
    order: the title's length (down to `TITLE_MIN`), the title, the project,
    the turn count, the session id, and only then the model's length; the
    model and the run state stay as long as anything fits."""

    project: str = ""
    short_id: str = ""
    title: str = ""
    turns: str = ""
    model: str = ""
    state: str = ""

    TITLE_MIN = 8
    TITLE_MAX = 40

    def render(self, title: str | None = None, project: bool = True, turns: bool = True, short_id: bool = True, model: str | None = None) -> str:
        if not self.short_id:
            parts = [self.project if project else "", "new session", model or self.model]
        else:
            parts = [self.project if project else "", self.short_id if short_id else "", title or "", self.turns if turns else "", model or self.model, self.state]
        return visible(" " + " · ".join(p for p in parts if p) + " ")

    def fit(self, width: int) -> str:
        title = _cut(self.title, self.TITLE_MAX)
        full = self.render(title)
        if len(full) <= width:
            return full
        room = len(title) - (len(full) - width)
        if room >= self.TITLE_MIN:
            return self.render(_cut(title, room))
        for project, turns, short_id in ((True, True, True), (False, True, True), (False, False, True), (False, False, False)):
            text = self.render(None, project=project, turns=turns, short_id=short_id)
            if len(text) <= width:
                return text
        bare = self.render(None, project=False, turns=False, short_id=False)
        return self.render(None, project=False, turns=False, short_id=False, model=_cut(self.model, max(1, len(self.model) - (len(bare) - width))))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"
