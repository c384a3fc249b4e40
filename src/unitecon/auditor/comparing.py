"""Compare a recomputed workbook cell by cell with another source of the same cells' values: the values the
file caches (:func:`compare`), another engine's recalculation such as LibreOffice's
(:func:`compare_with_engine`), or unitecon's own computation from the inputs file (:func:`compare_with_model`).

Each cell that differs is a :class:`Difference`, as it is: not judged as ``verify`` judges a cell against
its cached value (:mod:`unitecon.auditor.checking`, whose conclusions are each a
:class:`~unitecon.auditor.verdict.Finding`). Values are the same or not as :func:`~unitecon.auditor.verdict.same`
says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from openpyxl.utils.cell import get_column_letter

from ..geometry import CUSTOMERS, FIRST_CUSTOMER_ROW
from ..reading.snapshot import Snapshot, values_at
from .recompute_columns import objects
from .recomputed_workbook import Recomputed
from .verdict import differing, same, shorten


@dataclass(frozen=True)
class Difference:
    """One formula cell whose recomputed value is not the value another source gives for it (``theirs``),
    that source named by the phrase ``other`` ("the file has", "LibreOffice computes", "the inputs file
    gives"). Unlike a :class:`~unitecon.auditor.verdict.Finding`, it says nothing of whose value is right."""

    sheet: str
    cell: str
    formula: str
    recomputed: Any
    theirs: Any
    other: str = "the file has"

    def __str__(self) -> str:
        where = f"{self.sheet}!{self.cell}: {self.formula}"
        return f"{where} recomputes to {self.recomputed!r}, {self.other} {self.theirs!r}"

    def brief(self) -> str:
        """One line of at most ~200 characters: a long formula or value is cut short."""
        where = f"{self.sheet}!{self.cell}: {shorten(self.formula, 64)}"
        ours = f"{where} recomputes to {shorten(repr(self.recomputed), 30)}"
        return f"{ours}, {self.other} {shorten(repr(self.theirs), 30)}"


def compare(rec: Recomputed, rel_tol: float = 1e-9) -> list[Difference]:
    """Formula cells whose recomputed value differs from the cached one."""
    out = []
    for sheet, col, rows, texts in rec.formula_columns():
        ours, cached = rec.grids[sheet][rows, col], rec.snap.cells[rec.sheets[sheet]].grid[rows, col]
        letter = get_column_letter(col)
        out.extend(Difference(rec.sheets[sheet], f"{letter}{rows[i]}", texts[i], ours[i], cached[i])
                   for i in differing(ours, cached, rel_tol))
    return out


def compare_with_engine(rec: Recomputed, other: Snapshot, engine: str, rel_tol: float = 1e-9) -> list[Difference]:
    """Formula cells whose recomputed value differs from another engine's result for the same cell.

    ``other`` is the same workbook after that engine recalculated and saved it (formula text may be
    rewritten in the engine's own spelling; the cells are the same).
    """
    theirs_by_sheet = {name.upper(): cells for name, cells in other.cells.items()}
    missing, out = [], []
    for sheet, col, rows, texts in rec.formula_columns():
        letter = get_column_letter(col)
        ours = rec.grids[sheet][rows, col]
        theirs = theirs_by_sheet.get(sheet)
        values = values_at(theirs.grid, rows, col) if theirs else np.full(len(rows), None)
        has_formula = np.isin(rows, theirs.formulas[col][0]) if theirs and col in theirs.formulas \
            else np.zeros(len(rows), dtype=bool)
        missing.extend(Difference(rec.sheets[sheet], f"{letter}{rows[i]}", texts[i], ours[i], None,
                                f"{engine} has no formula there;") for i in np.flatnonzero(~has_formula)[:20])
        out.extend(Difference(rec.sheets[sheet], f"{letter}{rows[i]}", texts[i], ours[i], values[i],
                            f"{engine} computes") for i in differing(ours, values, rel_tol))
    return missing[:20] + out


def compare_with_model(rec: Recomputed, layout, rel_tol: float = 1e-9) -> list[Difference]:
    """Row cells whose recomputed value differs from unitecon's own computation of the model."""
    out = []
    model = layout.model
    for (name, period), cell in layout.cells.items():
        text = rec.formula_at(cell.sheet, cell.a1())
        if text is None or (name, period) not in model.values:
            continue
        expected, got = model.values[(name, period)], rec.value(cell.sheet, cell.a1())
        if isinstance(expected, float) and math.isnan(expected) and got == "#DIV/0!":
            continue  # the model's undefined ratio (x / 0) is the sheet's #DIV/0!
        if not same(got, expected, rel_tol):
            out.append(Difference(cell.sheet, cell.a1(), text, got, expected, "the inputs file gives"))
    sheet = CUSTOMERS.upper()
    if sheet not in rec.grids:
        return out
    texts_of = {col: (rows, texts) for s, col, rows, texts in rec.formula_columns() if s == sheet}
    for column in layout.customer_columns.values():
        if column.row is None:
            continue
        col = column.col + 1
        expected = objects(model.values[(column.key, column.period)].tolist())
        rows = np.arange(FIRST_CUSTOMER_ROW + 1, FIRST_CUSTOMER_ROW + 1 + len(expected))
        got = values_at(rec.grids[sheet], rows, col)
        written, texts = texts_of.get(col, (np.zeros(0, dtype=np.int64), []))
        text_at = dict(zip(written.tolist(), texts, strict=True))
        letter = get_column_letter(col)
        unwritten = [i for i, r in enumerate(rows.tolist()) if r not in text_at]
        for i in sorted({*differing(got, expected, rel_tol), *unwritten}):
            row = int(rows[i])
            if row not in text_at:
                out.append(Difference(CUSTOMERS, f"{letter}{row}", "(no formula)", got[i], expected[i],
                                    "the inputs file gives"))
            elif not (isinstance(expected[i], float) and math.isnan(expected[i]) and got[i] == "#DIV/0!"):
                out.append(Difference(CUSTOMERS, f"{letter}{row}", text_at[row], got[i], expected[i],
                                    "the inputs file gives"))
    return out
