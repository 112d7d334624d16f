"""Shell completions and the man page, as generated into the package
(src/chit/cli/completions/, printed by `chit completion`) and man/:
the real bash runs the completion function against a real store (and fish
and zsh where installed), `chit __complete` stays fast and silent, and
groff reads the man page without a warning."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chit.api import Chit
from chit.cli import completions
from conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))  # the generators are tools, beside tools/generate.py
import clispec  # noqa: E402
SCRIPTS = Path(completions.__file__).parent  # the scripts as the package ships them
BASH_SCRIPT = SCRIPTS / "chit.bash"


@pytest.fixture
def shell_env(home: Path, tmp_path: Path) -> dict[str, str]:
    """PATH with a `chit` that runs this checkout's chit, and the test store."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "chit"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m chit "$@"\n')
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("CHIT_PROJECT", "BASH_ENV", "ENV")}
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "CHIT_HOME": str(home)}


def bash_complete(line: str, env: dict[str, str], cwd: Path) -> list[str]:
    """What bash offers for `line` (the cursor at its end): the completion
    file sourced, COMP_WORDS/COMP_CWORD set as readline would, `_chit` run,
    COMPREPLY read back."""
    words = [w for token in line.split() for w in re.split(r"(=)", token) if w]  # `=` breaks words, as in COMP_WORDBREAKS
    if line.endswith((" ", "=")):
        words.append("")
    program = r"""
source "$1"
COMP_LINE=$2
COMP_POINT=${#COMP_LINE}
COMP_WORDS=("${@:3}")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_chit 2>/dev/null
printf '%s\n' "${COMPREPLY[@]}"
"""
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program, "bash", str(BASH_SCRIPT), line, *words],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=30)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return [w for w in done.stdout.split("\n") if w]


@pytest.fixture
def store(api: Chit) -> dict[str, str]:
    ids = {}
    for name, tags in (("oldest", ["work"]), ("middle", ["parser", "work"]), ("newest", [])):
        s = api.create(title=f"{name} session", tags=tags)
        api.append(s.id, "user", f"hello {name}")
        ids[name] = s.id
    gone = api.create(title="in the trash")
    api.delete(gone.id)
    ids["trashed"] = gone.id
    Chit(api.layout.home, project="elsewhere").create(title="other project", tags=["far"])
    return ids


def test_bash_completes_commands_and_options(shell_env: dict[str, str], workdir: Path) -> None:
    commands = bash_complete("chit ", shell_env, workdir)
    assert {"ls", "show", "export", "projects", "completion", "search", "tag"} <= set(commands)
    assert commands == sorted(commands)
    assert bash_complete("chit sh", shell_env, workdir) == ["show"]
    assert bash_complete("chit --json lo", shell_env, workdir) == ["load"]
    ls_options = bash_complete("chit ls --", shell_env, workdir)
    assert {"--all", "--limit", "--tag", "--state", "--quiet", "--jsonl", "--json", "--project", "--help"} <= set(ls_options)
    assert "--format" not in ls_options
    assert bash_complete("chit export --fo", shell_env, workdir) == ["--format", "--force"]
    assert bash_complete("chit projects ", shell_env, workdir) == ["mv", "rename", "rm"]
    assert bash_complete("chit projects --js", shell_env, workdir) == ["--json", "--jsonl"]


def test_bash_completes_fixed_values(shell_env: dict[str, str], workdir: Path) -> None:
    assert bash_complete("chit export -f ", shell_env, workdir) == ["json", "jsonl", "md", "html", "txt"]
    assert bash_complete("chit export --format h", shell_env, workdir) == ["html"]
    assert bash_complete("chit export --format=", shell_env, workdir) == ["json", "jsonl", "md", "html", "txt"]  # `=` is a word of its own
    assert bash_complete("chit search -r a", shell_env, workdir) == ["assistant"]
    assert bash_complete("chit ls --state ", shell_env, workdir) == ["idle", "running", "error"]
    assert bash_complete("chit completion ", shell_env, workdir) == ["bash", "zsh", "fish"]
    assert bash_complete("chit ls --sort ", shell_env, workdir) == ["updated", "created", "turns", "tokens"]
    assert bash_complete("chit ls --sort=t", shell_env, workdir) == ["turns", "tokens"]
    assert bash_complete("chit stats --by ", shell_env, workdir) == ["project", "model", "day"]
    assert bash_complete("chit stats --since 2d --by m", shell_env, workdir) == ["model"]
    (workdir / "snapshot.json").write_text("{}")
    assert bash_complete("chit import sn", shell_env, workdir) == ["snapshot.json"]
    assert bash_complete("chit new --key ", shell_env, workdir) == []  # free text: nothing to offer


