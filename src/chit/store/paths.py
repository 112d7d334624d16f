"""Every path chit uses, from one place.

Invariant: `CHIT_HOME` (when set) moves the whole store; the config dir
follows it too (`$CHIT_HOME/config.toml`) so a test or a second store never
reads the user's real configuration. Nothing else in chit builds a store path
from scratch.
"""

from __future__ import annotations

import os
import stat
from functools import cached_property
from pathlib import Path

from chit.errors import InvalidInput
from chit.value import Value, value_type

HOME_ENV = "CHIT_HOME"
PROJECT_ENV = "CHIT_PROJECT"


def default_home() -> Path:
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().absolute()
    from platformdirs import user_data_dir

    return Path(user_data_dir("chit", appauthor=False))


def default_config_dir() -> Path:
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().absolute()
    from platformdirs import user_config_dir

    return Path(user_config_dir("chit", appauthor=False))


def check_home(home: Path) -> None:
    """Refuse a home that exists but is not a directory (a file, a FIFO,
    /dev/null): every path under it would fail, each command in its own
    words, and a listing would read it as an empty store. A missing home
    is fine: the first write makes it. One stat, once per process."""
    try:
        mode = os.stat(home).st_mode
    except FileNotFoundError:
        return
    except NotADirectoryError:
        mode = 0  # a part of the path above it is a file
    except OSError:
        return  # unreadable: the command's own access says why
    if not stat.S_ISDIR(mode):
        raise InvalidInput(f"the store is not a directory: {home} (set {HOME_ENV} to a directory)")


@value_type
class Layout(Value):
    """The store's directory layout under one home."""

    home: Path

    def __init__(self, home: Path) -> None:
        self.__dict__.update(home=home)

    @cached_property
    def projects(self) -> Path:
        return self.home / "projects"

    @cached_property
    def trash(self) -> Path:
        return self.home / "trash"

    @cached_property
    def _dirs(self) -> dict[tuple[str, str], Path]:
        """(slug, kind) -> that directory of the slug: a listing or a
        refresh builds each path many times, and a `Path` join costs more
        than the lookup. Only paths are kept, never what is on disk."""
        return {}

    def _dir(self, slug: str, kind: str) -> Path:
        try:
            return self._dirs[slug, kind]
        except KeyError:
            pass
        if kind == "project":
            made = self.projects / slug
        elif kind == "sessions":
            made = self.project_dir(slug) / "sessions"
        else:
            made = self.trash / slug
        self._dirs[slug, kind] = made
        return made

    def project_dir(self, slug: str) -> Path:
        return self._dir(slug, "project")

    def project_file(self, slug: str) -> Path:
        return self._dir(slug, "project") / "project.json"

    def current_file(self, slug: str) -> Path:
        return self._dir(slug, "project") / "current.json"

    def sessions_dir(self, slug: str) -> Path:
        return self._dir(slug, "sessions")

    def session_file(self, slug: str, session_id: str) -> Path:
        return self._dir(slug, "sessions") / f"{session_id}.jsonl"

    def trash_dir(self, slug: str) -> Path:
        return self._dir(slug, "trash")

    def trash_file(self, slug: str, session_id: str) -> Path:
        return self._dir(slug, "trash") / f"{session_id}.jsonl"

    @cached_property
    def changes(self) -> Path:
        """The change journals (`chit.store.journal`): a cache, like the index."""
        return self.home / "changes"

    def changes_file(self, slug: str, trash: bool = False) -> Path:
        """The change journal of a session directory."""
        return self.changes / f"{slug}.{'trash' if trash else 'sessions'}"

    @cached_property
    def sync(self) -> Path:
        """`chit sync`'s machine-local directory: its git mirror, state and lock."""
        return self.home / "sync"

    @property
    def index_file(self) -> Path:
        return self.home / "index.sqlite"

    @property
    def import_cache_file(self) -> Path:
        """What `chit import --from` last saw of each source: a disposable cache."""
        return self.home / "import-cache.json"
