"""The precedent / dependent graph of a workbook, per run of one copied formula.

A run is a stretch of one column whose cells hold the same formula in R1C1 terms: a formula filled down
25,000 customers is one run, read once. A cell's precedents are its run's references placed at its row;
the cells that read a given cell are found by interval arithmetic over the runs whose references can
reach it. No graph of every cell is built, and nothing recurses, so a 100,000-row running total is as
easy to follow as one cell. References are found with openpyxl's tokenizer; defined names are followed
to the cells they name. Whole-column or whole-row references are kept as findings, not expanded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from openpyxl.formula.tokenizer import Tokenizer
from openpyxl.utils.cell import coordinate_to_tuple, get_column_letter, range_boundaries

from .r1c1 import Axis, cell_axes, column_patterns, reference_r1c1
from .snapshot import Key, Snapshot

_WHOLE = re.compile(r"^(\$?[A-Za-z]{1,3}:\$?[A-Za-z]{1,3}|\$?[0-9]+:\$?[0-9]+)$")
MAX_RANGE_CELLS = 2_000_000  # a range's cells are listed as precedents up to this many
_WIDE = 64  # an area spanning more columns is looked up by sheet, not column by column


@dataclass(frozen=True)
class Area:
    """A rectangle a formula reads, as R1C1 axes: absolute numbers or offsets from the reading cell."""

    sheet: str | None  # None: the sheet the formula is on
    top: Axis
    bottom: Axis
    left: Axis
    right: Axis

    def at(self, row: int, col: int) -> tuple[int, int, int, int]:
        """(first row, last row, first column, last column) read from the cell at ``row``, ``col``."""
        top, bottom = _place(self.top, row), _place(self.bottom, row)
        left, right = _place(self.left, col), _place(self.right, col)
        return min(top, bottom), max(top, bottom), min(left, right), max(left, right)


def _place(axis: Axis, base: int) -> int:
    absolute, n = axis
    return n if absolute else base + n


@dataclass
class Run:
    """Rows ``first`` to ``last`` of column ``col`` of ``sheet``, all holding one formula (``pattern``)."""

    sheet: str
    col: int
    first: int
    last: int
    pattern: str
    areas: list[Area]
    whole: list[str]  # whole-column / whole-row references, as written
    unknown: list[str]  # names that are not defined

    def cells(self) -> Iterator[Key]:
        letter = get_column_letter(self.col)
        return ((self.sheet, f"{letter}{row}") for row in range(self.first, self.last + 1))


@dataclass
class FormulaColumn:
    """The formula cells of one column and the runs they form."""

    rows: np.ndarray  # the column's formula rows, ascending
    patterns: list[str]  # its distinct R1C1 patterns
    which: np.ndarray  # which pattern each formula row holds
    starts: np.ndarray  # index into ``rows`` where each run begins
    runs: list[Run]


@dataclass
class Graph:
    """Precedents and dependents of any cell of ``snap``, computed from its runs when asked."""

    snap: Snapshot
    columns: dict[tuple[str, int], FormulaColumn] = field(default_factory=dict)
    names_by_cell: dict[Key, str] = field(default_factory=dict)
    _readers: dict[tuple[str, int], list[tuple[Area, Run]]] = field(default_factory=dict)
    _wide_readers: dict[str, list[tuple[Area, Run]]] = field(default_factory=dict)
    _sheet_order: dict[str, int] = field(default_factory=dict)

    @property
    def runs(self) -> Iterator[Run]:
        return (run for column in self.columns.values() for run in column.runs)

    def name_of(self, key: Key) -> str | None:
        """The defined name of a single cell, if one points at it."""
        return self.names_by_cell.get(key)

    def run_at(self, key: Key) -> Run | None:
        """The run holding the formula cell ``key``; None where the cell holds no formula."""
        row, col = coordinate_to_tuple(key[1])
        column = self.columns.get((key[0], col))
        if column is None:
            return None
        i = int(np.searchsorted(column.rows, row))
        if i == len(column.rows) or column.rows[i] != row:
            return None
        return column.runs[int(np.searchsorted(column.starts, i, side="right")) - 1]

    def pattern_of(self, key: Key) -> str | None:
        run = self.run_at(key)
        return run.pattern if run else None

    def precedents(self, key: Key) -> list[Key]:
        """The cells the formula at ``key`` reads, in the order its references name them (none for a value)."""
        run = self.run_at(key)
        if run is None:
            return []
        row, col = coordinate_to_tuple(key[1])
        found: list[Key] = []
        for area in run.areas:
            top, bottom, left, right = area.at(row, col)
            if (bottom - top + 1) * (right - left + 1) > MAX_RANGE_CELLS or top < 1 or left < 1:
                continue
            sheet = area.sheet or run.sheet
            letters = [get_column_letter(c) for c in range(left, right + 1)]
            found += [(sheet, f"{letter}{r}") for r in range(top, bottom + 1) for letter in letters]
        return list(dict.fromkeys(found))

    def dependents(self, key: Key) -> list[Key]:
        """The formula cells that read ``key`` directly, column by column in sheet order."""
        row, col = coordinate_to_tuple(key[1])
        return [(sheet, f"{letter}{r}") for sheet, c, low, high in self.dependent_blocks(key[0], col, row, row)
                for letter in (get_column_letter(c),) for r in range(low, high + 1)]

    def dependent_blocks(self, sheet: str, col: int, first: int, last: int) -> list[tuple[str, int, int, int]]:
        """The formula cells that read any of rows ``first`` to ``last`` of column ``col`` directly, as
        (sheet, column, first row, last row) blocks in sheet and column order, none overlapping."""
        blocks: set[tuple[float, int, int, int, str]] = set()
        candidates = [*self._readers.get((sheet, col), ()),
                      *(entry for entry in self._wide_readers.get(sheet, ()) if _spans(entry, col))]
        for area, run in candidates:
            low, high = _rows_reading(area, run, first, last)
            if low <= high:
                blocks.add((self._sheet_order.get(run.sheet, math.inf), run.col, low, high, run.sheet))
        merged: list[list] = []  # runs of one column meet or overlap: merged, so each cell comes once
        for order, c, low, high, s in sorted(blocks):
            if merged and merged[-1][:2] == [order, c] and low <= merged[-1][3] + 1:
                merged[-1][3] = max(merged[-1][3], high)
            else:
                merged.append([order, c, low, high, s])
        return [(s, c, low, high) for _, c, low, high, s in merged]

    def formula_rows(self, sheet: str, col: int, first: int, last: int) -> int:
        """How many of rows ``first`` to ``last`` of column ``col`` hold a formula."""
        column = self.columns.get((sheet, col))
        if column is None:
            return 0
        return int(np.searchsorted(column.rows, last, side="right") - np.searchsorted(column.rows, first))

    @cached_property
    def whole_references(self) -> dict[Key, list[str]]:
        """Cell -> the whole-column / whole-row references its formula makes."""
        return {key: run.whole for run in self.runs if run.whole for key in run.cells()}

    @cached_property
    def unknown_names(self) -> dict[Key, list[str]]:
        """Cell -> the names its formula uses that are not defined (#NAME? in Excel)."""
        return {key: run.unknown for run in self.runs if run.unknown for key in run.cells()}


def _spans(entry: tuple[Area, Run], col: int) -> bool:
    area, run = entry
    _, _, left, right = area.at(run.first, run.col)
    return left <= col <= right


def _rows_reading(area: Area, run: Run, first: int, last: int) -> tuple[int, int]:
    """The rows of ``run`` whose ``area`` covers any of rows ``first`` to ``last`` (of the column it reads):
    an interval, empty when low > high.

    An area's ends may cross (``A$10:A5`` reads A5:A10), so each end is an absolute row or the reading
    row plus an offset, and the area covers a row when the row lies between them.
    """
    (top_fixed, top), (bottom_fixed, bottom) = area.top, area.bottom
    if top_fixed and bottom_fixed:
        low, high = (-math.inf, math.inf) if first <= max(top, bottom) and last >= min(top, bottom) else (1, 0)
    elif not top_fixed and not bottom_fixed:
        low, high = first - max(top, bottom), last - min(top, bottom)
    else:  # one end fixed at row ``fixed``, the other ``offset`` from the reading row
        fixed, offset = (top, bottom) if top_fixed else (bottom, top)
        low, high = ((-math.inf, math.inf) if first <= fixed <= last else
                     (first - offset, math.inf) if first > fixed else (-math.inf, last - offset))
    return max(low, run.first), min(high, run.last)


def split_ref(token: str, host_sheet: str) -> tuple[str, str]:
    """(sheet, ref) of a reference token such as ``'My Sheet'!$A$1:B2`` written on ``host_sheet``."""
    if "!" in token:
        sheet, ref = token.rsplit("!", 1)
        return sheet.strip("'").replace("''", "'"), ref
    return host_sheet, token


def references(formula: str) -> list[str]:
    """The reference and name tokens of ``formula``, as written."""
    try:
        tokens = Tokenizer(formula).items
    except Exception:
        return []
    return [t.value for t in tokens if t.type == "OPERAND" and t.subtype == "RANGE"]


def expand(sheet: str, ref: str) -> list[Key]:
    """The cells of ``ref`` (``A1`` or ``A1:C3``) on ``sheet``."""
    min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
    if (max_col - min_col + 1) * (max_row - min_row + 1) > MAX_RANGE_CELLS:
        return []
    return [(sheet, f"{get_column_letter(c)}{r}") for r in range(min_row, max_row + 1)
            for c in range(min_col, max_col + 1)]


_Parsed = tuple[list[Area], list[str], list[str]]  # areas read, whole references, unknown names


def _parse(text: str, row: int, col: int, sheets: dict[str, str], names: dict[str, Area],
           constants: set[str]) -> _Parsed:
    """What one formula reads, as R1C1 areas that hold for every cell of its run."""
    areas: list[Area] = []
    whole: list[str] = []
    unknown: list[str] = []
    for token in references(text):
        r1c1 = reference_r1c1(token, row, col)
        sheet, body = split_ref(r1c1, "")
        parts = [cell_axes(part) for part in body.split(":")]
        if all(parts) and len(parts) <= 2:
            (top, left), (bottom, right) = parts[0], parts[-1]
            areas.append(Area(sheets.get(sheet.upper(), sheet) if sheet else None, top, bottom, left, right))
        elif _WHOLE.match(body):
            whole.append(token)
        elif token.upper() in names:
            areas.append(names[token.upper()])
        elif token.upper() not in constants:  # a name defined as a constant or formula reads no cell
            unknown.append(token)
    return areas, whole, unknown


def _name_areas(snap: Snapshot) -> dict[str, Area]:
    out = {}
    for name, (sheet, ref) in snap.names.items():
        try:
            left, top, right, bottom = range_boundaries(ref)
        except (TypeError, ValueError):
            continue
        if None in (left, top, right, bottom):
            continue  # a name for whole columns or rows: read as no cell, as before
        out[name.upper()] = Area(sheet, (True, top), (True, bottom), (True, left), (True, right))
    return out


def build_graph(snap: Snapshot) -> Graph:
    """The runs of every formula column of ``snap``, and which runs read which columns."""
    graph = Graph(snap, _sheet_order={s: i for i, s in enumerate(snap.cells)})
    for name, (sheet, ref) in sorted(snap.names.items()):
        if ":" not in ref:
            graph.names_by_cell.setdefault((sheet, ref), name)
    sheets = {s.upper(): s for s in snap.sheets}
    names = _name_areas(snap)
    constants = {n.upper() for n in snap.formula_names}
    parsed: dict[str, _Parsed] = {}  # by pattern: the same R1C1 formula reads the same areas anywhere
    for sheet, cells in snap.cells.items():
        for col, (rows, texts) in cells.formulas.items():
            patterns, which = column_patterns(texts, rows, col)
            starts = np.flatnonzero(np.r_[True, (np.diff(rows) != 1) | (np.diff(which) != 0)])
            ends = np.r_[starts[1:], len(rows)] - 1
            runs = []
            for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
                pattern, first = patterns[int(which[start])], int(rows[start])
                if pattern not in parsed:
                    parsed[pattern] = _parse(texts[start], first, col, sheets, names, constants)
                runs.append(Run(sheet, col, first, int(rows[end]), pattern, *parsed[pattern]))
            graph.columns[(sheet, col)] = FormulaColumn(rows, patterns, which, starts, runs)
            for run in runs:
                _index(graph, run)
    return graph


def _index(graph: Graph, run: Run) -> None:
    """File each area ``run`` reads under the columns it covers, for :meth:`Graph.dependents`."""
    for area in run.areas:
        sheet = area.sheet or run.sheet
        _, _, left, right = area.at(run.first, run.col)
        if right - left >= _WIDE:
            graph._wide_readers.setdefault(sheet, []).append((area, run))
            continue
        for col in range(max(left, 1), right + 1):
            graph._readers.setdefault((sheet, col), []).append((area, run))
