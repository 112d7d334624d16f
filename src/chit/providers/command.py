"""The command provider: any local program as a model.

Invariants: the program is run from an argument list, never through a
shell unless the model's config says `shell = true`; it gets
`{"model": ..., "messages": [{"role", "content"}, ...]}` as JSON on stdin
and its stdout, decoded as UTF-8 as it arrives, is the reply; a non-zero
exit is a `ProviderError` naming the program and its last stderr line;
closing the stream early, or the model's `deadline` passing, kills the
program. The conversation is written from a thread, so a program that
never reads it, or prints before it reads, cannot block chit.
"""

from __future__ import annotations

import codecs
import os
import select
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import IO

import orjson

from chit.config import ModelSpec
from chit.providers import Conversation, ProviderError

MAX_ERRORS = 64 * 1024  # the end of the program's stderr that is read for its last line


class CommandProvider:
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    def _argv(self) -> list[str] | str:
        if self.spec.shell:
            return " ".join(self.spec.command)
        return list(self.spec.command)

    def _late(self, name: str) -> ProviderError:
        return ProviderError(f"model program {name} did not finish within the {self.spec.deadline:g}s deadline (the model's `deadline` setting or CHIT_DEADLINE)")

    def stream(self, messages: Conversation) -> Iterator[str]:
        name = self.spec.command[0] if self.spec.command else "?"
        ends = time.monotonic() + self.spec.deadline
        payload = orjson.dumps({"model": self.spec.model, "messages": messages})
        errors_file = tempfile.TemporaryFile()  # a file, not a pipe: a chatty stderr cannot block the program
        try:
            proc = subprocess.Popen(
                self._argv(),
                shell=self.spec.shell,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors_file,
            )
        except FileNotFoundError:
            errors_file.close()
            raise ProviderError(f"model program not found: {name}") from None
        except PermissionError:
            errors_file.close()
            raise ProviderError(f"model program is not executable: {name}") from None
        assert proc.stdin is not None and proc.stdout is not None
        writer = threading.Thread(target=_feed, args=(proc.stdin, payload), daemon=True)
        writer.start()
        try:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            fd = proc.stdout.fileno()
            while True:
                if not select.select([fd], [], [], max(0.0, ends - time.monotonic()))[0]:
                    raise self._late(name)
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                text = decoder.decode(chunk)
                if text:
                    yield text
            tail = decoder.decode(b"", final=True)
            if tail:
                yield tail
            try:
                status = proc.wait(max(0.0, ends - time.monotonic()))
            except subprocess.TimeoutExpired:  # it closed its output but goes on running
                raise self._late(name) from None
            if status != 0:
                raise ProviderError(f"model program {name} exited with status {status}{_last_line(errors_file)}")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            writer.join(5)  # the program is gone: its stdin is a broken pipe now
            proc.stdout.close()
            errors_file.close()


def _feed(stdin: IO[bytes], payload: bytes) -> None:
    try:
        stdin.write(payload)
    except OSError:
        pass  # the program did not read its input, or was killed; its exit status tells
    finally:
        try:
            stdin.close()
        except OSError:
            pass  # (the same, found while flushing)


def _last_line(errors_file: IO[bytes]) -> str:
    """': <the last line the program wrote to stderr>', or ''."""
    size = errors_file.seek(0, os.SEEK_END)
    errors_file.seek(max(0, size - MAX_ERRORS))
    errors = errors_file.read().decode("utf-8", "replace").strip().splitlines()
    return f": {errors[-1][:200]}" if errors else ""
