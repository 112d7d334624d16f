"""Lines between the live store and the git mirror, as set unions.

The mirror (a git work tree) holds, per project identity,

    projects/<mirror slug>/project.json            {"name", "identity"}
    projects/<mirror slug>/sessions/<id>.jsonl     every line any machine wrote

Invariants:
- a line is a whole line of bytes, `\\n` included, copied byte for byte:
  never decoded and encoded again, so a line has one spelling everywhere;
  a torn last line (a write in progress or cut short) is never copied;
- export appends to a mirror file the lines of the live file it lacks;
  import appends to a live file, under that session's lock, the lines the
  merge brought that it lacks (a new session is created whole, written
  aside and linked into place). Neither ever removes or reorders a line,
  so both can be repeated, or cut short and redone, without harm;
- a project meets its copies on other machines by identity (its git root
  commit, else its `name:` key, else its path key), never by slug or path:
  each machine keeps its own directory for it;
- nothing local to a machine enters the mirror: no path of a project
  without a name or git identity beyond its key, no config, no index.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from chit.errors import InvalidInput
from chit.model import Project, now
from chit.store import codec, files
from chit.store.projects import Projects, git_root_commit, slug_for, validate_name
from chit.store.sessions import UUID_RE, Store

PROJECTS = "projects"
#: how a live line is written into the mirror: as it is, or redacted
LineForm = Callable[[bytes], bytes]


def as_it_is(line: bytes) -> bytes:
    return line


def redacted(line: bytes) -> bytes:
    """`[sync] redact = true`: a line as it goes into the mirror, secrets
    replaced by markers (`chit.redact`); the live store keeps them."""
    from chit.redact import redact_line

    done = redact_line(line.rstrip(b"\n"))[0]
    return done.rstrip(b"\n") + b"\n"


def identity_of(project: Project) -> str:
    """What names a project on every machine."""
    if project.git_root:
        return f"git:{project.git_root}"
    if project.key.startswith("name:"):
        return project.key
    return f"path:{project.key}"


def local_project_for(identity: str, name: str) -> Project:
    """A new local project for an identity that came from another machine."""
    kind, _, value = identity.partition(":")
    if kind == "git":
        key = identity  # its directory here is unknown until chit runs in a work tree with that root
        return Project(key=key, name=name, slug=slug_for(name, key), path=None, created_at=now(), git_root=value)
    if kind == "name":
        return Project(key=identity, name=value, slug=slug_for(value, identity), path=None, created_at=now())
    if kind == "path" and os.path.isabs(value):
        base = os.path.basename(value.rstrip("/")) or "root"
        return Project(key=value, name=base, slug=slug_for(base, value), path=value, created_at=now())
    raise InvalidInput(f"the sync repository names a project by an unknown identity {identity[:60]!r}")


@dataclass(frozen=True)
class LiveFile:
    """A session file of the live store."""

    slug: str
    session_id: str
    trash: bool

    def relative(self) -> str:
        """Its path below the home (the state's key)."""
        folder = f"trash/{self.slug}" if self.trash else f"projects/{self.slug}/sessions"
        return f"{folder}/{self.session_id}.jsonl"


def live_files(store: Store) -> dict[str, LiveFile]:
    """Every session file of the store by session id (a live one wins over
    a trashed copy, which only a cut-short move leaves)."""
    found: dict[str, LiveFile] = {}
    for slug in store.trash_slugs():
        for session_id in store.session_ids(slug, trash=True):
            found[session_id] = LiveFile(slug, session_id, True)
    for slug in store.project_slugs():
        for session_id in store.session_ids(slug):
            found[session_id] = LiveFile(slug, session_id, False)
    return found


class Mirror:
    """The mirror's work tree: where each identity and each session lives."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dirs: dict[str, str] = {}  # identity -> mirror slug (the first, sorted, if several)
        self.names: dict[str, str] = {}  # mirror slug -> its identity
        self.sessions: dict[str, str] = {}  # session id -> path in the mirror
        self.created: list[str] = []  # project.json files `path_for` wrote (new to git)
        self.scan()

    def scan(self) -> None:
        top = self.root / PROJECTS
        for slug in sorted(_subdirs(top)):
            record = read_record(top / slug / "project.json")
            if record is None:
                continue
            self.names[slug] = record[0]
            self.dirs.setdefault(record[0], slug)
            for name in sorted(_names(top / slug / "sessions")):
                if name.endswith(".jsonl") and UUID_RE.match(name[:-6]):
                    self.sessions.setdefault(name[:-6], f"{PROJECTS}/{slug}/sessions/{name}")

    def path_for(self, session_id: str, project: Project, identity: str) -> str:
        """The mirror path of a session, making its project's folder if new."""
        if session_id in self.sessions:
            return self.sessions[session_id]
        slug = self.dirs.get(identity)
        if slug is None:
            slug = slug_for(project.name, identity)
            record = {"name": project.name, "identity": identity}
            target = self.root / PROJECTS / slug / "project.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
            self.dirs[identity] = slug
            self.names[slug] = identity
            self.created.append(f"{PROJECTS}/{slug}/project.json")
        path = f"{PROJECTS}/{slug}/sessions/{session_id}.jsonl"
        self.sessions[session_id] = path
        return path


def read_record(path: Path) -> tuple[str, str] | None:
    """(identity, name) of a mirror project.json, or None if unusable."""
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    identity, name = data.get("identity"), data.get("name")
    if not isinstance(identity, str) or not isinstance(name, str):
        return None
    try:
        validate_name(name)
    except InvalidInput:
        name = "project"
    return identity, name


def export_lines(live: bytes, mirror_file: Path, form: LineForm = as_it_is) -> int:
    """Append to `mirror_file` the whole lines of `live` (in their mirror
    `form`) it lacks; the count."""
    try:
        have = mirror_file.read_bytes()
    except FileNotFoundError:
        have = b""
    added = codec.lines_lacking([form(line) for line in codec.whole_lines(live)], codec.whole_lines(have))
    if added:
        mirror_file.parent.mkdir(parents=True, exist_ok=True)
        with open(mirror_file, "ab") as handle:
            if have and not have.endswith(b"\n"):
                handle.write(b"\n")
            handle.write(b"".join(added))
    return len(added)


def create_whole(path: Path, lines: list[bytes], durable: bool) -> bool:
    """Create a session file holding `lines`, whole or not at all; False if
    one is there."""
    return files.create_whole(path, b"".join(lines), durable)


def project_identity(projects: Projects, project: Project) -> str:
    """The identity of a local project, recording its git root first when a
    work tree is there and the record lacks it (as its first session would)."""
    if project.git_root is None and project.path and os.path.isdir(project.path) and not project.key.startswith("name:"):
        root = git_root_commit(Path(project.path))
        if root is not None:
            from dataclasses import replace

            with projects.store.project_lock(project.slug):
                current = projects.get(project.slug) or project
                projects.write(replace(current, git_root=current.git_root or root))
            project = replace(project, git_root=root)
    return identity_of(project)


def _subdirs(directory: Path) -> list[str]:
    try:
        with os.scandir(directory) as entries:
            return [e.name for e in entries if e.is_dir(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _names(directory: Path) -> list[str]:
    try:
        with os.scandir(directory) as entries:
            return [e.name for e in entries if e.is_file(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return []
