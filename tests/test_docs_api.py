"""Every ```python block of docs/api.md runs, in order, in one namespace.

The blocks run against an empty store (CHIT_HOME in tmp_path) from a git
work tree called `myagent`, as the page says; their `assert`s pin the
documented behaviour, so a change in chit that breaks the reference fails
here.
"""

from __future__ import annotations

import re
import tempfile
import textwrap
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, code) of each ```python block, in order."""
    return [(text.count("\n", 0, m.start(1)) + 1, textwrap.dedent(m.group(1))) for m in _BLOCK.finditer(text)]


def test_doc_has_examples() -> None:
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 20
    assert all("assert" in code for _, code in blocks[1:])  # the first one defines a helper


def test_api_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIT_HOME", str(tmp_path / "home"))
    for name in ("CHIT_PROJECT", "CHIT_DURABILITY", "CHIT_LOCK_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    project = tmp_path / "myagent"
    (project / ".git").mkdir(parents=True)
    monkeypatch.chdir(project)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # tempfile.mkdtemp() in the examples

    namespace: dict[str, object] = {"__name__": "docs_api"}
    for line, code in python_blocks(DOC.read_text(encoding="utf-8")):
        compiled = compile("\n" * (line - 1) + code, str(DOC), "exec")  # tracebacks point into api.md
        exec(compiled, namespace)
