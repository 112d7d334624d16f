"""git, run the one way chit runs it.

Invariants:
- every git command runs with a fixed environment: no user or system
  configuration (so no pager, hook path, signing or alias of the user's
  changes what a sync does), a fixed author and committer, no prompt for
  a password (a remote that needs one fails at once instead of waiting on
  a terminal nobody watches), the C locale (messages chit reads are the
  untranslated ones);
- every git command carries the mirror's settings on its command line (no
  background gc or maintenance racing a run that is killed, what is
  committed fsynced), so they hold in every mirror without a `git config`
  to write them;
- git missing, a timeout, or a failing command is a `SyncError` with one
  line saying what failed (git's last line of output), never a traceback;
- a git command started while the sync lock is held (`holding`) holds it
  too, by the descriptor it inherits: a git outlives a `chit sync` killed
  with SIGKILL, and until it ends the next sync waits instead of removing
  its lock files and running git beside it;
- a push can take minutes for a whole store: `run_telling` passes git's
  own counts on as they come, and stops git only when no output came for
  the timeout (not for the whole push), its output otherwise read as
  `run` reads it.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chit.errors import ChitError, ExitStatus

#: How long one git command may take (a fetch or push over a slow link).
GIT_TIMEOUT = 300.0
#: a count in git's progress output: "Writing objects:  45% (2250/5000)"
GIT_COUNT = re.compile(r"([A-Za-z][A-Za-z ]*[a-z]):\s+\d+% \((\d+)/(\d+)\)")
#: the mirror's settings, given to each git command (module docstring)
SETTINGS = ("-c", "core.fsync=committed", "-c", "gc.auto=0", "-c", "maintenance.auto=false")
AUTHOR = "chit"
EMAIL = "chit@localhost"


class SyncError(ChitError):
    """git is missing, or a git command (often the remote) failed."""

    code = "SYNC_FAILED"
    exit_status = ExitStatus.ERROR


def git_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every git command of chit runs with."""
    env = dict(os.environ if base is None else base)
    for name in [n for n in env if n.startswith("GIT_") and n not in ("GIT_SSH", "GIT_SSH_COMMAND")]:
        del env[name]  # a GIT_DIR or GIT_WORK_TREE of the caller would point git elsewhere
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME=AUTHOR,
        GIT_AUTHOR_EMAIL=EMAIL,
        GIT_COMMITTER_NAME=AUTHOR,
        GIT_COMMITTER_EMAIL=EMAIL,
        GIT_TERMINAL_PROMPT="0",
        GIT_PAGER="cat",
        PAGER="cat",
        GIT_EDITOR="true",
        GIT_MERGE_AUTOEDIT="no",
        LC_ALL="C",
        LANGUAGE="C",
    )
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return env


@dataclass(frozen=True)
class Done:
    """A finished git command: its exit status and output."""

    status: int
    out: str
    err: str

    @property
    def ok(self) -> bool:
        return self.status == 0

    def last_line(self) -> str:
        lines = [line.strip() for line in (self.err or self.out).splitlines() if line.strip()]
        return lines[-1] if lines else f"exit status {self.status}"


