"""DESIGN.md's house rules that a test can hold: layering, lazy imports,
module size, and generated docs that cannot drift from the app."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "chit"
ROOT = SRC.parent.parent
UI_LIBRARIES = {"typer", "click", "rich", "prompt_toolkit"}
CORE = ["model.py", "visible.py", "codec.py", "fold.py", "store.py", "lock.py", "paths.py", "errors.py", "projects.py", "exporters", "api.py", "service"]


def _core_files() -> list[Path]:
    files: list[Path] = []
    for name in CORE:
        path = SRC / name
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_core_module_imports_no_ui_library(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & UI_LIBRARIES


def test_every_module_is_under_500_lines() -> None:
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > 500}
    assert long == {}


def _modules_after(code: str, tmp_path: Path) -> set[str]:
    probe = f"""
import sys
{code}
print(" ".join(sorted({{m.split(".")[0] for m in sys.modules}})))
"""
    env = {"CHIT_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env, check=True)
    return set(out.stdout.split())


def test_api_loads_no_ui_library(tmp_path: Path) -> None:
    loaded = _modules_after("from chit.api import Chit; Chit().list()", tmp_path)
    assert not loaded & UI_LIBRARIES


@pytest.mark.parametrize("args", [["--version"], ["ls", "--json"], ["search", "x", "--json"], ["show", "nope", "--json"]])
def test_json_and_version_paths_skip_rich_and_prompt_toolkit(args: list[str], tmp_path: Path) -> None:
    code = f"from chit.cli.main import run\ntry:\n    run({args!r})\nexcept SystemExit:\n    pass"
    loaded = _modules_after(code, tmp_path)
    assert "rich" not in loaded
    assert "prompt_toolkit" not in loaded


def test_cli_reference_in_docs_matches_the_app() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "generate.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


HTTP_CLIENTS = {"http", "ssl", "httpx", "requests", "urllib3", "aiohttp"}


@pytest.mark.parametrize(
    "args",
    [["--version"], ["ls", "--json"], ["ls"], ["search", "x", "--json"], ["show", "nope", "--json"], ["new", "t", "--json"], ["append", "hi", "--json"]],
    ids=" ".join,
)
def test_commands_load_only_what_they_need(args: list[str], tmp_path: Path) -> None:
    """No HTTP client or REPL outside chat; no rich under --json; and no
    pydantic anywhere here (plain options skip typer's pydantic coercion)."""
    code = f"from chit.cli.main import run\ntry:\n    run({args!r})\nexcept SystemExit:\n    pass"
    loaded = _modules_after(code, tmp_path)
    assert not loaded & HTTP_CLIENTS
    assert "prompt_toolkit" not in loaded
    assert "pydantic" not in loaded
    if "--json" in args or args == ["--version"]:
        assert "rich" not in loaded
    assert "click" not in loaded  # Typer brings its own
    if args == ["--version"]:  # the version needs no parser
        assert "typer" not in loaded


PRIVATE = ("typer._", "click._", "_runtime_param")


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_no_private_name_of_typer_or_click(path: Path) -> None:
    """chit uses Typer's public names only (typer, typer.core, typer.main):
    a private module or attribute may change in any release."""
    text = path.read_text(encoding="utf-8")
    assert not [name for name in PRIVATE if name in text]
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("typer", "click"):
            assert not any(alias.name.startswith("_") for alias in node.names), (path.name, node.module)


def test_tests_read_only_data_inside_the_project() -> None:
    """Every clone runs every test: no test reads a folder beside the
    project, and each file of tests/data is listed with its source."""
    tests = ROOT / "tests"
    for path in tests.glob("*.py"):
        if path.name == Path(__file__).name:
            continue
        text = path.read_text(encoding="utf-8")
        assert "shared/fixtures" not in text and '/ "shared" /' not in text, path.name
        assert ".parents[1].parent" not in text, path.name
    data = tests / "data"
    listed = (data / "README.md").read_text(encoding="utf-8")
    files = [p for p in data.rglob("*") if p.is_file() and p.name != "README.md"]
    assert files
    for path in files:
        assert f"`{path.relative_to(data).as_posix()}`" in listed, path
