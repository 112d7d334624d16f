"""Session → bytes in each export format, and snapshots.

Pure functions, no I/O; one module per format:
- `snapshot`: `json` (a snapshot `chit import` takes back: format name,
  version and a SHA-256 checksum over the canonical bytes of its `session`
  object) and `jsonl` (the folded session, one message per line);
- `markdown`: `md`, a readable transcript with turn headings, tool messages
  folded in `<details>`;
- `html`: one self-contained page (no scripts, no requests), light and dark;
- `text`: `txt`, plain text.
"""

from __future__ import annotations

from chit.exporters.snapshot import SNAPSHOT_FORMAT, SNAPSHOT_VERSION, checksum, snapshot, to_json, to_jsonl
from chit.model import Session

FORMATS: tuple[str, ...] = ("json", "jsonl", "md", "html", "txt")
EXTENSIONS: dict[str, str] = {"json": ".json", "jsonl": ".jsonl", "md": ".md", "html": ".html", "txt": ".txt"}


def render(session: Session, project_name: str, fmt: str) -> bytes:
    if fmt == "json":
        return to_json(session, project_name)
    if fmt == "jsonl":
        return to_jsonl(session)
    if fmt == "html":
        from chit.exporters.html import to_html

        return to_html(session, project_name).encode("utf-8")
    if fmt == "txt":
        from chit.exporters.text import to_text

        return to_text(session, project_name).encode("utf-8")
    if fmt == "md":
        from chit.exporters.markdown import to_markdown

        return to_markdown(session, project_name).encode("utf-8")
    raise ValueError(f"unknown export format {fmt!r}")


__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "SNAPSHOT_FORMAT",
    "SNAPSHOT_VERSION",
    "checksum",
    "render",
    "snapshot",
    "to_json",
    "to_jsonl",
]