def test_bash_completes_sessions_newest_first_with_titles(shell_env: dict[str, str], workdir: Path, store: dict[str, str]) -> None:
    offered = bash_complete("chit show ", shell_env, workdir)
    assert offered == [f"{store[n][:8]}  {n} session" for n in ("newest", "middle", "oldest")]
    assert bash_complete(f"chit show {store['middle'][:3]}", shell_env, workdir) == [store["middle"][:8]]
    assert bash_complete(f"chit export -f md {store['oldest'][:2]}", shell_env, workdir)[0].startswith(store["oldest"][:8])
    assert bash_complete(f"chit tag {store['newest'][:8]} ", shell_env, workdir) == ["far", "parser", "work"]
    assert bash_complete("chit ls -t w", shell_env, workdir) == ["work"]
    other = bash_complete("chit show -p elsewhere ", shell_env, workdir)  # -p on the line picks the project
    assert len(other) == 1 and other[0].startswith(Chit(project="elsewhere").list()[0].short_id)
    assert bash_complete("chit restore ", shell_env, workdir) == [store["trashed"][:8]]
    assert bash_complete("chit rm x ", shell_env, workdir)  # every REF of rm completes
    assert bash_complete("chit show zzz", shell_env, workdir) == []


def test_bash_completes_projects(shell_env: dict[str, str], workdir: Path, store: dict[str, str]) -> None:
    assert bash_complete("chit -p ", shell_env, workdir) == ["elsewhere", "proj"]
    assert bash_complete("chit ls --project e", shell_env, workdir) == ["elsewhere"]
    assert bash_complete("chit projects mv p", shell_env, workdir) == ["proj"]
    (workdir / "newplace").mkdir()
    assert bash_complete("chit projects mv proj new", shell_env, workdir) == ["newplace"]
    assert bash_complete("chit projects rm e", shell_env, workdir) == ["elsewhere"]
    assert bash_complete("chit projects rename e", shell_env, workdir) == ["elsewhere"]
    assert bash_complete("chit projects rename elsewhere new", shell_env, workdir) == []  # a new name: nothing to offer


def test_complete_protocol_is_quiet_and_fast(shell_env: dict[str, str], workdir: Path, store: dict[str, str], home: Path) -> None:
    def call(*args: str, cwd: Path = workdir) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["chit", "__complete", *args], capture_output=True, text=True, env=shell_env, cwd=cwd, timeout=30)

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    refs = call("ref")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime  # the work, which a busy machine does not stretch
    assert cpu < 2.0, f"{cpu:.2f}s of CPU"
    assert refs.returncode == 0 and refs.stderr == ""
    assert [line.split("\t") for line in refs.stdout.splitlines()][0] == [store["newest"][:8], "newest session"]
    longer = call("ref", "--", store["newest"][:12])
    assert longer.stdout.split("\t")[0] == store["newest"]  # past 8 characters: the full id
    assert call("ref", "--", "ctx_" + store["oldest"][:4]).stdout.startswith(store["oldest"][:8])
    (home / "projects" / Chit(home, cwd=workdir).project().slug / "sessions" / f"{'0' * 8}-0000-4000-8000-{'0' * 12}.jsonl").write_bytes(b"\x00garbage\n{")
    for args in (["ref"], ["ref", "--project", "nope"], ["ref", "--", "'\"$(x)"], ["tag", "-p", "../.."], ["bogus"], [],
                 ["project", "--project"], ["trash", "--", "zz"]):
        done = call(*args)
        assert done.returncode == 0 and done.stderr == "", (args, done.stderr)
    gone = workdir / "vanishing"
    gone.mkdir()
    os.rmdir(gone)
    broken = subprocess.run(["bash", "-c", f"cd {gone} 2>/dev/null; chit __complete ref"], capture_output=True, text=True, env=shell_env, cwd=workdir)
    assert broken.returncode == 0 and broken.stderr == ""


def test_completion_command_prints_the_generated_scripts(home: Path, workdir: Path) -> None:
    for shell, name in completions.FILES.items():
        printed = run_cli(["completion", shell], cwd=workdir)
        assert printed.code == 0
        assert printed.out == (SCRIPTS / name).read_text(encoding="utf-8")
        as_json = run_cli(["--json", "completion", shell], cwd=workdir)
        assert json.loads(as_json.out) == {"shell": shell, "file": name, "script": printed.out}
    assert run_cli(["completion", "tcsh"], cwd=workdir).code == 5


