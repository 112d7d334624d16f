"""Regenerate the artifacts derived from the live CLI app (docs/architecture.md, rule 8).

Usage: python tools/generate.py [--check]
Writes the command reference block of docs/cli.md, the shell completions in
src/chit/cli/completions/ (bash, zsh, fish) and the man page man/chit.1;
with --check, writes nothing and exits 1 if anything is out of date.

The generators are the modules beside this script (clispec, reference,
shells, manpage), imported by name: they are tools, not part of the
installed package, which holds only what they generate.
"""

from __future__ import annotations

import sys
from pathlib import Path

import manpage
import reference
import shells

ROOT = Path(__file__).resolve().parent.parent
COMPLETIONS = ROOT / "src" / "chit" / "cli" / "completions"  # package data: `chit completion` prints them


def splice(text: str, block: str) -> str:
    start = text.index(reference.BEGIN)
    end = text.index(reference.END) + len(reference.END)
    return text[:start] + block + text[end:]


def targets() -> dict[Path, str]:
    cli_doc = ROOT / "docs" / "cli.md"
    found = {cli_doc: splice(cli_doc.read_text(encoding="utf-8"), reference.markdown())}
    for shell, render in shells.SCRIPTS.items():
        found[COMPLETIONS / shells.FILES[shell]] = render()
    found[ROOT / "man" / "chit.1"] = manpage.roff(cli_doc)
    return found


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, content in targets().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != content:
            stale.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8")
    for path in stale:
        print(f"{'out of date' if check else 'updated'}: {path.relative_to(ROOT)}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
