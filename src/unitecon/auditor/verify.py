"""Recompute a workbook from its own formula text, and compare with the values cached in it.

``formulas`` parses each formula into a compiled Python function once per distinct formula text;
cells are then evaluated in dependency order. Nothing of unitecon's model is used: what is checked is
the file as written (or as a person edited and saved it).
"""

from __future__ import annotations

import functools
import logging
import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import schedula as sh
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple, get_column_letter, range_boundaries

from ..reading.r1c1 import column_patterns
from ..reading.snapshot import CellError, Snapshot, grid_cells, read_snapshot, value_at, values_at
from ..sheets import CUSTOMERS, FIRST_CUSTOMER_ROW
from .graph import references
from .verdict import shorten, unsettled

Key = tuple[str, str]  # (SHEET upper-case, "A1")
T = TypeVar("T")


@cache
def _compile(text: str):
    import formulas

    from ..engines.formulas_operators import install

    install()
    # schedula logs a traceback for every function formulas lacks before raising it; the cell that
    # needs one is reported once, in one line, as not verified
    logging.getLogger("schedula").setLevel(logging.CRITICAL)
    return formulas.Parser().ast(text)[1].compile()


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


@dataclass(frozen=True)
class Mismatch:
    sheet: str
    cell: str
    formula: str
    recomputed: Any
    cached: Any
    other: str = "the file has"

    def __str__(self) -> str:
        where = f"{self.sheet}!{self.cell}: {self.formula}"
        return f"{where} recomputes to {self.recomputed!r}, {self.other} {self.cached!r}"

    def brief(self) -> str:
        """One line of at most ~200 characters: a long formula or value is cut short."""
        where = f"{self.sheet}!{self.cell}: {shorten(self.formula, 64)}"
        ours = f"{where} recomputes to {shorten(repr(self.recomputed), 30)}"
        return f"{ours}, {self.other} {shorten(repr(self.cached), 30)}"




def capped(lines: list[T], limit: int, what: str, indent: str = "") -> list[T | str]:
    """At most ``limit`` of ``lines`` (0: all), then one line saying how many more there are."""
    if not limit or len(lines) <= limit:
        return lines
    return [*lines[:limit], f"{indent}… and {len(lines) - limit:,} more {what} (use --limit 0 for all)"]


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else None
    if isinstance(value, np.generic):
        value = value.item()
    if value is sh.EMPTY:
        return None
    if type(value) in (bool, int, float, str) or value is None:
        return value
    return CellError(value)  # formulas' XlError (a str subclass) renders as "#DIV/0!" etc.


@functools.lru_cache(maxsize=256)  # a named customer column is expanded once, not once per formula reading it
def _cells_of(ref: str, height: int, width: int) -> list[list[str]]:
    """The A1 cells of a reference, row by row; a whole column or row as far as the sheet's cells go."""
    min_col, min_row, max_col, max_row = _bounds(ref.replace("$", ""), height, width)
    return [[f"{get_column_letter(c)}{r}" for c in range(min_col, max_col + 1)] for r in range(min_row, max_row + 1)]


def recompute(source: str | Path | Snapshot, overrides: dict[tuple[str, str], Any] | None = None) -> Recomputed:
    """Recompute every formula cell of a workbook (a path, or a snapshot already read).

    ``overrides`` replaces constant cells first, e.g. ``{("Inputs", "C12"): 2.0}``: the liveness check.
    """
    snap = source if isinstance(source, Snapshot) else read_snapshot(source)
    up = str.upper
    names = {up(name): (up(sheet), ref.upper()) for name, (sheet, ref) in snap.names.items()}
    rec = Recomputed(snap, {up(s): s for s in snap.sheets}, names, properties=dict(snap.properties))
    rec.grids = {up(s): cells.grid.copy() for s, cells in snap.cells.items()}
    for (sheet, a1), value in (overrides or {}).items():
        upper, ref = rec.key(sheet, a1)
        row, col = coordinate_to_tuple(ref)
        grid = rec.grids[upper]
        if row >= grid.shape[0] or col >= grid.shape[1]:
            grid = rec.grids[upper] = _grown(grid, row, col)
        grid[row, col] = value
    _evaluate(rec, names, snap.path)
    return rec


def _grown(grid: np.ndarray, row: int, col: int) -> np.ndarray:
    out = np.full((max(grid.shape[0], row + 1), max(grid.shape[1], col + 1)), None, dtype=object)
    out[: grid.shape[0], : grid.shape[1]] = grid
    return out


