"""The fork server behind tests/forkserver.py: a Python that has imported
what every `chit` command run through Typer imports at start-up, and then
forks one child per request, each child becoming `python -m chit ARGS`.

    python forkserver_server.py SOCKET_PATH LIFETIME_FD

Invariants:
- Before the first request this process imports only the interpreter's own
  start-up modules (with runpy, which `-m` imports), chit's start-up set
  (chit.cli.main and chit.render.environment, then typer and chit's app
  with the collector paused and frozen, as chit.cli.main does on a first
  run), chit's core (CORE: the API, service, index and store modules,
  sqlite3, hashlib, unicodedata and CPython's SHA-256) and the modules of
  the commands the tests run most (COMMAND_MODULES, with typer's help
  option), then collected and frozen, and then its own plumbing (socket,
  ...), which a child forgets. Preloading them saves a third of a short
  command's CPU. hashlib starts OpenSSL, which reads OPENSSL_* then: a
  call that sets one is exec'd (tests/forkserver.py).
- Never preloaded: rich, prompt_toolkit, pygments, the HTTP client,
  chit.repl, chit.providers, chit.render's human output, chit.importers,
  chit.exporters (tests/test_forkserver.py checks it). A command that
  imports one pays for it under the fork as for a user, and the tests that
  a read command does not import them run `chit` in a process of their own.
- What a wider preload could hide, and the test that keeps it visible
  (tests/test_import_rules.py): a module using a submodule as an attribute
  having imported only its package (`chit.store.codec.x` after `import
  chit.store`); a module reading the environment, the cwd, the clock or the
  terminal at import (it would have read the server's, not the call's); a
  circular import that succeeds only in the server's order (each preloaded
  module is imported first in a fresh process).
- The server never runs chit code itself and starts no thread: each child
  is forked from the same state, the one the imports left.
- A child closes every descriptor the server holds, takes the client's
  three descriptors as 0, 1 and 2, its cwd, umask and whole environment,
  forgets the plumbing modules, restores SIGINT's default handler and then
  runs chit/__main__.py as `-m` does. It ends as a `chit` program does
  (chit.cli.main: streams flushed, then the interpreter's shutdown or, when
  that would only free memory, os._exit): no frame of the server between
  the fork and the top of the program catches or cleans anything.
- The server answers each request with the child's pid at once, then with
  its wait status as subprocess reports it (exit code, or minus the signal)
  and the child's CPU time (user + system seconds, from os.wait4): the
  client's process is not its parent, so its own rusage never sees it.
- Its stdin, stdout and stderr are of the kinds its children's are (a
  pipe or /dev/null for stdin, pipes for the others): Python decided at
  start-up how to wrap them (sys.stdin and others), and a child keeps
  those wrappers over the descriptors it is given.
- It ends when LIFETIME_FD (a pipe) reaches end of file: the client closed
  it, or died.
"""

import os
import signal
import sys

MAX_FDS = 3
HEADER = 8  # a request: its length in 8 bytes, then the request as JSON


def preload(socket_dir: str) -> None:
    """chit's start-up imports, resolved as from an empty directory (a real
    run's sys.path[0] is its cwd, not this program's folder)."""
    sys.path[0] = socket_dir
    import runpy  # noqa: F401  (`python -m` has it before it runs chit)

    import chit.cli.main as entry
    import chit.render.environment  # noqa: F401  (run() imports it before the app)

    with entry._start_up_imports():
        import typer  # noqa: F401
        import typer.main  # noqa: F401

        import chit.cli.app  # noqa: F401
        import chit.cli.context  # noqa: F401
        import chit.render.result  # noqa: F401
    preload_core()


# chit's core: what a command that reads or writes the store imports (the
# API, service, index and store modules, sqlite3; hashlib and the index's
# fold where a session file changed, unicodedata where text is checked),
# and the modules of the commands the tests run most, with their helpers. Never rich,
# prompt_toolkit, the HTTP client, chit.repl, chit.providers, chit.render's
# human output, chit.importers nor chit.exporters (so not cmd_export).
CORE = ("sqlite3", "hashlib", "unicodedata", "chit.api", "chit.config", "chit.index.db", "chit.index.fold", "chit.index.refs",
        "chit.index.search", "chit.index.relatives", "chit.index.usage", "chit.service.catchup", "chit.service.lifecycle",
        "chit.service.lineage", "chit.service.ordering", "chit.service.project_moves", "chit.service.sessions", "chit.service.stats",
        "chit.store.compaction", "chit.store.emptied", "chit.store.fold")
