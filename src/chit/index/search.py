"""Answers from the index: listings and search (a REF's key or prefix:
`chit.index.refs`).

Invariants:
- each function answers from rows that `Index.refresh` has just brought up
  to date, and gives exactly what reading every file would (the tests hold
  it against `Queries`'s file scan on a corpus);
- search: the text index only proposes candidates (`text_match`: for each
  piece of the query, the messages holding a vocabulary word that contains
  it; `chit.index.grams`), and the messages listed in `cut` are always
  candidates; a message is a hit only
  after its line, read back from the session file, passes the same
  casefold substring rule, and its snippet comes from that text (a long
  line's bytes may answer for it: `chit.index.rawfind`).
  Candidates stream by row id, highest first; a message's second is never
  above its row id (`chit.index.rowids`), so once `limit` hits are
  held, reading stops at the first row id below the second of the last of
  them (`second_at_or_below`): that candidate and every later one are
  older than it. Before that, a candidate whose row's stamp is older than
  the last of them is passed over unread (many messages of one second: a
  fork's copies, an import). One line per session (`sessions`, no `limit`): once that
  many sessions have hits, a candidate below the second of the newest hit
  of each of them is confirmed only in a session that has a hit (so each
  shown session's hits are all counted). A line that no
  longer is the message its row names (a rewrite raced the search) raises
  `Stale`, its row doubted (`Rows.doubt`): refresh and ask
  again, and the file is read again whole;
- order: newest first; equal timestamps by `session_copy` (session id,
  key, project name, project slug), then the manual-title hit before the
  session's messages in their order: a total order, the file scan's.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterable, Sequence
from contextlib import closing
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from chit.index.db import Index
from chit.index import Stale
from chit.index import grams, rawfind, vocabulary
from chit.index.lines import read_text
from chit.index.rowids import ts_key
from chit.index.snippets import find_folded, find_folded_all, find_snippet, make_snippet
from chit.index.summary_rows import AGENTS_COUNT, SUMMARY_COLUMNS, session_title, summary_from_row
from chit.model import AGENT_KEY, Project, SearchHit, SessionSummary
from chit.store.codec import BadRecord
from chit.store.files import open_regular

if TYPE_CHECKING:
    import sqlite3

MAX_TERMS = 200  # vocabulary words asked of msgtext beyond those of the query's rarest piece, at most
COMMON = 64  # a query whose every piece is in more vocabulary words than this reads the newest messages first
PROBE = 200  # newest messages read before such a query asks the text index
PROBE_BYTES = 256 * 1024  # and at most this much of their lines
RAW_LINE = 1 << 16  # a candidate's line longer than this is looked at in its bytes first (`chit.index.rawfind`)
_ABOVE_ALL = 1 << 62  # above every message row id
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LAST_SECOND = int((datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc) - _EPOCH).total_seconds())


def _scope(slugs: Sequence[str], tag: str | None, role: str | None = None) -> tuple[str, list[Any]]:
    where = f"s.slug IN ({','.join('?' * len(slugs))})"
    params: list[Any] = list(slugs)
    if tag is not None:
        where += " AND EXISTS (SELECT 1 FROM json_each(s.tags) WHERE json_each.value = ?)"
        params.append(tag)
    if role is not None:
        where += " AND m.role = ?"
        params.append(role)
    return where, params


def summaries(
    index: Index,
    projects: dict[str, Project],
    trash: bool,
    *,
    tag: str | None = None,
    state: str | None = None,
    limit: int | None = None,
    agents: bool = True,
    skip: frozenset[tuple[str, str]] = frozenset(),
) -> list[SessionSummary]:
    """Session summaries of these projects (by slug), newest first; without
    `agents`, sub-agents' sessions are counted under their parent instead.
    The sessions `skip` names (slug, id) are left out: the caller answers
    for them."""
    if not projects:
        return []
    where, params = _scope(list(projects), tag)
    if state is not None:
        where += " AND s.state = ?"
        params.append(state)
    if not agents:
        where += f" AND (s.key IS NULL OR instr(s.key, '{AGENT_KEY}') = 0)"
    sql = f"SELECT {SUMMARY_COLUMNS}, {AGENTS_COUNT} FROM sessions s WHERE s.trash = ? AND {where} ORDER BY s.updated_at DESC, s.id"
    if limit is not None:
        sql += f" LIMIT {int(limit) + len(skip)}"  # the skipped rows are among them at worst
    found = [summary_from_row(row, projects[row[0]]) for row in index.conn.execute(sql, [int(trash), *params]) if (row[0], row[1]) not in skip]
    return found if limit is None else found[:limit]


def fork_counts(index: Index, parents: dict[str, str]) -> dict[str, int]:
    """Live forks of each session (id -> its project's slug), by id; a
    session without forks is left out. One lookup per session on the
    parent index, whatever the size of its project."""
    counts: dict[str, int] = {}
    for session_id, slug in parents.items():
        row = index.conn.execute(
            "SELECT count(*) FROM sessions WHERE parent_id = ? AND slug = ? AND trash = 0", (session_id, slug)
        ).fetchone()
        if row[0]:
            counts[session_id] = row[0]
    return counts


def summary_of(index: Index, project: Project, trash: bool, session_id: str) -> SessionSummary | None:
    """One session's summary as its row has it (no refresh); None without a row."""
    row = index.conn.execute(
        f"SELECT {SUMMARY_COLUMNS} FROM sessions s WHERE s.slug = ? AND s.trash = ? AND s.id = ?",
        (project.slug, int(trash), session_id),
    ).fetchone()
    return None if row is None else summary_from_row(row, project)


def text_match(conn: sqlite3.Connection, folded_query: str) -> list[list[str]] | None:
    """For some pieces of `folded_query`, the vocabulary words that contain
    each (`chit.index.grams`), rarest piece first: every message containing
    the query holds one word of each list (`any_words` asks FTS5 for
    them). Empty when a piece is in no word; None when the query has no
    piece of two characters or more. Pieces of two characters are left
    out when a longer one is there (they would read the whole
    vocabulary), and lists beyond the rarest once they hold MAX_TERMS
    words in all."""
    pieces = grams.query_pieces(folded_query)
    if any(len(piece) > 2 for piece in pieces):
        pieces = [piece for piece in pieces if len(piece) > 2]
    behind = vocabulary.terms_containing(conn, pieces) if pieces and vocabulary.is_behind(conn) else None
    groups = []
    for piece in pieces:
        words = behind[piece] if behind is not None else _vocabulary_words(conn, piece)  # behind: a build under way or killed
        if not words:
            return []
        groups.append(words)
    if not groups:
        return None
    groups.sort(key=len)
    chosen, total = groups[:1], 0  # a subset of the pieces still matches every true hit
    for words in groups[1:]:
        total += len(words)
        if total > MAX_TERMS:
            break
        chosen.append(words)
    return chosen


def _vocabulary_words(conn: sqlite3.Connection, piece: str) -> list[str]:
    if len(piece) == 2:  # no trigram: the vocabulary is read, in SQLite
        found = conn.execute("SELECT word FROM words WHERE instr(word, ?) > 0", (piece,))
    else:
        found = conn.execute(
            "SELECT word FROM words WHERE id IN (SELECT rowid FROM vocab WHERE vocab MATCH ?) AND instr(word, ?) > 0",
            (grams.trigram_match(piece), piece),
        )
    return [row[0] for row in found]


def any_words(groups: list[list[str]]) -> str:
    """The FTS5 query on msgtext for `text_match`'s lists."""
    return " AND ".join(grams.any_of(words) for words in groups)


_COLUMNS = (
    "m.pos, m.mid, m.role, m.ts, m.turn, m.off, m.len, s.sid, s.slug, s.id, s.project, s.updated_at,"
    " s.manual_title, s.first_title, m.rowid"
)


def search(
    index: Index,
    projects: dict[str, Project],
    folded_query: str,
    *,
    role: str | None = None,
    tag: str | None = None,
    limit: int | None = None,
    also: Sequence[str] = (),
    skip: frozenset[tuple[str, str]] = frozenset(),
    sessions: int | None = None,
) -> list[SearchHit]:
    """Hits for `folded_query` (already casefolded) in these projects;
    each hit's text also holds every one of `also` (casefolded); none from
    the sessions `skip` names (slug, id), which the caller answers for.
    `sessions` (without `limit`): every hit of the `sessions` sessions
    with the newest hits, and perhaps of a few more, not of every session."""
    if not projects or limit == 0:
        return []
    wanted = (folded_query, *also)
    conn = index.conn
    where, params = _scope(list(projects), tag, role)
    found: list[tuple[SearchHit, int]] = []  # (hit, order within its session: -1 title, else position)
    if role is None:
        title_where, title_params = _scope(list(projects), tag)
        for _, slug, sid, key, updated, manual, _first in conn.execute(
            "SELECT s.sid, s.slug, s.id, s.project, s.updated_at, s.manual_title, s.first_title FROM sessions s"
            f" WHERE s.trash = 0 AND {title_where} AND s.folded_title IS NOT NULL AND instr(s.folded_title, ?) > 0",
            [*title_params, folded_query],
        ):
            span = find_folded(manual, folded_query)
            if span is not None and _holds(manual, also) and (slug, sid) not in skip:
                hit = _hit(projects[slug], sid, key, manual, updated, None, None, None, updated, make_snippet(manual, *span))
                found.append((hit, -1))
    groups = text_match(conn, " ".join(wanted)) if index.has_text else None
    # CROSS JOIN fixes the join order: candidates come by row id (text matches,
    # else every message), never sorted all at once
    every = f"FROM messages m CROSS JOIN sessions s ON s.sid = m.sid WHERE s.trash = 0 AND {where}"
    first: list[tuple[str, list[Any]]] = []  # candidates checked before the stream, all of them
    stream_sql: str | None
    probe_sql = None
    if groups is not None:
        match = any_words(groups)
        source = (
            "FROM msgtext CROSS JOIN messages m ON m.rowid = msgtext.rowid CROSS JOIN sessions s ON s.sid = m.sid"
            f" WHERE msgtext MATCH ? AND s.trash = 0 AND {where}"
        )
        if conn.execute("SELECT 1 FROM cut LIMIT 1").fetchone():  # messages with a word FTS5 cut: all of them, first
            first.append((f"SELECT {_COLUMNS} {every} AND m.rowid IN (SELECT rowid FROM cut)", params))
            source += " AND msgtext.rowid NOT IN (SELECT rowid FROM cut)"
        stream_sql = None
        if groups:
            if conn.execute("SELECT 1 FROM messages WHERE rowid < 0 LIMIT 1").fetchone():  # else FTS5 walks every match for none
                first.append((f"SELECT {_COLUMNS} {source} AND msgtext.rowid < 0", [match, *params]))
            stream_sql = f"SELECT {_COLUMNS} {source} AND msgtext.rowid >= 0 AND msgtext.rowid < ? ORDER BY msgtext.rowid DESC"
            if len(groups[0]) > COMMON:  # FTS5 opens every word's list before its first answer: the newest messages first
                probe_sql = f"SELECT {_COLUMNS} {every} AND m.rowid >= 0 AND m.rowid NOT IN (SELECT rowid FROM cut) ORDER BY m.rowid DESC LIMIT {PROBE}"
        text_params = [match, *params]
    else:
        first.append((f"SELECT {_COLUMNS} {every} AND m.rowid < 0", params))
        stream_sql = f"SELECT {_COLUMNS} {every} AND m.rowid >= 0 AND m.rowid < ? ORDER BY m.rowid DESC"
        text_params = params
    files = _Files(index, skip)
    try:
        for sql, sql_params in first:
            for row in conn.execute(sql, sql_params).fetchall():
                _check(row, files, projects, wanted, found)
        below: int | None = _ABOVE_ALL
        if probe_sql is not None:
            fetched = conn.execute(probe_sql, params).fetchall()
            probed = _newest(fetched)
            none_left = len(probed) == len(fetched) < PROBE
            below = None if _stream(probed, files, projects, wanted, found, limit, sessions) or none_left else probed[-1][-1]
        if stream_sql is not None and below is not None:
            with closing(conn.execute(stream_sql, [*text_params, below])) as cursor:  # closed: a doubt (a write) may follow
                _stream(cursor, files, projects, wanted, found, limit, sessions)
    except Stale as stale:
        files.close()
        with index.lock, index.writing() as rows:
            rows.doubt(stale.sid)  # read again whole at the retry's refresh
        raise
    finally:
        files.close()
    found.sort(key=lambda pair: (session_copy(pair[0]), pair[1]))
    found.sort(key=lambda pair: pair[0].ts, reverse=True)
    hits = [h for h, _ in found]
    return hits if limit is None else hits[:limit]


def session_copy(hit: SearchHit) -> tuple[str, str, str, str]:
    """Which copy of which session a hit is in: hits of one time are
    ordered by it, then in session order, here as in the file scan and the
    search while the index catches up. The slug alone tells apart the
    copies of a session in two projects of one name (a move cut short)."""
    return (hit.id, hit.project, hit.project_name, hit.project_slug)


def _newest(rows: list[Any]) -> list[Any]:
    """The first of these rows whose lines hold PROBE_BYTES in all (at
    least one row); all of them only when they hold fewer."""
    total = 0
    for n, row in enumerate(rows):
        total += row[6]  # the line's length
        if total > PROBE_BYTES:
            return rows[: max(n, 1)]
    return rows


def _stream(
    rows: Iterable[Sequence[Any]], files: _Files, projects: dict[str, Project], wanted: tuple[str, ...],
    found: list[tuple[SearchHit, int]], limit: int | None, sessions: int | None = None,
) -> bool:
    """Check the candidates that come by row id, newest first, until
    `limit` hits are held and the rest are older than all of them (then
    True). With `sessions` instead, once that many sessions have hits,
    the candidates older than the newest hit of each of them are checked
    only in the sessions that have hits."""
    newest: list[str] | None = None  # once `limit` hits are held: the stamps of the newest `limit`, a min-heap
    stop_below = -1
    shown = _Shown(sessions, found) if limit is None and sessions is not None else None
    for row in rows:
        if limit is not None and len(found) >= limit:
            if newest is None:
                newest = heapq.nlargest(limit, (h.ts for h, _ in found))
                heapq.heapify(newest)
                stop_below = second_at_or_below(newest[0])
            if row[-1] < stop_below:
                return True
            if row[3] < newest[0]:
                continue  # older than the `limit` newest hits held (a hit's stamp is its row's): never shown
        if shown is not None and row[-1] < shown.below and row[9] not in shown.newest:
            continue  # older than the newest hit of every shown session: it cannot add one
        if _check(row, files, projects, wanted, found):
            ts = found[-1][0].ts
            if newest is not None and ts > newest[0]:
                heapq.heapreplace(newest, ts)
                stop_below = second_at_or_below(newest[0])
            if shown is not None:
                shown.add(found[-1][0])
    return False


class _Shown:
    """The newest hit of each session with hits so far (by session id:
    the same id in two projects counts once, which only checks more), and
    `below`: the row id under which a candidate is older than the newest
    hit of `count` of them (-1 while fewer have hits).

    The `count` sessions whose newest hits are newest are kept in `top`
    (id: stamp) and `heap` (a min-heap of their (stamp, id), entries of a
    stamp since raised left in it until they surface), so a hit costs a
    heap step, not a pass over every session with hits."""

    def __init__(self, count: int, found: list[tuple[SearchHit, int]]) -> None:
        self.count = count
        self.newest: dict[str, str] = {}
        self.top: dict[str, str] = {}
        self.heap: list[tuple[str, str]] = []
        self.below = -1
        for hit, _ in found:
            self.add(hit)

    def add(self, hit: SearchHit) -> None:
        if hit.ts <= self.newest.get(hit.id, ""):
            return
        self.newest[hit.id] = hit.ts
        if self.count <= 0:
            return
        if hit.id not in self.top and len(self.top) >= self.count:
            if hit.ts <= self.heap[0][0]:
                return  # newer than before, still not among the newest `count`
            del self.top[heapq.heappop(self.heap)[1]]
        self.top[hit.id] = hit.ts
        heapq.heappush(self.heap, (hit.ts, hit.id))
        while self.heap[0][0] != self.top.get(self.heap[0][1]):
            heapq.heappop(self.heap)  # a stamp since raised
        if len(self.top) >= self.count:
            self.below = second_at_or_below(self.heap[0][0])


def second_at_or_below(ts: str) -> int:
    """The last second (since 1970) whose canonical timestamp sorts at or
    before `ts`; -1 if none. A row id below it belongs to a message whose
    timestamp sorts before `ts`: its second is at most the row id, and the
    next second already sorts at or before `ts`."""
    key = ts_key(ts)
    if key is not None:
        return key
    low, high = -1, _LAST_SECOND + 1  # canonical(low) <= ts < canonical(high), -1 and the end as sentinels
    while high - low > 1:
        middle = (low + high) // 2
        if (_EPOCH + timedelta(seconds=middle)).strftime("%Y-%m-%dT%H:%M:%S.000000Z") <= ts:
            low = middle
        else:
            high = middle
    return low


def _check(row: Sequence[Any], files: _Files, projects: dict[str, Project], wanted: tuple[str, ...], found: list[tuple[SearchHit, int]]) -> bool:
    """Confirm one candidate against its line in the file; True if a hit:
    its text holds every one of `wanted`, the first one for the snippet."""
    pos, mid, role, ts, turn, off, length, sid, slug, session_id, key, updated, manual, first, _ = row
    if files.skip and (slug, session_id) in files.skip:
        return False
    raw = files.raw(wanted) if length > RAW_LINE else None
    if raw is not None:  # a long line: its bytes first, the decoder only if they cannot tell
        decided = rawfind.confirm(files.fd(sid, slug, session_id), off, length, mid, raw)
        if decided is None:
            return False
        if isinstance(decided, str):
            found.append((_hit(projects[slug], session_id, key, session_title(manual, first), updated, turn, role, mid, ts, decided), pos))
            return True
    line = read_text(files.fd(sid, slug, session_id), off, length)
    if line is None or line[0].get("id") != mid:
        raise Stale(f"session {session_id[:8]} changed during the search", sid)
    record, pieces = line
    if pieces is None:  # a whole text: one casefold for every term and the snippet (a window at a time if long)
        text = record["content"]
        span = find_folded_all(text, wanted)
        snippet = None if span is None else make_snippet(text, *span)
    else:
        try:
            snippet = find_snippet(pieces, wanted[0])
            if snippet is not None and len(wanted) > 1:  # a long text comes apart: read it again, whole this time
                again = read_text(files.fd(sid, slug, session_id), off, length)
                if not _holds("" if again is None else "".join(again[1] or [again[0]["content"]]), wanted[1:]):
                    return False
        except BadRecord:
            raise Stale(f"session {session_id[:8]} changed during the search", sid) from None
    if snippet is None:
        return False
    hit = _hit(projects[slug], session_id, key, session_title(manual, first), updated, turn, role, mid, ts, snippet)
    found.append((hit, pos))
    return True


def _holds(text: str, terms: Sequence[str]) -> bool:
    if not terms:
        return True
    folded = text.casefold()
    return all(term in folded for term in terms)


def _hit(
    project: Project, session_id: str, key: str | None, title: str, updated: str,
    turn: int | None, role: str | None, message_id: str | None, ts: str, snippet: str,
) -> SearchHit:
    return SearchHit(
        id=session_id, project=key if key is not None else project.key, project_name=project.name, title=title,
        updated_at=updated, turn=turn, role=role, message_id=message_id, ts=ts, snippet=snippet, project_slug=project.slug,
    )


class _Files:
    """Session files opened during one search, by session row."""

    def __init__(self, index: Index, skip: frozenset[tuple[str, str]] = frozenset()) -> None:
        self.index = index
        self.skip = skip  # (slug, id): sessions the search leaves to its caller
        self.open: dict[int, int] = {}
        self._raw: tuple[tuple[str, ...], rawfind.Query | None] | None = None

    def raw(self, wanted: tuple[str, ...]) -> rawfind.Query | None:
        """The search's one term as a `rawfind` query, if it can answer for it."""
        if self._raw is None or self._raw[0] != wanted:
            self._raw = (wanted, rawfind.Query.of(wanted[0]) if len(wanted) == 1 else None)
        return self._raw[1]

    def fd(self, sid: int, slug: str, session_id: str) -> int:
        fd = self.open.get(sid)
        if fd is None:
            try:
                fd = open_regular(self.index.layout.session_file(slug, session_id))
            except OSError:
                raise Stale(f"session {session_id[:8]} moved during the search", sid) from None
            if len(self.open) > 64:
                self.close()
            self.open[sid] = fd
        return fd

    def close(self) -> None:
        for fd in self.open.values():
            os.close(fd)
        self.open.clear()
