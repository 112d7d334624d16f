"""Counting the calls a piece of work makes to one function, by Python's
profiling hook: nothing in chit is replaced or wrapped."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


@contextmanager
def calls_of(function: Callable[..., Any]) -> Iterator[list[int]]:
    """`[n]`: the calls of `function` made meanwhile (read it after the block)."""
    count = [0]
    target = function.__code__

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code is target:
            count[0] += 1

    sys.setprofile(profile)
    try:
        yield count
    finally:
        sys.setprofile(None)
