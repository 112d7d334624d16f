"""A full session id under two projects (a `projects mv` cut short leaves
one; `chit doctor` reports it): with -p (or CHIT_PROJECT) a command acts
on that project's copy; without, outside both, two different files are
ambiguous (exit 4) and one file under both names is that file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from chit.api import Chit
from chit.errors import Ambiguous
from chit.service.base import Context
from chit.service.facade import parts_of
from conftest import run_cli, tree_digest


def contents(result) -> list[str]:  # type: ignore[no-untyped-def]
    assert result.code == 0, result.err
    return [m["content"] for m in result.json()["messages"]]


def session_in_a(home: Path, tmp_path: Path) -> tuple[Chit, str, dict[str, str], Context]:
    """(a's API, id, slug of each project, context): a session in project
    a, and project b with one of its own."""
    a = Chit(home, cwd=tmp_path, project="a")
    session = a.create(title="kept", messages=[{"role": "user", "content": "hello"}])
    Chit(home, cwd=tmp_path, project="b").create(title="b's own")
    ctx = parts_of(a).ctx
    return a, session.id, {p.name: p.slug for p in ctx.projects.all()}, ctx


def two_copies(home: Path, tmp_path: Path) -> tuple[str, dict[str, str], Context]:
    """(id, slug of each project, context): the session in a, copied into
    b; a's copy then gained a message."""
    a, session_id, slugs, ctx = session_in_a(home, tmp_path)
    session = a.get(session_id)
    shutil.copy(ctx.store.session_path(slugs["a"], session.id), ctx.store.session_path(slugs["b"], session.id))
    a.append(session.id, "assistant", "only in a")  # b's copy sorts after a's: before, every command found a's
    return session.id, slugs, ctx


def test_a_full_id_under_two_projects_names_the_copy_of_the_project_given(home: Path, tmp_path: Path) -> None:
    sid, slugs, ctx = two_copies(home, tmp_path)

    def chit(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return run_cli(list(args), cwd=tmp_path, env=env)

    assert contents(chit("show", sid, "-p", "b", "--json")) == ["hello"]
    assert contents(chit("show", sid, "-p", "a", "--json")) == ["hello", "only in a"]
    assert contents(chit("show", sid, "--json", env={"CHIT_PROJECT": "b"})) == ["hello"]
    assert chit("-p", "b", "append", sid, "to b", "--json").code == 0
    assert contents(chit("load", sid, "-p", "b", "--json")) == ["hello", "to b"]
    assert Chit(home, cwd=tmp_path, project="b").current().id == sid  # b's current session, not a's
    assert Chit(home, cwd=tmp_path, project="a").get(sid).messages[-1].content == "only in a"
    assert Chit(home, cwd=tmp_path).resolve(sid, project="b").messages[-1].content == "to b"

    ambiguous = chit("show", sid, "--json")  # the working directory's project holds neither
    assert ambiguous.code == 4 and ambiguous.out == "", ambiguous.err
    error = ambiguous.error_json()
    assert error["code"] == "AMBIGUOUS" and "give -p NAME" in str(error["message"])
    assert sorted(c["project"] for c in error["candidates"]) == ["a", "b"]  # type: ignore[union-attr]
    prefix = chit("show", sid[:8], "--json")  # a prefix of that id alone is read as the id
    assert prefix.code == 4 and prefix.error_json()["candidates"] == error["candidates"], prefix.err

    os.unlink(ctx.store.session_path(slugs["b"], sid))
    os.link(ctx.store.session_path(slugs["a"], sid), ctx.store.session_path(slugs["b"], sid))  # one file, two names
    assert contents(chit("show", sid, "--json")) == ["hello", "only in a"]


def test_rm_restore_and_trash_empty_act_on_the_copy_of_the_project_given(home: Path, tmp_path: Path) -> None:
    """Before: `rm -p b` trashed a's copy, and `trash --empty -p b` deleted
    a's trashed copy for b's."""
    sid, slugs, ctx = two_copies(home, tmp_path)

    def chit(*args: str):  # type: ignore[no-untyped-def]
        return run_cli(list(args), cwd=tmp_path)

    assert chit("rm", sid, "-p", "b").code == 0
    assert ctx.store.holders(sid, trash=True) == [slugs["b"]] and ctx.store.holders(sid) == [slugs["a"]]
    assert contents(chit("show", sid, "--json")) == ["hello", "only in a"]  # now in one project only
    assert chit("rm", sid).code == 0  # a's, the only live copy
    refused = chit("restore", sid, "--json")  # in two trashes, the working directory's project holds neither
    assert refused.code == 4 and "give -p NAME" in str(refused.error_json()["message"]), refused.err
    assert chit("-p", "b", "restore", sid).code == 0 and ctx.store.holders(sid) == [slugs["b"]]
    assert chit("rm", sid, "-p", "b").code == 0
    assert chit("trash", "--empty", "-p", "a", "--yes").code == 0
    assert ctx.store.holders(sid, trash=True) == [slugs["b"]]
    assert chit("restore", sid).code == 0  # one trash holds it now
    assert contents(chit("show", sid, "--json")) == ["hello"]  # b's copy


def test_a_link_named_as_the_id_in_another_project_is_not_a_copy(home: Path, tmp_path: Path) -> None:
    """A symbolic link is never followed, so one planted under another
    project's name of the id holds no copy: the id names the session
    outside both projects, and `-p` of the link's project is refused as
    before. Before: exit 4, "in 2 projects as different files"."""
    a, session_id, slugs, ctx = session_in_a(home, tmp_path)
    session = a.get(session_id)
    os.symlink(ctx.store.session_path(slugs["a"], session.id), ctx.store.session_path(slugs["b"], session.id))
    assert contents(run_cli(["show", session.id, "--json"], cwd=tmp_path)) == ["hello"]
    Chit(home, cwd=tmp_path).append(session.id, "assistant", "hi")
    assert [m.content for m in a.get(session.id).messages] == ["hello", "hi"]
    linked = run_cli(["-p", "b", "show", session.id], cwd=tmp_path)
    assert linked.code == 5 and linked.err.startswith("chit: error: refusing to follow a symbolic link"), linked.err


def test_a_project_given_that_holds_no_copy_is_named_in_the_error(home: Path, tmp_path: Path) -> None:
    """Before: `-p c` (or CHIT_PROJECT=c) of a project holding neither copy
    was told to "give -p NAME", as if none had been given."""
    sid, _, _ = two_copies(home, tmp_path)
    Chit(home, cwd=tmp_path, project="c").create(title="c's own")
    refused = run_cli(["-p", "c", "show", sid, "--json"], cwd=tmp_path)
    assert refused.code == 4 and refused.out == "", refused.err
    assert "project 'c' holds no copy: give -p with one of them" in str(refused.error_json()["message"])
    for project in ("c", "nowhere"):
        try:
            Chit(home, cwd=tmp_path, project=project).get(sid)
        except Ambiguous as exc:
            assert f"project {project!r} holds no copy" in exc.message
        else:
            raise AssertionError("not refused")


def test_restore_of_a_copy_whose_id_is_live_in_another_project_is_refused(home: Path, tmp_path: Path) -> None:
    """Bringing a's trashed copy back while b's is live would leave the id
    live under two projects (every command outside them then exit 4).
    Before: restored. Now refused (exit 6), nothing changed, as a copy live
    in the session's own project is."""
    sid, slugs, ctx = two_copies(home, tmp_path)
    Chit(home, cwd=tmp_path, project="a").delete(sid)
    before = tree_digest(home)
    refused = run_cli(["-p", "a", "restore", sid, "--json"], cwd=tmp_path)
    assert refused.code == 6 and refused.out == "", refused.err
    assert refused.error_json()["message"] == f"session {sid[:8]} is live in project b ({slugs['b']}) too: " \
        "rm that copy first, or see `chit doctor`"
    assert tree_digest(home) == before
