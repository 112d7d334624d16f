"""Pausing Python's cyclic garbage collector while chit makes many objects
that hold no cycles.

The collector runs each time some hundreds of containers were made since
its last run, and walks every container still young; a command that
imports its modules (tens of thousands of functions, classes, dicts) or
reads a long session (a record, an entry and a `Message` per line) makes
it run again and again over objects it can never free.

Invariant: a pause ends as it began: the collector is enabled again only
if it was enabled before (pauses nest); nothing is ever left disabled.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused(freeze: bool = False) -> Iterator[None]:
    """The collector paused for the block. With `freeze`, what exists when
    the block ends is moved out of its sight for good (`gc.freeze`): for
    objects that live as long as the process, such as imported modules."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        gc.enable()
