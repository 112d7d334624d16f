"""`run_chit`: the tests' `python -m chit ARGS` as a real process forked
from a warm server (tests/forkserver_server.py) instead of a fresh
interpreter, or exec'd as before where a fork could not be faithful.

What is shared: the modules every `chit` command run through Typer imports
at start-up (typer and chit's entry modules) and chit's core with the
modules of the commands run most (never rich, prompt_toolkit, the HTTP
client, the REPL, providers, importers or exporters: the rule is in
tests/forkserver_server.py), imported once per test process by its
server. What is not: everything else. Each call is a new
process of its own, with its own pid, stdin, stdout and stderr (pipes, as
subprocess.run(capture_output=True) makes them), cwd and whole environment;
it runs chit/__main__.py as `-m` does and ends as a `chit` program does. The caller sees what subprocess.run would give: the exit
code (minus the signal for a child killed by one), the bytes of stdout and
stderr, TimeoutExpired after killing the child on expiry.

Invariants:
- A call is exec'd (today's fresh interpreter) whenever a fork would run
  with something a fresh start-up decides differently: a variable read by
  the interpreter, the C library or the preloaded modules at start-up
  (PYTHON*, LANG, LC_*, TZ, LD_*, TYPER_USE_RICH, TMPDIR, OPENSSL_*, ...) that differs from
  the server's; `--version` and `__complete`, which chit
  answers without importing typer; a cwd that does not exist (subprocess
  raises); resource limits other than the server's; a platform without
  fork, pidfd_open, fd passing or /proc's umask; a process other than the
  one that started the server. The umask is the caller's, sent along. CHIT_TEST_EXEC=1 in the
  environment execs every call.
- One server per test process and kind of stdin (a pipe, /dev/null),
  started on the first call and stopped at exit (or when this process
  dies: it ends at end of file on a pipe from this process).
- A server gone before it had a request (the connection refused, reset
  or broken while the request was sent) never forked for it: the call runs
  once in a new server, with a warning that says how the old one ended
  (pytest shows it in its summary).
- Shared between the forked children beyond the imports: the hash seed
  (str hashing, set order), as for children of any one Python process.
- The CPU of a forked child (the server reports it with its exit status)
  is counted here until the server is waited for: `unreaped_children_cpu()`
  plus this process's RUSAGE_CHILDREN is the CPU of all the `chit` calls
  it made, forked or exec'd, at any moment (tests/cpu_profile.py).
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import selectors
import shutil
import signal
import site
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

SERVER_PROGRAM = Path(__file__).with_name("forkserver_server.py")
CAN_FORK = hasattr(os, "fork") and hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")

# The environment the server starts with: what a test process has before any
# test changes it. A call whose start-up variables differ from it is exec'd.
BASELINE = dict(os.environ)

# (SQLite reads its temporary directories once, as the preloaded sqlite3 starts it)
_START_UP_NAMES = {"LANG", "LANGUAGE", "TZ", "TYPER_USE_RICH", "TERMINAL_WIDTH", "FORCE_TERMINAL", "GLIBC_TUNABLES", "TMPDIR", "SQLITE_TMPDIR"}
# (OpenSSL reads OPENSSL_CONF and its like once, as the preloaded hashlib starts it)
_START_UP_PREFIXES = ("PYTHON", "LC_", "LD_", "MALLOC_", "_TYPER_", "OPENSSL_")


def read_at_start_up(name: str) -> bool:
    """Whether the interpreter, the C library or a preloaded module reads
    variable `name` as the process starts (a forked child would keep the
    server's value). HOME too when Python adds the user's site directory."""
    return name in _START_UP_NAMES or name.startswith(_START_UP_PREFIXES) or (name == "HOME" and bool(site.ENABLE_USER_SITE))


def current_umask() -> int | None:
    """This process's umask, read without changing it (os.umask would set
    one for a moment, to every thread); None where /proc does not tell."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return None


def limits() -> list[tuple[int, int]]:
    """This process's resource limits (an exec'd child inherits them)."""
    return [resource.getrlimit(getattr(resource, name)) for name in dir(resource) if name.startswith("RLIMIT_")]


def forkable(args: list[str], stdin: bytes | None, cwd: Path | str | None, env: dict[str, str]) -> bool:
    if not CAN_FORK or env.get("CHIT_TEST_EXEC") == "1" or current_umask() is None:
        return False
    if any(limits() != server.limits for server in _servers.values()):
        return False
    if args[:1] == ["__complete"] or args == ["--version"]:
        return False
    if cwd is not None and not os.path.isdir(cwd):
        return False
    return all(env.get(name) == BASELINE.get(name) for name in {*env, *BASELINE} if read_at_start_up(name))


