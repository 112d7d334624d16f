"""Drive a real Claude Code against the loopback server and keep what it writes.

    python3 record_claude_code.py --claude PATH/TO/claude --out DIR

`--claude` is the installed executable (`node_modules/.bin/claude`, or
`node .../cli.js` for versions shipped as JavaScript: pass it quoted). The
run uses a throwaway HOME under DIR, a scratch project directory, and five
turns of one session: a German prompt (thinking, a Bash call, a file write
and edit), a resumed Japanese prompt (a long output, a failing command), a
resumed Russian prompt (a `Task` sub-agent), `/compact`, and a last resumed
prompt. After each turn the `projects` folder is copied to DIR/turn-N, so
that a test can import a file and then the same file grown by a turn. The
server's log of every request is DIR/requests.jsonl.
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
from typing import Any

from scripted import post

HERE = Path(__file__).resolve().parent


def turns(project: Path) -> list[tuple[str, Any]]:
    notes = str(project / "notes.txt")
    return [
        ("Bitte lege notes.txt an und grüße die Straße 🚀. Prüfe zuerst, wo wir sind.", [
            [{"thinking": "Der Nutzer möchte eine Datei. Zuerst prüfe ich das Verzeichnis."},
             {"text": "Ich schaue zuerst nach, wo wir sind."},
             {"tool": "Bash", "input": {"command": "pwd && echo 'Grüße aus der Straße ß 🚀'", "description": "Show the directory"}}],
            [{"tool": "Write", "input": {"file_path": notes, "content": "Notizen\nStraße: Hauptstraße 5\n"}}],
            [{"tool": "Edit", "input": {"file_path": notes, "old_string": "Hauptstraße 5", "new_string": "Große Straße 7 🚀"}}],
            [{"text": "Erledigt: notes.txt ist angelegt und geändert. Grüße! 🚀"}],
        ]),
        ("長い一覧を表示して、存在しないディレクトリも確認してください。", [
            [{"thinking": "長い出力と、失敗するコマンドを試します。"},
             {"tool": "Bash", "input": {"command": "seq 1 3000", "description": "Print a long listing"}}],
            [{"tool": "Bash", "input": {"command": "ls /nonexistent-chit-dir", "description": "List a missing directory"}}],
            [{"text": "一覧は3000行でした。存在しないディレクトリはエラーになりました。"}],
        ]),
        ("Пожалуйста, запусти под-агента, чтобы он проверил рабочий каталог.", [
            [{"tool": "Task", "input": {"description": "Проверить каталог", "prompt": "Выведи рабочий каталог командой pwd.",
                                        "subagent_type": "general-purpose", "run_in_background": False}}],
            [{"tool": "Bash", "input": {"command": "pwd", "description": "Show the directory"}}],
            [{"text": f"Рабочий каталог: {project}"}],
            [{"text": "Под-агент сообщил рабочий каталог. 👍"}],
        ]),
        ("/compact", []),
        ("Danke! Was steht jetzt in notes.txt? 😊", [
            [{"tool": "Read", "input": {"file_path": notes}}],
            [{"text": "Dort steht „Große Straße 7 🚀“. Tschüß!"}],
        ]),
    ]


def background_turns(project: Path) -> list[tuple[str, Any]]:
    """A sub-agent run in the background (the default of later versions):
    the main thread replies at once, and again when the agent's
    `<task-notification>` arrives."""
    prompt = "Zähle die Dateien hier, bitte. 🔢"
    return [
        ("Starte bitte einen Hintergrund-Agenten, der das Verzeichnis prüft. Danke! ✨", {
            "main": [
                [{"tool": "Agent", "input": {"description": "Dateien zählen", "prompt": prompt,
                                             "subagent_type": "general-purpose", "run_in_background": True}}],
                [{"text": "Der Agent läuft im Hintergrund."}],
                [{"text": "Der Agent ist fertig: das Verzeichnis ist leer. ✅"}],
            ],
            "agents": {prompt: [
                [{"tool": "Bash", "input": {"command": "ls -A | wc -l", "description": "Count the files"}}],
                [{"text": "Im Verzeichnis liegen 0 Dateien."}],
            ]},
        }),
        ("Und jetzt? Kurz zusammenfassen, bitte.", [[{"text": "Ein Agent hat im Hintergrund gezählt: 0 Dateien."}]]),
    ]


def error_turns(project: Path) -> list[tuple[str, Any]]:
    """A request the API refuses (Claude Code writes its own `<synthetic>`
    reply naming the error), then a resumed prompt answered normally."""
    refusal = {"status": 401, "type": "authentication_error", "message": "invalid x-api-key (aufgezeichnet)"}
    return [
        ("Das hier wird abgelehnt. ❌", [[{"error": refusal}]]),
        ("Und jetzt noch einmal, bitte. 🔁", [[{"text": "Diesmal hat es geklappt. ✅"}]]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claude", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--background", action="store_true", help="record a background sub-agent instead")
    parser.add_argument("--error", action="store_true", help="record a refused request instead")
    args = parser.parse_args()
    out: Path = args.out.resolve()
    home, project = out / "home", out / "project"
    project.mkdir(parents=True)
    home.mkdir()
    server = subprocess.Popen([sys.executable, str(HERE / "anthropic_server.py"), "--log", str(out / "requests.jsonl")],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline()) if server.stdout else 0
        env = {
            "PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8", "IS_SANDBOX": "1",
            "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}", "ANTHROPIC_API_KEY": "sk-ant-loopback-recording",
            "ANTHROPIC_MODEL": "claude-sonnet-4-5", "ANTHROPIC_SMALL_FAST_MODEL": "claude-haiku-4-5",
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-4-5", "MAX_THINKING_TOKENS": "2048",
            "DISABLE_TELEMETRY": "1", "DISABLE_ERROR_REPORTING": "1", "DISABLE_AUTOUPDATER": "1",
        }
        session = None
        helped = subprocess.run([*shlex.split(args.claude), "--help"], capture_output=True, text=True, env=env).stdout
        # fewer tools, a smaller transcript: later versions write the tool list into it
        tools = ["--tools", "Bash,Write,Edit,Read,Agent,Task"] if "--tools <" in helped else []
        for number, (prompt, script) in enumerate((background_turns if args.background else error_turns if args.error else turns)(project), 1):
            post(port, "/_script", script)
            command = [*shlex.split(args.claude), "-p", prompt, "--dangerously-skip-permissions", "--output-format", "json",
                       *tools]
            if session:
                command += ["--resume", session]
            done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)
            (out / f"turn-{number}.stdout").write_text(done.stdout + "\n--- stderr\n" + done.stderr)
            try:
                session = json.loads(done.stdout.strip().splitlines()[-1]).get("session_id") or session
            except (ValueError, IndexError):
                print(f"turn {number}: no JSON result; see turn-{number}.stdout", file=sys.stderr)
            left = post(port, "/_left", {})
            print(f"turn {number}: exit {done.returncode}, session {session}, script left {left}")
            shutil.copytree(home / ".claude" / "projects", out / f"turn-{number}")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