def _norm(token: str) -> str:
    """A reference token as ``formulas`` lists a compiled function's inputs: upper-case, no ``$``."""
    sheet, sep, ref = token.rpartition("!")
    return (sheet.upper() + sep + ref.replace("$", "").upper()) if sep else ref.replace("$", "").upper()


@dataclass
class _Ref:
    """One input of a compiled formula: fixed for the whole run, or moving with the formula's cell."""

    sheet: str
    fixed: str | None = None  # a cell or range that is the same for every cell of the run
    dr: int = 0
    dc: int = 0  # a relative single cell: offset from the formula's own cell
    corners: tuple[tuple[bool, int, bool, int], ...] | None = None  # a moving range or half-absolute cell

    @property
    def single(self) -> bool:
        """A fixed reference or a relative single cell: what a column-wise call can take."""
        return self.corners is None

    def at(self, row: int, col: int) -> str:
        """The A1 text this input points at for the formula in ``row``/``col``."""
        if self.fixed is not None:
            return self.fixed
        if self.corners is None:
            return f"{get_column_letter(col + self.dc)}{row + self.dr}"
        return ":".join(f"{get_column_letter(c if ca else col + c)}{r if ra else row + r}"
                        for ra, r, ca, c in self.corners)


def _plan_refs(fn, first: str, host: str, row: int, col: int, names: dict[str, Key]) -> list[_Ref] | None:
    """How each input of ``fn`` (compiled from formula ``first`` at ``row``/``col``) moves down a column.

    None when two references of the formula compile to one input (A2 and $A$2 in row 2).
    """
    originals: dict[str, str] = {}
    for t in references(first):
        if originals.setdefault(_norm(t), t) != t:
            return None  # A2 and $A$2 in one formula compile to one input: plan from another row
    out = []
    for token in fn.inputs:
        if token in names:
            out.append(_Ref(names[token][0], fixed=names[token][1]))
            continue
        original = originals.get(token, token)
        sheet, ref = (original.rsplit("!", 1) if "!" in original else (host, original))
        sheet = sheet.strip("'").upper()
        parts = ref.split(":")
        if all(p.count("$") == 2 for p in parts):
            out.append(_Ref(sheet, fixed=ref.replace("$", "").upper()))
            continue
        corners = []
        for part in parts:
            m = _ABS_CELL.match(part)
            if m is None:
                return None  # a whole row or column: not planned
            col_abs, letters, row_abs, digits = m.groups()
            r, c = int(digits), column_index_from_string(letters.upper())
            corners.append((bool(row_abs), r if row_abs else r - row, bool(col_abs), c if col_abs else c - col))
        if len(corners) == 1 and not corners[0][0] and not corners[0][2]:
            out.append(_Ref(sheet, dr=corners[0][1], dc=corners[0][3]))
        else:
            out.append(_Ref(sheet, corners=tuple(corners)))
    return out


_ABS_CELL = re.compile(r"^(\$?)([A-Za-z]{1,3})(\$?)([0-9]+)$")


Group = tuple[str, int, str]  # (SHEET, column, R1C1): one formula copied down a column


def _groups(rec: Recomputed) -> dict[Group, tuple[np.ndarray, list[str]]]:
    """The rows and texts of every column run of one R1C1 formula (rows ascending)."""
    groups: dict[Group, tuple[np.ndarray, list[str]]] = {}
    for sheet, col, rows, texts in rec.formula_columns():
        patterns, which = column_patterns(texts, rows, col)
        if len(patterns) == 1:
            groups[(sheet, col, patterns[0])] = (rows, texts)
            continue
        for k, pattern in enumerate(patterns):
            chosen = np.flatnonzero(which == k)
            groups[(sheet, col, pattern)] = (rows[chosen], [texts[i] for i in chosen.tolist()])
    return groups


