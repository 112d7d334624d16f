"""What the picker shows and does, without a screen: the listing, the
filter, the selection, the preview and the actions on the selected session.

Invariants: sessions come from the service (`Chit.list` from the index,
`Chit.search` for content), never from reading files here; opening lists
summaries only, and the preview reads the one highlighted session, once
per version of it (cached by id and update time). A content query may
be left for `run_search`, and `preview_read` tells whether the preview
is at hand, so that a screen does both once typing pauses. Every action goes
through the service and reloads the listing, so the picker never shows
what the store does not hold; a delete moves the session to the trash and
`undo` restores the last one deleted from this picker. A query starting
with `/` searches message content instead of filtering the listing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chit.api import Chit
from chit.errors import ChitError, InvalidInput
from chit.model import Project, Session
from chit.service.facade import parts_of
from chit.repl.picker.rank import Entry, filter_entries, make_entry, narrows, query_words

CONTENT_PREFIX = "/"
PREVIEW_MESSAGES = 6  # the last messages the preview pane shows
CONTENT_HITS = 100  # search hits read for one content query (grouped by session)
CONTENT_MIN = 3  # characters before content is searched: the index finds shorter text only by reading every message
FILTERS_KEPT = 64  # filter results kept for the words typed before
FIRST_SCREEN = 100  # sessions listed before the first screen; the rest right after it


@dataclass(frozen=True)
class Line:
    """One message in the preview pane."""

    role: str
    text: str


class Picker:
    """The picker's state over a `Chit` service."""

    def __init__(self, service: Chit, *, all_projects: bool = False, first: int | None = FIRST_SCREEN) -> None:
        self.service = service
        own = self._own_project()
        self.project = own.slug if own else None  # None: there is no project here
        self.project_name = own.name if own else ""
        self.all_projects = all_projects or self.project is None
        self.query = ""
        self.entries: list[Entry] = []  # the listing, newest first
        self.shown: list[Entry] = []  # what the query keeps, best first
        self.selected = 0
        self.message = ""  # what the last action did, or why it failed
        self.trashed: list[str] = []  # ids deleted here, last last: `undo` restores them
        self._filtered_for = ""  # the query `shown` answers
        self._filtered: dict[tuple[str, ...], list[Entry]] = {}  # filter results of this listing, by query words
        self._previews: dict[tuple[str, str], list[Line]] = {}
        self.search_pending = False  # whether `shown` waits for `run_search`
        self.complete = False  # whether `entries` holds every session in scope
        self.first = first  # how many sessions a new listing holds before its first screen
        self._wanted: str | None = None  # the session to highlight once the listing is complete
        self.reload(limit=first)

    def _own_project(self) -> Project | None:
        """This directory's (or the configured) project, if it exists; a
        project named (-p, CHIT_PROJECT) that does not is NotFound."""
        if parts_of(self.service).ctx.project_name is not None:
            return self.service.project()
        try:
            project = self.service.project()
        except ChitError:
            return None
        return parts_of(self.service).ctx.projects.get(project.slug)

    # -- listing and filtering -------------------------------------------------
    @property
    def content_mode(self) -> bool:
        return self.query.startswith(CONTENT_PREFIX)

    @property
    def content_query(self) -> str:
        return self.query[len(CONTENT_PREFIX):].strip() if self.content_mode else ""

    def reload(self, keep: str | None = None, limit: int | None = None) -> None:
        """List the sessions afresh (the newest `limit`, else all) and filter
        them again, keeping `keep` (else the highlighted session)
        highlighted when it is still shown."""
        keep = keep or self.selected_id()
        found = self.service.list(self.project, all_projects=self.all_projects, limit=limit)
        self.complete = limit is None or len(found) < limit
        self.entries = [make_entry(summary, n) for n, summary in enumerate(found)]
        self._filtered = {}
        self._refilter(force=True)
        self._select(keep)
        self._wanted = None if self.complete or self.selected_id() == keep else keep

    def finish_listing(self) -> None:
        """List every session, once the first screen is drawn from the newest
        (highlighting the session the first listing was to keep, if it was
        not among them)."""
        if not self.complete:
            self.reload(keep=self._wanted)

    def set_query(self, query: str, *, search: bool = True) -> None:
        """Filter by `query` (a new query highlights the best match; one
        that differs only in spaces between words filters nothing again).
        With `search` false, a content query long enough to search is only
        noted (`search_pending`): `run_search` searches for it."""
        same = query == self.query or (not query.startswith(CONTENT_PREFIX) and query_words(query) == query_words(self.query))
        self.query = query
        self.message = ""  # what the last action did is told until the next key
        if same:
            return
        if not search and self.content_mode and len(self.content_query) >= CONTENT_MIN:
            self.search_pending = True  # `shown` still answers an earlier query
        else:
            self._refilter()
            self.selected = 0

    def run_search(self) -> None:
        """Search message content for the query, if that is still to do."""
        if self.search_pending:
            self._refilter()
            self.selected = 0

    def toggle_projects(self) -> None:
        """Between this project's sessions and every project's (the newest
        `first` of them until `finish_listing`, as when opening and after
        an action)."""
        if self.project is None:
            self.message = "no project here: every project is listed"
            return
        self.all_projects = not self.all_projects
        self.reload(limit=self.first)

    def _refilter(self, force: bool = False) -> None:
        """Filter for the query: from the last result when the query only
        narrows it, and never twice for the same words of one listing
        (erasing a character is then free)."""
        words = tuple(query_words(self.query))
        self.search_pending = False
        if self.content_mode:
            self.shown = self._content_matches(self.content_query)
        elif words in self._filtered:  # (bounded: a listing keeps FILTERS_KEPT results)
            self.shown = self._filtered[words]
        elif not force and not self._filtered_for.startswith(CONTENT_PREFIX) and narrows(self._filtered_for, self.query):
            self.shown = self._filtered[words] = filter_entries(self.shown, self.query)
        else:
            self.shown = self._filtered[words] = filter_entries(self.entries, self.query)
        self._filtered_for = self.query
        if len(self._filtered) > FILTERS_KEPT:
            self._filtered = {words: self.shown}

    def _content_matches(self, text: str) -> list[Entry]:
        """One entry per listed session whose messages hold `text`, newest
        hit first, with that hit's snippet."""
        if len(text) < CONTENT_MIN:
            return []
        by_id = {entry.summary.id: entry for entry in self.entries}
        hits = self.service.search(text, None if self.all_projects else self.project, limit=CONTENT_HITS)
        found: dict[str, Entry] = {}
        for hit in hits:
            entry = by_id.get(hit.id)
            if entry is not None and hit.id not in found:
                found[hit.id] = Entry(entry.summary, entry.haystack, entry.order, hit.snippet)
        return list(found.values())

    @property
    def hint(self) -> str:
        """What the picker waits for, if anything."""
        if self.content_mode and len(self.content_query) < CONTENT_MIN:
            return f"type {CONTENT_MIN} or more characters to search the messages"
        if self.search_pending:
            return "searching the messages…"
        return ""

    # -- selection -----------------------------------------------------------------
    def selected_entry(self) -> Entry | None:
        return self.shown[self.selected] if 0 <= self.selected < len(self.shown) else None

    def selected_id(self) -> str | None:
        entry = self.selected_entry()
        return entry.summary.id if entry else None

    def move(self, step: int) -> None:
        if self.shown:
            self.selected = max(0, min(len(self.shown) - 1, self.selected + step))

    def _select(self, session_id: str | None) -> None:
        ids = [entry.summary.id for entry in self.shown]
        self.selected = ids.index(session_id) if session_id in ids else min(self.selected, max(0, len(ids) - 1))

    # -- preview ---------------------------------------------------------------------
    def preview(self) -> list[Line]:
        """The highlighted session's last messages (read once per version)."""
        entry = self.selected_entry()
        if entry is None:
            return []
        key = (entry.summary.id, entry.summary.updated_at)
        if key not in self._previews:
            try:
                self._previews[key] = last_lines(self.service.get(entry.summary.id))
            except ChitError as exc:
                self._previews[key] = [Line("error", exc.message)]  # (a later version is read again)
        return self._previews[key]

    def preview_read(self) -> bool:
        """Whether `preview` can answer without reading a file."""
        entry = self.selected_entry()
        return entry is None or (entry.summary.id, entry.summary.updated_at) in self._previews

    # -- actions on the highlighted session ---------------------------------------------
    def rename(self, title: str) -> None:
        self._act(lambda sid: f"renamed {self.service.rename(sid, title).short_id}")

    def tag(self, words: str) -> None:
        """`words` are tags to add; one written `-tag` is taken off."""
        adding = [w for w in words.split() if not w.startswith("-")]
        removing = [w[1:] for w in words.split() if w.startswith("-") and len(w) > 1]
        if not adding and not removing:
            raise InvalidInput("give tags to add, or -TAG to take one off")

        def tag(sid: str) -> str:
            session = self.service.tag(sid, *adding) if adding else self.service.get(sid)
            session = self.service.untag(sid, *removing) if removing else session
            return f"tags of {session.short_id}: {' '.join(session.tags) or '(none)'}"

        self._act(tag)

    def fork(self) -> None:
        made: list[Session] = []

        def fork(sid: str) -> str:
            made.append(self.service.fork(sid))
            return f"forked into {made[0].short_id}"

        self._act(fork, keep=lambda: made[0].id if made else None)

    def delete(self) -> None:
        def delete(sid: str) -> str:
            trashed = self.service.delete(sid)
            self.trashed.append(trashed.id)
            return f"moved {trashed.short_id} to the trash (Ctrl-Z brings it back)"

        self._act(delete)

    def undo(self) -> None:
        """Restore the session last deleted from this picker."""
        if not self.trashed:
            self.message = "nothing to undo"
            return
        session = self.service.restore(self.trashed.pop())
        self.message = f"restored {session.short_id}: {session.title}"
        self.reload(keep=session.id, limit=self.first)

    def _act(self, action: Callable[[str], str], keep: Callable[[], str | None] = lambda: None) -> None:
        session_id = self.selected_id()
        if session_id is None:
            self.message = "no session highlighted"
            return
        self.message = action(session_id)
        self.reload(keep=keep(), limit=self.first)


def last_lines(session: Session, count: int = PREVIEW_MESSAGES) -> list[Line]:
    return [Line(m.role, m.content) for m in session.messages[-count:]]
