"""Human output of a real `chit` process: marked replies (interrupted, cut
off, failed) in `show` and the exports, and clean lines in a pipe."""

from __future__ import annotations

import orjson

from chit.api import Chit


def _marked_session(api: Chit) -> str:
    session = api.create(title="marks")
    api.append(session.id, "user", "first question")
    api.append(session.id, "assistant", "half an ans", metadata={"provider": "openai", "interrupted": True})
    api.append(session.id, "user", "second question")
    api.append(session.id, "assistant", "a reply that broke", metadata={"provider": "openai", "error": "the stream ended without [DONE]"})
    api.append(session.id, "user", "third question")
    api.append(session.id, "assistant", "a whole reply", metadata={"provider": "openai"})
    api.append(session.id, "user", "fourth question", metadata={"error": "a user's own field"})
    api.set_state(session.id, "error", turn_id="t4", error="HTTP 500: The server had an error")
    return session.id


def test_show_and_exports_mark_interrupted_cut_off_and_failed_replies(cli, api: Chit) -> None:  # type: ignore[no-untyped-def]
    session_id = _marked_session(api)
    shown = cli("show", session_id)
    assert shown.code == 0, shown.err
    exports = {fmt: cli("export", session_id, "-f", fmt).out for fmt in ("md", "html", "txt")}
    for where, text in {"show": shown.out, **exports}.items():
        assert "[interrupted]" in text, where
        assert "[cut off: the stream ended without [DONE]]" in text, where
        assert "[failed: HTTP 500: The server had an error]" in text, where
        assert text.count("[interrupted]") == 1 and "a whole reply [" not in text, where
        assert "a user's own field" not in text and "a user&#x27;s own field" not in text, where  # only replies are marked
    document = cli("show", session_id, "--json").json()
    messages = document["messages"]  # type: ignore[index]
    assert messages[1]["metadata"]["interrupted"] is True and messages[3]["metadata"]["error"]
    assert document["state"]["state"] == "error"  # type: ignore[index]
    assert all("[interrupted]" not in m["content"] for m in messages)  # the data stays as it was


def test_show_in_a_pipe_has_no_padding(cli, api: Chit) -> None:  # type: ignore[no-untyped-def]
    session = api.create(title="pipe")
    api.append(session.id, "user", "short")
    api.append(session.id, "assistant", "A paragraph.\n\n```python\nx = 1\n```\n\n- a list item\n\nend")
    result = cli("show", session.id, env={"COLUMNS": ""})
    assert result.code == 0 and "A paragraph." in result.out
    padded = [line for line in result.out.splitlines() if line != line.rstrip()]
    assert padded == [], padded
    assert orjson.loads(cli("show", session.id, "--json").out)["messages"][1]["content"].startswith("A paragraph.")