def _evaluate(rec: Recomputed, names: dict[str, Key], path) -> None:
    """Evaluate every formula cell: each column run of one R1C1 formula is compiled once and, where its
    inputs allow, evaluated for all its rows in one call on numpy columns."""
    groups = _groups(rec)
    owners = _Owners({gkey: rows for gkey, (rows, _) in groups.items()})
    get = _Cells(rec.grids)

    plans: dict[Group, tuple[Any, list[_Ref] | None]] = {}
    planned: dict[tuple[str, str], tuple[Any, list[_Ref]]] = {}  # (sheet, R1C1) -> a plan any column can use
    graph: dict[Group, set] = {}
    recursive: set[Group] = set()
    for gkey, (rows, texts) in groups.items():
        sheet, col, r1c1 = gkey
        fn, refs = planned.get((sheet, r1c1), (None, None))
        for i in range(min(3, len(rows))) if fn is None else ():  # the first row whose references are distinct
            try:
                fn = _compile(texts[i])
                refs = _plan_refs(fn, texts[i], sheet, int(rows[i]), col, names)
            except Exception:
                fn, refs = None, None
                break
            if refs is not None:
                planned[(sheet, r1c1)] = (fn, refs)  # offsets and fixed cells: the same in every column
                break
        if refs is None:
            deps = owners.of_cells(_cell_precedents(rec, sheet, texts, names))
        else:
            deps = owners.of_refs(col, rows, refs)
        if gkey in deps:  # the run refers to itself: a running total
            recursive.add(gkey)
            deps.discard(gkey)
        plans[gkey] = (fn, refs)
        graph[gkey] = deps
    order = _acyclic_prefix(graph)
    for gkey in order:
        sheet, col, _ = gkey
        fn, refs = plans[gkey]
        rows, texts = groups[gkey]
        try:
            if refs is None or not _evaluate_planned(rec, gkey, rows, texts, fn, refs, gkey in recursive, get):
                _evaluate_cells(rec, [(sheet, col, rows, texts)], names, get)
        except Exception:  # formulas cannot compute the run as one: cell by cell, each failure its own
            _evaluate_cells(rec, [(sheet, col, rows, texts)], names, get)
    on_cycles = [(g[0], g[1], *groups[g]) for g in sorted(graph.keys() - set(order))]
    if on_cycles:  # runs that read each other (a loan schedule's two columns): ordered cell by cell
        _evaluate_cells(rec, on_cycles, names, get)


def _evaluate_planned(rec, gkey, rows, texts, fn, refs, recursive: bool, get: _Cells) -> bool:
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
    if not _evaluate_column(rec, sheet, col, rows, fn, refs, _Cells({**rec.grids, sheet: as_cached})):
        return False
    return not _mismatched(rec.grids[sheet][rows, col], cached, rel_tol=1e-12)


def _evaluate_rows(rec, sheet, col, rows, fn, refs: list[_Ref], get: _Cells) -> bool:
    """Row by row with the run's one compiled formula, in the order a running total needs (down the
    column when it reads rows above, up when it reads rows below); False if it reads both."""
    steps = {ref.dr for ref in refs if ref.single and ref.fixed is None and ref.dc == 0 and ref.sheet == sheet}
    if any(dr < 0 for dr in steps) and any(dr > 0 for dr in steps):
        return False
    fixed = {i: get.arg(ref.sheet, ref.fixed) for i, ref in enumerate(refs) if ref.fixed is not None}
    grid = rec.grids[sheet]
    for row in sorted(rows.tolist(), reverse=any(dr > 0 for dr in steps)):
        args = [fixed[i] if i in fixed else get.arg(ref.sheet, ref.at(row, col)) for i, ref in enumerate(refs)]
        grid[row, col] = _plain(fn(*args))
    return True


def _cell_precedents(rec: Recomputed, sheet: str, texts: list[str], names) -> set[Key]:
    """Every cell the formulas of a run read, formula by formula (a run no plan fits)."""
    out: set[Key] = set()
    for text in texts:
        try:
            inputs = _compile(text).inputs
        except Exception:
            continue  # evaluated (and failing) cell by cell
        for s, r in (_resolve(t, sheet, names) for t in inputs):
            out.update((s, c) for line in _cells_within(r, rec, s) for c in line)
    return out


def _cells_within(ref: str, rec: Recomputed, sheet: str) -> list[list[str]]:
    """The A1 cells of a reference as :func:`_cells_of`; none for what is not a reference (a name that
    formulas could not resolve: the cell that uses it fails on its own)."""
    try:
        return _cells_of(ref, *rec.extent(sheet))
    except (ValueError, TypeError):
        return []


