"""The house rules that a test can hold (docs/architecture.md): layering,
lazy imports, module size, and generated docs that cannot drift from the
app."""

from __future__ import annotations

import ast
import functools
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "chit"
ROOT = SRC.parent.parent
UI_LIBRARIES = {"typer", "click", "rich", "prompt_toolkit"}

# The layers of docs/architecture.md, bottom first. A module imports only
# from its own package and from packages of lower layers; packages of one
# layer never import each other.
LAYERS: list[set[str]] = [
    {"value", "patterns", "collector", "urls"},
    {"errors", "model", "visible"},
    {"store"},
    {"index"},
    {"config", "redact"},
    {"importers", "exporters", "providers"},
    {"sources"},
    {"service"},
    {"sync"},
    {"api"},
    {"render"},
    {"repl"},
    {"cli"},
    {"__main__", "__init__"},
]
LAYER_OF = {name: n for n, layer in enumerate(LAYERS) for name in layer}
CORE_BELOW = LAYER_OF["render"]  # the core: no UI library below the renderer
_MODULE_NAME = re.compile(r"chit(\.[a-z_]+)+")


def _top_level() -> list[str]:
    """Every module and package directly under chit/, by its import name."""
    names = [p.stem for p in SRC.glob("*.py")]
    names += [p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()]
    return sorted(names)


def _part(path: Path) -> str:
    """The top-level module or package a source file belongs to."""
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def _chit_imports(path: Path) -> set[str]:
    """The top-level chit modules a source imports, wherever it imports
    them (in functions, under TYPE_CHECKING) or names them for importlib."""
    found: set[str] = set()
    for node in imports_and_strings(path):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import"
            if node.module == "chit":  # a submodule, or a name of chit/__init__.py (its version)
                modules = [f"chit.{alias.name}" if alias.name in LAYER_OF else "chit" for alias in node.names]
            else:
                modules = [node.module or ""]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _MODULE_NAME.fullmatch(node.value):
            modules = [node.value] if node.value.split(".")[1] in LAYER_OF else []  # not a file name like chit.bash
        found.update(m.split(".")[1] for m in modules if m.startswith("chit."))
    return found


ImportOrString = ast.Import | ast.ImportFrom | ast.Constant


@functools.cache
def imports_and_strings(path: Path) -> tuple[ImportOrString, ...]:
    """The import statements of a source file, at any depth, and its string
    constants, in the order of `ast.walk`: all the rules read of a file's
    syntax, found in one pass over its tree per run (the rules only read them)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return tuple(
        node for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (isinstance(node, ast.Constant) and isinstance(node.value, str))
    )


def test_every_module_and_package_has_a_layer() -> None:
    assert sorted(LAYER_OF) == _top_level(), "place a new module or package in LAYERS (docs/architecture.md)"


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_go_down_the_layers(path: Path) -> None:
    own = _part(path)
    assert own in LAYER_OF, f"{own} is in no layer"
    upward = {
        target for target in _chit_imports(path)
        if target != own and LAYER_OF.get(target, len(LAYERS)) >= LAYER_OF[own]
    }
    assert upward == set(), f"{own} (layer {LAYER_OF[own]}) imports from its own layer or above"


@pytest.mark.parametrize(
    "path",
    sorted(p for p in SRC.rglob("*.py") if LAYER_OF.get(_part(p), 0) < CORE_BELOW),  # a module in no layer too
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_core_module_imports_no_ui_library(path: Path) -> None:
    imported = set()
    for node in imports_and_strings(path):
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


@dataclass(frozen=True)
class Probe:
    """What one command run as a fresh `chit` process loaded: every module
    (dotted names), and the source files of chit that compiled a regular
    expression at import."""

    modules: frozenset[str]
    compiled_at_import: tuple[str, ...]

    @property
    def top_level(self) -> set[str]:
        return {m.split(".")[0] for m in self.modules}


PROBE = """import re, sys
at_import = []
real = re.compile
def compile(pattern, flags=0):
    caller = sys._getframe(1).f_code
    if caller.co_name == "<module>" and "chit" in caller.co_filename:
        at_import.append(caller.co_filename)
    return real(pattern, flags)