def test_the_scripts_are_package_data() -> None:
    """A non-editable install ships the scripts `chit completion` reads."""
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    assert set(declared.get(completions.__name__, ())) >= set(completions.FILES.values())
    assert all((SCRIPTS / name).is_file() for name in completions.FILES.values())


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_for_real(shell_env: dict[str, str], workdir: Path, store: dict[str, str]) -> None:
    def fish(line: str) -> list[str]:
        done = subprocess.run(["fish", "--no-config", "-c", f"source {SCRIPTS / 'chit.fish'}; complete -C {line!r}"],
                              capture_output=True, text=True, env=shell_env, cwd=workdir, timeout=30)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        return done.stdout.splitlines()

    assert fish("chit sh") == ["show\tPrint a session's transcript with turn numbers."]
    assert [x.split("\t")[0] for x in fish("chit show ")] == [store[n][:8] for n in ("newest", "middle", "oldest")]
    assert fish("chit show ")[0].endswith("\tnewest session")
    assert fish("chit export -f ") == ["json", "jsonl", "md", "html", "txt"]
    assert fish("chit ls --sort ") == ["updated", "created", "turns", "tokens"]
    assert fish("chit stats --by ") == ["project", "model", "day"]
    assert [x.split("\t")[0] for x in fish("chit ls --t")] == ["--tag"]
    assert fish(f"chit untag {store['middle'][:8]} p") == ["parser"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_script_parses_and_its_engine_picks_the_right_values(shell_env: dict[str, str], workdir: Path, store: dict[str, str]) -> None:
    script = SCRIPTS / "_chit"
    assert subprocess.run(["zsh", "-n", str(script)], capture_output=True).returncode == 0
    # zsh's completion builtins only run inside a completion widget: these
    # stand-ins print what the script hands them, so the script's own logic
    # (which command, which word, which values) runs in a real zsh
    harness = r"""
compdef() { : }
compadd() {
  local -a out
  while (( $# )); do
    case $1 in
      (-a) shift; out+=("${(@P)1}") ;;
      (-d|-V|-J|-X) shift ;;
      (--) shift; out+=("$@"); break ;;
      (-*) ;;
      (*) out+=("$1") ;;
    esac
    shift
  done
  print -rl -- $out
}
_describe() { local entry; for entry in "${(@P)${@[-1]}}"; do print -r -- "${entry%%:*}"; done }
_files() { print -r -- "<files $*>" }
source $1; shift
words=("$@"); CURRENT=$#words; PREFIX=${words[-1]}
_chit
"""

    def zsh(*words: str) -> list[str]:
        done = subprocess.run(["zsh", "-f", "-c", harness, "zsh", str(script), *words], capture_output=True, text=True, env=shell_env, cwd=workdir, timeout=30)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        return done.stdout.splitlines()

    assert "show" in zsh("chit", "") and "projects" in zsh("chit", "")
    assert zsh("chit", "show", "") == [store[n][:8] for n in ("newest", "middle", "oldest")]
    assert zsh("chit", "tag", store["middle"][:8], "") == ["far", "parser", "work"]
    assert zsh("chit", "export", "--format", "") == ["json", "jsonl", "md", "html", "txt"]
    assert zsh("chit", "ls", "--sort", "") == ["updated", "created", "turns", "tokens"]
    assert zsh("chit", "stats", "--by", "") == ["project", "model", "day"]
    assert zsh("chit", "projects", "") == ["mv", "rename", "rm"]
    assert zsh("chit", "import", "") == ["<files >"]
    assert "--jsonl" in zsh("chit", "ls", "--")


def test_every_ref_argument_completes_sessions() -> None:
    for cmd in clispec.commands():
        for arg in cmd.args:
            if "REF" in arg.metavar:
                assert arg.kinds[0] in ("ref", "trash"), cmd.name
        for opt in cmd.options:
            if "--project" in opt.names:
                assert opt.kind == "project"


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_man_page_is_clean_groff() -> None:
    done = subprocess.run(["groff", "-man", "-ww", "-z", str(ROOT / "man" / "chit.1")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""


def test_man_page_covers_every_command_option_exit_code_and_variable() -> None:
    page = (ROOT / "man" / "chit.1").read_text(encoding="utf-8")
    for cmd in clispec.commands()[1:]:
        assert f'.SS "chit {cmd.name}"' in page.replace("\\-", "-"), cmd.name
        for opt in cmd.options:
            for name in opt.names:
                escaped = name.replace("-", "\\-")
                assert f"\\fB{escaped}\\fR" in page, (cmd.name, name)
    from chit.errors import ExitStatus

    exits = page.split(".SH EXIT STATUS", 1)[1].split(".SH", 1)[0]
    assert all(f"\\fB{int(status)}\\fR" in exits for status in ExitStatus)
    environment = page.split(".SH ENVIRONMENT", 1)[1].split(".SH", 1)[0]
    for variable in ("CHIT_HOME", "CHIT_PROJECT", "NO_COLOR", "PAGER"):
        assert f"\\fB{variable}\\fR" in environment
    assert ".SH FILES" in page and "project.json" in page


def test_generate_check_covers_every_artifact() -> None:
    import generate
    names = {p.relative_to(ROOT).as_posix() for p in generate.targets()}
    assert names == {
        "docs/cli.md", "src/chit/cli/completions/chit.bash", "src/chit/cli/completions/_chit", "src/chit/cli/completions/chit.fish", "man/chit.1",
    }
    for path, content in generate.targets().items():
        assert path.read_text(encoding="utf-8") == content, f"{path} is out of date: run python tools/generate.py"
