"""Record real Codex CLI rollouts against the loopback server.

Usage: `python record_codex.py CODEX_BINARY OUT_DIR [ROOT [COMPACT_AT | image]]`

Starts `codex_server.py`, makes a throwaway home in ROOT (a new directory;
a fresh temporary one without it): `ROOT/.codex` as CODEX_HOME (a config
naming the server as a custom model provider, `wire_api = "responses"`)
and `ROOT/project` as the working directory, whose paths Codex writes into
the rollout (so give a neutral ROOT such as `/home/dev`); then it runs
three turns of one session:
`codex exec PROMPT`, `codex exec resume --last` (the prompt on stdin) and
`codex exec resume SESSION_ID PROMPT`. The sandbox is bypassed
(`--dangerously-bypass-approvals-and-sandbox`): the commands the script
asks for only list, count and write inside the throwaway directory.
With COMPACT_AT, Codex compacts the conversation once the context holds
that many tokens (`model_auto_compact_token_limit`), and the session has
two runs: the first prompt, then the third with `resume ID`. With
`image`, the session has two runs: a prompt with a small PNG attached
(`-i`), then `resume --last` with a prompt the server fails
(`response.failed`, no retries).
Every rollout Codex wrote is copied to OUT_DIR byte for byte, and after
each turn the rollout's size is printed, so a test can cut the file where
a turn began.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROMPTS = [
    "ZÄHLE bitte die Dateien hier (Straße, 日本語, русский, 🚀) und zeig eine lange Liste.",
    "ЗАПИШИ файл notes.txt с текстом «Straße» и японской заметкой, потом проверь его.",
    "Fasse zusammen — 要約してください 🙏",
]
CONFIG = """model = "chit-recorder-model"
model_provider = "loopback"
model_reasoning_summary = "detailed"
approval_policy = "never"
sandbox_mode = "danger-full-access"
include_apply_patch_tool = true

[features]
apply_patch_freeform = true

[model_providers.loopback]
name = "loopback"
base_url = "http://127.0.0.1:{port}/v1"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
"""
IMAGE_PROMPT = "Was siehst du auf dem Bild? 画像を説明して 🖼️"
FAILING_PROMPT = "FEHLER: dieser Aufruf scheitert — ошибка"


def main(argv: list[str]) -> int:
    binary, out = Path(argv[1]).resolve(), Path(argv[2]).resolve()
    root = Path(argv[3]) if len(argv) > 3 else Path(tempfile.mkdtemp(prefix="codex-record-"))
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise SystemExit(f"{root} is not empty")
    home, work, scratch = root / ".codex", root / "project", root / "recording"
    for folder in (home, work, scratch):
        folder.mkdir()
    for name, body in (("a.txt", "eins\n"), ("b.txt", "zwei\n"), ("c.md", "# drei\n")):
        (work / name).write_text(body, encoding="utf-8")
    portfile = scratch / "port"
    server = subprocess.Popen([sys.executable, str(HERE / "codex_server.py"), str(portfile), str(scratch / "requests.jsonl")])
    try:
        port = _wait_for(portfile)
        mode = argv[4] if len(argv) > 4 else ""
        compact = f"model_auto_compact_token_limit = {int(mode)}\n" if mode.isdigit() else ""
        (home / "config.toml").write_text(compact + CONFIG.format(port=port), encoding="utf-8")
        env = {**os.environ, "CODEX_HOME": str(home), "HOME": str(root), "NO_COLOR": "1"}
        flags = ["--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"]
        if mode == "image":
            _image_session(binary, work, env, scratch, flags)
        else:
            _three_runs(binary, work, env, scratch, flags, home, bool(compact))
    finally:
        server.terminate()
        server.wait()
    return _copy(home, out, scratch)


def _three_runs(binary: Path, work: Path, env: dict[str, str], scratch: Path, flags: list[str], home: Path, compact: bool) -> None:
    """The first prompt, then (unless compacting) the second with `resume
    --last`, then the third with `resume ID`."""
    _run([str(binary), "exec", *flags, "-C", str(work), PROMPTS[0]], work, env, scratch)
    if not compact:
        # the prompt on stdin: Codex 0.60 reads a word after `--last` as a session id
        _run([str(binary), "exec", *flags, "-C", str(work), "resume", "--last"], work, env, scratch, PROMPTS[1])
    session_id = _rollouts(home)[0].name[-len("00000000-0000-0000-0000-000000000000.jsonl"):-len(".jsonl")]
    _run([str(binary), "exec", *flags, "-C", str(work), "resume", session_id, PROMPTS[2]], work, env, scratch)


def _copy(home: Path, out: Path, scratch: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for rollout in _rollouts(home):
        shutil.copy2(rollout, out / rollout.name)
        print(f"copied {rollout.name} ({rollout.stat().st_size} bytes)")
    print(f"requests and Codex's output: {scratch}")
    return 0


def _image_session(binary: Path, work: Path, env: dict[str, str], scratch: Path, flags: list[str]) -> None:
    (work / "red.png").write_bytes(_png(4, 4))
    # the prompt before `-i`: `-i` takes every file name that follows it
    _run([str(binary), "exec", *flags, "-C", str(work), IMAGE_PROMPT, "-i", "red.png"], work, env, scratch)
    _run([str(binary), "exec", *flags, "-C", str(work), "resume", "--last"], work, env, scratch, FAILING_PROMPT)


def _png(width: int, height: int) -> bytes:
    """A small red PNG."""
    rows = b"".join(b"\x00" + bytes([200, 30, 30]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _wait_for(portfile: Path) -> int:
    for _ in range(100):
        if portfile.exists() and portfile.read_text():
            return int(portfile.read_text())
        time.sleep(0.05)
    raise SystemExit("the loopback server did not start")


def _rollouts(home: Path) -> list[Path]:
    return sorted((home / "sessions").rglob("rollout-*.jsonl"))


def _run(command: list[str], work: Path, env: dict[str, str], scratch: Path, stdin: str = "") -> None:
    done = subprocess.run(command, cwd=work, env=env, input=stdin, capture_output=True, text=True, timeout=300)
    with open(scratch / "exec.log", "a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(command[1:])}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}\n")
    sizes = ", ".join(f"{p.name}: {p.stat().st_size}" for p in _rollouts(Path(env["CODEX_HOME"])))
    print(f"exit {done.returncode}; rollouts: {sizes}")
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
