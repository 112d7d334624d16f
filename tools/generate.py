"""Regenerate the artifacts derived from the live CLI app.

Usage: python tools/generate.py [--check]
Writes the command reference block of docs/cli.md; with --check, writes
nothing and exits 1 if anything is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from chit.cli import reference

ROOT = Path(__file__).resolve().parent.parent


def splice(text: str, block: str) -> str:
    start = text.index(reference.BEGIN)
    end = text.index(reference.END) + len(reference.END)
    return text[:start] + block + text[end:]


def targets() -> dict[Path, str]:
    cli_doc = ROOT / "docs" / "cli.md"
    return {cli_doc: splice(cli_doc.read_text(encoding="utf-8"), reference.markdown())}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, content in targets().items():
        if path.read_text(encoding="utf-8") != content:
            stale.append(path)
            if not check:
                path.write_text(content, encoding="utf-8")
    for path in stale:
        print(f"{'out of date' if check else 'updated'}: {path.relative_to(ROOT)}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
