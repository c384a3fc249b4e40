"""Recompute a workbook from its own formula text, and compare with the values cached in it.

``formulas`` parses each formula into a compiled Python function once per distinct formula text;
cells are then evaluated in dependency order. Nothing of unitecon's model is used: what is checked is
the file as written (or as a person edited and saved it).
"""

from __future__ import annotations

import functools
import graphlib
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import schedula as sh
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple, get_column_letter, range_boundaries

from .errors import UniteconError
from .graph import references
from .layout import CUSTOMERS, FIRST_CUSTOMER_ROW
from .r1c1 import to_r1c1
from .snapshot import Snapshot, read_snapshot

_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]+)$")

Key = tuple[str, str]  # (SHEET upper-case, "A1")


@cache
def _compile(text: str):
    import formulas

    from .fastops import install

    install()
    return formulas.Parser().ast(text)[1].compile()


@dataclass
class Recomputed:
    """Recomputed values, cached values and formula text of every formula cell, keyed (sheet, A1)."""

    sheets: dict[str, str]
    names: dict[str, Key]
    formulas: dict[Key, str] = field(default_factory=dict)
    constants: dict[Key, Any] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    cached: dict[Key, Any] = field(default_factory=dict)
    values: dict[Key, Any] = field(default_factory=dict)

    def key(self, sheet: str, a1: str) -> Key:
        return (sheet.upper(), a1.replace("$", "").upper())

    def value(self, sheet: str, a1: str) -> Any:
        """The value of any cell: recomputed for a formula, as stored for a constant."""
        return self._get(self.key(sheet, a1))

    def by_name(self, name: str) -> Any:
        return self._get(self.names[name.upper()])

    def _get(self, key: Key) -> Any:
        return self.values[key] if key in self.formulas else self.constants.get(key)


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


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else None
    if isinstance(value, np.generic):
        value = value.item()
    if value is sh.EMPTY:
        return None
    if type(value) in (bool, int, float, str) or value is None:
        return value
    return str(value)  # formulas' XlError (a str subclass) renders as "#DIV/0!" etc.


@functools.lru_cache(maxsize=256)  # a named customer column is expanded once, not once per formula reading it
def _cells_of(ref: str) -> list[list[str]]:
    min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
    return [[f"{get_column_letter(c)}{r}" for c in range(min_col, max_col + 1)] for r in range(min_row, max_row + 1)]


def recompute(source: str | Path | Snapshot, overrides: dict[tuple[str, str], Any] | None = None) -> Recomputed:
    """Recompute every formula cell of a workbook (a path, or a snapshot already read).

    ``overrides`` replaces constant cells first, e.g. ``{("Inputs", "C12"): 2.0}``: the liveness check.
    """
    snap = source if isinstance(source, Snapshot) else read_snapshot(source)
    up = str.upper
    names = {up(name): (up(sheet), ref.upper()) for name, (sheet, ref) in snap.names.items()}
    rec = Recomputed({up(s): s for s in snap.sheets}, names, properties=dict(snap.properties))
    rec.formulas = {(up(s), a1): text for (s, a1), text in snap.formulas.items()}
    rec.constants = {(up(s), a1): value for (s, a1), value in snap.values.items()}
    rec.cached = {(up(s), a1): value for (s, a1), value in snap.cached.items()}
    for (sheet, a1), value in (overrides or {}).items():
        rec.constants[rec.key(sheet, a1)] = value
    _evaluate(rec, names, snap.path)
    return rec


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


