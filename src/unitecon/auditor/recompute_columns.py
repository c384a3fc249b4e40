"""The fast path of a recomputation: a run of one compiled formula evaluated in one call on whole columns of
numpy values where that provably equals each cell on its own, else row by row with the same function.

:class:`Cells` is how every evaluation (this path, and the cell-by-cell one of
:mod:`unitecon.auditor.recompute`) reads the values of cells and ranges.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import schedula as sh
from openpyxl.utils.cell import coordinate_to_tuple

from ..reading.snapshot import CellError, value_at, values_at
from .recompute_plan import Key, Ref, bounds
from .verdict import differing


def evaluate_planned(rec, gkey, rows, texts, fn, refs, recursive: bool, get: Cells) -> bool:
    """A run with one compiled formula: in one call on whole columns where that provably equals each cell
    on its own, else row by row; False when neither applies."""
    sheet, col, _ = gkey
    columnwise = all(ref.single and (ref.fixed is None or ":" not in ref.fixed) for ref in refs) \
        and _elementwise(texts[0])
    if recursive:
        if columnwise and _cached_running_total_holds(rec, sheet, col, rows, fn, refs):
            return True
        return _evaluate_rows(rec, sheet, col, rows, fn, refs, get)
    return (columnwise and _evaluate_column(rec, sheet, col, rows, fn, refs, get)) or \
        _evaluate_rows(rec, sheet, col, rows, fn, refs, get)


# Functions that compute each row from that row's own cells: a column of them can be one call on whole
# columns. Anything else (MAX, SUM, AND: they would fold the column into one value) goes row by row.
ELEMENTWISE = frozenset("""
IF IFERROR IFNA ABS ROUND ROUNDUP ROUNDDOWN INT SQRT EXP LN LOG10 POWER SIGN ISNUMBER ISERROR ISERR ISNA ISBLANK
ISTEXT ISLOGICAL NOT
""".split())  # noqa: SIM905 (a word list reads best as words)


@functools.lru_cache(maxsize=4096)
def _elementwise(formula: str) -> bool:
    """True when every function of ``formula`` computes element by element (operators always do)."""
    from openpyxl.formula.tokenizer import Token, Tokenizer

    try:
        tokens = Tokenizer(formula).items
    except Exception:
        return False
    return all(t.value[:-1].upper() in ELEMENTWISE for t in tokens if t.type == Token.FUNC and t.subtype == Token.OPEN)


def _cached_running_total_holds(rec, sheet, col, rows, fn, refs) -> bool:
    """Evaluate a running total in one call, reading its own earlier rows from the file's cached values.

    This checks each cell against its formula applied to the values stored for its precedents, as
    every other cell is checked. When every cell reproduces its cached value (relative 1e-12, far
    inside the comparison tolerance: engines differ only in the last bits of a quotient), the run is
    consistent step by step from its first row; otherwise False, and the column is evaluated row by
    row from the opening value instead (after an edit, the cached values are stale).
    """
    cached = rec.snap.cells[rec.sheets[sheet]].grid[rows, col]
    as_cached = rec.grids[sheet].copy()
    as_cached[rows, col] = cached
    if not _evaluate_column(rec, sheet, col, rows, fn, refs, Cells({**rec.grids, sheet: as_cached})):
        return False
    return not differing(rec.grids[sheet][rows, col], cached, rel_tol=1e-12)


def _evaluate_rows(rec, sheet, col, rows, fn, refs: list[Ref], get: Cells) -> bool:
    """Row by row with the run's one compiled formula, in the order a running total needs (down the
    column when it reads rows above, up when it reads rows below); False if it reads both."""
    steps = {ref.dr for ref in refs if ref.single and ref.fixed is None and ref.dc == 0 and ref.sheet == sheet}
    if any(dr < 0 for dr in steps) and any(dr > 0 for dr in steps):
        return False
    fixed = {i: get.arg(ref.sheet, ref.fixed) for i, ref in enumerate(refs) if ref.fixed is not None}
    grid = rec.grids[sheet]
    for row in sorted(rows.tolist(), reverse=any(dr > 0 for dr in steps)):
        args = [fixed[i] if i in fixed else get.arg(ref.sheet, ref.at(row, col)) for i, ref in enumerate(refs)]
        grid[row, col] = plain(fn(*args))
    return True


_NUMBERS = {float, int}


def _evaluate_column(rec, sheet, col, rows, fn, refs: list[Ref], get: Cells) -> bool:
    """One call for the whole run; False if the result does not come back one value per row."""
    n = len(rows)
    args = []
    for ref in refs:
        if ref.fixed is not None:
            args.append(get.arg(ref.sheet, ref.fixed))
            continue
        values = get.column(ref.sheet, col + ref.dc, rows + ref.dr)
        if set(map(type, values)) <= _NUMBERS:  # not bool or text: formulas treats those apart
            args.append(values.astype(float).reshape(n, 1))
        else:
            values[values == None] = sh.EMPTY  # noqa: E711  (element-wise)
            args.append(values.reshape(n, 1))
    result = fn(*args)
    array = result if isinstance(result, np.ndarray) else np.asarray(result, dtype=object)  # a blank stays blank
    if array.shape == (n, 1):
        flat = array[:, 0]
    elif array.size == 1:
        flat = np.repeat(array.ravel()[:1], n)
    else:
        return False
    if flat.dtype.kind in "fib":  # numpy's own numbers become Python floats, ints and bools as stored
        rec.grids[sheet][rows, col] = flat.astype(object)
    else:
        rec.grids[sheet][rows, col] = objects([plain(v) for v in flat])
    return True


class Cells:
    """Cell values as one evaluation reads them, from one grid per sheet.

    A range argument is built once per evaluation: a named column of 25,000 customers is read by many
    summary formulas. Only ranges whose formulas are all computed are read, so a built range does not
    change afterwards.
    """

    def __init__(self, grids: dict[str, np.ndarray]):
        self.grids = grids
        self.ranges: dict[tuple[str, str], np.ndarray] = {}

    def __call__(self, key: Key) -> Any:
        grid = self.grids.get(key[0])
        value = None if grid is None else value_at(grid, *coordinate_to_tuple(key[1]))
        return sh.EMPTY if value is None else value

    def arg(self, sheet: str, ref: str) -> Any:
        """A compiled function's argument: one cell's value, or a range as a 2-D array."""
        if ":" not in ref:
            return self((sheet, ref))
        if (sheet, ref) not in self.ranges:
            grid = self.grids.get(sheet)
            if grid is None:
                grid = np.full((1, 1), None, dtype=object)
            min_col, min_row, max_col, max_row = bounds(ref, grid.shape[0] - 1, grid.shape[1] - 1)
            block = np.full((max_row - min_row + 1, max_col - min_col + 1), None, dtype=object)
            part = grid[min_row:max_row + 1, min_col:max_col + 1]
            block[: part.shape[0], : part.shape[1]] = part
            block[block == None] = sh.EMPTY  # noqa: E711  (element-wise)
            self.ranges[(sheet, ref)] = block
        return self.ranges[(sheet, ref)]

    def column(self, sheet: str, col: int, rows: np.ndarray) -> np.ndarray:
        """The values at ``rows`` of one column (None where empty), as a new object array."""
        grid = self.grids.get(sheet)
        return np.full(len(rows), None, dtype=object) if grid is None else values_at(grid, rows, col)


def plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else None
    if isinstance(value, np.generic):
        value = value.item()
    if value is sh.EMPTY:
        return None
    if type(value) in (bool, int, float, str) or value is None:
        return value
    return CellError(value)  # formulas' XlError (a str subclass) renders as "#DIV/0!" etc.


def objects(values: list[Any]) -> np.ndarray:
    """A list as a 1-D object array (``np.array`` would make a 2-D array of a list of tuples)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
