"""Children to kill, forked from a small warm process instead of the test
process.

A kill test forks hundreds of children. Forked from a pytest worker (every
test module collected, about 100 MB), each fork copied the worker's page
tables and each killed child tore them down again: 5.0 ms of CPU for a fork
and an exit, against 1.7 ms from a process holding chit alone. `Launcher`
starts `python kill_launcher.py` once per test; it imports the module of
the children's function and chit's core (the chit modules the test process
has loaded, without the UI's), then forks one child per `start`.

Invariants:
- A child runs `function(*args, **kwargs)` (a passed descriptor among the
  keyword arguments) and ends with os._exit: it never returns into the launcher's loop. It
  holds no object of the test process: only what the import made.
- The launcher waits for a child only when asked (`wait`): until then the
  child's pid cannot be reused, so the test kills it by pid safely.
- The CPU of the children is counted in the test process's
  RUSAGE_CHILDREN once the launcher has ended (`close`, which waits for it).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from typing import Any

# chit's UI: never loaded by a child that works through the API
_NOT_PRELOADED = ("chit.cli", "chit.repl", "chit.render", "chit.providers", "chit.importers", "chit.exporters")
_LAZY_STDLIB = ("sqlite3", "subprocess", "hashlib", "locale")  # what chit's core imports when first used


class Launcher:
    """Forks children running `module.function` from one warm process."""

    def __init__(self, module: str, function: str) -> None:
        ours, theirs = socket.socketpair()
        core = sorted(n for n in sys.modules if n.startswith("chit.") and not n.startswith(_NOT_PRELOADED))
        self.process = subprocess.Popen([sys.executable, __file__, str(theirs.fileno()), module, function, *_LAZY_STDLIB, *core],
                                        pass_fds=[theirs.fileno()])
        theirs.close()
        self.conn = ours
        self.buffer = b""
        assert self._line() == "ready", "the launcher did not start"

    def start(self, *args: Any, pass_fd: tuple[str, int] | None = None, **kwargs: Any) -> int:
        """Fork a child running function(*args, **kwargs), with `pass_fd`
        (name, descriptor) a descriptor of this process given as that
        keyword argument; its pid."""
        request = {"args": args, "kwargs": kwargs, "fd_name": pass_fd and pass_fd[0]}
        socket.send_fds(self.conn, [json.dumps(request).encode() + b"\n"], [] if pass_fd is None else [pass_fd[1]])
        return int(self._line())

    def wait(self, pid: int) -> int:
        """The wait status of the child `pid` (waited for by the launcher)."""
        self.conn.sendall(json.dumps({"wait": pid}).encode() + b"\n")
        return int(self._line())

    def close(self) -> None:
        self.conn.close()  # end of file: the launcher ends
        self.process.wait(timeout=30)

    def __enter__(self) -> Launcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _line(self) -> str:
        while b"\n" not in self.buffer:
            chunk = self.conn.recv(4096)
            if not chunk:
                raise RuntimeError("the launcher ended")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()


def serve(conn: socket.socket, function: Any) -> None:
    buffer = b""
    while True:
        data, fds, _, _ = socket.recv_fds(conn, 65536, 1)
        if not data:
            return
        buffer += data
        while b"\n" in buffer:
            line, _, buffer = buffer.partition(b"\n")
            request = json.loads(line)
            if "wait" in request:
                _, status = os.waitpid(request["wait"], 0)
                conn.sendall(b"%d\n" % status)
                continue
            pid = os.fork()
            if pid == 0:
                try:
                    conn.close()
                    passed = {request["fd_name"]: fds[0]} if fds else {}
                    function(*request["args"], **request["kwargs"], **passed)
                finally:
                    os._exit(1)
            for fd in fds:
                os.close(fd)
            conn.sendall(b"%d\n" % pid)


def main() -> None:
    import gc
    import importlib

    fd, module, name, *preload = sys.argv[1:]
    for each in preload:
        importlib.import_module(each)
    function = getattr(importlib.import_module(module), name)
    gc.collect()
    gc.freeze()  # a child's collections leave the preloaded objects (and their pages) alone
    conn = socket.socket(fileno=int(fd))
    conn.sendall(b"ready\n")
    serve(conn, function)


if __name__ == "__main__":
    main()