def _evaluate(rec: Recomputed, names: dict[str, Key], path) -> None:
    """Evaluate every formula cell: each column run of one R1C1 formula is compiled once and, where its
    inputs allow, evaluated for all its rows in one call on numpy columns."""
    groups: dict[tuple[str, int, str], list[int]] = defaultdict(list)
    for (sheet, a1) in rec.formulas:
        row, col = coordinate_to_tuple(a1)
        groups[(sheet, col, to_r1c1(rec.formulas[(sheet, a1)], row, col))].append(row)
    owners = _Owners(groups)
    get = _Cells(rec)

    plans: dict[tuple[str, int, str], tuple[Any, list[_Ref] | None]] = {}
    planned: dict[tuple[str, str], tuple[Any, list[_Ref]]] = {}  # (sheet, R1C1) -> a plan any column can use
    graph: dict[tuple[str, int, str], set] = {}
    recursive: set[tuple[str, int, str]] = set()
    for gkey, rows in groups.items():
        sheet, col, r1c1 = gkey
        rows.sort()
        fn, refs = planned.get((sheet, r1c1), (None, None))
        for row in rows[:3] if fn is None else ():  # the first row whose references are distinct makes the plan
            first = rec.formulas[(sheet, f"{get_column_letter(col)}{row}")]
            fn = _compile(first)
            refs = _plan_refs(fn, first, sheet, row, col, names)
            if refs is not None:
                planned[(sheet, r1c1)] = (fn, refs)  # offsets and fixed cells: the same in every column
                break
        if refs is None:
            keys = _cell_precedents(sheet, col, rows, rec, names)
            deps = owners.of_cells(keys)
        else:
            deps = owners.of_refs(col, rows, refs)
        if gkey in deps:  # the run refers to itself: a running total
            recursive.add(gkey)
            deps.discard(gkey)
        plans[gkey] = (fn, refs)
        graph[gkey] = deps
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = ", ".join(f"{g[0]}!{get_column_letter(g[1])}" for g in exc.args[1])
        raise UniteconError(f"{path}: circular reference through {cycle}") from None

    for gkey in order:
        sheet, col, _ = gkey
        fn, refs = plans[gkey]
        rows = groups[gkey]
        letter = get_column_letter(col)
        if refs is None:
            _evaluate_cells(rec, sheet, letter, rows, names, get, path)
            continue
        columnwise = all(ref.single for ref in refs)
        if gkey in recursive:
            if columnwise and _cached_running_total_holds(rec, sheet, letter, col, rows, fn, refs):
                continue
            if not _evaluate_rows(rec, sheet, letter, col, rows, fn, refs, get):
                _evaluate_cells(rec, sheet, letter, rows, names, get, path)
        elif not (columnwise and _evaluate_column(rec, sheet, letter, col, rows, fn, refs, get)):
            _evaluate_rows(rec, sheet, letter, col, rows, fn, refs, get)


def _cached_running_total_holds(rec, sheet, letter, col, rows, fn, refs) -> bool:
    """Evaluate a running total in one call, reading its own earlier rows from the file's cached values.

    This checks each cell against its formula applied to the values stored for its precedents, as
    every other cell is checked. When every cell reproduces its cached value (relative 1e-12, far
    inside the comparison tolerance: engines differ only in the last bits of a quotient), the run is
    consistent step by step from its first row; otherwise False, and the column is evaluated row by
    row from the opening value instead (after an edit, the cached values are stale).
    """
    own = {(sheet, f"{letter}{row}") for row in rows}
    if not _evaluate_column(rec, sheet, letter, col, rows, fn, refs, _Cells(rec, from_cache=own)):
        return False
    return all(_same(rec.values[k], rec.cached.get(k), rel_tol=1e-12) for k in own)


def _evaluate_rows(rec, sheet, letter, col, rows, fn, refs: list[_Ref], get: _Cells) -> bool:
    """Row by row with the run's one compiled formula, in the order a running total needs (down the
    column when it reads rows above, up when it reads rows below); False if it reads both."""
    steps = {ref.dr for ref in refs if ref.single and ref.fixed is None and ref.dc == 0 and ref.sheet == sheet}
    if any(dr < 0 for dr in steps) and any(dr > 0 for dr in steps):
        return False
    fixed = {i: get.arg(ref.sheet, ref.fixed) for i, ref in enumerate(refs) if ref.fixed is not None}
    for row in (sorted(rows, reverse=True) if any(dr > 0 for dr in steps) else sorted(rows)):
        args = [fixed[i] if i in fixed else get.arg(ref.sheet, ref.at(row, col))
                for i, ref in enumerate(refs)]
        rec.values[(sheet, f"{letter}{row}")] = _plain(fn(*args))
    return True


