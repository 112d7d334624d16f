"""The root group builds only the command it runs: the table of command
names in chit.cli.app is the commands the cmd_* modules declare, in help's
order, and a run imports the module of its command and no other."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from chit.cli.app import COMMANDS, app

CLI = Path(__file__).resolve().parent.parent / "src" / "chit" / "cli"


def declared() -> list[str]:
    """Every command the cmd_* modules declare, module by module in COMMANDS' order."""
    names: list[str] = []
    for module_name in dict.fromkeys(COMMANDS.values()):
        commands: typer.Typer = importlib.import_module(f"chit.cli.{module_name}").app
        if commands.info.name:  # a group: its subcommands are its own
            names.append(commands.info.name)
        else:
            names.extend(info.name for info in commands.registered_commands if info.name)
    return names


def test_the_table_names_every_declared_command_in_order() -> None:
    modules = {p.stem for p in CLI.glob("cmd_*.py")}
    assert set(COMMANDS.values()) == modules
    assert declared() == list(COMMANDS)


def test_every_command_builds_from_its_module() -> None:
    group = typer.main.get_command(app)
    for name in COMMANDS:
        command = group.commands[name]  # type: ignore[attr-defined]
        assert command.name == name
        assert command.help


def _modules_after(args: list[str], tmp_path: Path) -> set[str]:
    probe = f"""
import sys
from chit.cli.main import run
run({args!r})
print("loaded:", *sorted(m for m in sys.modules if m.startswith("chit.cli.cmd_")))
"""
    env = {"CHIT_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL)
    return set(done.stdout.rpartition("loaded:")[2].split())


@pytest.mark.parametrize(
    ("args", "module"),
    [(["ls", "--json"], "cmd_read"), (["--json", "-p", "x", "new", "t"], "cmd_write"), (["projects", "--json"], "cmd_projects"), (["config", "--json"], "cmd_chat")],
)
def test_a_run_imports_only_its_commands_module(args: list[str], module: str, tmp_path: Path) -> None:
    assert _modules_after(args, tmp_path) == {f"chit.cli.{module}"}


def test_help_lists_every_command(tmp_path: Path) -> None:
    assert _modules_after(["--help"], tmp_path) == {f"chit.cli.{m}" for m in COMMANDS.values()}


def test_the_top_level_help_lists_each_command_in_its_panel_unbuilt() -> None:
    """`chit --help` reads each plain command's summary and panel from its
    declaration: the same screen as from the built commands, for less."""
    import io
    from contextlib import redirect_stdout

    from chit.cli.main import run

    screen = io.StringIO()
    with redirect_stdout(screen):
        assert run(["--help"]) == 0
    group = typer.main.get_command(app)
    built = group.commands  # type: ignore[attr-defined]
    sections = {title: block for title, _, block in (part.partition(":\n") for part in screen.getvalue().split("\n\n"))}
    assert "Commands" not in sections
    assert "  projects" in sections["Move data"]
    for name in COMMANDS:
        if name != "projects":
            outline = group.outline(name)  # type: ignore[attr-defined]
            command = built[name]
            assert (outline.help, outline.rich_help_panel, outline.hidden) == (command.help, command.rich_help_panel, command.hidden)