class _Owners:
    """Which run computes each formula cell, as one array of run numbers per column (-1: no formula), so
    a run's precedent runs are found with array lookups instead of one set entry per cell."""

    def __init__(self, groups: dict[Group, np.ndarray]):
        self.keys = list(groups)
        height = self.height = 1 + max((int(rows.max()) for rows in groups.values() if len(rows)), default=0)
        self.columns: dict[tuple[str, int], np.ndarray] = {}
        for i, (gkey, rows) in enumerate(groups.items()):
            column = self.columns.setdefault((gkey[0], gkey[1]), np.full(height + 1, -1, dtype=np.int64))
            column[rows] = i

    def _runs(self, sheet: str, col: int, rows: np.ndarray) -> set[Group]:
        column = self.columns.get((sheet, col))
        if column is None:
            return set()
        rows = rows[(rows >= 0) & (rows < len(column))]
        return {self.keys[i] for i in np.unique(column[rows]) if i >= 0}

    def of_cells(self, keys: set[Key]) -> set[Group]:
        out: set[Group] = set()
        for sheet, a1 in keys:
            row, col = coordinate_to_tuple(a1)
            out |= self._runs(sheet, col, np.array([row]))
        return out

    def of_refs(self, col: int, rows: np.ndarray, refs: list[_Ref]) -> set[Group]:
        """Runs that a run in column ``col`` over ``rows`` reads through its planned references."""
        here = np.asarray(rows, dtype=np.int64)
        out: set[Group] = set()
        for ref in refs:
            if ref.fixed is not None:
                min_col, min_row, max_col, max_row = _bounds(ref.fixed, self.height)
                for c in range(min_col, max_col + 1):
                    out |= self._runs(ref.sheet, c, np.arange(min_row, max_row + 1))
            elif ref.single:
                out |= self._runs(ref.sheet, col + ref.dc, here + ref.dr)
            else:  # a range moving with the row: its corners, absolute or relative, in every row
                (ra, r0, ca, c0), (rb, r1, cb, c1) = ref.corners[0], ref.corners[-1]
                lows = np.full_like(here, r0) if ra else here + r0
                highs = np.full_like(here, r1) if rb else here + r1
                lows, highs = np.minimum(lows, highs), np.maximum(lows, highs)
                covered = np.zeros(int(highs.max()) + 2 if len(here) else 1, dtype=np.int64)
                np.add.at(covered, lows, 1)  # the union of every row's interval, exactly
                np.add.at(covered, highs + 1, -1)
                wanted = np.flatnonzero(np.cumsum(covered) > 0)
                first, last = sorted((c0 if ca else col + c0, c1 if cb else col + c1))
                for c in range(first, last + 1):
                    out |= self._runs(ref.sheet, c, wanted)
        return out


def _bounds(ref: str, height: int, width: int = 16384) -> tuple[int, int, int, int]:
    """(min col, min row, max col, max row) of a range; a whole column or row runs to ``height``/``width``."""
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    return min_col or 1, min_row or 1, max_col or width, max_row or height


def _resolve(token: str, sheet: str, names: dict[str, Key]) -> tuple[str, str]:
    """(SHEET, ref) of one compiled-function input: a cell, a range or a defined name."""
    if "!" in token:
        s, r = token.rsplit("!", 1)
        return s.strip("'").upper(), r.replace("$", "")
    if token.upper() in names:
        return names[token.upper()]
    return sheet, token.replace("$", "")


class _Cells:
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
            min_col, min_row, max_col, max_row = _bounds(ref, grid.shape[0] - 1, grid.shape[1] - 1)
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


_NUMBERS = {float, int}


def _evaluate_column(rec, sheet, col, rows, fn, refs: list[_Ref], get: _Cells) -> bool:
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
        rec.grids[sheet][rows, col] = _objects([_plain(v) for v in flat])
    return True


CANNOT = "#N/IMPL!"  # a cell the formulas engine cannot compile or compute (verify: not verified)


def _evaluate_cells(rec, runs: list[tuple[str, int, np.ndarray, list[str]]], names, get: _Cells) -> None:
    """The cells of ``runs`` one by one, in dependency order among them; a cell on a true cycle says #CIRC!,
    one formulas cannot compile or compute says #N/IMPL!."""
    keys = {(sheet, f"{get_column_letter(col)}{row}"): (sheet, row, col)
            for sheet, col, rows, _ in runs for row in rows.tolist()}
    plans, graph = {}, {}
    for sheet, col, rows, texts in runs:
        for row, text in zip(rows.tolist(), texts, strict=True):
            key = (sheet, f"{get_column_letter(col)}{row}")
            try:
                fn = _compile(text)
            except Exception:
                rec.grids[sheet][row, col] = CANNOT
                continue
            refs = [_resolve(t, sheet, names) for t in fn.inputs]
            plans[key] = (fn, refs)
            graph[key] = {(s, c) for s, r in refs for line in _cells_within(r, rec, s) for c in line
                          if (s, c) in keys}
    order = _acyclic_prefix(graph)
    for key in [*order, *(graph.keys() - set(order))]:
        sheet, row, col = keys[key]
        if key not in order:
            rec.grids[sheet][row, col] = "#CIRC!"
            continue
        fn, refs = plans[key]
        try:
            rec.grids[sheet][row, col] = _plain(fn(*[get.arg(s, r) for s, r in refs]))
        except Exception:
            rec.grids[sheet][row, col] = CANNOT


