"""Real text for the benchmark corpus, harvested at build time.

Nothing here is shipped with chit: the pieces come from two places every
checkout has, both openly licensed:

- the standard library of the Python that runs the bench (PSF licence,
  `LICENSE.txt` in that directory): source files in several languages
  (Python, C, HTML, CSS, XML, shell, fish, csh, PowerShell), docstrings and
  comments as English prose, Python's documentation text
  (`pydoc_data/topics.py`), and every line of it that holds non-ASCII text
  (test data in Chinese, Japanese, Korean, Russian, Greek, German…,
  `test/cjkencodings/*-utf8.txt`);
- the real transcripts in `tests/data/` (MIT, see `tests/data/README.md`),
  whose message texts are messages people and models wrote.

The harvest is deterministic for a given Python version (files are read in
sorted order), so the same seed gives the same corpus; the bench records
the Python version in the corpus parameters.
"""

from __future__ import annotations

import ast
import sysconfig
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parent.parent
SOURCE_SUFFIXES = {".py": "python", ".c": "c", ".h": "c", ".html": "html", ".css": "css", ".xml": "xml", ".sh": "sh",
                   ".fish": "fish", ".csh": "csh", ".ps1": "powershell", ".txt": "text"}
MAX_SOURCE = 200_000  # a file bigger than this is sampled, not taken whole


@dataclass
class RealText:
    prose: list[str]  # paragraphs: docs, docstrings, real chat messages
    messages: list[str]  # real chat message texts (tests/data)
    nonascii: list[str]  # lines with non-ASCII characters
    sources: list[tuple[str, str]]  # (language, file text)
    lines: list[str]  # source and text lines, for tool output


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def harvest() -> RealText:
    root = stdlib_dir()
    prose: list[str] = []
    nonascii: list[str] = []
    sources: list[tuple[str, str]] = []
    lines: list[str] = []
    for path in _stdlib_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        language = SOURCE_SUFFIXES.get(path.suffix, "sh" if path.name == "activate" else "text")
        if len(text) > 200 and len(sources) < 4000:
            sources.append((language, text[:MAX_SOURCE]))
        for line in text.splitlines():
            stripped = line.strip()
            if not stripped:
                continue
            if not stripped.isascii():
                nonascii.append(stripped)
            elif len(lines) < 400_000 and len(stripped) > 20:
                lines.append(line.rstrip())
        if path.suffix == ".py" and len(prose) < 30_000:
            prose.extend(_docstrings(text))
    prose.extend(_topics(root))
    messages = _transcript_texts(REPO / "tests" / "data")
    prose.extend(messages)
    return RealText(prose, messages, nonascii, sources, lines)


def _stdlib_files(root: Path) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if "site-packages" in path.parts or "__pycache__" in path.parts:
            continue
        if path.suffix in SOURCE_SUFFIXES and path.is_file():
            found.append(path)
    for name in ("activate", "LICENSE.txt"):
        found.extend(p for p in root.rglob(name) if p.is_file() and "site-packages" not in p.parts)
    return sorted(set(found))


def _docstrings(text: str) -> list[str]:
    try:
        with warnings.catch_warnings():  # old escapes in test files are not our business
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc:
                out.extend(p.strip() for p in doc.split("\n\n") if len(p.strip()) > 40)
    return out


def _topics(root: Path) -> list[str]:
    namespace: dict[str, Any] = {}
    try:
        exec((root / "pydoc_data" / "topics.py").read_text(encoding="utf-8"), namespace)  # data only
    except (OSError, SyntaxError):
        return []
    topics: dict[str, str] = namespace.get("topics", {})
    return [p.strip() for key in sorted(topics) for p in topics[key].split("\n\n") if len(p.strip()) > 40]


def _transcript_texts(data: Path) -> list[str]:
    texts: list[str] = []
    for path in sorted(data.rglob("*")):
        if not path.is_file() or path.suffix not in (".json", ".jsonl"):
            continue
        raw = path.read_bytes()
        docs: list[Any] = []
        for line in raw.splitlines() if path.suffix == ".jsonl" else [raw]:
            try:
                docs.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
        for doc in docs:
            _strings(doc, texts)
    return texts


def _strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        if len(value) > 40 and " " in value:
            out.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, out)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out)