re.compile = compile
from chit.cli.main import run
try:
    run({args!r})
except SystemExit:
    pass
import json
with open({out!r}, "w") as out:
    json.dump({{"modules": sorted(sys.modules), "compiled_at_import": at_import}}, out)
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Callable[[list[str]], Probe]:
    """`probe(args)`: what `chit ARGS` loads, run once per module in a fresh
    interpreter and a fresh home of its own, whichever rules ask about it
    (`re` is loaded by every command anyway: pathlib imports it)."""
    done: dict[tuple[str, ...], Probe] = {}

    def run(args: list[str]) -> Probe:
        if tuple(args) not in done:
            folder = tmp_path_factory.mktemp("probe")
            out = folder / "loaded.json"
            env = {"CHIT_HOME": str(folder / "home"), "PATH": "/usr/bin:/bin"}
            code = PROBE.format(args=args, out=str(out))
            subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=folder, env=env, stdin=subprocess.DEVNULL, check=True)
            found = json.loads(out.read_text())
            done[tuple(args)] = Probe(frozenset(found["modules"]), tuple(found["compiled_at_import"]))
        return done[tuple(args)]

    return run


@pytest.mark.parametrize("args", [["--version"], ["ls", "--json"], ["search", "x", "--json"], ["show", "nope", "--json"]])
def test_json_and_version_paths_skip_rich_and_prompt_toolkit(args: list[str], probe: Callable[[list[str]], Probe]) -> None:
    loaded = probe(args).top_level
    assert "rich" not in loaded
    assert "prompt_toolkit" not in loaded


def test_cli_reference_in_docs_matches_the_app() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "generate.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


TOOLS = ROOT / "tools"
GENERATORS = {"clispec", "manpage", "reference", "shells"}  # the modules of tools/ that walk the app


def _imported_names(path: Path) -> set[str]:
    """Every module name `path` imports, at any depth of the file, as written."""
    names: set[str] = set()
    for node in imports_and_strings(path):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom):  # `from . import x`
            names.update(alias.name for alias in node.names)
    return names


def test_generators_live_in_tools_and_the_package_imports_none_of_them() -> None:
    """The generators are tools, not runtime: each is a module of tools/,
    none is left in the package, and nothing in the package imports tools/."""
    assert GENERATORS <= {p.stem for p in TOOLS.glob("*.py")}
    tool_modules = {p.stem for p in TOOLS.glob("*.py")} | {"tools"}
    for path in SRC.rglob("*.py"):
        assert path.stem not in GENERATORS, f"{path.relative_to(SRC)} belongs in tools/"
        names = _imported_names(path)
        assert not {n.split(".")[0] for n in names} & tool_modules, path.relative_to(SRC)
        assert not {n.rsplit(".", 1)[-1] for n in names if n.startswith("chit.")} & GENERATORS, path.relative_to(SRC)