def _acyclic_prefix(graph: dict) -> list:
    """The keys of ``graph`` (key -> what it reads) that no cycle reaches, in dependency order (Kahn)."""
    waiting = {key: {d for d in deps if d in graph and d != key} | ({key} & deps) for key, deps in graph.items()}
    readers: dict = {}
    for key, deps in waiting.items():
        for dep in deps:
            readers.setdefault(dep, []).append(key)
    ready = [key for key, deps in waiting.items() if not deps]
    out = []
    while ready:
        key = ready.pop()
        out.append(key)
        for other in readers.get(key, ()):
            waiting[other].discard(key)
            if not waiting[other]:
                ready.append(other)
    return out


def _objects(values: list[Any]) -> np.ndarray:
    """A list as a 1-D object array (``np.array`` would make a 2-D array of a list of tuples)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _mismatched(ours: np.ndarray, theirs: np.ndarray, rel_tol: float) -> list[int]:
    """Positions where two columns of values differ (numbers within ``rel_tol``, as :func:`_same`)."""
    return [i for i in unsettled(ours, theirs, rel_tol) if not _same(ours[i], theirs[i], rel_tol)]


def compare(rec: Recomputed, rel_tol: float = 1e-9) -> list[Mismatch]:
    """Formula cells whose recomputed value differs from the cached one."""
    out = []
    for sheet, col, rows, texts in rec.formula_columns():
        ours, cached = rec.grids[sheet][rows, col], rec.snap.cells[rec.sheets[sheet]].grid[rows, col]
        letter = get_column_letter(col)
        out.extend(Mismatch(rec.sheets[sheet], f"{letter}{rows[i]}", texts[i], ours[i], cached[i])
                   for i in _mismatched(ours, cached, rel_tol))
    return out


def compare_with_engine(rec: Recomputed, other: Snapshot, engine: str, rel_tol: float = 1e-9) -> list[Mismatch]:
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
        missing.extend(Mismatch(rec.sheets[sheet], f"{letter}{rows[i]}", texts[i], ours[i], None,
                                f"{engine} has no formula there;") for i in np.flatnonzero(~has_formula)[:20])
        out.extend(Mismatch(rec.sheets[sheet], f"{letter}{rows[i]}", texts[i], ours[i], values[i],
                            f"{engine} computes") for i in _mismatched(ours, values, rel_tol))
    return missing[:20] + out


def _same(a: Any, b: Any, rel_tol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-12)
    return a == b


def compare_with_model(rec: Recomputed, layout, rel_tol: float = 1e-9) -> list[Mismatch]:
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
        if not _same(got, expected, rel_tol):
            out.append(Mismatch(cell.sheet, cell.a1(), text, got, expected, "the inputs file gives"))
    sheet = CUSTOMERS.upper()
    if sheet not in rec.grids:
        return out
    texts_of = {col: (rows, texts) for s, col, rows, texts in rec.formula_columns() if s == sheet}
    for column in layout.customer_columns.values():
        if column.row is None:
            continue
        col = column.col + 1
        expected = _objects(model.values[(column.key, column.period)].tolist())
        rows = np.arange(FIRST_CUSTOMER_ROW + 1, FIRST_CUSTOMER_ROW + 1 + len(expected))
        got = values_at(rec.grids[sheet], rows, col)
        written, texts = texts_of.get(col, (np.zeros(0, dtype=np.int64), []))
        text_at = dict(zip(written.tolist(), texts, strict=True))
        letter = get_column_letter(col)
        unwritten = [i for i, r in enumerate(rows.tolist()) if r not in text_at]
        for i in sorted({*_mismatched(got, expected, rel_tol), *unwritten}):
            row = int(rows[i])
            if row not in text_at:
                out.append(Mismatch(CUSTOMERS, f"{letter}{row}", "(no formula)", got[i], expected[i],
                                    "the inputs file gives"))
            elif not (isinstance(expected[i], float) and math.isnan(expected[i]) and got[i] == "#DIV/0!"):
                out.append(Mismatch(CUSTOMERS, f"{letter}{row}", text_at[row], got[i], expected[i],
                                    "the inputs file gives"))
    return out


