"""`chit stats` through the real program: figures, groups, window, cost, chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chit.api import Chit
from test_filters import OLD, _aged


def _usage(api: Chit) -> dict[str, str]:
    one = api.create(title="One", make_current=False)
    api.append(one.id, "user", "q1")
    api.append(one.id, "assistant", "a1", model="big", tokens=(1_000_000, 500_000))
    api.append(one.id, "user", "q2")
    api.append(one.id, "assistant", "a2", model="small", tokens=(2000, 100))
    two = api.create(title="Two", make_current=False)
    api.append(two.id, "user", "q")
    api.append(two.id, "assistant", "a", model="small", tokens=(3000, None))
    old = api.create(title="Old", make_current=False)
    api.append(old.id, "user", "long ago")
    api.append(old.id, "assistant", "then", model="big", tokens=(10, 10))
    return {"one": one.id, "two": two.id, "old": _aged(api, old, OLD)}


def test_stats_totals_and_days(api: Chit, cli: Any) -> None:
    _usage(api)
    data = cli("stats", "--json").json()
    assert data["total"] == {"sessions": 3, "turns": 4, "messages": 8, "tokens_in": 1_005_010, "tokens_out": 500_110, "cost": None}
    assert data["days"][0] == {"day": "2020-01-02", "messages": 2}
    assert sum(d["messages"] for d in data["days"]) == 8
    assert data["groups"] == [] and data["by"] is None


def test_stats_by_model_with_prices_from_the_config(api: Chit, cli: Any, home: Path) -> None:
    _usage(api)
    (home / "config.toml").write_text('[prices]\nbig = { input = 2.0, output = 10.0 }\nsmall = { input = 1, output = 4 }\n')
    data = cli("stats", "--by", "model", "--json").json()
    groups = {g["key"]: g for g in data["groups"]}
    assert set(groups) == {"big", "small", "-"}
    assert (groups["big"]["sessions"], groups["big"]["messages"], groups["big"]["tokens_in"]) == (2, 2, 1_000_010)
    assert groups["big"]["cost"] == round(2.0 + 5.0 + (10 * 2.0 + 10 * 10.0) / 1e6, 6)
    assert groups["small"]["cost"] == round((5000 * 1 + 100 * 4) / 1e6, 6)
    assert groups["-"]["cost"] is None and groups["-"]["turns"] == 4
    assert data["total"]["cost"] == round(groups["big"]["cost"] + groups["small"]["cost"], 6)


def test_stats_since_and_by_day_and_project(api: Chit, cli: Any) -> None:
    _usage(api)
    recent = cli("stats", "--since", "1d", "--json").json()
    assert (recent["total"]["sessions"], recent["total"]["messages"]) == (2, 6)
    by_day = cli("stats", "--by", "day", "--until", "2021-01-01", "--json").json()
    assert [(g["key"], g["sessions"]) for g in by_day["groups"]] == [("2020-01-02", 1)]
    by_project = cli("stats", "--by", "project", "--json").json()
    assert [(g["key"], g["sessions"]) for g in by_project["groups"]] == [("proj", 3)]


def test_stats_human_output_draws_a_bar_per_day(api: Chit, cli: Any) -> None:
    _usage(api)
    shown = cli("stats")
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert lines[0].startswith("total: 3 sessions · 4 turns · 8 messages · tokens 1,005,010 in / 500,110 out")
    bars = [line for line in lines if "█" in line]
    assert len(bars) == 2 and bars[0].startswith("2020-01-02  ") and bars[0].endswith(" 2")
    assert bars[1].count("█") == 30 and bars[0].count("█") == round(30 * 2 / 6)


def test_stats_bad_input(api: Chit, cli: Any) -> None:
    _usage(api)
    bad = cli("stats", "--by", "colour")
    assert bad.code == 5 and bad.out == "" and "unknown grouping" in bad.err
    late = cli("stats", "--since", "tomorrow")
    assert late.code == 5 and late.out == ""
    empty = cli("stats", "--since", "2999-01-01", "--json").json()
    assert empty["total"]["sessions"] == 0 and empty["days"] == []
