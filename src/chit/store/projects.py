"""Projects: which per-project directory a command works in.

Invariants:
- a project is keyed by the absolute path of its git root (else the working
  directory), or, for a project named with `-p`/`CHIT_PROJECT` that has no
  directory, by `name:<name>`;
- its slug is a sanitized readable name plus 8 hex chars of a hash of the
  key, so two keys never share a directory and no input can climb out of the
  store (`..`, `/`, NUL are rejected, and the slug uses [a-z0-9._-] only);
- `project.json` is written atomically and read leniently;
- a project in a git work tree records its repository's identity, the
  hash of its root commit (`git_root`), when its first session is stored,
  so the history can be found again after the work tree moves;
- `aliases` lists the keys and names a project had before `chit projects
  mv` moved it: session headers keep the key they were created under, and
  `-p` still finds the project by an old name.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from chit.errors import Ambiguous, InvalidInput, NotFound
from chit.model import Project, now
from chit.patterns import LazyPattern
from chit.store.sessions import Store

# POSIX's limits where the system has no other (Linux: 4096 and 255 bytes)
_PATH_MAX = os.pathconf("/", "PC_PATH_MAX") if hasattr(os, "pathconf") else 4096
_NAME_MAX = os.pathconf("/", "PC_NAME_MAX") if hasattr(os, "pathconf") else 255

NAME_MAX = 100
_SLUG_UNSAFE = LazyPattern(r"[^a-z0-9._-]+")
_SLUG_SAFE = "abcdefghijklmnopqrstuvwxyz0123456789._-"


def validate_name(name: str) -> str:
    """A project name: printable, no path separators, not `.`/`..`."""
    if not name or not name.strip():
        raise InvalidInput("project name is empty")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"project name is longer than {NAME_MAX} characters")
    if "\x00" in name:
        raise InvalidInput("project name contains a NUL byte")
    if "/" in name or "\\" in name:
        raise InvalidInput(f"project name {name!r} contains a path separator; give a name, not a path")
    if name.strip() in (".", "..") or name.startswith("."):
        raise InvalidInput(f"project name {name!r} may not start with a dot")
    if any(not ch.isprintable() for ch in name):
        raise InvalidInput("project name contains control characters")
    return name


def slug_for(name: str, key: str) -> str:
    lowered = name.lower()
    if lowered.strip(_SLUG_SAFE):  # an unsafe character (else the pattern, compiled for nothing, would change none)
        lowered = _SLUG_UNSAFE.sub("-", lowered)
    readable = lowered.strip("-.")[:40] or "project"
    digest = sha256_hex(key.encode("utf-8", "surrogatepass"))[:8]
    return f"{readable}-{digest}"


def sha256_hex(data: bytes) -> str:
    """SHA-256 of `data`, in hex. hashlib loads OpenSSL, milliseconds at
    every start of chit; CPython's own SHA-256 module gives the same digest."""
    for name in ("_sha2", "_sha256"):  # CPython 3.12+, 3.11
        try:
            return str(importlib.import_module(name).sha256(data).hexdigest())
        except (ImportError, AttributeError):
            continue
    import hashlib

    return hashlib.sha256(data).hexdigest()


def find_root(cwd: Path) -> Path:
    """The git work tree containing `cwd`, else `cwd` itself. Never raises:
    a directory that cannot be looked at (too long a name, no permission)
    is no work tree."""
    cwd = cwd.absolute()
    for directory in (cwd, *cwd.parents):
        try:
            os.stat(directory / ".git")
        except (OSError, ValueError):
            continue
        return directory
    return cwd


def usable_dir(path: str) -> bool:
    """Whether `path` (a working directory another tool recorded) can name a
    directory here: absolute, no NUL, each name and the whole within the
    system's limits. Others are never used as a project's directory."""
    if not os.path.isabs(path) or "\x00" in path:
        return False
    raw = path.encode("utf-8", "surrogateescape")
    return len(raw) < _PATH_MAX and all(len(part) <= _NAME_MAX for part in raw.split(b"/"))


