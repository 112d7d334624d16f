"""A long table is printed part by part (chit.render.table_parts): its
first rows are written before the rest are laid out, and the bytes are
those of the whole table."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console, ConsoleOptions
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from chit.api import Chit
from chit.render import human
from chit.render.environment import Environment
from terminal_progress import on_a_terminal


class Cell:
    """A cell that counts the cells laid out so far."""

    laid_out = 0

    def __init__(self, text: str) -> None:
        self.text = text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        Cell.laid_out += 1
        yield Text(self.text)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(len(self.text), len(self.text))


class Noting(io.StringIO):
    """A stdout that notes how many cells were laid out at each write."""

    def __init__(self) -> None:
        super().__init__()
        self.laid_out_at_writes: list[int] = []

    def write(self, text: str) -> int:
        self.laid_out_at_writes.append(Cell.laid_out)
        return super().write(text)


def test_the_first_rows_of_a_long_table_are_written_before_the_rest_is_laid_out() -> None:
    rows = 1_000
    table = human._table()
    table.add_column("id")
    table.add_column("title")
    for n in range(rows):
        table.add_row(Cell(f"{n:08x}"), Cell(f"session {n}" * (1 + n % 3)))
    stdout = Noting()
    env = Environment(io.StringIO(), stdout, io.StringIO(), {})
    Cell.laid_out = 0
    human._print_table(env, table)
    assert Cell.laid_out == rows * 2
    assert stdout.laid_out_at_writes[0] <= rows // 2, stdout.laid_out_at_writes[:5]
    lines = stdout.getvalue().splitlines()
    assert len(lines) == rows + 1 and lines[1] == "00000000  session 0" and lines[-1] == "000003e7  session 999"


def test_a_listing_printed_in_parts_is_the_whole_tables_bytes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for project, count in (("demo", 5), ("a-much-longer-project-name", 4)):
        api = Chit(home, cwd=tmp_path, project=project)
        for n in range(count):
            api.create(messages=[{"role": "user", "content": f"message {n} " + "wide " * (n * 7)}])
    outputs = []
    for part_rows in (2, 1_000):
        for columns in ("200", "60"):
            status, out, _seen = on_a_terminal(
                ["ls", "-n", "0", "--all"], home, tmp_path, {"chit.render.table_parts.PART_ROWS": part_rows}, {"COLUMNS": columns}
            )
            assert status == 0
            outputs.append(re.sub(rb"\b\d+s\b", b"Ns", out))  # ages go on between runs
    assert outputs[:2] == outputs[2:] and outputs[0] != outputs[1]
    assert outputs[0].count(b"\n") == 10 and outputs[0].startswith(b"id ")
