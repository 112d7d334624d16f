"""The picker without a screen: fuzzy ranking as plain functions, and the
picker's state over a real store (listing, filter, content search,
preview, and the actions rename, tag, fork, delete and undo). The screen
itself is driven in a real terminal by tests/test_picker_tmux.py."""

from __future__ import annotations

import gc
import time
from pathlib import Path

import pytest

from chit.api import Chit
from chit.errors import InvalidInput
from chit.model import SessionSummary
from chit.repl.picker.rank import filter_entries, make_entry, narrows, score
from chit.repl.picker.state import Picker


def _summary(title: str, sid: str, tags: tuple[str, ...] = (), project: str = "proj") -> SessionSummary:
    return SessionSummary(id=sid, project="k", project_name=project, title=title, tags=tags, turns=1, messages=2,
                          created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:00:00Z", state="idle",
                          key=None, parent_id=None)


def _titles(query: str, titles: list[str]) -> list[str]:
    entries = [make_entry(_summary(t, f"{n:08x}-0000-4000-8000-000000000000"), n) for n, t in enumerate(titles)]
    return [e.summary.title for e in filter_entries(entries, query)]


def test_characters_in_order_match_and_a_whole_word_ranks_first() -> None:
    titles = ["Kernel tuning notes", "parser rewrite", "the knot of a new parser", "Holiday ideas"]
    assert _titles("prs", titles) == ["parser rewrite", "the knot of a new parser"]
    assert _titles("parser", titles) == ["parser rewrite", "the knot of a new parser"]  # the earlier match first
    assert _titles("knot", titles) == ["the knot of a new parser", "Kernel tuning notes"]  # k-n-o-t spread out last
    assert _titles("zzz", titles) == []


def test_every_word_must_match_and_an_empty_query_keeps_the_order() -> None:
    titles = ["b parser", "a kernel parser", "c kernel"]
    assert _titles("kernel parser", titles) == ["a kernel parser"]
    assert _titles("PARSER kern", titles) == ["a kernel parser"]  # case does not matter
    assert _titles("  ", titles) == titles


def test_equal_scores_keep_newest_first_even_after_narrowing() -> None:
    entries = [make_entry(_summary(f"note {n}", f"{n:08x}-0000-4000-8000-000000000000"), n) for n in range(5)]
    first = filter_entries(entries, "n")
    assert [e.order for e in filter_entries(first, "note")] == [0, 1, 2, 3, 4]


def test_tags_project_and_id_are_matched_too() -> None:
    entry = make_entry(_summary("plain", "abcdef12-0000-4000-8000-000000000000", ("urgent",), "website"), 0)
    for query in ("urgent", "#urg", "website", "abcdef"):
        assert score(entry.haystack, [query]) is not None, query


def test_a_longer_query_narrows_a_shorter_one_only_when_it_extends_it() -> None:
    assert narrows("par", "pars") and narrows("par", "par ker") and narrows("a b", "ab b")
    assert not narrows("pars", "par") and not narrows("", "p") and not narrows("par ker", "par")


def test_filtering_ten_thousand_entries_sets_off_no_garbage_collection() -> None:
    """A keystroke over 10,000 sessions that allocated a tracked object per
    entry set off collections, and a full one took 100 ms or more."""
    words = ("parser", "cache", "kernel", "deploy", "vector", "notes")
    entries = [make_entry(_summary(f"{words[n % 6]} {words[n * 7 % 6]} {n}", f"{n:08x}-0000-4000-8000-000000000000"), n)
               for n in range(10_000)]
    passes: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            passes.append(info["generation"])

    gc.collect()
    gc.callbacks.append(count)
    try:
        shown = filter_entries(entries, "e")  # nearly every entry matches
        narrowed = filter_entries(shown, "e krn")  # and a second word, spread out
    finally:
        gc.callbacks.remove(count)
    assert len(shown) == 10_000 and 0 < len(narrowed) < 10_000
    assert passes == []


