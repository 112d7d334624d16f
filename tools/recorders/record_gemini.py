"""Drive a real Gemini CLI against the loopback server and keep what it writes.

    python3 record_gemini.py --gemini PATH/TO/gemini --out DIR

Two turns of one session (`-p`, then `--resume latest`) in a scratch
project under DIR with a throwaway HOME: a German prompt answered with a
thought, a shell call that succeeds and one that fails, a file write; then
a Japanese and Russian prompt with emoji, answered with a long listing.
After each turn `~/.gemini/tmp` is copied to DIR/turn-N. The server's log
of every request is DIR/requests.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from scripted import post

HERE = Path(__file__).resolve().parent


def turns(project: Path) -> list[tuple[str, list[list[dict[str, object]]]]]:
    return [
        ("Bitte prüfe, wo wir sind, und lege gruss.txt mit „Grüße aus der Straße“ an. 🚀", [
            [{"thought": "Erst das Verzeichnis prüfen, dann die Datei schreiben."},
             {"text": "Ich prüfe zuerst das Verzeichnis."},
             {"call": "run_shell_command", "args": {"command": "pwd && echo 'Grüße ß 🚀'", "description": "Show the directory"}}],
            [{"call": "run_shell_command", "args": {"command": "ls /nonexistent-chit-dir", "description": "List a missing directory"}}],
            [{"call": "read_file", "args": {"file_path": str(project / "fehlt.txt")}}],
            [{"call": "write_file", "args": {"file_path": str(project / "gruss.txt"), "content": "Grüße aus der Straße 🚀\n"}}],
            [{"text": "Erledigt: gruss.txt ist angelegt. Das fehlende Verzeichnis gab einen Fehler."}],
        ]),
        ("長い一覧をお願いします。Покажи длинный список, пожалуйста 😊", [
            [{"call": "run_shell_command", "args": {"command": "seq 1 2000", "description": "Print a long listing"}}],
            [{"text": "一覧は2000行でした。Готово! 👍"}],
        ]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gemini", required=True)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    out: Path = args.out.resolve()
    home, project = out / "home", out / "project"
    project.mkdir(parents=True)
    (home / ".gemini").mkdir(parents=True)
    settings = {"security": {"auth": {"selectedType": "gemini-api-key"}}, "privacy": {"usageStatisticsEnabled": False},
                "general": {"disableAutoUpdate": True}}
    (home / ".gemini" / "settings.json").write_text(json.dumps(settings))
    server = subprocess.Popen([sys.executable, str(HERE / "gemini_server.py"), "--log", str(out / "requests.jsonl")],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline()) if server.stdout else 0
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8", "TERM": "dumb",
               "GEMINI_API_KEY": "loopback-recording", "GEMINI_CLI_TRUST_WORKSPACE": "true",
               "GOOGLE_GEMINI_BASE_URL": f"http://127.0.0.1:{port}"}
        for number, (prompt, script) in enumerate(turns(project), 1):
            post(port, "/_script", script)
            command = [*shlex.split(args.gemini), "-p", prompt, "--yolo", "-m", "gemini-2.5-pro"]
            if number > 1:
                command += ["--resume", "latest"]
            done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300,
                                  stdin=subprocess.DEVNULL)
            (out / f"turn-{number}.stdout").write_text(done.stdout + "\n--- stderr\n" + done.stderr)
            print(f"turn {number}: exit {done.returncode}, script left {post(port, '/_left', {})}")
            shutil.copytree(home / ".gemini" / "tmp", out / f"turn-{number}")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
