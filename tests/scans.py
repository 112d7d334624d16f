"""The reference scans of a check after a kill, reading each file once.

A kill test compares the index's answers with `scan_summaries` and
`scan_search`, which fold every session file again for each query: seven
queries, seven reads of every file. While `each_file_read_once(api)` is
open, the scans share one read and fold of each file: the same code
computes the same answers from the same bytes, since nothing writes the
store while the parent checks it (the child that wrote is dead)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from chit.api import Chit
from chit.model import Project, Session
from chit.service.facade import parts_of


@contextmanager
def each_file_read_once(api: Chit) -> Iterator[None]:
    ctx = parts_of(api).ctx
    read = ctx.read_session
    folded: dict[tuple[str, str, str, bool], Session] = {}

    def read_once(project: Project, session_id: str, trash: bool = False) -> Session:
        key = (project.slug, project.key, session_id, trash)
        if key not in folded:
            folded[key] = read(project, session_id, trash)
        return folded[key]

    ctx.read_session = read_once  # type: ignore[method-assign]
    try:
        yield
    finally:
        del ctx.read_session