def test_a_spread_out_word_that_is_not_there_gives_up_at_once() -> None:
    """The pattern tried every later place of each character before
    failing: 1.7 s for this one entry (a keystroke over 10,000 entries
    paid tens of milliseconds on ordinary titles)."""
    haystack = "a" * 60 + " notes"
    start = time.process_time()
    assert score(haystack, ["aaaaaz"]) is None
    assert time.process_time() - start < 0.2
    assert score("a parser rewrite", ["prw"]) == 1000 + (len("parser rew") - 3) * 10  # the first r after p, the first w after r


@pytest.fixture
def store(api: Chit) -> dict[str, str]:
    """Three sessions of this project (newest last made) and one elsewhere."""
    made = {}
    for title, user, reply in (
        ("Parser rewrite plan", "how do we split the parser?", "One module per command group."),
        ("Kernel tuning notes", "the scheduler latency spikes at 3am", "Check the cron job that compacts the store."),
        ("Holiday ideas", "where to go in winter", "Somewhere with snow."),
    ):
        session = api.create(title=title)
        api.append(session.id, "user", user)
        api.append(session.id, "assistant", reply)
        made[title] = session.id
    other = api.create("elsewhere", title="Other project's session")
    api.append(other.id, "user", "the cron job elsewhere")
    made["other"] = other.id
    return made


def _shown(picker: Picker) -> list[str]:
    return [e.summary.title for e in picker.shown]


def test_the_picker_lists_this_project_newest_first_and_toggles_all(api: Chit, store: dict[str, str]) -> None:
    picker = Picker(api)
    assert _shown(picker) == ["Holiday ideas", "Kernel tuning notes", "Parser rewrite plan"]
    picker.toggle_projects()
    assert _shown(picker)[0] == "Other project's session" and len(picker.shown) == 4
    picker.toggle_projects()
    assert len(picker.shown) == 3


def test_filter_content_search_and_preview(api: Chit, store: dict[str, str]) -> None:
    picker = Picker(api)
    picker.set_query("krn")
    assert _shown(picker) == ["Kernel tuning notes"]
    assert [(line.role, line.text) for line in picker.preview()] == [
        ("user", "the scheduler latency spikes at 3am"), ("assistant", "Check the cron job that compacts the store.")]
    picker.set_query("/cron job")
    assert _shown(picker) == ["Kernel tuning notes"]  # this project's only: the other is not listed
    assert picker.shown[0].snippet is not None and "cron job" in picker.shown[0].snippet
    picker.toggle_projects()
    assert sorted(_shown(picker)) == ["Kernel tuning notes", "Other project's session"]
    picker.set_query("/cr")  # too short to search the messages by the index
    assert picker.shown == [] and "3 or more characters" in picker.hint
    picker.set_query("/cro")
    assert len(picker.shown) == 2 and picker.hint == ""


def test_a_content_query_typed_waits_for_run_search(api: Chit, store: dict[str, str]) -> None:
    """A screen searches message content once typing pauses, not on every key."""
    picker = Picker(api)
    picker.set_query("/cro", search=False)
    picker.set_query("/cron j", search=False)
    assert picker.search_pending and picker.hint == "searching the messages…"
    assert _shown(picker) == ["Holiday ideas", "Kernel tuning notes", "Parser rewrite plan"]  # what was shown before
    picker.run_search()
    assert _shown(picker) == ["Kernel tuning notes"] and not picker.search_pending
    picker.set_query("/cr", search=False)  # too short to search: nothing to wait for
    assert picker.shown == [] and not picker.search_pending
    picker.set_query("krn", search=False)  # the filter never waits
    assert _shown(picker) == ["Kernel tuning notes"] and not picker.search_pending
    assert not picker.preview_read()
    assert picker.preview()[0].text == "the scheduler latency spikes at 3am" and picker.preview_read()


