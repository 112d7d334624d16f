"""The index and a trash that a later message overrides.

`rm` appends a trash event, then moves the file: a kill between the two
leaves the file in its project with the trash event last. A message
appended then (one the trash did not see) overrides the trash: the
session is live again. Hiding that message (pop, or a rewind to before
it) brings the trash back into effect, since only a message shown
overrides a trash. The index must say so after its next refresh, as the
fold of the file does: a pop or rewind applied to the row alone, as the
index applies one that hides the top of the session, would leave the row
live while the file says deleted. Appends and a pop of another message
in between keep the session live on both sides.

The `rm` is cut short by a real child killed with SIGKILL as it starts
moving the file (a profile hook sends the signal)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

import pytest
from killpoints import killed_at

from chit.api import Chit
from chit.service.facade import parts_of
from chit.store.sessions import Store

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def _killed_at_move(work: Callable[[], Any]) -> None:
    """Run `work` in a child killed (SIGKILL) as its first file move starts."""
    killed_at(lambda frame, event, arg: event == "call" and frame.f_code is Store.move.__code__, work)


def _deleted_at(api: Chit) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """(the index's listing, a scan of the files): session id -> deleted_at."""
    scope = parts_of(api).ctx.projects.all()
    listed = {s.id: s.deleted_at for s in api.list(all_projects=True)}
    scanned = {s.id: s.deleted_at for s in parts_of(api).queries.scan_summaries(scope)}
    return listed, scanned


@pytest.mark.parametrize("hide", ["pop", "rewind"])
def test_hiding_the_message_that_overrode_a_cut_short_trash_trashes_the_row_again(api: Chit, hide: str) -> None:
    sid = api.create(title="kept", messages=[{"role": "user", "content": "one"}, {"role": "assistant", "content": "two"}]).id
    api.list()  # the index has the row
    parts_of(api).ctx.index.close()  # no SQLite connection crosses the fork
    _killed_at_move(lambda: api.delete(sid))
    listed, scanned = _deleted_at(api)
    trashed_at = scanned[sid]
    assert trashed_at is not None and listed == scanned

    api.append(sid, "user", "three, which the trash did not see")
    listed, scanned = _deleted_at(api)
    assert scanned[sid] is None and listed == scanned  # overridden: live again
    api.append(sid, "assistant", "four")  # read from where the row read to
    listed, scanned = _deleted_at(api)
    assert scanned[sid] is None and listed == scanned
    api.pop(sid)  # "three" still overrides the trash
    listed, scanned = _deleted_at(api)
    assert scanned[sid] is None and listed == scanned

    if hide == "pop":
        api.pop(sid)
    else:
        api.rewind(sid, 0)
    assert api.get(sid).deleted_at == trashed_at  # the fold: the trash is back in effect
    listed, scanned = _deleted_at(api)
    assert scanned[sid] == trashed_at and listed == scanned
