"""Read-side operations: resolve a REF, list, find, current session, search.

REF rules (docs/cli.md, "Referring to a session (REF)"):
full id or `ctx_<id>` anywhere in the store (under several projects:
`Context.locate` says which copy); then an exact key in the project in
scope; then a case-insensitive id prefix, first in the project in scope
and, unless a project was named, in every project when the scope has no
match (one id found in several: as a full id). Omitted (None) means the
project's current session.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from chit.errors import Ambiguous, InvalidInput, NotFound
from chit.model import AGENT_KEY, STATES, Project, SearchHit, Session, SessionSummary, age, agent_of, is_agent_key, now
from chit.service.base import Context, check_role, check_tag
from chit.store.sessions import UUID_RE, Store, id_prefix_shaped

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from chit.index.db import Index
    from chit.service.catchup import Lag
    from chit.service.ordering import Narrowing


class Queries:
    """Reading sessions: by reference, by listing, by search."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.projects = ctx.projects
        self.layout = ctx.layout
        #: told when a search finds the index far behind (the command line starts a catch-up)
        self.on_lagging: Callable[[Lag], None] | None = None
        self.report_progress: Callable[[str, int, int], None] | None = None  # a long search, told on stderr
        self.on_listing_lagging: Callable[[Lag], None] | None = None  # a listing that found the rows far behind

    # -- references -----------------------------------------------------
    def get(self, session_id: str) -> Session:
        """A session by its full id, wherever it is stored."""
        return self.ctx.read_session(self.ctx.locate(session_id), session_id)

    def resolve(self, ref: str | None = None, project: str | None = None) -> Session:
        """The session a REF names (docs/cli.md, "Referring to a session")."""
        return self.ctx.read_session(*self.locate_ref(ref, project))

    def locate_ref(self, ref: str | None = None, project: str | None = None) -> tuple[Project, str]:
        """(project, session id) a REF names, reading as little as possible:
        file names for ids and prefixes, header lines for keys."""
        if ref is None:
            scope = self.ctx.project(project)
            current = self.current_id(scope) or self._latest_id(scope)
            if current is None:
                raise NotFound(f"no current session: project {scope.name!r} has no sessions; run `chit new` or give a REF")
            return scope, current
        if not isinstance(ref, str) or "\x00" in ref:
            raise InvalidInput("session reference contains a NUL byte")
        text = ref.strip()
        lowered = text.lower()
        if lowered.startswith("ctx_"):
            lowered = lowered[4:]
        if not lowered:
            raise InvalidInput("session reference is empty; give an id, an id prefix or a key")
        if UUID_RE.match(lowered):
            try:
                return self.ctx.locate(lowered, project=project), lowered
            except NotFound as exc:
                raise self._maybe_trashed(exc, lowered, self.store.trash_slugs()) from None
        named = project is not None or self.ctx.project_name is not None
        scope = self.ctx.project(project)
        if text:
            keyed = self.find_key(scope, text)
            if keyed is not None:
                return scope, keyed
        if not id_prefix_shaped(lowered) or not lowered.strip("-"):  # "-" alone is no prefix of anything
            raise NotFound(f"no session matches {ref!r} in project {scope.name!r}")
        matches = self._prefix_ids(lowered, [scope])
        if not matches and not named:
            matches = self._prefix_ids(lowered, self.projects.all())
        if not matches:
            searched = [scope.slug] if named else self.store.trash_slugs()
            raise self._maybe_trashed(NotFound(f"no session matches {ref!r}"), lowered, searched)
        if len({i for _, i in matches}) > 1:
            found = [self.ctx.read_session(p, i).summary(p.name, p.slug) for p, i in matches]
            found.sort(key=lambda s: s.updated_at, reverse=True)
            raise self.ambiguous(ref, found)
        # one id, under several projects when the prefix was looked for in all: as a full id
        return matches[0] if len(matches) == 1 else (self.ctx.locate(matches[0][1], project=project), matches[0][1])

    def _latest_id(self, scope: Project) -> str | None:
        """The project's most recently updated session: what an omitted REF
        means when there is no current one (it was removed, or never set)."""
        found = self.select_summaries([scope], limit=1)
        return found[0].id if found else None

    def _maybe_trashed(self, error: NotFound, prefix: str, slugs: builtins.list[str]) -> NotFound:
        """`error`, or, when the trash of `slugs` holds the only session
        `prefix` names, a NotFound that says so and how to restore it."""
        bare = prefix.replace("-", "")
        trashed = [i for slug in slugs for i in self.store.session_ids(slug, trash=True) if i.replace("-", "").startswith(bare)]
        if len(trashed) != 1:
            return error
        short = trashed[0][:8]
        return NotFound(f"session {short} is in the trash; `chit restore {short}` brings it back", in_trash=trashed[0])

    def find_key(self, scope: Project, key: str) -> str | None:
        """Id of the session with `key` in the project: from the index when
        its rows of the project are current, else from header lines."""

        def from_index(index: Index) -> tuple[str | None]:
            from chit.index.refs import find_key

            if not index.refresh_if_changed([scope.slug]):
                return (None,)
            return (find_key(index, scope.slug, key),)

        answer = self.ctx.indexed(from_index)
        return answer[0] if answer is not None else self.scan_key(scope, key)

    def scan_key(self, scope: Project, key: str) -> str | None:
        """`find_key` by reading every header line (no index)."""
        return next((session_id for found, session_id in keyed_headers(self.store, scope.slug) if found == key), None)

    def _prefix_ids(self, prefix: str, projects: list[Project]) -> list[tuple[Project, str]]:
        """(project, id) of the live sessions whose id, without dashes,
        starts with `prefix` without dashes: from the index when its rows
        of these projects are current, else from the file names."""
        bare = prefix.replace("-", "")

        def from_index(index: Index) -> list[tuple[Project, str]]:
            from chit.index.refs import ids_with_prefix

            if not index.refresh_if_changed([p.slug for p in projects]):
                return []
            return [(p, i) for p in projects for i in ids_with_prefix(index, p.slug, bare)]

        found = self.ctx.indexed(from_index) if len(bare) <= 32 else []
        if found is None:
            found = [(p, i) for p in projects for i in self.store.session_ids(p.slug) if i.replace("-", "").startswith(bare)]
        return found

    def ambiguous(self, ref: str, matches: list[SessionSummary]) -> Ambiguous:
        reference = datetime.now(timezone.utc)
        shown = [f'{m.short_id} "{m.title}" ({age(m.updated_at, reference)})' for m in matches]
        listed = "; ".join(shown)
        return Ambiguous(
            f"{ref!r} matches {len(matches)} sessions: {listed}",
            candidates=[
                {"id": m.id, "short_id": m.short_id, "title": m.title, "updated_at": m.updated_at}
                for m in matches
            ],
        )

    def find(self, prefix: str, project: str | None = None, all_projects: bool = False) -> list[SessionSummary]:
        """Sessions whose id starts with `prefix` (case-insensitive)."""
        lowered = prefix.strip().lower()
        if not id_prefix_shaped(lowered):
            return []
        scope = self.projects.all() if all_projects else [self.ctx.project(project)]
        found = [self.ctx.read_session(p, i).summary(p.name, p.slug) for p, i in self._prefix_ids(lowered, scope)]
        found.sort(key=lambda s: s.updated_at, reverse=True)
        return found

    # -- listing --------------------------------------------------------
    def project_counts(self, include_empty: bool = True) -> list[tuple[Project, int]]:
        """Every project with its number of (live) sessions, by name; without
        `include_empty`, only those holding a live or a trashed session."""
        rows = [(p, len(self.store.session_ids(p.slug))) for p in self.projects.all()]
        if not include_empty:
            rows = [(p, n) for p, n in rows if n or self.store.session_ids(p.slug, trash=True)]
        rows.sort(key=lambda pair: (pair[0].name.lower(), pair[0].slug))
        return rows

    def list(
        self,
        project: str | None = None,
        *,
        all_projects: bool = False,
        limit: int | None = None,
        tag: str | Sequence[str] | None = None,
        state: str | None = None,
        agents: bool = False,
        since: str | None = None,
        until: str | None = None,
        sort: str = "updated",
    ) -> builtins.list[SessionSummary]:
        """Sessions newest first (or by `sort`: updated, created, turns or
        tokens, most first), optionally filtered by tags (a session must
        have every one), run state, and last update within `since` and
        `until` (an age such as `3d`, `today`, `yesterday`, an ISO date or
        datetime). Sub-agents' sessions are listed only with `agents`;
        each session counts its own in `SessionSummary.agents`."""
        if limit is not None and limit < 0:
            raise InvalidInput("limit must be 0 or more")
        tags = [tag] if isinstance(tag, str) else builtins.list(tag or ())
        for one in tags:
            check_tag(one)
        if state is not None and state not in STATES:
            raise InvalidInput(f"unknown state {state!r} (expected one of: {', '.join(STATES)})")
        from chit.service.ordering import SORTS, Narrowing  # a listing's: not loaded to resolve a REF
        from chit.service.when import window

        if sort not in SORTS:
            raise InvalidInput(f"unknown sort {sort!r} (expected one of: {', '.join(SORTS)})")
        start, end = window(since, until, datetime.now(timezone.utc))
        scope = self.projects.all() if all_projects else [self.ctx.project(project)]
        return self.narrowed_summaries(scope, Narrowing(tuple(tags), state, start, end, sort, limit, agents))

    def agents(self, session: Session) -> builtins.list[SessionSummary]:
        """The sub-agent sessions of `session` (keyed `<its key>/agent-…` in
        its project), oldest first."""
        key = session.key
        if key is None or is_agent_key(key):
            return []
        scope = self.ctx.locate(session.id)

        def from_index(index: Index) -> builtins.list[SessionSummary]:
            from chit.index.relatives import agents_of, has_agents

            if not index.refresh_if_changed([scope.slug]):
                return []
            if not has_agents(index, scope.slug, key):  # no summary to bring up to date
                return []
            return agents_of(index, scope, key) if index.refresh([(scope.slug, False)]) else []

        found = self.ctx.indexed(from_index)
        if found is not None:
            return found
        every = self.select_summaries([scope])  # the index cannot answer: every file is read anyway
        return sorted((s for s in every if agent_of(s.key, key)), key=lambda s: (s.created_at, s.id))

    def agent_parent(self, session: Session) -> SessionSummary | None:
        """The session a sub-agent's session belongs to (None for others,
        or while its parent is not imported)."""
        if session.key is None or not is_agent_key(session.key):
            return None
        scope = self.ctx.locate(session.id)
        found = self.find_key(scope, session.key.split(AGENT_KEY, 1)[0])
        return None if found is None else self.ctx.read_session(scope, found).summary(scope.name, scope.slug)

    def summary(self, session_id: str) -> SessionSummary:
        """One session's summary by full id: its index row once the index
        has read the file's new lines (never the whole file when the index
        can answer), or the fold of the file when it cannot."""
        scope = self.ctx.locate(session_id)

        def from_index(index: Index) -> SessionSummary | None:
            from chit.index.search import summary_of

            if not index.refresh([(scope.slug, False)]):
                return None
            return summary_of(index, scope, False, session_id)

        found = self.ctx.indexed(from_index)
        return found if found is not None else self.ctx.read_session(scope, session_id).summary(scope.name, scope.slug)

    def latest(self, project: str | None = None) -> Session | None:
        found = self.list(project, limit=1)
        return self.get(found[0].id) if found else None

    def summaries(self, projects: builtins.list[Project], trash: bool = False) -> builtins.list[SessionSummary]:
        """Summaries of every session in `projects`, newest first."""
        return self.select_summaries(projects, trash)

    def select_summaries(
        self,
        projects: builtins.list[Project],
        trash: bool = False,
        *,
        tag: str | None = None,
        state: str | None = None,
        limit: int | None = None,
        agents: bool = True,
        ids: frozenset[str] | None = None,
    ) -> builtins.list[SessionSummary]:
        """Summaries newest first (ties by id), filtered, at most `limit`:
        from the index, or by reading every file when it cannot answer.
        Without `agents`, sub-agents' sessions are left out (each summary
        counts its own in `agents` either way); with `ids`, only those."""
        from chit.service.ordering import Narrowing

        want = Narrowing(() if tag is None else (tag,), state, limit=limit, agents=agents, ids=ids)
        return self.narrowed_summaries(projects, want, trash)

    def narrowed_summaries(self, projects: builtins.list[Project], want: Narrowing, trash: bool = False) -> builtins.list[SessionSummary]:
        """The summaries `want` keeps, in its order: from the index, from
        its current rows and the files it is far behind on, or by reading
        every file when it cannot answer."""

        def from_index(index: Index) -> builtins.list[SessionSummary]:
            from chit.index.search import summaries

            behind = None if trash else self.listing_lag(index, projects)
            if behind is not None:
                from chit.service.list_fresh import list_lagging

                return list_lagging(self.ctx, index, behind, {p.slug: p for p in projects}, want)
            if not index.refresh([(p.slug, trash) for p in projects]):
                return []
            tag = want.tags[0] if want.tags else None
            found = summaries(index, {p.slug: p for p in projects}, trash, tag=tag, state=want.state, limit=want.limit if want.plain else None, agents=want.agents)
            return found if want.plain else want.ordered(found)

        found = self.ctx.indexed(from_index)
        return found if found is not None else want.ordered(_count_agents(self.scan_summaries(projects, trash)))

    def listing_lag(self, index: Index, projects: Sequence[Project]) -> Lag | None:
        """The sessions of `projects` whose rows the index is far behind on
        (said once through `on_listing_lagging`); None when a refresh of
        the rows is cheap enough to run first, or once this process has
        brought the index up to date (`Context.catch_up_here`)."""
        from chit.service.catchup import caught_up_here, lag

        behind = lag(index, projects, text=False)
        if behind is None or not behind.far or self.ctx.catch_up_here and caught_up_here(index, projects):
            return None
        if self.on_listing_lagging is not None:
            self.on_listing_lagging(behind)
            self.on_listing_lagging = None  # one listing, one note: the fork counts look again
        return behind

    def scan_summaries(self, projects: builtins.list[Project], trash: bool = False) -> builtins.list[SessionSummary]:
        """`summaries` by folding every file (no index)."""
        result = [s.summary(p.name, p.slug) for p in projects for s in self.ctx.sessions_in(p, trash)]
        result.sort(key=lambda s: s.id)
        result.sort(key=lambda s: s.updated_at, reverse=True)
        return result

    # -- current session ------------------------------------------------
    def current(self, project: str | None = None) -> Session | None:
        """The project's current session: the last one created or loaded."""
        scope = self.ctx.project(project)
        session_id = self.current_id(scope)
        return None if session_id is None else self.ctx.read_session(scope, session_id)

    def current_id(self, scope: Project) -> str | None:
        data = self.store.read_json(self.layout.current_file(scope.slug))
        session_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(session_id, str) or not UUID_RE.match(session_id):
            return None
        return session_id if self.store.exists(scope.slug, session_id) else None

    def set_current(self, session: Session | str) -> None:
        """Make a session its project's current one (ending the previous);
        when it already is, current.json is left as it is (its `since`
        stays when it became current)."""
        session_id = session if isinstance(session, str) else session.id
        self.make_current(self.ctx.locate(session_id), session_id)

    def make_current(self, scope: Project, session_id: str) -> None:
        """`set_current` of a session known to be in `scope`'s folder."""
        path = self.layout.current_file(scope.slug)
        data = self.store.read_json(path)
        if isinstance(data, dict) and data.get("id") == session_id and isinstance(data.get("since"), str):
            return
        self.store.write_json(path, {"id": session_id, "since": now()})

    def load(self, ref: str | None = None, project: str | None = None) -> Session:
        """Resume a session: resolve `ref` and make it its project's current one."""
        scope, session_id = self.locate_ref(ref, project)
        session = self.ctx.read_session(scope, session_id)
        self.make_current(scope, session_id)
        return session

    def end(self, project: str | None = None) -> bool:
        """End the project's current session; True if there was one."""
        scope = self.ctx.project(project)
        path = self.layout.current_file(scope.slug)
        if self.store.read_json(path) is None:
            return False
        self.store.unlink(path)
        return True

    # -- search ---------------------------------------------------------
    def search(
        self,
        query: str,
        project: str | None = None,
        *,
        limit: int | None = 20,
        role: str | None = None,
        tag: str | None = None,
    ) -> builtins.list[SearchHit]:
        """Case-insensitive substring search over message text and manual
        titles (never JSON keys or ids); newest first."""
        if not isinstance(query, str) or not query.strip():
            raise InvalidInput("search query is empty")
        if role is not None:
            check_role(role)
        if tag is not None:
            check_tag(tag)
        if limit is not None and limit < 0:
            raise InvalidInput("limit must be 0 or more")
        return self._term_hits(query.casefold(), project, role, tag, limit)

    def search_all(
        self,
        folded_terms: Sequence[str],
        project: str | None = None,
        *,
        limit: int | None = 20,
        role: str | None = None,
        tag: str | None = None,
        sessions: int | None = None,
    ) -> builtins.list[SearchHit]:
        """`search` for messages (and manual titles) holding every one of
        these casefolded terms, the snippet at the first; the caller has
        checked its arguments. `sessions`: the caller keeps only the
        newest hits of that many sessions (the rest may be left unread
        while the index catches up)."""
        return self._term_hits(folded_terms[0], project, role, tag, limit, also=folded_terms[1:], sessions=sessions)

    def _term_hits(
        self, folded_query: str, project: str | None, role: str | None, tag: str | None, limit: int | None,
        also: Sequence[str] = (), sessions: int | None = None,
    ) -> builtins.list[SearchHit]:
        """Hits of one casefolded substring (whose text also holds each of
        `also`): from the index, or a scan; from the index and the files it
        is behind on, when it is far behind (`chit.service.search_fresh`)."""
        named = project is not None or self.ctx.project_name is not None
        scope = [self.ctx.project(project)] if named else self.projects.all()

        def from_index(index: Index) -> builtins.list[SearchHit]:
            from chit.index.search import search
            from chit.service.catchup import caught_up_here, lag
            from chit.service.ticker import Ticker, told_while

            ticker = Ticker(0, "", self.report_progress)  # a common word's candidates take seconds to go through
            behind = lag(index, scope)
            if behind is not None and behind.far and not (self.ctx.catch_up_here and caught_up_here(index, scope)):
                if self.on_lagging is not None:
                    self.on_lagging(behind)
                from chit.service.search_fresh import search_lagging

                with told_while("checking the matches in the index", None, ticker):
                    indexed = search(index, {p.slug: p for p in scope}, folded_query, role=role, tag=tag, limit=limit, also=also,
                                     skip=behind.skip) if index.exists() else []
                return search_lagging(self.ctx, behind, indexed, folded_query, role=role, tag=tag, limit=limit, sessions=sessions, also=also)
            if not index.refresh([(p.slug, False) for p in scope], text=True):
                return []
            with told_while("checking the matches in the index", None, ticker):
                return search(index, {p.slug: p for p in scope}, folded_query, role=role, tag=tag, limit=limit, also=also, sessions=sessions)

        found = self.ctx.indexed(from_index)
        return found if found is not None else self.scan_search(scope, folded_query, role=role, tag=tag, limit=limit, also=also)

    def scan_search(
        self,
        scope: builtins.list[Project],
        folded_query: str,
        *,
        role: str | None = None,
        tag: str | None = None,
        limit: int | None = None,
        also: Sequence[str] = (),
    ) -> builtins.list[SearchHit]:
        """`search` by folding every file (no index): the reference the index
        must agree with (a hit's text also holds each of `also`). Newest first; equal times by `chit.index.search.session_copy`
        (a session under two names, its move cut short, by project), then in session order (manual title first)."""
        from chit.index.search import session_copy
        from chit.service.hits import session_hits

        hits: builtins.list[SearchHit] = []
        for proj in scope:
            for session in self.ctx.sessions_in(proj):
                if tag is not None and tag not in session.tags:
                    continue
                hits.extend(session_hits(session, proj, folded_query, role, also))
        hits.sort(key=session_copy)
        hits.sort(key=lambda h: h.ts, reverse=True)
        return hits if limit is None else hits[:limit]


def keyed_headers(store: Store, slug: str) -> Iterator[tuple[object, str]]:
    """(key, session id) of the project's live sessions, by id, read from
    their header lines (the key None where there is none)."""
    for session_id in sorted(store.session_ids(slug)):
        header = store.read_header(slug, session_id)
        if header is not None:
            yield header.get("key"), session_id


def _count_agents(found: list[SessionSummary]) -> list[SessionSummary]:
    """`found` with each summary's count of sub-agent sessions among them."""
    keyed = [s for s in found if is_agent_key(s.key)]
    if not keyed:
        return found
    return [
        replace(s, agents=sum(1 for c in keyed if c.project == s.project and agent_of(c.key, s.key))) if s.key else s
        for s in found
    ]