def test_rename_tag_fork_delete_and_undo_go_through_the_store(api: Chit, store: dict[str, str]) -> None:
    picker = Picker(api)
    picker.set_query("kernel")
    picker.rename("Kernel latency")
    assert api.get(store["Kernel tuning notes"]).title == "Kernel latency" and picker.message.startswith("renamed")
    picker.set_query("latency")
    picker.tag("perf bug")
    picker.tag("-bug")
    assert api.get(store["Kernel tuning notes"]).tags == ("perf",)
    with pytest.raises(InvalidInput):
        picker.tag("  ")
    picker.fork()
    forked = picker.selected_entry()
    assert forked is not None and forked.summary.title == "Kernel latency (fork)"
    assert forked.summary.parent_id == store["Kernel tuning notes"]
    picker.set_query("")
    picker.delete()  # the fork, highlighted
    assert [s.id for s in api.trash()] == [forked.summary.id] and len(picker.entries) == 3
    picker.undo()
    assert api.trash() == [] and picker.selected_id() == forked.summary.id
    picker.undo()
    assert picker.message == "nothing to undo"


def test_a_directory_without_a_project_lists_every_project(home: Path, tmp_path: Path, api: Chit, store: dict[str, str]) -> None:
    elsewhere = tmp_path / "no-project-here"
    elsewhere.mkdir()
    picker = Picker(Chit(home, cwd=elsewhere))
    assert picker.all_projects and len(picker.shown) == 4
    picker.toggle_projects()
    assert picker.all_projects and "every project" in picker.message


def test_listing_sessions_without_keys_costs_steps_in_proportion_to_them(api: Chit) -> None:
    """The picker lists every session at once: counting sub-agents must not
    scan the whole table again for each session that has no key."""
    from chit.index.db import Index
    from chit.index.search import summaries
    from chit.service.facade import parts_of

    def steps_to_list(count: int) -> int:
        while len(api.list()) < count:
            api.create(title=f"session {len(api.list())}", make_current=False)
        project = api.project()

        def measure(index: Index) -> int:
            ticks = [0]

            def tick() -> int:
                ticks[0] += 1
                return 0

            index.conn.set_progress_handler(tick, 100)  # every 100 SQLite VM steps
            try:
                assert len(summaries(index, {project.slug: project}, False)) == count
            finally:
                index.conn.set_progress_handler(None, 0)
            return ticks[0]

        found = parts_of(api).ctx.indexed(measure)
        assert found is not None
        return found

    small, large = steps_to_list(50), steps_to_list(200)
    assert large < 6 * small, (small, large)  # four times the sessions: about four times the steps, not sixteen


def test_the_first_screen_lists_the_newest_and_the_rest_follows(api: Chit, store: dict[str, str]) -> None:
    picker = Picker(api, first=2)
    assert _shown(picker) == ["Holiday ideas", "Kernel tuning notes"] and not picker.complete
    picker.set_query("parser")
    assert _shown(picker) == []
    picker.finish_listing()
    assert picker.complete and _shown(picker) == ["Parser rewrite plan"]
    picker.set_query("")
    picker.toggle_projects()  # every project: the newest first too, then the rest
    assert _shown(picker) == ["Other project's session", "Holiday ideas"] and not picker.complete
    picker.finish_listing()
    assert picker.complete and len(picker.shown) == 4


def test_an_action_lists_the_newest_first_and_the_rest_after(api: Chit, store: dict[str, str]) -> None:
    picker = Picker(api, first=2)
    picker.finish_listing()
    picker.set_query("parser")
    picker.delete()
    picker.set_query("")
    picker.undo()  # restored: the newest, highlighted before the rest is listed
    assert not picker.complete and picker.selected_id() == store["Parser rewrite plan"]
    picker.move(1)
    picker.rename("Winter plans")
    assert not picker.complete and picker.selected_id() == store["Holiday ideas"]
    picker.finish_listing()
    assert picker.complete and len(picker.shown) == 3 and picker.selected_id() == store["Holiday ideas"]


def test_a_named_project_that_does_not_exist_is_not_found(home: Path, api: Chit, store: dict[str, str]) -> None:
    from chit.errors import NotFound

    with pytest.raises(NotFound, match="no project named 'elsewher'"):
        Picker(Chit(home, project="elsewher"))
    assert len(Picker(Chit(home, project="elsewhere")).shown) == 1
