"""The shell completion scripts, shipped as package data and printed by
`chit completion SHELL`.

The scripts beside this module are generated from the command line by
tools/generate.py (a test fails when they drift from the app); nothing here
generates them, so the installed package holds no generator. At completion
time the scripts ask chit only for stored values (`chit.cli.complete`).
"""

from __future__ import annotations

from importlib.resources import files

FILES: dict[str, str] = {"bash": "chit.bash", "zsh": "_chit", "fish": "chit.fish"}  # shell → script file
SHELLS: tuple[str, ...] = tuple(FILES)


def script(shell: str) -> str:
    """The completion script for `shell` (one of `SHELLS`)."""
    return files(__name__).joinpath(FILES[shell]).read_text(encoding="utf-8")
