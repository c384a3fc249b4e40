"""The Fingerprint sheet: what a build wrote, kept in the workbook so that later edits are found.

One home for it: the rows a build writes (:func:`write`), reading them back from a snapshot
(:func:`read`), and the cells of a workbook that no longer hold what the build wrote (:func:`edits`).
``unitecon build`` refuses to overwrite such edits, ``pull`` copies input edits back, and ``audit``
lists overtyped formulas.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils.cell import get_column_letter, range_boundaries

from ..geometry import FINGERPRINT, HEADER_ROW
from .r1c1 import to_r1c1
from .snapshot import Key, Snapshot

COLUMNS = ("Kind", "Sheet", "Cells", "Name", "Written")
WIDTHS = (10, 14, 16, 34, 70)
FIRST_ROW = HEADER_ROW + 1  # 0-based, as XlsxWriter counts: the first record, under the header row


@dataclass
class Fingerprint:
    """Every input the build wrote (name -> (cell, value)), every run of one R1C1 formula (sheet, cells,
    R1C1) and every block of data (sheet, cells, name, digest)."""

    inputs: dict[str, tuple[Key, float]] = field(default_factory=dict)
    formulas: list[tuple[str, str, str]] = field(default_factory=list)
    data: list[tuple[str, str, str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.inputs or self.formulas)


def same_number(found: object, written: float) -> bool:
    """True when a cell holds the number the build (or the inputs file) gave it: a number, equal to 12
    significant digits (a file keeps 17; a float read back from its text may differ in the last)."""
    return isinstance(found, int | float) and not isinstance(found, bool) and \
        math.isclose(found, written, rel_tol=1e-12, abs_tol=0)


def column_digest(values: list[Any]) -> str:
    """SHA-256 of a column of cell values as written (numbers to Excel's 15 significant digits, text as
    is): the fingerprint of a ledger column, so an edit anywhere in 25,000 rows is noticed without
    storing the rows twice. (A file stores 16 digits, so the 17th of a Python float does not survive.)"""
    text = "\x1f".join(format(float(v), ".15g") if isinstance(v, int | float) and not isinstance(v, bool)
                        else str(v) for v in values)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write(ws, styles, fingerprint: Fingerprint) -> None:
    """The Fingerprint sheet on XlsxWriter worksheet ``ws`` (``styles``: the workbook's title, subtitle,
    header and text formats)."""
    ws.write_string(0, 0, "Build fingerprint", styles.title)
    ws.write_string(1, 0, "What unitecon wrote: the value of every input and every formula (R1C1, one line per "
                          "run of cells sharing a formula). Used to detect edits made after the build; do not edit.",
                    styles.subtitle)
    for col, (text, width) in enumerate(zip(COLUMNS, WIDTHS, strict=True)):
        ws.write_string(HEADER_ROW, col, text, styles.header)
        ws.set_column(col, col, width)
    ws.repeat_rows(HEADER_ROW)
    r = FIRST_ROW
    for name, ((sheet, cell), value) in sorted(fingerprint.inputs.items()):
        for col, text in enumerate(("input", sheet, cell, name)):
            ws.write_string(r, col, text, styles.text)
        ws.write_number(r, 4, value, styles.text)
        r += 1
    records = [*(("data", *block) for block in fingerprint.data),
               *(("formula", sheet, cells, "", r1c1) for sheet, cells, r1c1 in fingerprint.formulas)]
    for record in records:
        for col, value in enumerate(record):
            ws.write_string(r, col, value, styles.text)
        r += 1


def read(snap: Snapshot) -> Fingerprint:
    """The Fingerprint sheet of ``snap``: empty for a workbook unitecon did not build."""
    out = Fingerprint()
    cells = snap.cells.get(FINGERPRINT)
    row = FIRST_ROW + 1  # 1-based, as the snapshot counts
    while cells is not None and cells.get(row, 1) is not None:
        kind, sheet, where, name, written = (cells.get(row, c) for c in range(1, len(COLUMNS) + 1))
        if kind == "input" and isinstance(written, int | float):
            out.inputs[str(name)] = ((str(sheet), str(where)), float(written))
        elif kind == "formula":
            out.formulas.append((str(sheet), str(where), str(written)))
        elif kind == "data":
            out.data.append((str(sheet), str(where), str(name), str(written)))
        row += 1
    return out


def overtyped(snap: Snapshot, fingerprint: Fingerprint) -> Iterator[tuple[Key, Any]]:
    """Each cell where the build wrote a formula that now holds a constant, and that constant."""
    for sheet, cells, _ in fingerprint.formulas:
        sheet_cells = snap.cells.get(sheet)
        if sheet_cells is None:
            continue
        min_col, min_row, max_col, max_row = range_boundaries(cells)
        grid = sheet_cells.grid
        block = grid[min_row:max_row + 1, min_col:max_col + 1]
        formula = sheet_cells.formula_mask(grid.shape)[min_row:max_row + 1, min_col:max_col + 1]
        for r, c in zip(*((block != None) & ~formula).nonzero(), strict=True):  # noqa: E711  (element-wise)
            row, col = min_row + int(r), min_col + int(c)
            yield (sheet, f"{get_column_letter(col)}{row}"), grid[row, col]


def rewritten(snap: Snapshot, fingerprint: Fingerprint) -> Iterator[tuple[Key, str | None]]:
    """Each cell where the build wrote a formula that now holds another formula (its text) or nothing
    at all, or a constant (None)."""
    for sheet, cells, r1c1 in fingerprint.formulas:
        sheet_cells = snap.cells.get(sheet)
        min_col, min_row, max_col, max_row = range_boundaries(cells)
        for row in range(min_row, max_row + 1):
            for col in range(min_col, max_col + 1):
                text = sheet_cells.formula(row, col) if sheet_cells is not None else None
                if text is None or to_r1c1(text, row, col)[1:] != r1c1:
                    yield (sheet, f"{get_column_letter(col)}{row}"), text


def data_edited(snap: Snapshot, fingerprint: Fingerprint) -> Iterator[tuple[str, str, str]]:
    """Each block of data the build wrote whose cells no longer hash to what it wrote: (sheet, cells, name)."""
    for sheet, cells, name, digest in fingerprint.data:
        min_col, min_row, max_col, max_row = range_boundaries(cells)
        found = [_constant(snap, sheet, row, col, "") for row in range(min_row, max_row + 1)
                 for col in range(min_col, max_col + 1)]
        if column_digest(found) != digest:
            yield sheet, cells, name


def _constant(snap: Snapshot, sheet: str, row: int, col: int, default: Any = None) -> Any:
    """The value of a cell that holds no formula (``default`` where it is empty or holds a formula)."""
    cells = snap.cells.get(sheet)
    if cells is None or cells.formula(row, col) is not None:
        return default
    value = cells.get(row, col)
    return default if value is None else value