def _cell_precedents(sheet: str, col: int, rows: list[int], rec: Recomputed, names) -> set[Key]:
    """Every cell the formulas of a run read, formula by formula (a run no plan fits)."""
    letter = get_column_letter(col)
    out: set[Key] = set()
    for row in rows:
        for s, r in (_resolve(t, sheet, names) for t in _compile(rec.formulas[(sheet, f"{letter}{row}")]).inputs):
            out.update((s, c) for line in _cells_of(r) for c in line)
    return out


class _Owners:
    """Which run computes each formula cell, as one array of run numbers per column (-1: no formula), so
    a run's precedent runs are found with array lookups instead of one set entry per cell."""

    def __init__(self, groups: dict[tuple[str, int, str], list[int]]):
        self.keys = list(groups)
        height = 1 + max((max(rows) for rows in groups.values()), default=0)
        self.columns: dict[tuple[str, int], np.ndarray] = {}
        for i, (gkey, rows) in enumerate(groups.items()):
            column = self.columns.setdefault((gkey[0], gkey[1]), np.full(height + 1, -1, dtype=np.int64))
            column[rows] = i

    def _runs(self, sheet: str, col: int, rows: np.ndarray) -> set[tuple[str, int, str]]:
        column = self.columns.get((sheet, col))
        if column is None:
            return set()
        rows = rows[(rows >= 0) & (rows < len(column))]
        return {self.keys[i] for i in np.unique(column[rows]) if i >= 0}

    def of_cells(self, keys: set[Key]) -> set[tuple[str, int, str]]:
        out: set[tuple[str, int, str]] = set()
        for sheet, a1 in keys:
            row, col = coordinate_to_tuple(a1)
            out |= self._runs(sheet, col, np.array([row]))
        return out

    def of_refs(self, col: int, rows: list[int], refs: list[_Ref]) -> set[tuple[str, int, str]]:
        """Runs that a run in column ``col`` over ``rows`` reads through its planned references."""
        here = np.asarray(rows, dtype=np.int64)
        out: set[tuple[str, int, str]] = set()
        for ref in refs:
            if ref.fixed is not None:
                min_col, min_row, max_col, max_row = range_boundaries(ref.fixed)
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


def _resolve(token: str, sheet: str, names: dict[str, Key]) -> tuple[str, str]:
    """(SHEET, ref) of one compiled-function input: a cell, a range or a defined name."""
    if "!" in token:
        s, r = token.rsplit("!", 1)
        return s.strip("'").upper(), r.replace("$", "")
    if token.upper() in names:
        return names[token.upper()]
    return sheet, token.replace("$", "")


class _Cells:
    """Cell values as one evaluation reads them (``from_cache``: cells read as the file cached them).

    A range argument is built once per evaluation: a named column of 25,000 customers is read by many
    summary formulas. Only ranges whose formulas are all computed are read, so a built range does not
    change afterwards.
    """

    def __init__(self, rec: Recomputed, from_cache: set[Key] = frozenset()):
        self.rec, self.from_cache = rec, from_cache
        self.ranges: dict[tuple[str, str], np.ndarray] = {}

    def __call__(self, key: Key) -> Any:
        rec = self.rec
        if key in self.from_cache:
            value = rec.cached.get(key)
        else:
            value = rec.values[key] if key in rec.formulas else rec.constants.get(key)
        return sh.EMPTY if value is None else value

    def arg(self, sheet: str, ref: str) -> Any:
        """A compiled function's argument: one cell's value, or a range as a 2-D array."""
        if ":" not in ref:
            return self((sheet, ref))
        if (sheet, ref) not in self.ranges:
            self.ranges[(sheet, ref)] = np.array([[self((sheet, c)) for c in line] for line in _cells_of(ref)],
                                                 dtype=object)
        return self.ranges[(sheet, ref)]


_NUMBERS = (float, int)