def run_chit(args: list[str], stdin: bytes | None = b"", cwd: Path | str | None = None, env: dict[str, str] | None = None,
             timeout: float = 60, umask: int | None = None) -> subprocess.CompletedProcess[bytes]:
    """`python -m chit ARGS` with `stdin` (None: /dev/null), as
    subprocess.run(capture_output=True, timeout=timeout) runs it; with
    `umask`, under that umask (else this process's)."""
    environment = dict(os.environ if env is None else env)
    command = [sys.executable, "-m", "chit", *args]
    server = _server("devnull" if stdin is None else "pipe") if forkable(args, stdin, cwd, environment) else None
    if server is None:
        preexec = None if umask is None else lambda: os.umask(umask)
        return subprocess.run(command, input=stdin, stdin=subprocess.DEVNULL if stdin is None else None, capture_output=True,
                              cwd=cwd, env=environment, timeout=timeout, preexec_fn=preexec)  # noqa: PLW1509
    directory = os.path.abspath(cwd if cwd is not None else os.getcwd())
    mask = current_umask() if umask is None else umask
    request: dict[str, object] = {"args": args, "cwd": directory, "env": environment, "umask": mask}
    try:
        code, out, err = server.run(request, stdin, command, timeout)
    except ServerGone as gone:  # the request never reached it, so nothing ran: a new server runs it
        warnings.warn(f"the fork server went away ({gone}); started again", stacklevel=2)
        server = _restart(server)
        code, out, err = server.run(request, stdin, command, timeout)
    return subprocess.CompletedProcess(command, code, out, err)


class ServerGone(ConnectionError):
    """The server closed the connection before it had the request: it never
    forked for it."""


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    lifetime: int  # the write end of the pipe whose end of file stops it
    directory: str
    owner: int  # the pid of the test process that started it
    limits: list[tuple[int, int]]  # its resource limits, its children's
    children_cpu: float = 0.0  # the user + system seconds of the children it reported

    @property
    def path(self) -> str:
        return os.path.join(self.directory, "s")

    def run(self, request: dict[str, object], stdin: bytes | None, command: list[str], timeout: float) -> tuple[int, bytes, bytes]:
        deadline = time.monotonic() + timeout
        child_in, stdin_w = os.pipe() if stdin is not None else (os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC), -1)
        out_r, child_out = os.pipe()
        err_r, child_err = os.pipe()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            try:
                try:
                    conn.connect(self.path)
                    _send(conn, request, [child_in, child_out, child_err])
                except (BrokenPipeError, ConnectionResetError, ConnectionRefusedError, FileNotFoundError) as error:
                    raise ServerGone(self.why_gone(error)) from error
                answers = _Answers(conn)
                pid = answers.next(max(deadline, time.monotonic() + 10))  # (sent as it forks: a timeout shorter than that still kills)
            except BaseException:
                for fd in (stdin_w, out_r, err_r):
                    if fd >= 0:
                        os.close(fd)
                raise
            finally:
                for fd in (child_in, child_out, child_err):
                    os.close(fd)
            if pid is None:
                raise RuntimeError(f"the fork server did not start `{' '.join(command)}`")
            out, err, timed_out = _communicate(stdin_w, out_r, err_r, stdin, deadline)
            if timed_out:
                os.kill(pid, signal.SIGKILL)  # not reaped yet: the server reaps it only once it has exited
                self.status(answers)  # as subprocess.run waits for the killed child
                raise subprocess.TimeoutExpired(command, timeout, output=out, stderr=err)
            code = self.status(answers)
            if code is None:
                raise RuntimeError(f"the fork server gave no exit status for `{' '.join(command)}`")
            return code, out, err

    def why_gone(self, error: OSError) -> str:
        """What the client saw, and the server's end if it has ended."""
        code = self.process.poll()
        if code is None:
            return f"{type(error).__name__} with the server still running"
        assert self.process.stderr is not None
        said = self.process.stderr.read().decode("utf-8", "replace").strip().splitlines()
        return f"{type(error).__name__}; the server ended with status {code}" + (f": {said[-1]}" if said else "")

    def status(self, answers: _Answers) -> int | None:
        """The child's exit status; its CPU time is added to the count."""
        fields = answers.line(None)
        if fields is None:
            return None
        code, cpu = fields.split()
        self.children_cpu += float(cpu)
        return int(code)


