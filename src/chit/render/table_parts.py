"""A long table printed part by part, so its first rows appear at once.

rich lays out a whole table before it prints any of it: `chit ls -n 0
--all` over 5,000 sessions would print nothing for seconds. A table of
more than PART_ROWS rows is measured once, over every row, then printed
as parts of PART_ROWS rows, each with its columns fixed at the widths
that measure gave.

It leans on three of rich's private names (the table's column widths and
padding, a column's cells); a rich without them gets the table whole.

Invariant: the parts print exactly the bytes the whole table would (the
header once, the same column widths, the same cuts); only the moment
each row is written changes. Styles set per row (`end_section`, row
styles) go with their rows. The measuring is the wait before the first
row (about a second for 5,000 rows): `laying_out` is around it, so the
command line can tell it as progress.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext

from rich.console import Console
from rich.table import Table

PART_ROWS = 200
#: around the measuring of a long table of (rows) rows: what tells its progress
LayingOut = Callable[[int], AbstractContextManager[object]]


def parts(console: Console, table: Table, laying_out: LayingOut | None = None) -> Iterator[Table]:
    """`table` itself when it is short, else its parts, in order."""
    if table.row_count <= PART_ROWS:
        yield table
        return
    try:
        with laying_out(table.row_count) if laying_out is not None else nullcontext():
            widths = table._calculate_column_widths(console, console.options)  # every row measured once
        fixed = [
            dataclasses.replace(column, width=width - table._get_padding_width(index))
            for index, (column, width) in enumerate(zip(table.columns, widths))
        ]
        cells = [column._cells for column in fixed]
    except (AttributeError, TypeError):  # a rich laid out otherwise inside: the table whole, as it prints it
        yield table
        return
    for start in range(0, table.row_count, PART_ROWS):
        end = start + PART_ROWS
        part = copy.copy(table)
        part.columns = [dataclasses.replace(column, _cells=column_cells[start:end]) for column, column_cells in zip(fixed, cells)]
        part.rows = table.rows[start:end]
        part.show_header = table.show_header and start == 0
        yield part
