"""Regular expressions compiled on first use, not at import.

Compiling a regular expression costs 50 to 300 µs; twenty of them
compiled when their modules load were about 2 ms of every command's
start-up, most of them never used by the command. A module declares
`NAME = LazyPattern(r"...")` where it would write `re.compile`, and calls
it the same way (`NAME.match(text)`): the pattern is compiled by its first
call and kept.

Invariant: a LazyPattern's methods answer as the compiled pattern's do
(same arguments, same results); a call costs one more Python call
(about 0.1 µs).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from typing import Any, AnyStr, Generic, overload

#: what a bytes pattern reads (as re.Pattern[bytes] does, but memoryview: chit passes none)
Bytes = bytes | bytearray


class LazyPattern(Generic[AnyStr]):
    """`re.compile(source, flags)`, compiled when first used."""

    __slots__ = ("source", "flags", "_compiled")

    def __init__(self, source: AnyStr, flags: int = 0) -> None:
        self.source: AnyStr = source
        self.flags = flags
        self._compiled: re.Pattern[AnyStr] | None = None

    def compiled(self) -> re.Pattern[AnyStr]:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self.source, self.flags)
        return compiled

    @overload
    def match(self: LazyPattern[str], string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None: ...
    @overload
    def match(self: LazyPattern[bytes], string: Bytes, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[bytes] | None: ...
    def match(self, string: Any, pos: int = 0, endpos: int = sys.maxsize) -> Any:
        return self.compiled().match(string, pos, endpos)

    @overload
    def fullmatch(self: LazyPattern[str], string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None: ...
    @overload
    def fullmatch(self: LazyPattern[bytes], string: Bytes, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[bytes] | None: ...
    def fullmatch(self, string: Any, pos: int = 0, endpos: int = sys.maxsize) -> Any:
        return self.compiled().fullmatch(string, pos, endpos)

    @overload
    def search(self: LazyPattern[str], string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None: ...
    @overload
    def search(self: LazyPattern[bytes], string: Bytes, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[bytes] | None: ...
    def search(self, string: Any, pos: int = 0, endpos: int = sys.maxsize) -> Any:
        return self.compiled().search(string, pos, endpos)

    @overload
    def finditer(self: LazyPattern[str], string: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match[str]]: ...
    @overload
    def finditer(self: LazyPattern[bytes], string: Bytes, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match[bytes]]: ...
    def finditer(self, string: Any, pos: int = 0, endpos: int = sys.maxsize) -> Any:
        return self.compiled().finditer(string, pos, endpos)

    def findall(self, string: AnyStr, pos: int = 0, endpos: int = sys.maxsize) -> list[Any]:
        return self.compiled().findall(string, pos, endpos)

    def split(self, string: AnyStr, maxsplit: int = 0) -> list[AnyStr | Any]:
        return self.compiled().split(string, maxsplit)

    def sub(self, repl: AnyStr | Callable[[re.Match[AnyStr]], AnyStr], string: AnyStr, count: int = 0) -> AnyStr:
        return self.compiled().sub(repl, string, count)