def _send(conn: socket.socket, request: dict[str, object], fds: list[int]) -> None:
    payload = json.dumps(request).encode()
    message = len(payload).to_bytes(8, "big") + payload
    sent = socket.send_fds(conn, [message], fds)
    conn.sendall(message[sent:])


class _Answers:
    """The server's answers on a connection, one a line: the child's pid,
    then its exit status and CPU seconds."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buffer = b""

    def next(self, deadline: float | None) -> int | None:
        line = self.line(deadline)
        return None if line is None else int(line)

    def line(self, deadline: float | None) -> bytes | None:
        while b"\n" not in self.buffer:
            self.conn.settimeout(None if deadline is None else max(0.001, deadline - time.monotonic()))
            chunk = self.conn.recv(4096)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line


def _communicate(stdin_w: int, out_r: int, err_r: int, data: bytes | None, deadline: float) -> tuple[bytes, bytes, bool]:
    """Write `data` to the child's stdin (-1: none, /dev/null) while reading
    its stdout and stderr to their ends (no deadlock on large output either
    way). Returns the output and whether the deadline came first. Closes
    the descriptors."""
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    offset = 0
    with selectors.DefaultSelector() as selector:
        selector.register(out_r, selectors.EVENT_READ)
        selector.register(err_r, selectors.EVENT_READ)
        if data:
            os.set_blocking(stdin_w, False)
            selector.register(stdin_w, selectors.EVENT_WRITE)
        elif stdin_w >= 0:
            os.close(stdin_w)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for key, _ in selector.select(remaining):
                fd = int(key.fd)
                if fd == stdin_w:
                    assert data is not None
                    try:
                        offset += os.write(fd, data[offset : offset + 65536])
                    except BrokenPipeError:  # the child ended without reading it all, as subprocess lets it
                        offset = len(data)
                    if offset >= len(data):
                        selector.unregister(fd)
                        os.close(fd)
                    continue
                chunk = os.read(fd, 65536)
                if chunk:
                    chunks[fd].append(chunk)
                else:
                    selector.unregister(fd)
                    os.close(fd)
        timed_out = bool(selector.get_map())
        for key in list(selector.get_map().values()):
            os.close(int(key.fd))
    return b"".join(chunks[out_r]), b"".join(chunks[err_r]), timed_out


_lock = threading.Lock()
_servers: dict[str, Server] = {}  # by the kind of stdin its children get: "pipe" or "devnull"


def unreaped_children_cpu() -> float:
    """The CPU seconds of this process's forked calls that its
    RUSAGE_CHILDREN does not count yet: those of its running servers (a
    stopped one has been waited for, with all its children)."""
    with _lock:
        return sum(server.children_cpu for server in _servers.values() if server.owner == os.getpid())


def _server(kind: str) -> Server | None:
    """This test process's server for `kind`, started on first use; None in
    a process forked from the one that started it (not its own)."""
    with _lock:
        if kind not in _servers:
            if not _servers:
                atexit.register(stop)
            _servers[kind] = _start(kind)
        server = _servers[kind]
        return server if server.owner == os.getpid() else None


def _start(kind: str) -> Server:
    directory = tempfile.mkdtemp(prefix="chit-fork-")
    lifetime_r, lifetime_w = os.pipe()
    try:
        process = subprocess.Popen([sys.executable, str(SERVER_PROGRAM), os.path.join(directory, "s"), str(lifetime_r)], cwd=directory,
                                   env=BASELINE, stdin=subprocess.DEVNULL if kind == "devnull" else subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=[lifetime_r])
    finally:
        os.close(lifetime_r)
    assert process.stdout is not None and process.stderr is not None
    if process.stdout.readline() != b"ready\n":
        process.wait()
        os.close(lifetime_w)
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError("the fork server did not start: " + process.stderr.read().decode("utf-8", "replace"))
    return Server(process, lifetime_w, directory, os.getpid(), limits())


def _restart(server: Server) -> Server:
    """A new server in place of one that went away."""
    with _lock:
        kind = next(kind for kind, known in _servers.items() if known is server)
        _servers[kind] = _start(kind)
        fresh = _servers[kind]
    _stop(server)
    return fresh


def stop() -> None:
    """Ends this process's servers (end of file on their lifetime pipe)."""
    with _lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        if server.owner == os.getpid():
            _stop(server)


def _stop(server: Server) -> None:
    process = server.process
    os.close(server.lifetime)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    shutil.rmtree(server.directory, ignore_errors=True)
