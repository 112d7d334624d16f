"""`chit stats` through the real program: figures, groups, window, cost, chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chit.api import Chit
from chit.service.stats import Price
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


def _expected(api: Chit, since: str | None, until: str | None, by: str | None, prices: dict[str, Price]) -> dict[str, Any]:
    """The figures worked out here from every session as the API reads it."""
    total: dict[str, Any] = {"sessions": 0, "turns": 0, "messages": 0, "tokens_in": 0, "tokens_out": 0, "cost": None}
    groups: dict[str, dict[str, Any]] = {}
    days: dict[str, int] = {}
    for summary in api.list(all_projects=True):
        kept = [m for m in api.get(summary.id).messages if (since is None or m.ts >= since) and (until is None or m.ts <= until)]
        touched = set()
        for message in kept:
            key = {"project": summary.project_name, "model": message.model or "-", "day": message.ts[:10]}.get(by or "", "")
            for figures in (total, *([groups.setdefault(key, dict(total, sessions=0, turns=0, messages=0, tokens_in=0,
                                                                    tokens_out=0, cost=None))] if by else [])):
                figures["messages"] += 1
                figures["turns"] += message.role == "user"
                if message.tokens is not None:
                    figures["tokens_in"] += message.tokens.input or 0
                    figures["tokens_out"] += message.tokens.output or 0
                    price = prices.get(message.model or "")
                    if price is not None:
                        spent = ((message.tokens.input or 0) * price.input + (message.tokens.output or 0) * price.output) / 1e6
                        figures["cost"] = (figures["cost"] or 0.0) + spent
            days[message.ts[:10]] = days.get(message.ts[:10], 0) + 1
            touched.add(key)
        total["sessions"] += bool(kept)
        for key in touched if by else ():
            groups[key]["sessions"] += 1
    for figures in (total, *groups.values()):
        figures["cost"] = None if figures["cost"] is None else round(figures["cost"], 6)
    ordered = sorted(groups.items(), key=lambda kv: kv[0] if by == "day" else (-kv[1]["messages"], kv[0]))
    return {"total": total, "groups": [{"key": k, **f} for k, f in ordered], "days": [{"day": d, "messages": n} for d, n in sorted(days.items())]}


def test_stats_from_the_index_are_the_figures_of_the_sessions_live_messages(api: Chit) -> None:
    """Popped, rewound and edited-away messages are not counted; windows,
    groups and cost come out as the sessions' own messages give them."""
    _usage(api)
    popped = api.create(title="Popped", make_current=False)
    api.append(popped.id, "user", "kept")
    api.append(popped.id, "assistant", "dropped", model="big", tokens=(7, 7))
    api.pop(popped.id)
    rewound = api.create("elsewhere", title="Rewound", make_current=False)
    for n in range(3):
        api.append(rewound.id, "user", f"q{n}")
        api.append(rewound.id, "assistant", f"a{n}", model="small", tokens=(n + 1, None))
    api.rewind(rewound.id, 1)
    api.create("empty", title="Nothing said", make_current=False)
    prices = {"big": Price(2.0, 10.0), "small": Price(1.0, 4.0)}
    for since, until in ((None, None), ("2021-01-01", None), (None, "2021-01-01")):
        for by in (None, "project", "model", "day"):
            for priced in ({}, prices):
                found = api.stats(all_projects=True, since=since, until=until, by=by, prices=priced).as_dict()
                assert {k: found[k] for k in ("total", "groups", "days")} == _expected(api, since, until, by, priced), (since, until, by)


def _bytes_read() -> int:
    with open("/proc/self/io", encoding="ascii") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("rchar:"))


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="counts the bytes this process reads (Linux)")
def test_stats_answer_from_the_index_and_read_only_the_files_it_lacks(api: Chit, home: Path) -> None:
    padding = "x" * 8000
    for n in range(150):
        session = api.create("big" if n % 2 else "small", title=f"s{n}", make_current=False)
        api.append(session.id, "user", f"question {n} {padding}")
        api.append(session.id, "assistant", "answer", **({"model": "big", "tokens": (10, 20)} if n < 3 else {}))
    files = sum(path.stat().st_size for path in (home / "projects").rglob("*.jsonl"))
    assert files > 150 * 8000
    api.list(all_projects=True)  # the index current, as after any command

    def read(**options: Any) -> int:
        before = _bytes_read()
        found = api.stats(all_projects=True, **options)
        assert found.total.sessions == 150 and found.total.messages == 300
        return _bytes_read() - before

    assert read() < files / 10
    assert read(by="day") < files / 10
    assert read(by="project", prices={"big": Price(1.0, 1.0)}) < files / 10  # three sessions recorded tokens: only they are read
    assert read(by="model") >= files  # a message's model is not in the index
