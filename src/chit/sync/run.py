"""`chit sync`: the live store and a git remote, through a mirror.

The live store is never a git work tree: git rewrites files during a merge
or a checkout, while chit's writers append under per-session locks, so a
merge in the live store could lose an append made at that moment. The
shared part is mirrored in a git repository of its own
(`$CHIT_HOME/sync/repo`) and a sync is three set unions:

1. export: each session file changed since the last sync (its stat
   signature) gives the mirror the lines it lacks; then a commit;
2. fetch, merge (`*.jsonl merge=union`), push; a push that lost a race to
   another machine is retried after a new fetch and merge, a few times
   (an export that committed is pushed first: git takes it only when the
   remote holds nothing the mirror lacks, and refused, it is fetched);
3. import: each mirror file the merge changed gives the live file the
   lines it lacks (see `chit.sync.incoming`); then the index (rows and
   text) of the projects it wrote is brought up to date, as `chit import`
   does, so the first search after a large pull has nothing left to build.

Invariants: one sync at a time per home (the sync lock, which its git
commands hold with it: a git left running by a run killed holds it until
it ends, so the next run never works beside it); a run killed at
any point leaves the mirror at a commit (its uncommitted work tree is
reset at the start of the next run) and the state behind the work done,
so the next run completes it; nothing is ever removed from a live file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chit.errors import Conflict, InvalidInput, NotFound
from chit.service.base import Context
from chit.store import codec, emptied
from chit.store.sessions import UUID_RE
from chit.sync.git import Done, Git, SyncError
from chit.sync.incoming import Arrivals, Importer
from chit.sync.mirror import (
    PROJECTS, LiveFile, Mirror, as_it_is, export_lines, live_files, project_identity, redacted,
)
from chit.sync.state import BRANCH, Place, State, signature
from chit.urls import shown

PUSH_ATTEMPTS = 5
STAGE_BATCH = 100  # mirror files staged by one `git add` (a few seconds of hashing at most)
READ_BATCH = 100  # earlier copies of mirror files read by one `git cat-file` (their bytes held at once)
UNMERGED = ("DD", "AU", "UD", "UA", "DU", "AA", "UU")  # `git status --porcelain` codes of a conflict
ATTRIBUTES = b"# chit: every session file is a set of lines; a union of two copies is a valid session\n*.jsonl merge=union\n"
Progress = Callable[[str, int, int], None]


def check_remote(remote: str) -> str:
    """A remote chit may push transcripts to: never plain http."""
    text = remote.strip()
    if not text or "\x00" in text or "\n" in text:
        raise InvalidInput("give the git remote to sync with (an ssh or https URL, or a path)")
    if text.lower().startswith(("http://", "git://")):
        raise InvalidInput(
            f"refusing the unencrypted remote {text.split('://')[0]}://; use ssh or https, and the remote must be private"
        )
    return text


@dataclass
class SyncReport:
    remote: str
    head: str | None
    sent: int = 0
    pushed: bool = False
    arrivals: Arrivals = field(default_factory=Arrivals)

    def as_dict(self) -> dict[str, Any]:
        return {"remote": self.remote, "commit": self.head, "sent": self.sent, "pushed": self.pushed, **self.arrivals.as_dict()}


@dataclass(frozen=True)
class SyncStatus:
    configured: bool
    remote: str | None
    commit: str | None
    imported: str | None
    pending: int  # local session files changed since the last export

    def as_dict(self) -> dict[str, Any]:
        return {"configured": self.configured, "remote": self.remote, "commit": self.commit, "imported": self.imported, "pending": self.pending}


class Sync:
    """Sync of one home (`ctx`) with its git remote."""

    def __init__(self, ctx: Context, progress: Progress | None = None, redact: bool = False) -> None:
        self.ctx = ctx
        self.form = redacted if redact else as_it_is
        self.place = Place(ctx.layout.sync, ctx.store.durable)
        self.git = Git(self.place.repo)
        self.progress = progress or (lambda what, done, total: None)

    # -- set up -------------------------------------------------------------
    def init(self, remote: str) -> SyncReport:
        """Start syncing this home with `remote` (empty, or holding chit history)."""
        return self._set_up(check_remote(remote), need_history=False)

    def clone(self, remote: str) -> SyncReport:
        """Start syncing this home from `remote`, which holds chit history."""
        return self._set_up(check_remote(remote), need_history=True)

    def _set_up(self, remote: str, need_history: bool) -> SyncReport:
        with self.place.locked(self.ctx.store.timeout) as held, self.git.holding(held):
            existing = self.place.load()
            if existing is not None and self.place.configured():
                raise Conflict(f"this store already syncs with {shown(existing.remote)} (see `chit sync status`)")
            made_before = self._make_repo(remote)
            self.git.run("fetch", "--quiet", "origin", what="fetching from the remote")
            theirs = self.git.commits(f"refs/remotes/origin/{BRANCH}")[0]
            if need_history and theirs is None:
                raise SyncError(f"{shown(remote)} holds no chit history yet; run `chit sync init {shown(remote)}` on the machine that has it")
            start = self._start(theirs) if not made_before or self.git.head() is None else None
            self.place.save(State(remote=remote))
            return self._sync(fetched=True, made=None if made_before else start)  # one left before is checked as a killed run's

    def _make_repo(self, remote: str) -> bool:
        """Make the mirror's repository, or set up the one an earlier set-up
        left; whether there was one (cut short, or before the state file was
        removed: it is then checked as any mirror a killed run left)."""
        repo = self.place.repo
        made_before = (repo / ".git").is_dir()
        if repo.exists() and not made_before:
            shutil.rmtree(repo)
        repo.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.git.run("init", "--quiet", "-b", BRANCH, what="making the sync repository")
        if made_before and self.git.run("remote", "get-url", "origin", check=False).ok:
            self.git.run("remote", "set-url", "origin", remote)
        else:
            self.git.run("remote", "add", "origin", remote)
        return made_before

    def _start(self, theirs: str | None) -> tuple[str | None, bool]:
        """The first commit of a new mirror: the remote's history when it has
        one (nothing to merge, nothing to push back), else a commit of its
        own holding `.gitattributes`. The commit, and whether it is the
        mirror's own (it then holds no session)."""
        repo = self.place.repo
        if theirs is not None:
            self.git.run("reset", "--quiet", "--hard", theirs, what="setting up the sync repository")
            attributes = repo / ".gitattributes"
            if attributes.is_file() and b"*.jsonl merge=union\n" in attributes.read_bytes():
                return theirs, False
        (repo / ".gitattributes").write_bytes(ATTRIBUTES)
        self.git.run("add", ".gitattributes")
        self.git.run("commit", "--quiet", "-m", "chit sync: a store's shared part")
        return self.git.head(), theirs is None

    # -- a sync -------------------------------------------------------------
    def run(self) -> SyncReport:
        """Export, merge with the remote, import (module docstring)."""
        with self.place.locked(self.ctx.store.timeout) as held, self.git.holding(held):
            return self._sync()

    def status(self) -> SyncStatus:
        state = self.place.load()
        if state is None or not self.place.configured():
            return SyncStatus(False, None, None, None, 0)
        pending = sum(1 for f in live_files(self.ctx.store).values() if self._changed_since(state, f))
        return SyncStatus(True, shown(state.remote), self.git.head(), state.imported, pending)

    def _state(self) -> State:
        state = self.place.load()
        if state is None or not self.place.configured():
            raise NotFound("this store does not sync yet: run `chit sync init REMOTE` (or `chit sync clone REMOTE`)")
        return state

    def _sync(self, fetched: bool = False, made: tuple[str | None, bool] | None = None) -> SyncReport:
        """A sync; `fetched` when the remote was fetched a moment ago, `made`
        when the mirror was made a moment ago (both by a set-up): the commit
        it starts at, and whether that is its own first commit."""
        state = self._state()
        before, own_first = made if made else (self._recover(), False)  # nothing to undo in a new mirror
        report = SyncReport(remote=shown(state.remote), head=None)  # as printed: no password
        report.sent, committed = self._export(state)
        ancestors = {before} if before else set()  # of HEAD from here on: the export only commits on top
        report.head, failure = self._exchange(state, report, fetched, ancestors, committed)
        merged = bool(ancestors - {before})  # a merge adds the commit it merged
        # nothing merged: HEAD adds to the last import (or to a new mirror's own first commit,
        # which holds no session) only the export's commit, all of it from this store
        own = not merged and before is not None and (own_first or before == state.imported)
        report.arrivals, written = self._import(state, report.head, own)
        self._update_index(written)
        if failure is not None:
            raise failure
        return report

    def _recover(self) -> str | None:
        """Undo what a killed run left half done in the mirror: stale git
        lock files (only a sync, which holds the sync lock, runs git here),
        a merge in progress, uncommitted changes. The live store still holds
        every line they held, so the export puts them back. HEAD's commit."""
        git_dir = self.place.repo / ".git"
        for stale in [git_dir / "index.lock", git_dir / "HEAD.lock", git_dir / "packed-refs.lock", git_dir / "config.lock"]:
            stale.unlink(missing_ok=True)
        for stale in (git_dir / "refs").rglob("*.lock"):
            stale.unlink(missing_ok=True)
        if (git_dir / "MERGE_HEAD").exists():
            self.git.run("merge", "--abort", check=False)
        else:
            clean, head = self._clean()
            if clean:
                return head  # the usual case: the last run finished
        head = self.git.head()
        if head is not None:
            self.git.run("reset", "--quiet", "--hard", "HEAD", what="resetting the sync repository")
            self.git.run("clean", "--quiet", "-fd", what="cleaning the sync repository")
        return head

    def _clean(self) -> tuple[bool, str | None]:
        """Whether the mirror's index and work tree are its HEAD (nothing
        staged, changed or untracked), and HEAD's commit: one git, where a
        reset and a clean are two."""
        listed = self.git.run("status", "--porcelain=v2", "--branch", "-z", check=False)
        entries = [entry for entry in listed.out.split("\0") if entry]
        head = next((entry.split()[2] for entry in entries if entry.startswith("# branch.oid ")), None)
        clean = listed.ok and all(entry.startswith("# ") for entry in entries)
        return clean, head if head and head != "(initial)" else None

    def _changed_since(self, state: State, live: LiveFile) -> bool:
        try:
            st = os.stat(self.ctx.layout.home / live.relative(), follow_symlinks=False)
        except OSError:
            return False
        return state.exported.get(live.relative()) != signature(st)

    def _export(self, state: State) -> tuple[int, bool]:
        """Lines of changed live files into the mirror, committed; the
        number of sessions that gave the mirror lines, and whether it
        made a commit."""
        mirror = Mirror(self.place.repo)
        every = live_files(self.ctx.store).values()
        known = {f.relative() for f in every}
        state.exported = {path: sig for path, sig in state.exported.items() if path in known}  # files gone or moved
        files = [f for f in every if self._changed_since(state, f)]
        identities: dict[str, str] = {}
        done: dict[str, tuple[int, int, int]] = {}
        sent = 0
        written: list[str] = []  # mirror files that gained lines
        created: list[str] = []  # files new to the mirror (git knows every other one: `_recover`)
        for n, live in enumerate(files, 1):
            project = self.ctx.projects.get(live.slug)
            if project is None:
                continue  # a directory without a project record: not shared (doctor reports it)
            if live.slug not in identities:
                identities[live.slug] = project_identity(self.ctx.projects, project)
            try:
                data, st = self.ctx.store.read_bytes(live.slug, live.session_id, live.trash)
            except NotFound:
                continue  # moved or deleted meanwhile: the next sync sees where it went
            path = mirror.path_for(live.session_id, project, identities[live.slug])
            target = self.place.repo / path
            existed = target.exists()
            if export_lines(data, target, self.form):
                sent += 1
                written.append(path)
                if not existed:
                    created.append(path)
            done[live.relative()] = signature(st)
            self.progress("exporting", n, len(files))
        requests, changed = self._send_emptied(mirror, created)
        committed = self._commit(written, [*mirror.created, *created], changed or bool(mirror.created),
                                 f"chit sync: {sent} session{'' if sent == 1 else 's'}")
        state.exported.update(done)
        self.place.save(state)
        emptied.sent(self.place.directory, requests, self.ctx.store.durable)
        return sent, committed

    def _commit(self, written: list[str], created: list[str], touched: bool, message: str) -> bool:
        """Commit the mirror files an export `written` (lines appended) and
        whatever else it `touched` (a project record, the trash's emptying),
        `created` those of them new to git; whether it made a commit.
        Staging a whole store's files is most of its first sync: they are
        staged a batch at a time, telling how many.

        The export starts from a work tree and an index that are HEAD
        (`_recover`), so a file that gained lines (and was not removed
        since) is a change to commit, nothing written or touched is nothing
        to commit, and git knows every file there but those `created`:
        `commit --all` stages the rest itself (what gained lines, what the
        emptying removed), without a `git add` of its own."""
        paths = [path for path in written if (self.place.repo / path).is_file()]
        self.progress("committing", 0, len(paths))
        if not written and not touched:
            return False
        last = max(0, len(paths) - STAGE_BATCH)
        for start in range(0, last, STAGE_BATCH):  # every batch but the last
            self.git.run("--literal-pathspecs", "add", "--", *paths[start : start + STAGE_BATCH], what="committing")
            self.progress("committing", start + STAGE_BATCH, len(paths))
        staged_before = set(paths[:last])
        new = [path for path in dict.fromkeys(created) if path not in staged_before and (self.place.repo / path).is_file()]
        if new:
            self.git.run("--literal-pathspecs", "add", "--", *new, what="committing")
        done = self.git.run("commit", "--quiet", "--all", "-m", message, check=False)
        if not done.ok and not paths and "nothing to commit" in done.out:
            return False  # touched, and yet as it was: an emptying whose record the mirror held
        if not done.ok:
            raise SyncError(f"committing failed: {done.last_line()}")
        if paths:
            self.progress("committing", len(paths), len(paths))
        return True

    def _send_emptied(self, mirror: Mirror, created: list[str]) -> tuple[list[bytes], bool]:
        """The trash emptied everywhere here, into the mirror: each request
        as a line of `emptied/<id>.jsonl` (a file new to git joins
        `created`), and the session's mirror file removed when it holds
        nothing the request did not see. The requests, and whether the
        mirror changed."""
        requests = emptied.pending(self.place.directory)
        changed = False
        for line in requests:
            parsed = emptied.parse_request(line)
            if parsed is None:
                continue
            session_id, _by, seen = parsed
            path = mirror.sessions.get(session_id)
            if path is not None and (self.place.repo / path).is_file() and emptied.covered((self.place.repo / path).read_bytes(), seen):
                (self.place.repo / path).unlink()
                changed = True
            record = self.place.repo / emptied.FOLDER / f"{session_id}.jsonl"
            record.parent.mkdir(exist_ok=True)
            held = record.read_bytes() if record.exists() else None
            if line not in codec.whole_lines(held or b""):
                with open(record, "ab") as out:
                    out.write(line)
                changed = True
                if held is None:
                    created.append(record.relative_to(self.place.repo).as_posix())
        return requests, changed

    def _exchange(self, state: State, report: SyncReport, fetched: bool, ancestors: set[str], committed: bool) -> tuple[str | None, SyncError | None]:
        """Fetch, merge, push until the push lands (or attempts run out);
        the mirror's HEAD then, and the failure if any. `ancestors` are
        commits known to be in HEAD's history. An export that `committed`
        is pushed first, without a fetch: a push lands only when the remote
        holds nothing HEAD lacks (then nothing came in, and a fetch would
        have found nothing); one refused for that fetches and merges first."""
        last = ""
        head: str | None = None
        if committed and not fetched:
            head = self.git.head()
            pushed = self._push(state)
            if pushed.ok:
                report.pushed = True
                return head, None
            if not _lost_race(pushed.err):
                return head, SyncError(f"pushing to the remote failed: {pushed.last_line()}")
        for attempt in range(PUSH_ATTEMPTS):
            self.progress("fetching", 0, 0)
            if attempt or not fetched:
                self.git.run("fetch", "--quiet", "origin", what="fetching from the remote")
            head, theirs = self.git.heads(state.branch)
            if theirs is not None and theirs != head:
                head = self._merge(theirs, head, ancestors)
            if theirs is not None and theirs == head:
                report.pushed = True
                return head, None
            pushed = self._push(state)
            if pushed.ok:
                report.pushed = True
                return head, None
            last = pushed.last_line()
            if not _lost_race(pushed.err):
                return head, SyncError(f"pushing to the remote failed: {last}")
        return head, SyncError(f"pushing to the remote lost the race {PUSH_ATTEMPTS} times (others push at the same moment); run `chit sync` again: {last}")

    def _push(self, state: State) -> Done:
        self.progress("pushing", 0, 0)
        return self.git.run_telling(
            "push", "--progress", "origin", f"HEAD:refs/heads/{state.branch}",
            tell=lambda what, done, total: self.progress(f"pushing: {what}", done, total),
        )

    def _merge(self, theirs: str, head: str | None, ancestors: set[str]) -> str | None:
        """Merge the remote's commit `theirs` into HEAD (`head`, whose history
        holds `ancestors`; `theirs` joins them); HEAD after."""
        if theirs in ancestors:
            return head  # nothing new there
        # a commit of HEAD's history not among them merges as "already up to date", changing nothing
        merged = self.git.run("merge", "--quiet", "--no-edit", "--allow-unrelated-histories", theirs, check=False)
        if not merged.ok and not self._keep_written_over_emptied():
            self.git.run("merge", "--abort", check=False)
            raise Conflict(f"merging the remote's history failed: {merged.last_line()}")
        ancestors.add(theirs)
        return self.git.head()

    def _keep_written_over_emptied(self) -> bool:
        """Settle a merge whose only conflicts are session files one side
        removed (the trash emptied everywhere) and the other wrote to: the
        written copy stays, since the removal did not see what it holds
        (`chit.store.emptied`). False if another conflict remains."""
        listed = self.git.run("status", "--porcelain", "-z", check=False)
        if not listed.ok:
            return False
        entries = [(entry[:2], entry[3:]) for entry in listed.out.split("\0") if len(entry) > 3]
        conflicts = [(code, path) for code, path in entries if code in UNMERGED]
        if not conflicts or not all(code in ("DU", "UD") and _session_path(path) and (self.place.repo / path).is_file() for code, path in conflicts):
            return False
        self.git.run("add", "--", *(path for _code, path in conflicts), what="keeping sessions written after an emptying")
        return self.git.run("commit", "--quiet", "--no-edit", check=False).ok

    def _import(self, state: State, head: str | None, own: bool) -> tuple[Arrivals, set[str]]:
        """Lines the merge brought, into the live store; then the state.
        Also the slugs of the projects whose files it changed. `own` when
        every line HEAD adds to the last import came from this store."""
        if head is not None and head != state.imported and own:
            state.imported = head
            self.place.save(state)
            return Arrivals(), set()
        mirror = Mirror(self.place.repo)
        importer = Importer(self.ctx, mirror, live_files(self.ctx.store), state.exported, self.form)
        if head is None or head == state.imported:
            return importer.arrivals, importer.written
        changed = self.git.changed(state.imported, head)
        paths = [p for p in changed if _session_path(p)]
        for start in range(0, len(paths), READ_BATCH):
            batch = paths[start : start + READ_BATCH]
            olds = self.git.blobs(state.imported, batch) if state.imported else {}
            for n, path in enumerate(batch, start + 1):
                try:
                    new = (self.place.repo / path).read_bytes()
                except FileNotFoundError:
                    continue  # a file gone from the mirror takes nothing from the live store
                importer.apply(path, olds.get(path), new)
                self.progress("importing", n, len(paths))
        self._import_emptied(importer, state.imported, [p for p in changed if _request_path(p)])
        state.imported = head
        self.place.save(state)
        return importer.arrivals, importer.written

    def _update_index(self, slugs: set[str]) -> None:
        """Bring the index (rows and text, of the live sessions and the
        trash) of the projects an import wrote up to date. The index is a
        cache: one that cannot be written now (locked, a full disk) is
        left to the next command's refresh, never failing the sync."""
        if not slugs:
            return
        self.progress("indexing", 0, 0)
        dirs = [(slug, trash) for slug in sorted(slugs) for trash in (False, True)]
        self.ctx.indexed(lambda index: index.refresh(dirs, text=True))

    def _import_emptied(self, importer: Importer, imported: str | None, paths: list[str]) -> None:
        """Requests of other machines to empty their trash everywhere, new
        since the last import, applied here (after the session lines, so a
        copy sent back is judged with what it brought)."""
        machine = self.ctx.store.stamper.machine
        olds = self.git.blobs(imported, paths) if imported and paths else {}
        for path in paths:
            try:
                new = codec.whole_lines((self.place.repo / path).read_bytes())
            except FileNotFoundError:
                continue
            old = codec.whole_lines(olds.get(path) or b"")
            for line in codec.lines_lacking(new, old):
                parsed = emptied.parse_request(line)
                if parsed is not None and parsed[1] != machine:
                    importer.empty(parsed[0], parsed[2])


def _request_path(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 2 and parts[0] == emptied.FOLDER and parts[1].endswith(".jsonl") and UUID_RE.match(parts[1][:-6]) is not None


def _session_path(path: str) -> bool:
    parts = path.split("/")
    return (
        len(parts) == 4 and parts[0] == PROJECTS and parts[2] == "sessions"
        and parts[3].endswith(".jsonl") and UUID_RE.match(parts[3][:-6]) is not None
    )


def _lost_race(err: str) -> bool:
    return any(word in err for word in ("rejected", "fetch first", "non-fast-forward", "failed to update ref", "cannot lock ref"))

