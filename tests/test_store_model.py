"""A stateful property test: random sequences of create, append, pop, fork,
rewind, update (replace), undo, rename, tag, untag, delete, restore, compact
and reopen (a new `Chit` on the same home) against a plain in-memory model
of what chit promises. After every step each session reads back exactly as
the model says (messages, turns, title, tags, parent, what rewind/pop
dropped, what undo can bring back), the
listing and the trash hold exactly the model's sessions, and the index's
answers equal reading every file.

CHIT_LONG=1 runs 400 sequences of up to 60 steps instead of 60 of up to 40.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from chit.api import Chit
from chit.model import Project, Session, derive_title
from chit.service.facade import parts_of
from conftest import fresh_home

LONG = bool(os.environ.get("CHIT_LONG"))
PROJECTS = ("alpha", "beta")
ROLES = ("system", "user", "assistant", "tool")

texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
titles = st.text(st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\u2028\u2029\x85"), min_size=1, max_size=20).filter(
    lambda t: t.strip() != ""
)
tag_names = st.sampled_from(["work", "home", "x", "long-tag", "ü"])


@dataclass
class Model:
    project: str
    messages: list[tuple[str, str, str]] = field(default_factory=list)  # (id, role, content), visible
    manual_title: str | None = None
    tags: list[str] = field(default_factory=list)
    dropped: int = 0
    parent: tuple[str, int | None] | None = None
    trashed: bool = False
    # changes in effect, oldest first: (messages before it, messages it kept, messages after it)
    changes: list[tuple[list[tuple[str, str, str]], int, int]] = field(default_factory=list)

    def change(self, keep: int, after: int) -> None:
        """Record a rewind, pop or replace that keeps `keep` messages and
        leaves `after` (the messages as they are before it)."""
        self.changes.append((list(self.messages), keep, after))
        self.dropped += len(self.messages) - keep

    @property
    def user_starts(self) -> list[int]:
        return [i for i, m in enumerate(self.messages) if m[1] == "user"]

    @property
    def title(self) -> str:
        if self.manual_title is not None:
            return self.manual_title
        return derive_title(next((m[2] for m in self.messages if m[1] == "user"), None))


class StoreMachine(RuleBasedStateMachine):
    empty_home: Path  # what each sequence's store starts as a copy of (conftest.fresh_home)

    def __init__(self) -> None:
        super().__init__()
        self.home = Path(tempfile.mkdtemp(prefix="chit-model-"))
        self.api = fresh_home(self.empty_home, self.home / "store", self.home)
        self.model: dict[str, Model] = {}
        self.read: dict[str, tuple[object, Session]] = {}  # session id -> (its file as last read back, the session)

    def open(self) -> Chit:
        return Chit(self.home / "store", cwd=self.home, durable=False)

    def teardown(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)

    def live(self) -> list[str]:  # in creation order: ids are random, a replay must pick the same sessions
        return [i for i, m in self.model.items() if not m.trashed]

    def trashed(self) -> list[str]:
        return [i for i, m in self.model.items() if m.trashed]

    # -- rules ------------------------------------------------------------
    @initialize(project=st.sampled_from(PROJECTS))
    def first(self, project: str) -> None:
        self.create(project, None, [])

    @rule(project=st.sampled_from(PROJECTS), title=st.none() | titles, tags=st.lists(tag_names, max_size=3))
    def create(self, project: str, title: str | None, tags: list[str]) -> None:
        session = self.api.create(project, title=title, tags=tags, make_current=False)
        self.model[session.id] = Model(project, manual_title=" ".join(title.split()) if title else None, tags=list(dict.fromkeys(tags)))

    @precondition(lambda self: self.live())
    @rule(data=st.data(), role=st.sampled_from(ROLES), content=texts)
    def append(self, data: st.DataObject, role: str, content: str) -> None:
        sid = data.draw(st.sampled_from(self.live()))
        message = self.api.append(sid, role, content)
        self.model[sid].messages.append((message.id, role, content))

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def pop(self, data: st.DataObject) -> None:
        sid = data.draw(st.sampled_from(self.live()))
        model = self.model[sid]
        assert self.api.pop(sid) is bool(model.messages)
        if model.messages:
            model.change(len(model.messages) - 1, len(model.messages) - 1)
            model.messages.pop()

    @precondition(lambda self: any(self.model[i].user_starts for i in self.live()))
    @rule(data=st.data())
    def rewind(self, data: st.DataObject) -> None:
        sid = data.draw(st.sampled_from([i for i in self.live() if self.model[i].user_starts]))
        model = self.model[sid]
        starts = model.user_starts
        turn = data.draw(st.integers(0, len(starts) - 1))
        keep = starts[turn + 1] if turn + 1 < len(starts) else len(model.messages)
        assert self.api.rewind(sid, turn) == len(model.messages) - keep
        if keep < len(model.messages):
            model.change(keep, keep)
        del model.messages[keep:]

    @precondition(lambda self: self.live())
    @rule(data=st.data(), tail=st.lists(st.tuples(st.sampled_from(ROLES), st.sampled_from(["a", "b", ""])), max_size=4))
    def update(self, data: st.DataObject, tail: list[tuple[str, str]]) -> None:
        sid = data.draw(st.sampled_from(self.live()))
        model = self.model[sid]
        cut = data.draw(st.integers(0, len(model.messages)))
        wanted = [(m[1], m[2]) for m in model.messages[:cut]] + tail
        same = 0
        while same < min(len(wanted), len(model.messages)) and wanted[same] == model.messages[same][1:]:
            same += 1
        session = self.api.update(sid, [{"role": r, "content": c} for r, c in wanted])
        if same < len(model.messages):
            model.change(same, len(wanted))
        model.messages = model.messages[:same] + [(m.id, m.role, m.content) for m in session.messages[same:]]

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def undo(self, data: st.DataObject) -> None:
        sid = data.draw(st.sampled_from(self.live()))
        model = self.model[sid]
        undone = self.api.undo(sid)
        if not model.changes:
            assert undone is None
            return
        before, keep, after = model.changes.pop()
        assert undone is not None and [m.id for m in undone.hidden] == [m[0] for m in before[keep:]]
        model.dropped += (after - keep) - (len(before) - keep)  # format 2: what it hid comes back, what it added goes
        model.messages = before + model.messages[after:]

    @precondition(lambda self: self.live())
    @rule(data=st.data(), title=st.none() | titles)
    def fork(self, data: st.DataObject, title: str | None) -> None:
        sid = data.draw(st.sampled_from(self.live()))
        source = self.model[sid]
        starts = source.user_starts
        at = data.draw(st.none() | st.integers(0, len(starts) - 1)) if starts else None
        keep = len(source.messages) if at is None or at + 1 >= len(starts) else starts[at + 1]
        forked = self.api.fork(sid, at=at, title=title)
        recorded_turn = at if at is not None else (len(starts) - 1 if starts else None)
        self.model[forked.id] = Model(
            source.project,
            messages=list(source.messages[:keep]),
            manual_title=" ".join(title.split()) if title else f"{source.title[:193]} (fork)",
            tags=list(source.tags),
            parent=(sid, recorded_turn),
        )

    @precondition(lambda self: self.live())
    @rule(data=st.data(), title=st.just("") | titles)
    def rename(self, data: st.DataObject, title: str) -> None:
        sid = data.draw(st.sampled_from(self.live()))
        self.api.rename(sid, title)
        self.model[sid].manual_title = " ".join(title.split()) or None

    @precondition(lambda self: self.live())
    @rule(data=st.data(), tags=st.lists(tag_names, min_size=1, max_size=3), remove=st.booleans())
    def tag(self, data: st.DataObject, tags: list[str], remove: bool) -> None:
        sid = data.draw(st.sampled_from(self.live()))
        model = self.model[sid]
        if remove:
            self.api.untag(sid, *tags)
            model.tags = [t for t in model.tags if t not in tags]
        else:
            self.api.tag(sid, *tags)
            model.tags += [t for t in dict.fromkeys(tags) if t not in model.tags]

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        sid = data.draw(st.sampled_from(self.live()))
        self.api.delete(sid)
        self.model[sid].trashed = True

    @precondition(lambda self: self.trashed())
    @rule(data=st.data())
    def restore(self, data: st.DataObject) -> None:
        sid = data.draw(st.sampled_from(self.trashed()))
        self.api.restore(sid)
        self.model[sid].trashed = False

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def compact(self, data: st.DataObject) -> None:
        sid = data.draw(st.sampled_from(self.live()))
        report = self.api.compact(sid)
        assert report.messages_dropped == self.model[sid].dropped
        self.model[sid].dropped = 0
        self.model[sid].changes = []
        path = self.api.layout.session_file(parts_of(self.api).ctx.locate(sid).slug, sid)
        lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
        assert sum(r["type"] == "message" for r in lines) == len(self.model[sid].messages)

    @rule()
    def reopen(self) -> None:
        parts_of(self.api).ctx.index.close()
        self.api = self.open()

    # -- what must hold after every step ----------------------------------
    @invariant()
    def store_holds_exactly_the_model(self) -> None:
        """Every session reads back as modelled (`read_back`); the listing
        and the trash hold exactly the model's sessions, and the index's
        listing equals the summaries of the sessions read back."""
        ctx = parts_of(self.api).ctx
        scope = ctx.projects.all()
        folders = [(p, i) for p in scope for i in ctx.store.session_ids(p.slug)]
        assert sorted(i for _, i in folders) == sorted(self.live())  # each live session in one folder, nothing else
        by_slug = {p.slug: p for p in scope}
        binned = [(by_slug[slug], i) for slug in ctx.store.trash_slugs() for i in ctx.store.session_ids(slug, trash=True)]
        assert sorted(i for _, i in binned) == sorted(self.trashed())  # each trashed one in one project's trash, nothing else
        holder = {i: p for p, i in folders + binned}
        folded = []
        for sid, model in self.model.items():
            session = self.read_back(sid, model, holder[sid])
            assert holder[sid].name == model.project  # the project whose folder (or trash) holds it
            if model.trashed:
                assert session.deleted_at is not None
            else:
                assert session.deleted_at is None
                folded.append(session.summary(holder[sid].name, holder[sid].slug))
        listed = self.api.list(all_projects=True)
        assert sorted(s.id for s in listed) == sorted(self.live())
        # what reading every file gives (`scan_summaries`): newest first, ties by id
        folded.sort(key=lambda s: s.id)
        folded.sort(key=lambda s: s.updated_at, reverse=True)
        assert listed == folded
        for summary in listed:
            model = self.model[summary.id]
            assert (summary.title, list(summary.tags), summary.messages) == (model.title, model.tags, len(model.messages))
        assert sorted(s.id for s in self.api.trash(all_projects=True)) == sorted(self.trashed())

    def read_back(self, sid: str, model: Model, project: Project) -> Session:
        """The session as chit reads it from `project`'s folder (or trash),
        checked against its model. Reading is a function of the file's
        bytes, its mtime and its place (nothing is cached between reads):
        a file found exactly as it was when it last read back as its model,
        unchanged since, says would read back the same, and is not folded
        again."""
        layout = self.api.layout
        path = layout.trash_file(project.slug, sid) if model.trashed else layout.session_file(project.slug, sid)
        seen = (project, model.trashed, os.stat(path).st_mtime_ns, path.read_bytes(), repr(model))
        last = self.read.get(sid)
        if last is not None and last[0] == seen:
            return last[1]
        session = parts_of(self.api).ctx.read_session(project, sid, trash=True) if model.trashed else self.api.get(sid)
        self.check_session(session, model)
        self.read[sid] = (seen, session)
        return session

    @staticmethod
    def check_session(session: Session, model: Model) -> None:
        assert [(m.id, m.role, m.content) for m in session.messages] == model.messages
        turn, turns = -1, []
        for m in model.messages:
            turn += m[1] == "user"
            turns.append(turn if turn >= 0 else None)
        assert [m.turn for m in session.messages] == turns
        assert session.turns == len(model.user_starts)
        assert session.manual_title == model.manual_title
        assert session.title == model.title
        assert list(session.tags) == model.tags
        assert session.dropped == model.dropped
        assert session.hidden == sum(len(before) - keep for before, keep, _ in model.changes)
        assert (None if session.parent is None else (session.parent.id, session.parent.turn)) == model.parent
        assert session.issues == () and not session.read_only


@pytest.fixture(autouse=True, scope="module")
def store_template(empty_home: Path) -> None:
    StoreMachine.empty_home = empty_home


StoreMachine.TestCase.settings = settings(
    max_examples=400 if LONG else 60,
    stateful_step_count=60 if LONG else 40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not LONG,
)
test_store_against_a_model = StoreMachine.TestCase
