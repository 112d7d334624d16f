"""Drive a real opencode against opencode_server.py and keep what it writes.

    python record_opencode.py OPENCODE_BINARY OUTPUT_FOLDER [UPGRADE_BINARY]

OUTPUT_FOLDER is the throwaway HOME of the run (XDG config, cache and
data under it: opencode's storage is `.local/share/opencode`); it gets
`shop/` (the working folder the tools ran in; its path is written into
the sessions, so pick a neutral OUTPUT_FOLDER such as /home/ocuser),
`recorded/server.log` (every request opencode sent) and
`recorded/after-turn-N/` (a copy of opencode's data folder after each
turn, the database copied with its write-ahead log, never opened for
writing). `shop/` is a git work tree, as most projects are (opencode then
keys the project by its first commit and snapshots the tree). The turns:
a first prompt (bash that succeeds and fails, a long output, a file
write, a failed read, reasoning), `--continue` with a `task` sub-agent,
and `--session ID` with an attached file and a last short reply. With
UPGRADE_BINARY (a later opencode), a fourth turn is taken with it in the
same HOME (`recorded/after-turn-4/`): how a user's data looks after an
upgrade.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

TURNS = [
    "Bitte prüfe die Umgebung in der Straße: 日本語のテスト, Проверка связи, 🚀.",
    "Unteragent bitte: zähle die Zeilen von NOTES.md (サブエージェント, подагент).",
    "Zum Schluss: sag auf Wiedersehen auf Deutsch, 日本語 und по-русски.",
    "Zum Schluss: noch einmal auf Wiedersehen, 日本語 und по-русски.",
]
GIT = ["git", "-c", "user.name=Recorder", "-c", "user.email=recorder@example.invalid", "-c", "init.defaultBranch=main"]
NOT_COPIED = shutil.ignore_patterns("log", "snapshot", "bin")


def config(port: int) -> dict[str, object]:
    return {
        "$schema": "https://opencode.ai/config.json",
        "provider": {"scripted": {
            "npm": "@ai-sdk/openai-compatible", "name": "Scripted",
            "options": {"baseURL": f"http://127.0.0.1:{port}/v1", "apiKey": "not-a-key"},
            "models": {"scripted-1": {"name": "Scripted One", "reasoning": True, "tool_call": True,
                                      "limit": {"context": 200000, "output": 8000}}},
        }},
        "model": "scripted/scripted-1",
        "small_model": "scripted/scripted-1",
        "permission": {"bash": "allow", "edit": "allow", "external_directory": "allow"},
        "autoupdate": False,
        "share": "disabled",
    }


def start_server(out: Path) -> tuple[subprocess.Popen[bytes], int]:
    portfile = out / "port"
    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("opencode_server.py")),
                               str(portfile), str(out / "server.log")])
    for _ in range(100):
        if portfile.exists() and portfile.read_text():
            return server, int(portfile.read_text())
        time.sleep(0.05)
    server.kill()
    raise SystemExit("the script server did not start")


def run(binary: str, home: Path, project: Path, args: list[str]) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"), "XDG_STATE_HOME": str(home / ".local" / "state"),
        "OPENCODE_DISABLE_AUTOUPDATE": "1", "OPENCODE_DISABLE_MODELS_FETCH": "1", "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    }
    print("$ opencode", " ".join(args), flush=True)
    subprocess.run([binary, *args], cwd=project, env=env, check=True, timeout=600)


def first_session(data: Path) -> str:
    """The id of the first top-level session opencode wrote."""
    database = data / "opencode.db"
    if database.exists():
        db = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)  # read-only: no checkpoint of opencode's log
        try:
            return str(db.execute("select id from session where parent_id is null order by time_created").fetchone()[0])
        finally:
            db.close()
    files = sorted(data.glob("storage/session/*/*.json"), key=lambda p: int(json.loads(p.read_text())["time"]["created"]))
    return files[0].stem


def make_project(project: Path) -> None:
    (project / "README.md").write_text("# Laden\n\nEin kleines Projekt für die Aufnahme.\n")
    for command in (["init", "-q"], ["add", "README.md"], ["commit", "-q", "-m", "Anfang"]):
        subprocess.run([*GIT, *command], cwd=project, check=True)


def main() -> None:
    binary, home = sys.argv[1], Path(sys.argv[2]).absolute()
    upgrade = sys.argv[3] if len(sys.argv) > 3 else None
    project, out = home / "shop", home / "recorded"
    for folder in (home / ".config" / "opencode", project, out):
        folder.mkdir(parents=True, exist_ok=True)
    make_project(project)
    server, port = start_server(out)
    try:
        (home / ".config" / "opencode" / "opencode.json").write_text(json.dumps(config(port), indent=2))
        data = home / ".local" / "share" / "opencode"
        for number, prompt in enumerate(TURNS if upgrade else TURNS[:3], 1):
            resume = [] if number == 1 else ["--continue"] if number == 2 else ["--session", first_session(data)]
            attach = ["--file", "NOTES.md"] if number == 3 else []
            run(upgrade if number == 4 and upgrade else binary, home, project, ["run", *resume, prompt, *attach])
            shutil.copytree(data, out / f"after-turn-{number}", ignore=NOT_COPIED)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
