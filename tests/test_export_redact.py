"""`chit export --redact`: every format, one session or --all, writes the
export with secrets replaced by markers and says what it replaced (stderr,
or the --json result); the store is never changed."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from chit.api import Chit
from chit.exporters import FORMATS
from conftest import tree_digest

B62 = "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY"
OPENAI = "sk-proj-" + B62 * 3
GITHUB = "ghp_" + B62 + "Zz12"


@pytest.fixture
def leaky(api: Chit) -> str:
    """A session whose title, messages, tool output and values hold keys."""
    s = api.create()
    api.append(s.id, "user", f"why does {OPENAI} fail?")
    api.append(s.id, "tool", f"$ env\nGH_TOKEN={GITHUB}", metadata={"stdout": f"OPENAI_API_KEY={OPENAI}"})
    api.append(s.id, "assistant", "Rotate both keys.")
    api.set_value(s.id, "note", f"old token {GITHUB}")
    return s.id


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_to_stdout_is_redacted(cli, home: Path, leaky: str, fmt: str) -> None:  # type: ignore[no-untyped-def]
    before = tree_digest(home)
    plain = cli("export", leaky, "-f", fmt)
    assert OPENAI in plain.out  # the test's session does hold them
    result = cli("export", leaky, "-f", fmt, "--redact")
    assert result.code == 0, result.err
    assert OPENAI not in result.out and GITHUB not in result.out
    assert "[redacted:openai-key]" in result.out and "[redacted:github-token]" in result.out
    assert "Rotate both keys." in result.out
    assert result.err == "redacted 5 secrets: openai-key 3, github-token 2\n"
    assert tree_digest(home) == before


def test_a_redacted_snapshot_imports_back(cli, api: Chit, leaky: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "out.json"
    result = cli("export", leaky, "-f", "json", "--redact", "-o", str(target), "--json")
    assert result.code == 0, result.err
    assert result.json() == {"path": str(target), "format": "json", "redacted": {"openai-key": 3, "github-token": 2}}
    assert result.err == ""
    elsewhere = Chit(tmp_path / "other-home", cwd=tmp_path)
    imported = elsewhere.import_snapshot(target.read_bytes())
    copy = elsewhere.get(imported.session.id)
    assert copy.title == "why does [redacted:openai-key] fail?"
    assert copy.values == {"note": "old token [redacted:github-token]"}
    assert copy.messages[1].metadata == {"stdout": "OPENAI_API_KEY=[redacted:openai-key]"}


def test_json_to_stdout_carries_the_counts(cli, leaky: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("export", leaky, "-f", "md", "--redact", "--json")
    doc = result.json()
    assert doc["redacted"] == {"openai-key": 3, "github-token": 2}
    assert OPENAI not in doc["content"]
    assert result.err == ""


def test_nothing_to_redact_says_so(cli, api: Chit) -> None:  # type: ignore[no-untyped-def]
    s = api.create()
    api.append(s.id, "user", "a risk-assessment-framework-for-small-teams")
    result = cli("export", s.id, "-f", "txt", "--redact")
    assert result.code == 0
    assert "a risk-assessment-framework-for-small-teams" in result.out
    assert result.err == "redacted nothing: no secret matched the patterns\n"


def test_export_all_redacts_every_file(cli, api: Chit, leaky: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = api.create()
    api.append(other.id, "user", f"and {GITHUB}")
    shelf = tmp_path / "shelf"
    result = cli("export", "--all", "-o", str(shelf), "-f", "html", "--redact", "--json")
    assert result.code == 0, result.err
    assert result.json()["redacted"] == {"openai-key": 3, "github-token": 4}  # the second title too
    pages = [p.read_text() for p in shelf.iterdir()]
    assert len(pages) == 2
    assert all(OPENAI not in page and GITHUB not in page for page in pages)
    human = cli("export", "--all", "-o", str(tmp_path / "shelf2"), "--redact")
    assert "redacted 7 secrets: openai-key 3, github-token 4" in human.err


def test_the_api_counts_into_the_dict_it_is_given(api: Chit, leaky: str) -> None:
    counts: dict[str, int] = {}
    _, data = api.export_bytes(leaky, "jsonl", redacted=counts)
    assert counts == {"openai-key": 3, "github-token": 2}
    assert OPENAI.encode() not in data
    lines = [orjson.loads(line) for line in data.splitlines()]
    assert lines[1]["content"] == "why does [redacted:openai-key] fail?"
    assert OPENAI.encode() in api.export_bytes(leaky, "jsonl")[1]  # without it, the export is whole
