"""The public surface of `chit.api.Chit` is exactly what docs/api.md
documents: the names in its table "Everything `Chit` offers", each of them
described further down the page. Plumbing (the store, the index, which
project holds a session) belongs to the service's parts, never to `Chit`.
"""

from __future__ import annotations

import re
from pathlib import Path

from chit.api import Chit

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
TABLE_HEADING = "## Everything `Chit` offers"


def _page() -> str:
    return DOC.read_text(encoding="utf-8")


def documented_names(page: str) -> list[str]:
    """The names in the first column of the table under TABLE_HEADING."""
    start = page.index(TABLE_HEADING)
    end = page.index("\n## ", start + len(TABLE_HEADING))
    names = []
    for row in page[start:end].splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if row.startswith("|") and cells[0].startswith("`"):
            names.extend(name.strip().strip("`") for name in cells[0].split(","))
    return names


def public_names() -> set[str]:
    return {name for name in dir(Chit) if not name.startswith("_")}


def test_chit_offers_exactly_the_documented_names() -> None:
    documented = documented_names(_page())
    assert len(documented) == len(set(documented)), "a name is listed twice"
    assert sorted(public_names() - set(documented)) == [], "public on Chit, but docs/api.md does not document it"
    assert sorted(set(documented) - public_names()) == [], "documented in docs/api.md, but Chit lacks it"


def test_every_documented_name_is_described_on_the_page() -> None:
    page = _page()
    start = page.index(TABLE_HEADING)
    rest = page[: start] + page[page.index("\n## ", start + len(TABLE_HEADING)) :]
    for name in documented_names(page):
        assert re.search(rf"`{name}\(|chit\.{name}\b", rest), f"{name} is listed but never described"


def test_plumbing_is_not_on_the_facade() -> None:
    assert {"index", "store", "projects", "locate", "locate_ref", "scan_key", "read_session", "cwd"} & public_names() == set()