def _evaluate_column(rec, sheet, letter, col, rows, fn, refs: list[_Ref], get: _Cells) -> bool:
    """One call for the whole run; False if the result does not come back one value per row."""
    n = len(rows)
    args = []
    for ref in refs:
        if ref.fixed is not None:
            args.append(get.arg(ref.sheet, ref.fixed))
            continue
        other = get_column_letter(col + ref.dc)
        values = [get((ref.sheet, f"{other}{row + ref.dr}")) for row in rows]
        if all(type(v) in _NUMBERS for v in values):  # not bool or text: formulas treats those apart
            args.append(np.array(values, dtype=float).reshape(n, 1))
        else:
            column = np.empty((n, 1), dtype=object)
            column[:, 0] = values
            args.append(column)
    result = fn(*args)
    array = np.asarray(result, dtype=object)
    if array.shape == (n, 1):
        flat = array[:, 0]
    elif array.size == 1:
        flat = [array.ravel()[0]] * n
    else:
        return False
    for row, value in zip(rows, flat, strict=True):
        rec.values[(sheet, f"{letter}{row}")] = _plain(value)
    return True


def _evaluate_cells(rec, sheet, letter, rows, names, get: _Cells, path) -> None:
    """Cell by cell, in dependency order within the run."""
    keys = [(sheet, f"{letter}{row}") for row in rows]
    members = set(keys)
    plans, graph = {}, {}
    for key in keys:
        fn = _compile(rec.formulas[key])
        refs = [_resolve(t, sheet, names) for t in fn.inputs]
        plans[key] = (fn, refs)
        graph[key] = {(s, c) for s, r in refs for line in _cells_of(r) for c in line if (s, c) in members}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = ", ".join("!".join(k) for k in exc.args[1])
        raise UniteconError(f"{path}: circular reference through {cycle}") from None
    for key in order:
        fn, refs = plans[key]
        args = []
        for s, r in refs:
            args.append(get.arg(s, r))
        rec.values[key] = _plain(fn(*args))


def compare(rec: Recomputed, rel_tol: float = 1e-9) -> list[Mismatch]:
    """Formula cells whose recomputed value differs from the cached one."""
    out = []
    for key, text in rec.formulas.items():
        new, old = rec.values[key], rec.cached.get(key)
        if not _same(new, old, rel_tol):
            out.append(Mismatch(rec.sheets[key[0]], key[1], text, new, old))
    return out


def compare_with_engine(rec: Recomputed, other: Snapshot, engine: str, rel_tol: float = 1e-9) -> list[Mismatch]:
    """Formula cells whose recomputed value differs from another engine's result for the same cell.

    ``other`` is the same workbook after that engine recalculated and saved it (formula text may be
    rewritten in the engine's own spelling; the cells are the same).
    """
    theirs = {(s.upper(), a1): v for (s, a1), v in other.cached.items()}
    their_formulas = {(s.upper(), a1) for s, a1 in other.formulas}
    missing = [key for key in rec.formulas if key not in their_formulas]
    out = [Mismatch(rec.sheets[k[0]], k[1], rec.formulas[k], rec.values[k], None, f"{engine} has no formula there;")
           for k in missing[:20]]
    for key, text in rec.formulas.items():
        if not _same(rec.values[key], theirs.get(key), rel_tol):
            out.append(Mismatch(rec.sheets[key[0]], key[1], text, rec.values[key], theirs.get(key),
                                f"{engine} computes"))
    return out


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
        key = (cell.sheet.upper(), cell.a1())
        if key not in rec.formulas or (name, period) not in model.values:
            continue
        expected = model.values[(name, period)]
        if not _same(rec.values[key], expected, rel_tol):
            out.append(Mismatch(cell.sheet, cell.a1(), rec.formulas[key], rec.values[key], expected,
                                "the inputs file gives"))
    for column in layout.customer_columns.values():
        if column.row is None:
            continue
        letter = get_column_letter(column.col + 1)
        for i, expected in enumerate(model.values[(column.key, column.period)].tolist()):
            key = (CUSTOMERS.upper(), f"{letter}{FIRST_CUSTOMER_ROW + 1 + i}")
            if key not in rec.formulas:
                out.append(Mismatch(CUSTOMERS, key[1], "(no formula)", rec.constants.get(key), expected,
                                    "the inputs file gives"))
            elif not _same(rec.values[key], expected, rel_tol) and not (
                    isinstance(expected, float) and math.isnan(expected) and rec.values[key] == "#DIV/0!"):
                out.append(Mismatch(CUSTOMERS, key[1], rec.formulas[key], rec.values[key], expected,
                                    "the inputs file gives"))
    return out
