"""The plan of a recomputation: the runs of one formula a workbook holds, what each reads, in what order.

A *run* is the cells of one column holding one formula in R1C1 terms (a formula filled down): it is
compiled once by ``formulas`` (:func:`compiled`), and its inputs are planned as references that stay
fixed or move with the formula's row (:func:`plan_refs`). From those follow the runs each run reads
(:class:`Owners`) and an order in which every run comes after what it reads (:func:`acyclic_prefix`). A
run no plan fits is read formula by formula (:func:`cell_precedents`). How a planned run is then
computed is :mod:`unitecon.auditor.recompute_columns`.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple, get_column_letter, range_boundaries

from ..reading.r1c1 import column_patterns
from .graph import references
from .recomputed_workbook import Key, Recomputed

Group = tuple[str, int, str]  # (SHEET, column, R1C1): one formula copied down a column


@cache
def compiled(text: str):
    """The Python function ``formulas`` compiles one formula text to, once per distinct text; its
    ``inputs`` are the references and names the formula reads."""
    import formulas

    from ..engines.formulas_operators import install

    install()
    # schedula logs a traceback for every function formulas lacks before raising it; the cell that
    # needs one is reported once, in one line, as not verified
    logging.getLogger("schedula").setLevel(logging.CRITICAL)
    return formulas.Parser().ast(text)[1].compile()


def column_runs(rec: Recomputed) -> dict[Group, tuple[np.ndarray, list[str]]]:
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


def _norm(token: str) -> str:
    """A reference token as ``formulas`` lists a compiled function's inputs: upper-case, no ``$``."""
    sheet, sep, ref = token.rpartition("!")
    return (sheet.upper() + sep + ref.replace("$", "").upper()) if sep else ref.replace("$", "").upper()


@dataclass
class Ref:
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


def plan_refs(fn, first: str, host: str, row: int, col: int, names: dict[str, Key]) -> list[Ref] | None:
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
            out.append(Ref(names[token][0], fixed=names[token][1]))
            continue
        original = originals.get(token, token)
        sheet, ref = (original.rsplit("!", 1) if "!" in original else (host, original))
        sheet = sheet.strip("'").upper()
        parts = ref.split(":")
        if all(p.count("$") == 2 for p in parts):
            out.append(Ref(sheet, fixed=ref.replace("$", "").upper()))
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
            out.append(Ref(sheet, dr=corners[0][1], dc=corners[0][3]))
        else:
            out.append(Ref(sheet, corners=tuple(corners)))
    return out


_ABS_CELL = re.compile(r"^(\$?)([A-Za-z]{1,3})(\$?)([0-9]+)$")


class Owners:
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

    def of_refs(self, col: int, rows: np.ndarray, refs: list[Ref]) -> set[Group]:
        """Runs that a run in column ``col`` over ``rows`` reads through its planned references."""
        here = np.asarray(rows, dtype=np.int64)
        out: set[Group] = set()
        for ref in refs:
            if ref.fixed is not None:
                min_col, min_row, max_col, max_row = bounds(ref.fixed, self.height)
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


def bounds(ref: str, height: int, width: int = 16384) -> tuple[int, int, int, int]:
    """(min col, min row, max col, max row) of a range; a whole column or row runs to ``height``/``width``."""
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    return min_col or 1, min_row or 1, max_col or width, max_row or height


def resolve(token: str, sheet: str, names: dict[str, Key]) -> tuple[str, str]:
    """(SHEET, ref) of one compiled-function input: a cell, a range or a defined name."""
    if "!" in token:
        s, r = token.rsplit("!", 1)
        return s.strip("'").upper(), r.replace("$", "")
    if token.upper() in names:
        return names[token.upper()]
    return sheet, token.replace("$", "")


def cell_precedents(rec: Recomputed, sheet: str, texts: list[str], names) -> set[Key]:
    """Every cell the formulas of a run read, formula by formula (a run no plan fits)."""
    out: set[Key] = set()
    for text in texts:
        try:
            inputs = compiled(text).inputs
        except Exception:
            continue  # evaluated (and failing) cell by cell
        for s, r in (resolve(t, sheet, names) for t in inputs):
            out.update((s, c) for line in cells_within(r, rec, s) for c in line)
    return out


def cells_within(ref: str, rec: Recomputed, sheet: str) -> list[list[str]]:
    """The A1 cells of a reference as :func:`_cells_of`; none for what is not a reference (a name that
    formulas could not resolve: the cell that uses it fails on its own)."""
    try:
        return _cells_of(ref, *rec.extent(sheet))
    except (ValueError, TypeError):
        return []


@functools.lru_cache(maxsize=256)  # a named customer column is expanded once, not once per formula reading it
def _cells_of(ref: str, height: int, width: int) -> list[list[str]]:
    """The A1 cells of a reference, row by row; a whole column or row as far as the sheet's cells go."""
    min_col, min_row, max_col, max_row = bounds(ref.replace("$", ""), height, width)
    return [[f"{get_column_letter(c)}{r}" for c in range(min_col, max_col + 1)] for r in range(min_row, max_row + 1)]


def acyclic_prefix(graph: dict) -> list:
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