COMMAND_MODULES = ("chit.cli.cmd_read", "chit.cli.cmd_write", "chit.cli.cmd_admin", "chit.cli.cmd_lineage", "chit.cli.catchup",
                   "chit.cli.parse", "chit.cli.progress", "typer._click.decorators")
# CPython's own SHA-256, which chit.store.projects imports by name for every project's slug (_sha2 from 3.12)
BUILT_IN_SHA256 = ("_sha2", "_sha256")


def preload_core() -> None:
    """CORE and COMMAND_MODULES imported (by the import statement's own
    machinery, so -X importtime lists them), then their objects moved out
    of the collector's sight, as the start-up set's are."""
    import gc

    for name in CORE + COMMAND_MODULES:
        __import__(name)
    for name in BUILT_IN_SHA256:
        try:
            __import__(name)
            break
        except ImportError:
            continue
    gc.collect()
    gc.freeze()


signal.signal(signal.SIGINT, signal.SIG_IGN)  # a ^C in the terminal stops the tests, and then this by end of file
preload(os.path.dirname(sys.argv[1]))
_PRELOADED = set(sys.modules)

import json  # noqa: E402
import select  # noqa: E402
import socket  # noqa: E402

# what only the server needs: a child forgets them, as if never imported
_PLUMBING = set(sys.modules) - _PRELOADED


def receive(conn: socket.socket) -> tuple[dict[str, object], list[int]]:
    """One request: a length, a JSON document and the client's three fds."""
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, MAX_FDS)
    while len(data) < HEADER or len(data) < HEADER + int.from_bytes(data[:HEADER], "big"):
        more = conn.recv(65536)
        if not more:
            for fd in fds:
                os.close(fd)
            raise ConnectionError("request cut short")
        data += more
    return json.loads(data[HEADER:]), fds


def become_chit(request: dict[str, object], fds: list[int], sockets: list[socket.socket], pidfds: list[int]) -> None:
    """In the child: this process turns into `python -m chit ARGS`. Raises
    SystemExit (chit's exit) and never returns into the server."""
    for sock in sockets:  # detached first: a socket object closes its number when freed, by then maybe chit's file
        os.close(sock.detach())
    for fd in pidfds:
        os.close(fd)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.umask(int(str(request["umask"])))
    os.chdir(str(request["cwd"]))
    environ = request["env"]
    assert isinstance(environ, dict)
    os.environ.clear()
    os.environ.update(environ)
    args = request["args"]
    assert isinstance(args, list)
    sys.path[0] = os.getcwd()
    sys.argv = ["-m", *args]
    sys.orig_argv = [sys.executable, "-m", "chit", *args]
    for name in _PLUMBING:
        sys.modules.pop(name, None)
    import runpy

    runpy.run_module("chit", run_name="__main__", alter_sys=True)
    sys.exit(0)  # chit's main always exits; a module run to its end exits 0, as under -m


def answer(conn: socket.socket, line: bytes) -> None:
    try:
        conn.sendall(line + b"\n")
    except OSError:  # the client went away (it gave up): nothing to tell
        pass


def serve(listener: socket.socket, lifetime: int) -> None:
    waiting: dict[int, tuple[int, socket.socket]] = {}  # pidfd: (pid, connection)
    while True:
        ready, _, _ = select.select([listener.fileno(), lifetime, *waiting], [], [])
        if lifetime in ready and not os.read(lifetime, 1):
            return
        for pidfd in [fd for fd in ready if fd in waiting]:
            pid, conn = waiting.pop(pidfd)
            _, status, usage = os.wait4(pid, 0)
            os.close(pidfd)
            answer(conn, b"%d %.6f" % (os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime))
            conn.close()
        if listener.fileno() in ready:
            conn, _ = listener.accept()
            try:
                request, fds = receive(conn)
            except (OSError, ValueError):
                conn.close()
                continue
            pid = os.fork()
            if pid == 0:
                become_chit(request, fds, [listener, conn, *(c for _, c in waiting.values())], [lifetime, *waiting])
            for fd in fds:
                os.close(fd)
            waiting[os.pidfd_open(pid)] = (pid, conn)
            answer(conn, b"%d" % pid)


def main() -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sys.argv[1])
    listener.listen(64)
    os.write(1, b"ready\n")
    serve(listener, int(sys.argv[2]))


main()
