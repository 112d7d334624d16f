"""What makes a module's behaviour independent of which modules a process
imported before it, and of the process it was imported in. The tests' fork
server (tests/forkserver_server.py) imports chit's core once and forks each
`chit` call from there: these rules keep a fault that a fresh `chit` would
meet from passing unseen under the fork.

- A module that uses a submodule as an attribute (`chit.store.codec.x`,
  `importlib.util`) imports that submodule itself: a package's attribute
  for a submodule exists only once someone imported it, which a preloaded
  process has done and a fresh one may not have.
- Nothing chit runs at import (a module's body, its classes' bodies,
  decorators, default values) reads the environment, the working
  directory, the clock, the terminal or the process's ids: a preloaded
  module would have read the server's, not the call's.
- Each module the fork server preloads imports on its own, first in a
  fresh process: no circular import that succeeds only in the server's
  order.
"""

from __future__ import annotations

import ast
import functools
import importlib.machinery
import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import forkserver

SRC = Path(__file__).resolve().parent.parent / "src"


def _sources() -> Iterator[tuple[str, Path]]:
    """Every chit module: its import name and its file."""
    for path in sorted((SRC / "chit").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


@functools.cache
def _spec(name: str) -> importlib.machinery.ModuleSpec | None:
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):  # a parent that is not a package, or fails to import
        return None


def _submodule(package: str, attribute: str) -> str | None:
    """`package.attribute` when that is a module of package `package`."""
    spec = _spec(package)
    if spec is None or spec.submodule_search_locations is None:
        return None
    return f"{package}.{attribute}" if _spec(f"{package}.{attribute}") is not None else None


