"""`chit load --json` and `show --json` of a long session print the very
bytes chit printed for it before the read path was made faster: a session
begun in format 1 and continued in format 2, with every kind of change the
fold applies (tests/data/chit-long, written by its make.py). Real `chit`
subprocesses on a copy of the store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import run_cli

DATA = Path(__file__).parent / "data" / "chit-long"
LONG = "6a0c3f8e-41d2-4b7a-9c55-2e8f1d3b7a90"


@pytest.fixture
def golden_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    shutil.copytree(DATA / "projects", home / "projects")
    monkeypatch.setenv("CHIT_HOME", str(home))
    monkeypatch.delenv("CHIT_PROJECT", raising=False)
    return home


@pytest.mark.parametrize("command", ["load", "show"])
def test_the_long_session_prints_the_same_json_as_before(golden_home: Path, tmp_path: Path, command: str) -> None:
    result = run_cli(["-p", "golden", command, LONG, "--json"], cwd=tmp_path)
    assert result.code == 0, result.err
    expected = (DATA / "load.json").read_bytes()
    printed = result.out.encode("utf-8")
    assert len(printed) == len(expected)
    assert printed == expected


def test_the_golden_session_holds_every_kind_of_change() -> None:
    """What the comparison covers: hidden messages from both formats, an
    undo still possible, tokens, a fork."""
    import orjson

    data = orjson.loads((DATA / "load.json").read_bytes())
    assert data["version"] == 1 and data["dropped"] > 0 and data["hidden"] > 0 and data["undo"] is not None
    assert data["corrupt_lines"] == 0 and data["forks"] and data["tags"] and data["values"]
    messages = data["messages"]
    assert len(messages) > 700 and any(m["tokens"] for m in messages) and any(m["metadata"] for m in messages)
    assert any(m["id"].startswith("f1-") for m in messages) and any(not m["id"].startswith("f1-") for m in messages)
    assert any("\x1b" in m["content"] for m in messages) and any("𝔘" in m["content"] for m in messages)


@pytest.mark.parametrize("tokens", [None, (None, None), (12, None), (3, 4)])
def test_orjson_writes_a_message_as_its_as_dict(tokens: tuple[int | None, int | None] | None) -> None:
    """`--json` hands Messages to orjson as they are (chit.render.json_out)."""
    import orjson

    from chit.model import Message, Tokens

    made = [
        Message("m1", "user", "text \x1b 𝔘 \"q\"", "2026-01-01T00:00:00.000000Z"),
        Message("m2", "assistant", "", "2026-01-01T00:00:01.000000Z", 3, "inv", "model-x",
                None if tokens is None else Tokens(*tokens), {"a": [1, {"b": None}], "c": "d"}),
    ]
    for message in made:
        assert orjson.dumps(message) == orjson.dumps(message.as_dict())
        assert orjson.dumps(message, option=orjson.OPT_INDENT_2) == orjson.dumps(message.as_dict(), option=orjson.OPT_INDENT_2)


def _documents() -> list[object]:
    from chit.model import Message, Tokens
    from chit.render.json_out import PIECE

    def messages(count: int) -> tuple[Message, ...]:
        return tuple(
            Message(f"m{n}", "user" if n % 2 else "assistant", f"text {n} \x1b 𝔘 \"q\"", "2026-01-01T00:00:00.000000Z", n,
                    None, "model" if n % 3 else None, Tokens(n, None) if n % 5 else None, {"n": [n, {"k": None}]})
            for n in range(count)
        )  # fmt: skip

    sizes = [0, 1, PIECE - 1, PIECE, PIECE + 1, 2 * PIECE, 2 * PIECE + 1, 7 * PIECE + 5]
    documents: list[object] = [{"id": "s", "messages": messages(n), "forks": [], "agent_of": None, "x": 1.5} for n in sizes]
    documents += [{"messages": list(messages(n)), "hits": [{"a": n}] * n, "none": None} for n in sizes]
    documents += [[{"a": 1}] * (3 * PIECE), {"": [1] * (PIECE + 2)}, {}, [], "text", None, {"nested": {"deep": list(range(3 * PIECE))}}]
    return documents


def test_a_compact_document_in_pieces_is_the_bytes_of_one_dump() -> None:
    """Long arrays are written a piece at a time (chit.render.json_out),
    and the pieces joined are the very bytes orjson writes at once."""
    import orjson

    from chit.render.json_out import compact_pieces

    for document in _documents():
        joined = b"".join(bytes(piece) for piece in compact_pieces(document))
        assert joined == orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE), document


def test_a_long_transcript_is_never_written_as_one_buffer(golden_home: Path) -> None:
    """`load --json` into a pipe writes the messages in pieces of tens of
    kilobytes, not the whole document at once (fresh memory the system
    hands out page by page)."""
    import io

    import orjson

    from chit.cli.main import run
    from chit.render.environment import Environment

    class Writes(io.BytesIO):
        """A stdout that records the size of each write."""

        sizes: list[int] = []

        def write(self, data: object) -> int:
            assert isinstance(data, (bytes, bytearray, memoryview))
            self.sizes.append(len(data))
            return super().write(data)

    env = Environment.captured(variables={"CHIT_HOME": str(golden_home)})
    env.stdout = io.TextIOWrapper(Writes(), encoding="utf-8")
    assert run(["-p", "golden", "load", LONG, "--json"], env) == 0
    printed, _ = env.output()
    assert printed == (DATA / "load.json").read_bytes()
    assert len(orjson.loads(printed)["messages"]) > 700
    assert max(Writes.sizes) < len(printed) // 4
