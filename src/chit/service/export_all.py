"""Export many sessions at once: one file per session in a directory.

Invariants: file names are built only from the short id, a sanitized title
(ASCII letters, digits and dashes) and the format's extension, so no title
can climb out of the directory or clash with another session's file; every
target is checked before the first file is written, so a refused batch
(an existing file without `force`) writes nothing; each file is written as
`export_to_file` writes one (0600, never through a symbolic link).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chit import exporters
from chit.errors import Conflict, InvalidInput, NotFound
from chit.model import SessionSummary
from chit.service.snapshots import SnapshotOps
from chit.store.files import make_dir, os_errors

if TYPE_CHECKING:
    from chit.service.results import ExportedFile

TITLE_SLUG_MAX = 50


def title_slug(title: str) -> str:
    """'Plan a trip: Paris → Lyon' → 'plan-a-trip-paris-lyon'."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > TITLE_SLUG_MAX:  # cut at a word when there is one to cut at
        cut = slug[: TITLE_SLUG_MAX + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut else cut[:TITLE_SLUG_MAX]
    return slug.rstrip("-")


def file_names(items: list[SessionSummary], fmt: str) -> list[str]:
    """One safe, distinct file name per session."""
    shared = Counter(s.short_id for s in items)
    names = []
    for s in items:
        stem = s.short_id if shared[s.short_id] == 1 else s.id
        slug = title_slug(s.title)
        names.append(f"{stem}-{slug}{exporters.EXTENSIONS[fmt]}" if slug else f"{stem}{exporters.EXTENSIONS[fmt]}")
    return names


class ExportOps(SnapshotOps):
    def export_all(
        self,
        directory: str | Path,
        fmt: str = "md",
        *,
        all_projects: bool = True,
        project: str | None = None,
        force: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[ExportedFile]:
        """Export every live session (of every project, or of the project in
        scope with `all_projects=False`) into `directory`, one file each.

        `directory` is created if its parent exists. `progress(done, total)`
        is called before the first and after each file.
        """
        from chit.service.results import ExportedFile

        if fmt not in exporters.FORMATS:
            raise InvalidInput(f"unknown format {fmt!r} (expected one of: {', '.join(exporters.FORMATS)})")
        target_dir = Path(directory)
        if target_dir.exists() and not target_dir.is_dir():
            raise InvalidInput(f"{target_dir} is not a directory")
        if not target_dir.parent.is_dir():
            raise NotFound(f"directory does not exist: {target_dir.parent}")
        items = self.list(project, all_projects=all_projects)
        targets = [target_dir / name for name in file_names(items, fmt)]
        if not force:
            taken = [t for t in targets if t.exists() or t.is_symlink()]
            if taken:
                more = f" and {len(taken) - 1} more" if len(taken) > 1 else ""
                raise Conflict(f"{taken[0]}{more} already exist(s); use --force to overwrite")
        with os_errors(f"create {target_dir}"):
            make_dir(target_dir)
        done: list[ExportedFile] = []
        if progress is not None:
            progress(0, len(items))
        for summary, target in zip(items, targets):
            self.export_to_file(summary.id, fmt, target, force=force)
            done.append(ExportedFile(summary.id, target))
            if progress is not None:
                progress(len(done), len(items))
        return done