@functools.cache
def _imports_of_init(package: str) -> set[str]:
    """The submodules a package's __init__ imports itself (they are always
    its attributes once it is imported)."""
    spec = _spec(package)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return set()
    found: set[str] = set()
    for node in ast.walk(ast.parse(Path(spec.origin).read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package if node.level == 1 else node.module if node.level == 0 else None
            if base is None:
                continue
            if node.level == 1 and node.module:
                base = f"{package}.{node.module}"
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _imported_names(tree: ast.AST) -> tuple[dict[str, str], set[str]]:
    """The names a module binds to modules (name: module) and every module
    it imports, anywhere in it (in functions too)."""
    bound: dict[str, str] = {}
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                imported.update(".".join(parts[: k + 1]) for k in range(len(parts)))
                bound[alias.asname or parts[0]] = alias.name if alias.asname else parts[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            imported.update(".".join(parts[: k + 1]) for k in range(len(parts)))
            for alias in node.names:
                imported.add(f"{node.module}.{alias.name}")
                if _submodule(node.module, alias.name):
                    bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound, imported


def _unimported_submodules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, submodule) for each attribute chain that reaches a submodule
    the module does not import and its package's __init__ does not either."""
    bound, imported = _imported_names(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain: list[str] = []
        root: ast.expr = node
        while isinstance(root, ast.Attribute):
            chain.insert(0, root.attr)
            root = root.value
        if not isinstance(root, ast.Name) or root.id not in bound:
            continue
        module = bound[root.id]
        for attribute in chain:
            submodule = _submodule(module, attribute)
            if submodule is None:
                break
            if submodule not in imported and submodule not in _imports_of_init(module):
                yield node.lineno, submodule
            module = submodule


def test_a_submodule_used_as_an_attribute_is_imported_by_its_user() -> None:
    faults = []
    for _, path in _sources():
        unimported = sorted(set(_unimported_submodules(ast.parse(path.read_text()))))  # a chain's shorter chains find it again
        faults += [f"{path.relative_to(SRC)}:{line}: {submodule}" for line, submodule in unimported]
    assert not faults, "used without being imported here:\n" + "\n".join(faults)


def test_the_rule_finds_a_submodule_reached_through_its_package() -> None:
    tree = ast.parse("import chit.store\nimport importlib\nfrom chit import index\n"
                     "chit.store.codec.encode\nimportlib.util.find_spec\nindex.db.Index\n")
    assert {submodule for _, submodule in _unimported_submodules(tree)} == {"chit.store.codec", "importlib.util", "chit.index.db"}
    fine = ast.parse("import chit.store.codec\nimport importlib.util\nfrom chit.index import db\nchit.store.codec.encode\nimportlib.util.find_spec\ndb.Index\n")
    assert not list(_unimported_submodules(fine))


# what a module must not read while it is imported: the call's environment,
# cwd, clock, terminal, standard streams, arguments, ids or locale
_PER_PROCESS = re.compile(
    r"(^|\.)(environ|environb|getenv|getcwd|getcwdb|cwd|home|expanduser|now|utcnow|today|time|time_ns|monotonic|perf_counter|"
    r"localtime|gmtime|isatty|get_terminal_size|getuser|getuid|geteuid|getpid|getppid|umask|ttyname|getlocale|setlocale)$"
    r"|^sys\.(stdin|stdout|stderr|argv|orig_argv)$|^(locale|platform)\."
)


def _run_at_import(statements: list[ast.stmt]) -> Iterator[ast.AST]:
    """The expressions a module evaluates while it is imported: its body and
    its classes' bodies, decorators, base classes and default values; not
    what functions and lambdas do when called, nor annotations."""
    for statement in statements:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from statement.decorator_list
            yield from (value for value in (*statement.args.defaults, *statement.args.kw_defaults) if value is not None)
        elif isinstance(statement, ast.ClassDef):
            yield from (*statement.decorator_list, *statement.bases, *(keyword.value for keyword in statement.keywords))
            yield from _run_at_import(statement.body)
        elif isinstance(statement, ast.AnnAssign):
            if statement.value is not None:
                yield statement.value
        elif isinstance(statement, (ast.If, ast.While)):
            yield statement.test
            yield from _run_at_import(statement.body + statement.orelse)
        elif isinstance(statement, (ast.For, ast.AsyncFor)):
            yield statement.iter
            yield from _run_at_import(statement.body + statement.orelse)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            yield from (item.context_expr for item in statement.items)
            yield from _run_at_import(statement.body)
        elif isinstance(statement, ast.Try):
            yield from _run_at_import(statement.body + statement.orelse + statement.finalbody)
            for handler in statement.handlers:
                yield from _run_at_import(handler.body)
        elif not isinstance(statement, (ast.Import, ast.ImportFrom)):
            yield statement


def _names_read(node: ast.AST) -> Iterator[ast.Name | ast.Attribute]:
    """The names and attributes in `node`, outside lambdas."""
    if isinstance(node, ast.Lambda):
        return
    if isinstance(node, (ast.Name, ast.Attribute)):
        yield node
    for child in ast.iter_child_nodes(node):
        yield from _names_read(child)


def _reads_at_import(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for expression in _run_at_import(tree.body):
        for node in _names_read(expression):
            name = ast.unparse(node)
            if _PER_PROCESS.search(name):
                yield node.lineno, name


def test_no_module_reads_its_process_at_import() -> None:
    faults = [f"{path.relative_to(SRC)}:{line}: {name}" for _, path in _sources() for line, name in _reads_at_import(ast.parse(path.read_text()))]
    assert not faults, "read while the module is imported:\n" + "\n".join(faults)


def test_the_rule_finds_a_read_at_import() -> None:
    tree = ast.parse("import os, sys, time\nWIDTH = os.environ.get('COLUMNS')\nclass A:\n    STARTED = time.time()\n"
                     "def f(out=sys.stdout.isatty()):\n    return os.getcwd()\nlater = lambda: os.getenv('X')\n")
    assert sorted({line for line, _ in _reads_at_import(tree)}) == [2, 4, 5]


PRELOADED_ALONE = """import sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "chit" or m.startswith("chit.")]:
        del sys.modules[loaded]
    try:
        __import__(name)
    except Exception as exc:
        failed.append(f"{name}: {exc!r}")
print("\\n".join(failed))
"""


def test_each_preloaded_module_imports_first_in_a_fresh_process() -> None:
    server = ast.parse(forkserver.SERVER_PROGRAM.read_text())
    preloaded = [
        name
        for node in server.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id in ("CORE", "COMMAND_MODULES")
        for name in ast.literal_eval(node.value)
    ]
    assert "chit.api" in preloaded
    done = subprocess.run([sys.executable, "-c", PRELOADED_ALONE, *preloaded], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout + done.stderr
