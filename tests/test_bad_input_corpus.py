"""The bad-input corpus: one table of damaged stores, hostile files and odd
arguments, each run through the real command line. For every case:

- the documented exit code (0 ok, 1 error, 2 usage, 3 not found,
  4 ambiguous, 5 invalid input or data, 6 locked or conflict);
- a clear message: a refusal is one line on stderr starting "chit: error:"
  and naming the problem, with nothing on stdout; a damaged session that
  still loads gives one "chit: warning:" line instead;
- no traceback, no "internal error";
- the store byte for byte unchanged (a hash of every path, mode and byte
  under CHIT_HOME before and after; the derived index is left out).

tests/test_bad_input.py holds the plainer argument errors (unknown refs,
ambiguous prefixes, bad values, usage errors); this file holds the damaged
and hostile inputs, plus what needs a real file system refusing writes: a
read-only CHIT_HOME and a full disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import forkserver
import orjson
import pytest

from chit import exporters
from chit.api import Chit
from chit.service.facade import parts_of
from chit.store.codec import FORMAT_VERSION
from conftest import Result, run_cli, tree_digest

SIDE_ID = "22222222-2222-4222-8222-222222222222"


@dataclass
class Ctx:
    api: Chit
    home: Path
    tmp: Path
    ids: dict[str, str]

    def path(self, name: str = "MAIN") -> Path:
        sid = self.ids[name]
        return self.api.layout.session_file(parts_of(self.api).ctx.locate(sid).slug, sid)

    def lines(self) -> list[bytes]:
        return self.path().read_bytes().split(b"\n")[:-1]

    def write_lines(self, lines: list[bytes], end: bytes = b"\n") -> None:
        self.path().write_bytes(b"\n".join(lines) + end)

    def insert(self, at: int, line: bytes) -> None:
        lines = self.lines()
        lines.insert(at, line)
        self.write_lines(lines)

    def newer(self) -> None:
        lines = self.lines()
        header = orjson.loads(lines[0])
        header["version"] = FORMAT_VERSION + 1
        self.write_lines([orjson.dumps(header), *lines[1:], b'{"type": "reaction", "emoji": "+1"}'])

    def snapshot_file(self, body_change: Callable[[dict[str, Any]], None] | None = None, *, raw: bytes | None = None,
                      keep_checksum: bool = False) -> None:
        """FILE: a snapshot of MAIN under a fresh id, changed by `body_change`."""
        if raw is None:
            doc = self.api.export_snapshot(self.ids["MAIN"])
            body = doc["session"]
            body["id"] = "5eed5eed-0000-4000-8000-00000000abcd"
            if body_change is not None:
                body_change(body)
            if not keep_checksum:
                doc["checksum"] = exporters.checksum(body)
            raw = orjson.dumps(doc)
        (self.tmp / "input.json").write_bytes(raw)


@dataclass
class Case:
    name: str
    args: tuple[str, ...]
    code: int
    says: str  # a fragment of the one stderr line
    damage: Callable[[Ctx], None] | None = None
    stdin: bytes | None = None
    in_process: bool = False  # for arguments a real argv cannot carry (NUL)
    env: dict[str, str] = field(default_factory=dict)


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _deep_snapshot(depth: int) -> Callable[[Ctx], None]:
    def damage(ctx: Ctx) -> None:
        doc = ctx.api.export_snapshot(ctx.ids["MAIN"])
        doc["session"]["id"] = "5eed5eed-0000-4000-8000-00000000abcd"
        doc["session"]["metadata"] = {"deep": "PLACEHOLDER"}
        ctx.snapshot_file(raw=orjson.dumps(doc).replace(b'"PLACEHOLDER"', _nested(depth)))

    return damage


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Ctx], None]:
    def change(body: dict[str, Any]) -> None:
        target: Any = body
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return lambda ctx: ctx.snapshot_file(change)


def _symlink_out(ctx: Ctx) -> None:
    outside = ctx.tmp / "outside.jsonl"
    outside.write_bytes(ctx.path().read_bytes().replace(ctx.ids["MAIN"].encode(), SIDE_ID.encode()))
    ctx.path().with_name(f"{SIDE_ID}.jsonl").symlink_to(outside)


def _tamper(ctx: Ctx) -> None:
    def edit(body: dict[str, Any]) -> None:
        body["messages"][1]["content"] = "question 0, edited"

    ctx.snapshot_file(edit, keep_checksum=True)


def _duplicate(ctx: Ctx) -> None:
    ctx.snapshot_file(raw=ctx.api.export_bytes(ctx.ids["MAIN"], "json")[1])


def _truncate(ctx: Ctx) -> None:
    ctx.path().write_bytes(b"")


def _torn(ctx: Ctx) -> None:
    with open(ctx.path(), "ab") as handle:
        handle.write(b'{"type": "message", "id": "half", "role": "user", "content": "cut he')


def _home_is_a_file(ctx: Ctx) -> None:
    (ctx.tmp / "not-a-dir").write_bytes(b"x")


NEWER = Case("", (), 5, "written by a newer chit", Ctx.newer)
WRITES_TO_A_NEWER_FILE = [
    ("append", "{MAIN}", "more"), ("rename", "{MAIN}", "new title"), ("tag", "{MAIN}", "t"), ("untag", "{MAIN}", "t"),
    ("pop", "{MAIN}"), ("rewind", "{MAIN}", "0"), ("state", "{MAIN}", "running"), ("state", "{MAIN}", "idle", "--set", "k=1"),
    ("compact", "{MAIN}"), ("undo", "{MAIN}"),
]

CORPUS: list[Case] = [
    # -- damaged session files: they still load, with one warning ----------------
    Case("corrupt line", ("show", "{MAIN}"), 0, "1 corrupt line(s) set aside (line 3)", lambda c: c.insert(2, b"{not json at all")),
    Case("invalid UTF-8 in a line", ("show", "{MAIN}"), 0, "corrupt line",
         lambda c: c.insert(2, b'{"type": "message", "id": "u", "role": "user", "content": "\xff\xfe", "ts": "2024-01-01T00:00:00Z"}')),
    Case("NUL bytes in a line", ("show", "{MAIN}"), 0, "corrupt line", lambda c: c.insert(2, b'{"type": "rename", "title": "a\x00b"}')),
    Case("binary garbage line", ("show", "{MAIN}", "--json"), 0, "corrupt line", lambda c: c.insert(3, bytes(range(256)).replace(b"\n", b""))),
    Case("torn last line", ("show", "{MAIN}"), 0, "incomplete line", _torn),
    Case("empty session file", ("show", "{MAIN}"), 0, "corrupt line(s) set aside (line 1)", _truncate),
    Case("missing header", ("show", "{MAIN}"), 0, "(line 1)", lambda c: c.write_lines(c.lines()[1:])),
    Case("a second, different header", ("show", "{MAIN}"), 0, "(line 2)", lambda c: c.insert(1, c.lines()[0] + b" ")),  # an exact copy is harmless (format 2)
    Case("wrong types in a message", ("show", "{MAIN}"), 0, "corrupt line",
         lambda c: c.insert(2, b'{"type": "message", "id": 1, "role": "user", "content": 5, "ts": []}')),
    Case("wrong types in an event", ("show", "{MAIN}", "--json"), 0, "corrupt line",
         lambda c: c.insert(2, b'{"type": "rewind", "keep": "all"}')),
    Case("negative rewind in the file", ("show", "{MAIN}"), 0, "corrupt line", lambda c: c.insert(2, b'{"type": "rewind", "keep": -4}')),
    Case("huge number in the file", ("show", "{MAIN}"), 0, "corrupt line",
         lambda c: c.insert(2, b'{"type": "rewind", "keep": 123456789012345678901234567890}')),
    Case("deeply nested JSON (100,000 levels)", ("show", "{MAIN}"), 0, "corrupt line",
         lambda c: c.insert(2, b'{"type": "set", "key": "k", "value": ' + _nested(100_000) + b"}")),
    Case("nested deeper than chit writes (300 levels)", ("show", "{MAIN}", "--json"), 0, "corrupt line",
         lambda c: c.insert(2, b'{"type": "set", "key": "k", "value": ' + _nested(300) + b"}")),
    Case("50 MB corrupt line", ("show", "{MAIN}"), 0, "corrupt line", lambda c: c.insert(2, b'{"type": "message", "content": "' + b"z" * 50_000_000)),
    Case("newer format version, read", ("show", "{MAIN}"), 0, "newer chit", Ctx.newer),
    Case("corrupt line, searched", ("search", "question", "--json"), 0, "", lambda c: c.insert(2, b"{not json")),
    Case("unreadable project.json", ("ls",), 0, "", lambda c: (c.home / "projects" / parts_of(c.api).ctx.locate(c.ids["MAIN"]).slug / "project.json").write_bytes(b"\x00garbage")),
    Case("garbage current.json: the latest session stands in", ("show",), 0, "",
         lambda c: (c.home / "projects" / parts_of(c.api).ctx.locate(c.ids["MAIN"]).slug / "current.json").write_bytes(b'{"id": "../../etc/passwd"}')),
    # -- a newer format version is never written to ---------------------------
    *[Case(f"newer format version, {' '.join(a[:1] + a[2:])}", a, NEWER.code, NEWER.says, NEWER.damage) for a in WRITES_TO_A_NEWER_FILE],
    # -- symbolic links out of the store --------------------------------------
    Case("session file is a symlink out of the store: show", ("show", SIDE_ID), 5, "symbolic link", _symlink_out),
    Case("session file is a symlink out of the store: append", ("append", SIDE_ID, "through the link"), 5, "symbolic link", _symlink_out),
    Case("session file is a symlink out of the store: by prefix", ("show", SIDE_ID[:6]), 3, "no session matches", _symlink_out),
    Case("session file is a symlink out of the store: rm", ("rm", SIDE_ID), 5, "symbolic link", _symlink_out),
    # -- snapshots --------------------------------------------------------------
    Case("tampered snapshot", ("import", "{FILE}"), 5, "checksum does not match", _tamper),
    Case("duplicate snapshot", ("import", "{FILE}"), 6, "already imported", _duplicate),
    Case("snapshot nested 300 levels deep", ("import", "{FILE}"), 5, "nested too deeply", _deep_snapshot(300)),
    Case("snapshot nested 5,000 levels deep", ("import", "{FILE}"), 5, "not valid JSON", _deep_snapshot(5000)),
    Case("snapshot with tags of the wrong type", ("import", "{FILE}"), 5, "tag", _set(("tags",), [1, 2])),
    Case("snapshot with a title of the wrong type", ("import", "{FILE}"), 5, "'title'", _set(("title",), 5)),
    Case("snapshot with messages not a list", ("import", "{FILE}"), 5, "'messages'", _set(("messages",), {"0": "hi"})),
    Case("snapshot with a parent that is text", ("import", "{FILE}"), 5, "'parent'", _set(("parent",), "../x")),
    Case("snapshot with a parent id that climbs", ("import", "{FILE}"), 5, "parent", _set(("parent",), {"id": "../../etc", "turn": 0})),
    Case("snapshot with boolean token counts", ("import", "{FILE}"), 5, "token counts", _set(("messages", 2, "tokens"), {"input": False})),
    Case("snapshot with negative token counts", ("import", "{FILE}"), 5, "token counts", _set(("messages", 2, "tokens"), {"output": -3})),
    Case("snapshot with a NUL in its title", ("import", "{FILE}"), 5, "NUL", _set(("title",), "a\x00b")),
    Case("snapshot with a session id that climbs", ("import", "{FILE}"), 5, "not a UUID", _set(("id",), "../../../tmp/x")),
    Case("snapshot created at the calendar's last second, west of UTC", ("import", "{FILE}"), 5, "RFC 3339",
         _set(("created_at",), "9999-12-31T23:59:59-05:00")),
    Case("snapshot created in the calendar's first hour, east of UTC", ("import", "{FILE}"), 5, "RFC 3339",
         _set(("created_at",), "0001-01-01T00:30:00+01:00")),
    Case("snapshot message at the calendar's last second, west of UTC", ("import", "{FILE}"), 5, "message ts",
         _set(("messages", 0, "ts"), "9999-12-31T23:59:59-05:00")),
    Case("snapshot message in the calendar's first hour, east of UTC", ("import", "{FILE}"), 5, "message ts",
         _set(("messages", 0, "ts"), "0001-01-01T00:30:00+01:00")),
    Case("snapshot with metadata not an object", ("import", "{FILE}"), 5, "'metadata'", _set(("metadata",), ["a"])),
    # -- odd references -------------------------------------------------------------
    *[Case(f"odd reference {ref!r}", ("show", "--", ref), 3, "no session matches") for ref in
      ("-", "ctx_-", "---", "ctx_ctx_", "g", "a" * 5000, "../../etc/passwd", "/etc/passwd", "*", "[0-9a-f]", "\u0663\u0663", "%s%n", "0x1f")],
    Case("reference with a NUL", ("show", "ab\x00"), 5, "NUL", in_process=True),
    Case("rm of an odd reference", ("rm", "--", "-"), 3, "no session matches"),
    Case("restore of a climbing reference", ("restore", "../x"), 3, "no trashed session"),
    # -- turn numbers ------------------------------------------------------------------
    Case("huge turn", ("rewind", "{MAIN}", "99999999999999999999999"), 5, "out of range"),
    Case("huge negative turn", ("rewind", "{MAIN}", "--", "-99999999999999999999"), 5, "out of range"),
    Case("huge fork turn", ("fork", "{MAIN}", "--at", "99999999999999999999"), 5, "out of range"),
    Case("huge negative fork turn", ("fork", "{MAIN}", "--at=-99999999999999"), 5, "out of range"),
    Case("turn in exponent notation", ("rewind", "{MAIN}", "1e3"), 5, "turn"),
    Case("turn in hex", ("rewind", "{MAIN}", "0x1"), 5, "turn"),
    # -- project names and keys that try to climb out ---------------------------------------
    Case("project name with ..", ("-p", "a/../../b", "new"), 5, "path separator"),
    Case("project name that is a path", ("-p", "/etc", "ls"), 5, "path separator"),
    Case("project name with backslashes", ("-p", "..\\..", "new"), 5, "path separator"),
    Case("project name with a control character", ("-p", "a\x01b", "new"), 5, "control characters"),
    Case("project name of dots", ("-p", "...", "new"), 5, "dot"),
    Case("key with a NUL", ("new", "--key", "a\x00b"), 5, "NUL", in_process=True),
    Case("key with a control character", ("new", "--key", "a\x07b"), 5, "control characters"),
    Case("key of 5,000 characters", ("new", "--key", "k" * 5000), 5, "longer than"),
    # -- values -------------------------------------------------------------------------
    Case("metadata nested 300 levels deep", ("append", "{MAIN}", "hi", "--meta", "k=" + "[" * 300 + "]" * 300), 5, "metadata"),
    Case("invalid UTF-8 on stdin", ("append", "{MAIN}", "-"), 5, "UTF-8", stdin=b"ok \xff\xfe bad"),
    # -- messages for `replace` ------------------------------------------------------------
    Case("replace from invalid UTF-8", ("replace", "{MAIN}", "-"), 5, "not JSON", stdin=b"\xff\xfe bad"),
    Case("replace with JSON nested 5,000 levels", ("replace", "{MAIN}", "-"), 5, "not JSON", stdin=b"[" * 5000 + b"]" * 5000),
    Case("replace with an unknown role", ("replace", "{MAIN}", "-"), 5, "message 2: unknown role",
         stdin=b'[{"role": "system", "content": "be brief"}, {"role": "bot", "content": "x"}]'),
    Case("replace with metadata nested 300 levels deep", ("replace", "{MAIN}", "-"), 5, "metadata",
         stdin=b'[{"role": "user", "content": "x", "metadata": {"k": ' + b"[" * 300 + b"]" * 300 + b"}}]"),
    Case("replace with content that is not text", ("replace", "{MAIN}", "-"), 5, "must be text", stdin=b'{"role": "user", "content": 5}'),
    Case("CHIT_HOME is a file", ("new", "x"), 5, "the store is not a directory", env={"CHIT_HOME": "{TMP}/not-a-dir"}, damage=_home_is_a_file),
]


@pytest.fixture
def ctx(home: Path, workdir: Path, tmp_path: Path) -> Ctx:
    api = Chit(home, cwd=workdir, durable=False)  # the store the case starts from; fsync is not what is tested
    empty = api.create(title="no turns yet").id
    other = api.create("elsewhere", title="far away").id
    main = api.create(title="main", key="main-key", messages=[{"role": "system", "content": "be brief"}]).id
    for n in range(2):
        api.append(main, "user", f"question {n}")
        api.append(main, "assistant", f"answer {n}", tokens=(1, 2))
    return Ctx(api, home, tmp_path, {"MAIN": main, "EMPTY": empty, "OTHER": other})


def check(result: Result, code: int, says: str) -> None:
    shown = f"exit {result.code}\nstdout: {result.out[:500]}\nstderr: {result.err[:500]}"
    assert result.code == code, shown
    assert "Traceback" not in result.err + result.out and "internal error" not in result.err, shown
    lines = result.err.splitlines()
    if code == 0:
        assert all(line.startswith("chit: warning: ") for line in lines), shown
        if says:
            assert len(lines) == 1 and says.lower() in lines[0].lower(), shown
    else:
        assert len(lines) == 1 and lines[0].startswith("chit: error: "), shown
        assert says.lower() in lines[0].lower(), shown
        assert result.out == "", shown


def run_case(case: Case, ctx: Ctx, cli_inproc: Any, workdir: Path) -> Result:
    values = {**ctx.ids, "FILE": str(ctx.tmp / "input.json"), "TMP": str(ctx.tmp)}
    args = [a.format(**values) if "{" in a and "}" in a and not a.startswith(("k=[", "[")) else a for a in case.args]
    if case.in_process:
        return cli_inproc(*args)  # type: ignore[no-any-return]
    env = {k: v.format(**values) for k, v in case.env.items()}
    return run_cli(args, stdin=case.stdin, cwd=workdir, env=env)


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40
    assert len({c.name for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_bad_input(case: Case, ctx: Ctx, cli_inproc: Any, workdir: Path) -> None:
    if case.damage is not None:
        case.damage(ctx)
    before = tree_digest(ctx.home)
    outside = tree_digest(ctx.tmp / "outside.jsonl") if (ctx.tmp / "outside.jsonl").exists() else None
    check(run_case(case, ctx, cli_inproc, workdir), case.code, case.says)
    assert tree_digest(ctx.home) == before, "the store changed"
    if outside is not None:
        assert tree_digest(ctx.tmp / "outside.jsonl") == outside


# -- beyond the table ----------------------------------------------------------------


def test_a_newer_format_file_keeps_its_bytes_through_rm_restore_and_repair(ctx: Ctx, cli_inproc: Any) -> None:
    ctx.newer()
    ctx.insert(2, b"{corrupt")
    data = ctx.path().read_bytes()
    main = ctx.ids["MAIN"]
    assert cli_inproc("rm", main).code == 0
    trashed = ctx.api.layout.trash_file(parts_of(ctx.api).ctx.locate(main, trash=True).slug, main)
    assert trashed.read_bytes() == data
    assert cli_inproc("restore", main[:8]).code == 0
    assert ctx.path().read_bytes() == data
    doctor = cli_inproc("doctor", "--repair")
    assert doctor.code == 5 and "corrupt" not in doctor.err  # reported, not rewritten
    assert ctx.path().read_bytes() == data


def test_a_50_mb_message_is_stored_whole_and_read_back(ctx: Ctx, workdir: Path) -> None:
    content = "0123456789abcdef" * 3_276_799 + "0123456789abcdeΩ"  # 50 MiB of text, ending in a 2-byte character
    done = run_cli(["append", ctx.ids["MAIN"], "-", "--role", "assistant"], stdin=content.encode(), cwd=workdir)
    assert done.code == 0, done.err
    assert ctx.api.get(ctx.ids["MAIN"]).messages[-1].content == content
    data = ctx.path().read_bytes()
    assert data.endswith(b'"}\n') and data.count(b"\n") == 7  # one whole line (the file's seventh)
    assert run_cli(["ls", "--json"], cwd=workdir).code == 0
    shown = run_cli(["show", ctx.ids["MAIN"], "--no-pager"], cwd=workdir)  # plain text in pieces: seconds, not hours
    assert shown.code == 0 and shown.out[-100:].rstrip().endswith("eΩ") and shown.out.count("0123456789abcdef") >= 3_000_000
    if os.environ.get("CHIT_LONG"):  # indexing 50 MB for search takes ~20 s here
        found = run_cli(["search", "eΩ", "--json"], cwd=workdir)
        assert found.code == 0 and found.json()[0]["id"] == ctx.ids["MAIN"]  # type: ignore[index]


def test_keys_that_look_like_paths_stay_text(ctx: Ctx, workdir: Path, tmp_path: Path) -> None:
    def outside() -> list[str]:
        return sorted(str(p) for p in tmp_path.rglob("*") if p != ctx.home and ctx.home not in p.parents)

    before = outside()
    for key in ("../../../../tmp/evil", "/etc/passwd", "..", "a/b\\c"):
        made = run_cli(["append", "--key", key, "hello"], cwd=workdir)
        assert made.code == 0, made.err
        assert ctx.api.resolve(key).key == key  # a key is text in a header, never a path
    files = [p for p in ctx.home.rglob("*") if p.is_file()]
    journals = ctx.home / "changes"  # the index's change journals: <slug>.sessions, <slug>.trash
    assert all(
        p.name.endswith((".jsonl", ".json", ".lock")) or p.name.startswith("index.") or (p.parent == journals and p.suffix in (".sessions", ".trash"))
        or p == ctx.home / "machine-id"
        for p in files
    )
    assert outside() == before and not Path("/tmp/evil").exists()


def test_a_symlinked_sessions_directory_is_not_followed(ctx: Ctx, workdir: Path, tmp_path: Path) -> None:
    """A project directory or sessions directory replaced by a link out of the store."""
    slug = parts_of(ctx.api).ctx.locate(ctx.ids["OTHER"]).slug
    sessions = ctx.home / "projects" / slug / "sessions"
    elsewhere = tmp_path / "elsewhere-sessions"
    shutil.move(sessions, elsewhere)
    sessions.symlink_to(elsewhere)
    before, outside = tree_digest(ctx.home), tree_digest(elsewhere)
    for args, code, says in ((["show", ctx.ids["OTHER"]], 3, "no session with id"), (["append", ctx.ids["OTHER"], "x"], 3, "no session with id"),
                             (["-p", "elsewhere", "new", "y"], 5, "symbolic link"), (["-p", "elsewhere", "show", ctx.ids["OTHER"][:8]], 3, "no session")):
        check(run_cli(args, cwd=workdir), code, says)
    for args in (["ls", "--all", "--json"], ["-p", "elsewhere", "ls", "--json"], ["search", "far", "--json"]):
        listed = run_cli(args, cwd=workdir)
        assert listed.code == 0 and ctx.ids["OTHER"] not in listed.out, listed.out
    assert tree_digest(ctx.home) == before and tree_digest(elsewhere) == outside
    doctor = run_cli(["doctor"], cwd=workdir)
    assert doctor.code == 5 and "sessions: symbolic link in the store (never followed)" in doctor.out
    assert run_cli(["doctor", "--repair"], cwd=workdir).code == 0
    assert not sessions.exists() and tree_digest(elsewhere) == outside  # the link went, not what it pointed to


def test_a_linked_project_directory_is_not_followed(ctx: Ctx, workdir: Path, tmp_path: Path) -> None:
    """The working directory's whole project directory replaced by a link."""
    project = ctx.home / "projects" / parts_of(ctx.api).ctx.locate(ctx.ids["MAIN"]).slug
    elsewhere = tmp_path / "elsewhere-project"
    shutil.move(project, elsewhere)
    project.symlink_to(elsewhere)
    before, outside = tree_digest(ctx.home), tree_digest(elsewhere)
    for args, code, says in ((["show", ctx.ids["MAIN"]], 3, "no session with id"), (["append", ctx.ids["MAIN"], "x"], 3, "no session with id"),
                             (["new", "y"], 5, "symbolic link"), (["show"], 3, "no current session")):
        check(run_cli(args, cwd=workdir), code, says)
    for args in (["ls", "--json"], ["ls", "--all", "--json"], ["search", "question", "--json"]):
        listed = run_cli(args, cwd=workdir)
        assert listed.code == 0 and ctx.ids["MAIN"] not in listed.out, listed.out
    assert tree_digest(ctx.home) == before and tree_digest(elsewhere) == outside
    doctor = run_cli(["doctor"], cwd=workdir)
    assert doctor.code == 5 and f"projects/{project.name}: symbolic link in the store (never followed)" in doctor.out
    assert run_cli(["doctor", "--repair"], cwd=workdir).code == 0
    assert not project.exists() and tree_digest(elsewhere) == outside