class Git:
    """git commands in one repository (its work tree `repo`)."""

    def __init__(self, repo: Path, timeout: float = GIT_TIMEOUT) -> None:
        self.repo = repo
        self.timeout = timeout
        self.env = git_environment()
        self.inherited: tuple[int, ...] = ()  # descriptors every git is given (the sync lock's)

    @contextmanager
    def holding(self, lock_fd: int) -> Iterator[None]:
        """Every git started meanwhile holds the lock on `lock_fd` too."""
        self.inherited = (lock_fd,)
        try:
            yield
        finally:
            self.inherited = ()

    def run(self, *args: str, check: bool = True, what: str | None = None, feed: str | None = None) -> Done:
        """Run `git ARGS` in the repository (`feed` on its stdin); with
        `check`, a failure raises SyncError naming `what` (else the command)."""
        try:
            completed = subprocess.run(
                ["git", *SETTINGS, *args], cwd=self.repo, env=self.env, capture_output=True, text=True, errors="replace",
                timeout=self.timeout, check=False, input=feed, stdin=subprocess.DEVNULL if feed is None else None,
                pass_fds=self.inherited,
            )
        except FileNotFoundError:
            raise SyncError("git is not installed (or not on PATH); chit sync needs it") from None
        except subprocess.TimeoutExpired:
            raise SyncError(f"git {args[0]} took longer than {self.timeout:g}s; is the remote reachable?") from None
        except OSError as exc:
            raise SyncError(f"cannot run git: {exc.strerror}") from None
        done = Done(completed.returncode, completed.stdout, completed.stderr)
        if check and not done.ok:
            raise SyncError(f"{what or 'git ' + args[0]} failed: {done.last_line()}")
        return done

    def run_telling(self, *args: str, tell: Callable[[str, int, int], None]) -> Done:
        """Run `git ARGS` (with `--progress` among them), telling `tell` each
        count git reports as (what, done, total), e.g. ("writing objects",
        2250, 5000); a failure is the caller's to judge, as with `check=False`.
        It is stopped only after `timeout` seconds without any output: a
        whole store's first push can take longer than that, counting on."""
        try:
            proc = subprocess.Popen(
                ["git", *SETTINGS, *args], cwd=self.repo, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                pass_fds=self.inherited,
            )
        except FileNotFoundError:
            raise SyncError("git is not installed (or not on PATH); chit sync needs it") from None
        except OSError as exc:
            raise SyncError(f"cannot run git: {exc.strerror}") from None
        assert proc.stdout is not None and proc.stderr is not None
        err_fd = proc.stderr.fileno()
        output = {proc.stdout.fileno(): bytearray(), err_fd: bytearray()}
        reading = set(output)
        deadline = time.monotonic() + self.timeout
        with proc:
            while reading:
                left = deadline - time.monotonic()
                if left <= 0:
                    proc.kill()
                    raise SyncError(f"git {args[0]} made no progress for {self.timeout:g}s; is the remote reachable?")
                ready, _, _ = select.select(list(reading), [], [], min(left, 1.0))
                for fd in ready:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        reading.discard(fd)
                        continue
                    output[fd] += chunk
                    deadline = time.monotonic() + self.timeout  # a long push that goes on is not stopped
                    if fd == err_fd:
                        _tell_last(output[fd], tell)
            status = proc.wait()
        out, err = (bytes(data).decode("utf-8", "replace") for data in output.values())
        return Done(status, out, err)

    def head(self) -> str | None:
        """The commit HEAD names, or None before the first commit."""
        return self.commits("HEAD")[0]

    def heads(self, branch: str) -> tuple[str | None, str | None]:
        """HEAD's commit and the last fetched commit of the remote's
        `branch` (each None when there is none), read by one git."""
        ours, theirs = self.commits("HEAD", f"refs/remotes/origin/{branch}")
        return ours, theirs

    def commits(self, *names: str) -> list[str | None]:
        """The commit each of `names` (HEAD, a ref) points to, None for one
        that names no commit: all asked of one `git cat-file`."""
        asked = [name for name in names if name and "\n" not in name and "\0" not in name]
        found: dict[str, str | None] = dict.fromkeys(names)
        if asked:
            listed = self.run("cat-file", "--batch-check", check=False, feed="".join(f"{name}^{{commit}}\n" for name in asked))
            for name, line in zip(asked, listed.out.splitlines() if listed.ok else []):
                parts = line.split()
                found[name] = parts[0] if len(parts) == 3 and parts[1] == "commit" else None
        return [found[name] for name in names]

    def blobs(self, commit: str, paths: list[str]) -> dict[str, bytes | None]:
        """The bytes of each of `paths` at `commit` (None for one it has no
        file at), all read by one `git cat-file --batch`."""
        found: dict[str, bytes | None] = dict.fromkeys(paths)
        asked = [path for path in paths if "\n" not in path]
        if not asked:
            return found
        try:
            completed = subprocess.run(
                ["git", *SETTINGS, "cat-file", "--batch"], cwd=self.repo, env=self.env, capture_output=True, timeout=self.timeout,
                input="".join(f"{commit}:{path}\n" for path in asked).encode(), check=False, pass_fds=self.inherited,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise SyncError(f"cannot read files from the sync repository: {exc}") from None
        out, at = completed.stdout, 0
        if completed.returncode != 0:
            failed = Done(completed.returncode, "", completed.stderr.decode("utf-8", "replace"))
            raise SyncError(f"cannot read files from the sync repository: {failed.last_line()}")
        for path in asked:
            end = out.find(b"\n", at)
            if end < 0:
                raise SyncError("cannot read files from the sync repository: git cat-file stopped short")
            header = out[at:end].split()
            at = end + 1
            if len(header) == 3 and header[2].isdigit():  # "<object> <type> <size>", else "<name> missing"
                size = int(header[2])
                if header[1] == b"blob":
                    found[path] = out[at : at + size]
                at += size + 1  # the object and the newline after it
        return found

    def changed(self, old: str | None, new: str) -> list[str]:
        """Files of commit `new` that differ from `old` (every file when
        `old` is None), as paths in the repository."""
        if old is None:
            listed = self.run("ls-tree", "-r", "--name-only", "-z", new)
        else:
            listed = self.run("diff", "--name-only", "--no-renames", "-z", old, new)
        return [name for name in listed.out.split("\0") if name]


def _tell_last(err: bytearray, tell: Callable[[str, int, int], None]) -> None:
    """The last count git wrote to stderr so far, to `tell`."""
    counts = GIT_COUNT.findall(bytes(err[-512:]).decode("ascii", "replace"))
    if counts:
        what, done, total = counts[-1]
        tell(what.strip().lower(), int(done), int(total))
