"""The garbage collector's pauses (chit.collector) end as they began, and
a command run in-process leaves it enabled (the REPL runs on after
start-up's paused imports)."""

from __future__ import annotations

import gc

import pytest

from chit import collector


def test_a_pause_ends_as_it_began() -> None:
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause does not end the outer one
    assert gc.isenabled()
    gc.disable()
    try:
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


def test_a_pause_ends_when_its_block_fails() -> None:
    with pytest.raises(ValueError), collector.paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_frozen_pause_moves_what_it_made_out_of_sight() -> None:
    before = gc.get_freeze_count()
    try:
        with collector.paused(freeze=True):
            made = [[n] for n in range(1000)]
        assert gc.get_freeze_count() >= before + len(made)
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_a_command_leaves_the_collector_enabled(cli_inproc, api) -> None:  # type: ignore[no-untyped-def]
    session = api.create(title="t")
    api.append(session.id, "user", "hello")
    for args in (["load", session.id, "--json"], ["show", session.id], ["ls"]):
        cli_inproc(*args)
        assert gc.isenabled(), args