# -- file systems that refuse writes --------------------------------------------------
# A read-only CHIT_HOME, for real: for root, chmod stops
# nothing, so the store is either bind-mounted read-only (EROFS) or made
# read-only for an unprivileged user who then runs chit (setpriv; EACCES);
# a plain chmod is used only when the tests do not run as root. A full
# disk, for real: a 512 KiB tmpfs filled up (ENOSPC); without mount
# rights, a file-size limit on the chit process (EFBIG) stands in for it.

READS = [("ls",), ("ls", "--all", "--json"), ("show", "{MAIN}"), ("search", "question"), ("export", "{MAIN}", "-f", "md"), ("doctor",)]
WRITES = [
    ("append", "{MAIN}", "more"), ("new", "another"), ("rename", "{MAIN}", "renamed"), ("tag", "{MAIN}", "t"),
    ("rewind", "{MAIN}", "0"), ("fork", "{MAIN}"), ("state", "{MAIN}", "running"), ("compact", "{MAIN}"),
    ("rm", "{MAIN}"), ("load", "{EMPTY}"), ("import", "{FILE}"), ("-p", "brand-new", "new", "x"),
]


def _mount(*args: str) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def can_mount() -> bool:
    probe = Path(tempfile.mkdtemp(prefix="chit-mnt-"))
    try:
        ok = _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe))
        if ok:
            subprocess.run(["umount", str(probe)], check=True)
        return ok
    finally:
        probe.rmdir()


