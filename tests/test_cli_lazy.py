"""Each run builds only the command it runs; the result must be the same
command as in the full app (same options, same help)."""

from __future__ import annotations

import pytest
from typer.main import get_command

from chit.cli.app import build
from chit.cli.main import command_name

FULL = get_command(build()).commands  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(FULL))
def test_single_command_app_matches_the_full_one(name: str) -> None:
    single = get_command(build(only=name)).commands  # type: ignore[attr-defined]
    assert list(single) == [name]
    ours, theirs = single[name], FULL[name]
    assert [p.opts for p in ours.params] == [p.opts for p in theirs.params]
    assert ours.help == theirs.help


def test_unknown_command_falls_back_to_every_command() -> None:
    assert set(get_command(build(only="no-such")).commands) == set(FULL)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["ls", "--json"], "ls"),
        (["--json", "-p", "work", "show", "ab"], "show"),
        (["--project", "ls", "search", "x"], "search"),
        (["-p", "x"], None),
        (["--help", "ls"], None),
        ([], None),
        (["--json"], None),
    ],
)
def test_command_name_skips_global_options(args: list[str], name: str | None) -> None:
    assert command_name(args) == name
