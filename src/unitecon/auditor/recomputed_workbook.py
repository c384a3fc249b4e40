"""A workbook after recomputation: one grid of values per sheet, beside the snapshot it was read from."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from openpyxl.utils.cell import coordinate_to_tuple

from ..reading.snapshot import Snapshot, grid_cells, value_at

Key = tuple[str, str]  # (SHEET upper-case, "A1")


@dataclass
class Recomputed:
    """A workbook after recomputation: one grid of values per sheet (upper-case name), in which every
    formula cell holds its recomputed value, beside the snapshot it was read from.

    ``formulas``, ``values``, ``cached`` and ``constants`` are cell-by-cell views keyed (SHEET, A1),
    built on first use.
    """

    snap: Snapshot
    sheets: dict[str, str]  # SHEET -> sheet name as written
    names: dict[str, Key]
    grids: dict[str, np.ndarray] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)

    def key(self, sheet: str, a1: str) -> Key:
        return (sheet.upper(), a1.replace("$", "").upper())

    def value(self, sheet: str, a1: str) -> Any:
        """The value of any cell: recomputed for a formula, as stored (or overridden) for a constant."""
        return self._get(self.key(sheet, a1))

    def by_name(self, name: str) -> Any:
        return self._get(self.names[name.upper()])

    def _get(self, key: Key) -> Any:
        grid = self.grids.get(key[0])
        return None if grid is None else value_at(grid, *coordinate_to_tuple(key[1]))

    def extent(self, sheet: str) -> tuple[int, int]:
        """(last row, last column) holding anything on ``sheet``: how far a whole-column reference reaches."""
        grid = self.grids.get(sheet.upper())
        return (grid.shape[0] - 1, grid.shape[1] - 1) if grid is not None else (1, 1)

    def formula_at(self, sheet: str, a1: str) -> str | None:
        """The formula text of one cell as the file has it; None for a constant or an empty cell."""
        cells = self.snap.cells.get(self.sheets.get(sheet.upper(), ""))
        return cells.formula(*coordinate_to_tuple(a1.replace("$", "").upper())) if cells else None

    @property
    def formula_count(self) -> int:
        return sum(len(rows) for _, _, rows, _ in self.formula_columns())

    def formula_columns(self):
        """(SHEET, column, formula rows, formula texts) of every column holding formulas."""
        for upper, name in self.sheets.items():
            for col, (rows, texts) in self.snap.cells[name].formulas.items():
                yield upper, col, rows, texts

    @functools.cached_property
    def formulas(self) -> dict[Key, str]:
        return {(sheet.upper(), a1): text for (sheet, a1), text in self.snap.formulas.items()}

    @functools.cached_property
    def values(self) -> dict[Key, Any]:
        return {key: self._get(key) for key in self.formulas}

    @functools.cached_property
    def cached(self) -> dict[Key, Any]:
        return {(sheet.upper(), a1): value for (sheet, a1), value in self.snap.cached.items()}

    @functools.cached_property
    def constants(self) -> dict[Key, Any]:
        out = {}
        for upper, grid in self.grids.items():
            wanted = (grid != None) & ~self.snap.cells[self.sheets[upper]].formula_mask(grid.shape)  # noqa: E711
            out.update(grid_cells(upper, grid, wanted))
        return out