def _cli_import_graph() -> dict[str, set[str]]:
    """Each module of the package → the package's modules it imports, at the
    top or inside a function (a lazy import still closes a cycle)."""
    modules = {".".join(p.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__"): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for imported in _imported_names(path):
            if imported in modules:
                found.add(imported)
            elif imported.rpartition(".")[0] in modules:  # `from chit.cli import shells`: the name may be an attribute
                found.add(imported.rpartition(".")[0])
        graph[name] = found - {name}
    return graph


def test_no_cli_module_imports_itself_through_others() -> None:
    graph = _cli_import_graph()
    for start in (m for m in graph if m.startswith("chit.cli")):
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(graph[module])
        assert start not in seen, f"{start} imports itself through another module"


@pytest.mark.parametrize("args", [["completion", "bash"], ["completion", "zsh", "--json"], ["--help"]], ids=" ".join)
def test_the_app_and_chit_completion_load_no_generator(args: list[str], tmp_path: Path) -> None:
    """The app is built and `chit completion` prints its script without a
    generator: the completion scripts are package data."""
    code = f"""
import sys
from chit.cli.main import run
try:
    run({args!r})
except SystemExit:
    pass
from chit.cli.app import build
build()
generators = set({sorted(GENERATORS)!r})
loaded = {{m.rsplit(".", 1)[-1] for m in sys.modules if m.startswith("chit.") or m in generators}}
sys.stderr.write("generators loaded: " + " ".join(sorted(loaded & generators)))
"""
    env = {"CHIT_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.stderr == "generators loaded: ", done.stderr
    assert done.stdout


HTTP_CLIENTS = {"http", "ssl", "httpx", "requests", "urllib3", "aiohttp"}


@pytest.mark.parametrize(
    "args",
    [["--version"], ["ls", "--json"], ["ls"], ["search", "x", "--json"], ["show", "nope", "--json"], ["new", "t", "--json"], ["append", "hi", "--json"]],
    ids=" ".join,
)
def test_commands_load_only_what_they_need(args: list[str], probe: Callable[[list[str]], Probe]) -> None:
    """No HTTP client or REPL outside chat; no rich under --json; and no
    pydantic anywhere here (plain options skip typer's pydantic coercion)."""
    loaded = probe(args).top_level
    assert not loaded & HTTP_CLIENTS
    assert "prompt_toolkit" not in loaded
    assert "pydantic" not in loaded
    if "--json" in args or args == ["--version"]:
        assert "rich" not in loaded
    assert "click" not in loaded  # Typer brings its own
    if args == ["--version"]:  # the version needs no parser
        assert "typer" not in loaded


@pytest.mark.parametrize("args", [["trash", "--empty", "--yes"], ["sync", "status"]], ids=" ".join)
def test_short_results_into_a_pipe_load_no_rich(args: list[str], probe: Callable[[list[str]], Probe]) -> None:
    """`rm`, `trash --empty` and `gc` (their summaries) and `sync` (its
    report) write their lines into a pipe without rich (`saying`)."""
    assert "rich" not in probe(args).top_level


READING_PARTS = {"base", "parts", "facade", "queries", "project_moves"}  # project_moves: the note when a work tree moved
LISTING = {"ordering", "when"}  # a listing's order and its --since/--until


@pytest.mark.parametrize(
    "args, more",
    [(["ls", "--json"], {"catchup", *LISTING}), (["show", "nope", "--json"], set()), (["search", "x", "--json"], {"finding", "search_terms", "catchup", "when", "ticker"})],
    ids=lambda a: " ".join(a) if isinstance(a, list) else "",
)
def test_read_commands_load_only_the_reading_parts_of_the_service(
    args: list[str], more: set[str], probe: Callable[[list[str]], Probe]
) -> None:
    """A part of the service is built, and its module imported, on first
    use: a command that reads loads no writer, exporter or importer."""
    loaded = [m for m in probe(args).modules if m.startswith("chit.")]
    assert {m.split(".")[2] for m in loaded if m.startswith("chit.service.")} == READING_PARTS | more
    assert not {"exporters", "importers", "providers", "repl"} & {m.split(".")[1] for m in loaded}
    if args[0] == "show":  # the config says how to page a transcript; JSON or an error needs none
        assert "chit.config" not in loaded


@pytest.mark.parametrize("args", [["ls", "--json"], ["show", "nope"], ["search", "x"]], ids=" ".join)
def test_read_commands_on_an_unchanged_store_skip_the_fold_and_string(args: list[str], probe: Callable[[list[str]], Probe]) -> None:
    """The index folds events (chit.index.fold) only when a session file
    changed, and the text index's punctuation is written out: `string`
    compiles a regex at import. Neither is paid by a read of an unchanged
    store; nor, by a read that shows no session, the session fold
    (chit.store.fold) or `unicodedata` (which checks text a user gives)."""
    loaded = probe(args).modules
    assert "chit.index.db" in loaded  # the index was read
    assert "chit.index.fold" not in loaded
    assert "string" not in loaded
    assert "chit.store.fold" not in loaded and "unicodedata" not in loaded


@pytest.mark.parametrize("args", [["ls", "--json"], ["show", "nope"], ["search", "x"]], ids=" ".join)
def test_read_commands_compile_no_regex_of_chit_at_import(args: list[str], probe: Callable[[list[str]], Probe]) -> None:
    """chit's regular expressions are chit.patterns.LazyPattern, compiled
    on first use: a module that loads compiles none (twenty of them were
    about 2 ms of every command's start-up)."""
    assert probe(args).compiled_at_import == ()


PRIVATE = ("typer._", "click._", "_runtime_param")


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_no_private_name_of_typer_or_click(path: Path) -> None:
    """chit uses Typer's public names only (typer, typer.core, typer.main):
    a private module or attribute may change in any release."""
    text = path.read_text(encoding="utf-8")
    assert not [name for name in PRIVATE if name in text]
    for node in imports_and_strings(path):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("typer", "click"):
            assert not any(alias.name.startswith("_") for alias in node.names), (path.name, node.module)


# private names still imported across chit's own modules; none may be added
_PRIVATE_ACROSS = {
    ("service/history.py", "chit.service.sessions", "_as_message"),
    ("service/snapshots.py", "chit.service.sessions", "_as_message"),
    ("store/replay.py", "chit.store.fold", "_Legacy"),
}


def test_no_new_private_name_imported_from_another_chit_module() -> None:
    """A name that starts with _ belongs to its module: another module that
    needs it asks for a public name with a docstring (as
    chit.index.summary_rows gives search and relatives the summary row)."""
    found = set()
    for path in SRC.rglob("*.py"):
        for node in imports_and_strings(path):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chit."):
                found.update(
                    (path.relative_to(SRC).as_posix(), node.module, alias.name)
                    for alias in node.names if alias.name.startswith("_")
                )
    assert found <= _PRIVATE_ACROSS


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


@pytest.mark.parametrize("ref", ["prefix", "key", "id"])
def test_load_of_a_session_loads_no_search_nor_listing(ref: str, tmp_path: Path) -> None:
    """`chit load REF --json` resolves its REF through the index (a key,
    then an id prefix: `chit.index.refs`) and loads none of the search,
    of a listing's ordering nor of fork trees (`chit.service.trees`)."""
    from chit.api import Chit

    api = Chit(tmp_path / "home", cwd=tmp_path, project="demo", durable=False)
    session = api.create(title="t", key="the-key", messages=[{"role": "user", "content": "hello"}])
    given = {"prefix": session.id[:8], "key": "the-key", "id": session.id}[ref]
    code = f"""from chit.cli.main import run
try:
    run(["load", {given!r}, "--json"])
except SystemExit:
    pass
import sys
print(*sorted(m for m in sys.modules if m.startswith("chit.")))"""
    env = {"CHIT_HOME": str(tmp_path / "home"), "CHIT_PROJECT": "demo", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL)
    assert session.id in done.stdout, done.stderr
    loaded = set(done.stdout.splitlines()[-1].split())
    assert "chit.store.fold" in loaded  # the session was read
    assert not loaded & {"chit.index.search", "chit.index.rawfind", "chit.service.ordering", "chit.service.when", "chit.service.trees"}, loaded


def test_a_read_through_the_index_loads_no_search(tmp_path: Path) -> None:
    """Every read through the index catches `Stale` (a search raced a
    rewrite); a read that searches nothing (`load ID`, `show ID`: a fork
    or a sub-agent looked up) does not load the search for it."""
    from chit.api import Chit

    api = Chit(tmp_path / "home", cwd=tmp_path, durable=False)
    sid = api.create(title="t").id
    code = f"""import sys
from chit.api import Chit
from chit.service.facade import parts_of
ctx = parts_of(Chit({str(tmp_path / "home")!r}, cwd={str(tmp_path)!r})).ctx
project = ctx.locate({sid!r})
print(ctx.indexed(lambda index: index.refresh([(project.slug, False)])), "chit.index.search" in sys.modules)"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert done.stdout.split() == ["True", "False"]