def unusable_dir_reason(path: str) -> str:
    """Why an absolute working directory `usable_dir` refuses cannot name a
    directory here, in a few words (never the path itself)."""
    if "\x00" in path:
        return "working directory holds a NUL byte, which no path can"
    longest = max(len(part.encode("utf-8", "surrogateescape")) for part in path.split("/"))
    if longest > _NAME_MAX:
        return f"a name in the working directory is too long for a path ({longest} bytes)"
    return f"working directory too long for a path ({len(path)} characters)"


def git_root_commit(directory: Path) -> str | None:
    """The root commit hash of the git work tree at `directory` (the
    smallest, if history has several roots), or None: not a repository,
    no commit yet, or no git."""
    if not (directory / ".git").exists():
        return None
    import subprocess

    try:
        done = subprocess.run(
            ["git", "-C", str(directory), "rev-list", "--max-parents=0", "HEAD"],
            capture_output=True, text=True, timeout=10, check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    roots = sorted(line.strip() for line in done.stdout.splitlines() if re.fullmatch(r"[0-9a-f]{40,64}", line.strip()))
    return roots[0] if done.returncode == 0 and roots else None


def _project_from_json(slug: str, data: Any) -> Project | None:
    if not isinstance(data, dict):
        return None
    key, name = data.get("key"), data.get("name")
    if not isinstance(key, str) or not isinstance(name, str):
        return None
    path = data.get("path")
    aliases = data.get("aliases")
    git_root = data.get("git_root")
    return Project(
        key=key,
        name=name,
        slug=slug,
        path=path if isinstance(path, str) else None,
        created_at=str(data.get("created_at") or ""),
        aliases=tuple(a for a in aliases if isinstance(a, str)) if isinstance(aliases, list) else (),
        git_root=git_root if isinstance(git_root, str) else None,
    )


class Projects:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, slug: str) -> Project | None:
        return _project_from_json(slug, self.store.read_json(self.store.layout.project_file(slug)))

    def all(self) -> list[Project]:
        found = (self.get(slug) for slug in self.store.project_slugs())
        return [p for p in found if p is not None]

    def for_directory(self, cwd: Path) -> Project:
        root = find_root(cwd)
        key = str(root)
        name = root.name or "root"
        slug = slug_for(name, key)
        return self.get(slug) or Project(key=key, name=name, slug=slug, path=key, created_at=now())

    def named(self, name: str, create: bool, besides: str | None = None) -> Project:
        """The project called `name` (its name, slug or an alias), never
        the one whose slug is `besides`."""
        validate_name(name)
        matches = [p for p in self.all() if p.slug != besides and (name in (p.name, p.slug) or name in p.aliases)]
        exact_slug = [p for p in matches if p.slug == name]
        if exact_slug:
            return exact_slug[0]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            listed = ", ".join(f"{p.slug} ({p.path or 'no path'})" for p in matches)
            raise Ambiguous(
                f"project name {name!r} matches {len(matches)} projects: {listed}; use the slug",
                candidates=[p.as_dict() for p in matches],
            )
        if not create:
            raise NotFound(f"no project named {name!r} (see `chit projects`)")
        key = f"name:{name}"
        return Project(key=key, name=name, slug=slug_for(name, key), path=None, created_at=now())

    def ensure(self, project: Project) -> Project:
        """Write project.json the first time a session is stored in it."""
        if self.get(project.slug) is None:
            if project.git_root is None and project.path is not None:
                project = replace(project, git_root=git_root_commit(Path(project.path)))
            self.write(project)
        return project

    def write(self, project: Project) -> None:
        """Replace a project's project.json (atomically)."""
        data = project.as_dict()
        data.pop("slug")
        self.store.write_json(self.store.layout.project_file(project.slug), data)