@dataclass
class Refusing:
    """A store on a file system that refuses writes, and how to run chit there."""

    ctx: Ctx
    workdir: Path
    reason: str
    prefix: list[str]
    server: forkserver.Server | None = None  # another user's fork server: its children are that user's `chit`

    def run(self, *args: str) -> Result:
        values = {**self.ctx.ids, "FILE": str(self.ctx.tmp / "input.json")}
        argv = [a.format(**values) for a in args]
        env = _environment(self.ctx.home)
        if self.server is not None:
            request = {"args": argv, "cwd": str(self.workdir), "env": env, "umask": forkserver.current_umask()}
            code, out, err = self.server.run(request, None, [sys.executable, "-m", "chit", *argv], 60)
            return Result(code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
        if self.prefix:  # another user: a program of its own
            proc = subprocess.run([*self.prefix, sys.executable, "-m", "chit", *argv], capture_output=True, cwd=self.workdir, env=env,
                                  stdin=subprocess.DEVNULL, timeout=60)
        else:
            proc = forkserver.run_chit(argv, stdin=None, cwd=self.workdir, env=env, timeout=60)
        return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def _environment(home: Path) -> dict[str, str]:
    env = {**os.environ, "CHIT_HOME": str(home)}
    env.pop("CHIT_DEBUG", None)
    return env


def _server_as(prefix: list[str], env: dict[str, str]) -> forkserver.Server | None:
    """tests/forkserver_server.py run under `prefix` (as another user), or
    None when that user cannot run this Python and chit. One interpreter
    start-up for all of a test's calls instead of one a call."""
    directory = Path(tempfile.mkdtemp(prefix="chit-fork-"))
    os.chown(directory, 65534, 65534)  # the server makes its socket there
    lifetime_r, lifetime_w = os.pipe()
    try:
        process = subprocess.Popen([*prefix, sys.executable, str(forkserver.SERVER_PROGRAM), str(directory / "s"), str(lifetime_r)],
                                   cwd=directory, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   pass_fds=[lifetime_r])
    finally:
        os.close(lifetime_r)
    assert process.stdout is not None
    if process.stdout.readline() == b"ready\n":
        return forkserver.Server(process, lifetime_w, str(directory), os.getpid(), forkserver.limits())
    _stop_server(process, lifetime_w, directory)
    return None


def _stop_server(process: subprocess.Popen[bytes], lifetime: int, directory: Path) -> None:
    os.close(lifetime)  # end of file: the server ends
    process.communicate(timeout=10)
    shutil.rmtree(directory, ignore_errors=True)


def _shared_store(tmp: Path) -> tuple[Ctx, Path]:
    """A store and a project directory in a world-readable place, with
    MAIN (two turns), EMPTY and a snapshot FILE to import."""
    tmp.chmod(0o755)
    workdir = tmp / "proj"
    (workdir / ".git").mkdir(parents=True)
    home = tmp / "home"
    api = Chit(home, cwd=workdir, durable=False)
    empty = api.create(title="no turns yet").id
    main = api.create(title="main", messages=[{"role": "system", "content": "be brief"}]).id
    for n in range(2):
        api.append(main, "user", f"question {n}")
        api.append(main, "assistant", f"answer {n}")
    ctx = Ctx(api, home, tmp, {"MAIN": main, "EMPTY": empty})
    ctx.snapshot_file()
    api.list()  # the index exists, as it would
    parts_of(api).ctx.index.close()
    return ctx, workdir


@pytest.fixture(params=["read-only mount", "unprivileged user", "chmod"])
def read_only_home(request: pytest.FixtureRequest, can_mount: bool) -> Iterator[Refusing]:
    tmp = Path(tempfile.mkdtemp(prefix="chit-ro-"))
    mounted = False
    server: forkserver.Server | None = None
    try:
        ctx, workdir = _shared_store(tmp)
        prefix: list[str] = []
        if request.param == "read-only mount":
            if not can_mount:
                pytest.skip("needs mount rights")
            assert _mount("--bind", str(ctx.home), str(ctx.home))
            mounted = True
            assert _mount("-o", "remount,bind,ro", str(ctx.home))
            reason = "read-only file system"
        elif request.param == "unprivileged user":
            if os.geteuid() != 0 or not shutil.which("setpriv"):
                pytest.skip("needs root and setpriv")
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            if forkserver.CAN_FORK and forkserver.current_umask() is not None:
                server = _server_as(prefix, _environment(ctx.home))
                runnable = server is not None
            else:
                runnable = subprocess.run([*prefix, sys.executable, "-c", "import chit.cli.main"], capture_output=True, cwd=workdir).returncode == 0
            if not runnable:  # e.g. the interpreter lives under a directory only root may enter
                pytest.skip("the unprivileged user cannot run this Python and chit")
            for path in [ctx.home, *ctx.home.rglob("*")]:
                os.chown(path, 65534, 65534, follow_symlinks=False)
                path.chmod(0o500 if path.is_dir() else 0o400)
            (ctx.tmp / "input.json").chmod(0o644)
            reason = "permission denied"
        else:
            if os.geteuid() == 0:
                pytest.skip("root ignores file modes")
            for path in [ctx.home, *ctx.home.rglob("*")]:
                path.chmod(0o500 if path.is_dir() else 0o400)
            reason = "permission denied"
        yield Refusing(ctx, workdir, reason, prefix, server)
    finally:
        if server is not None:
            _stop_server(server.process, server.lifetime, Path(server.directory))
        if mounted:
            subprocess.run(["umount", str(tmp / "home")], check=False)
        for path in [tmp, *tmp.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o700)
        shutil.rmtree(tmp, ignore_errors=True)


def test_a_read_only_home_refuses_every_write_and_still_reads(read_only_home: Refusing) -> None:
    ro = read_only_home
    before = tree_digest(ro.ctx.home)
    for args in READS:
        result = ro.run(*args)
        if args == ("doctor",) and ro.prefix:  # files made 0400 for the unprivileged user: doctor says so
            assert result.code == 5 and "permissions 400, expected 600" in result.out
            continue
        assert result.code == 0, result.err
        assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    assert "question 1" in ro.run("show", "{MAIN}").out
    for args in WRITES:
        check(ro.run(*args), 1, ro.reason)
    assert tree_digest(ro.ctx.home) == before


FULL_DISK_WRITES = [
    ("append", "{MAIN}", "-"), ("new", "another"), ("fork", "{MAIN}"), ("compact", "{MAIN}"), ("import", "{FILE}"),
    ("-p", "brand-new", "new", "x"),
]


def test_a_full_disk_refuses_writes_and_leaves_no_partial_line(can_mount: bool) -> None:
    if not can_mount:
        pytest.skip("needs mount rights (see the file-size limit test below)")
    tmp = Path(tempfile.mkdtemp(prefix="chit-full-"))
    disk = tmp / "disk"
    disk.mkdir()
    assert _mount("-t", "tmpfs", "-o", "size=512k", "tmpfs", str(disk))
    try:
        ctx, workdir = _shared_store(disk)
        filler = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)  # fill every free block
        try:
            while True:
                os.write(filler, b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == 28  # ENOSPC
        finally:
            os.close(filler)
        full = Refusing(ctx, workdir, "no space left on device", [])
        before = tree_digest(ctx.home)
        big = ("a long reply " * 8000).encode()  # needs new blocks, so it hits the full disk part way
        for args in FULL_DISK_WRITES:
            values = {**ctx.ids, "FILE": str(ctx.tmp / "input.json")}
            argv = [a.format(**values) for a in args]
            env = {**os.environ, "CHIT_HOME": str(ctx.home)}
            env.pop("CHIT_DEBUG", None)
            proc = forkserver.run_chit(argv, stdin=big, cwd=workdir, env=env, timeout=60)
            result = Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())
            check(result, 1, full.reason)
            assert tree_digest(ctx.home) == before, f"{args}: the store changed"
        assert [not_torn for not_torn in ctx.api.get(ctx.ids["MAIN"]).issues] == []
        assert full.run("show", "{MAIN}").code == 0
    finally:
        subprocess.run(["umount", str(disk)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


LIMITED_WRITER = """
import resource, sys
from chit.cli.main import main
limit = int(sys.argv.pop(1))
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
main()
"""


def test_a_file_size_limit_refuses_a_big_append_and_leaves_no_partial_line(ctx: Ctx, workdir: Path) -> None:
    """Where no file system can be mounted: RLIMIT_FSIZE makes write() fail
    part way (EFBIG), as a full disk would."""
    before = tree_digest(ctx.home)
    size = ctx.path().stat().st_size
    proc = subprocess.run([sys.executable, "-c", LIMITED_WRITER, str(size + 1000), "append", ctx.ids["MAIN"], "-"],
                          input=b"x" * 100_000, capture_output=True, cwd=workdir, timeout=60)
    check(Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode()), 1, "file too large")
    assert tree_digest(ctx.home) == before
