"""The precedent / dependent graph of a workbook, per run of one copied formula.

A run is a stretch of one column whose cells hold the same formula in R1C1 terms: a formula filled down
25,000 customers is one run, read once. A cell's precedents are its run's references placed at its row;
the cells that read a given cell are found by interval arithmetic over the runs whose references can
reach it. No graph of every cell is built, and nothing recurses, so a 100,000-row running total is as
easy to follow as one cell. References are found with openpyxl's tokenizer and read as Excel reads them:
defined names (a sheet's own first) to the cells they name, 3-D references on every sheet of their span,
the intersection operator as what its operands share, whole columns or rows within the cells their sheet
uses (and kept as findings for audit).
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

from ..reading.r1c1 import Axis, cell_axes, column_patterns, reference_r1c1
from ..reading.snapshot import Key, Snapshot

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
        (sheet, column, first row, last row) blocks in sheet and column order, none overlapping, each
        within one run."""
        blocks: set[tuple[float, int, int, int, int, str]] = set()
        candidates = [*self._readers.get((sheet, col), ()),
                      *(entry for entry in self._wide_readers.get(sheet, ()) if _spans(entry, col))]
        for area, run in candidates:
            low, high = _rows_reading(area, run, first, last)
            if low <= high:
                blocks.add((self._sheet_order.get(run.sheet, math.inf), run.col, run.first, low, high, run.sheet))
        merged: list[list] = []  # a run's areas may reach overlapping rows: merged, so each cell comes once
        for order, c, run, low, high, s in sorted(blocks):
            if merged and merged[-1][:3] == [order, c, run] and low <= merged[-1][4] + 1:
                merged[-1][4] = max(merged[-1][4], high)
            else:
                merged.append([order, c, run, low, high, s])
        return [(s, c, low, high) for _, c, _, low, high, s in merged]

    def precedent_areas(self, sheet: str, col: int, first: int, last: int) -> list[tuple[str, int, int, int, int]]:
        """What the formulas in rows ``first`` to ``last`` of column ``col`` (one run) read, together: for
        each of the run's areas, the rectangle (sheet, top, bottom, left, right) its places over those rows
        cover. Each end moves with the row or stays, so the rows one area reads are one stretch."""
        run = self.run_at((sheet, f"{get_column_letter(col)}{first}"))
        if run is None:
            return []
        out = []
        for area in run.areas:
            ends = [area.at(row, col) for row in (first, last)]
            top, bottom = min(e[0] for e in ends), max(e[1] for e in ends)
            out.append((area.sheet or sheet, top, bottom, ends[0][2], ends[0][3]))
        return out

    def patterns_down(self, sheet: str, col: int, first: int, last: int) -> np.ndarray:
        """For each of rows ``first`` to ``last`` of column ``col``: which of the column's patterns its formula
        has (-1 where it holds none)."""
        out = np.full(last - first + 1, -1, dtype=np.int64)
        column = self.columns.get((sheet, col))
        if column is not None:
            low, high = np.searchsorted(column.rows, [first, last + 1])
            out[column.rows[low:high] - first] = column.which[low:high]
        return out

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


_Parsed = tuple[list[Area], list[str], list[str]]  # areas read, whole references, unknown names


def _parse(text: str, row: int, col: int, sheets: dict[str, str], names: dict[str, list[Area]],
           constants: set[str], extents: dict[str, tuple[int, int]]) -> _Parsed:
    """What one formula reads, as R1C1 areas that hold for every cell of its run."""
    areas: list[Area] = []
    whole: list[str] = []
    unknown: list[str] = []
    for group in _operands(text):
        if len(group) > 1:  # the intersection operator: what the references have in common
            found = [_parse(token, row, col, sheets, names, constants, extents) for token in group]
            shared = _intersection([area for areas, _, _ in found for area in areas], len(group))
            areas += shared if shared is not None else [a for areas_, _, _ in found for a in areas_]
            whole += [w for _, ws, _ in found for w in ws]
            unknown += [u for _, _, us in found for u in us]
            continue
        token = group[0]
        r1c1 = reference_r1c1(token, row, col)
        sheet, body = split_ref(r1c1, "")
        targets = _span(sheet, sheets) if sheet else [None]
        parts = [cell_axes(part) for part in body.split(":")]
        if all(parts) and len(parts) <= 2:
            (top, left), (bottom, right) = parts[0], parts[-1]
            areas += [Area(target, top, bottom, left, right) for target in targets]
        elif _WHOLE.match(body):
            whole.append(token)
            areas += [area for target in targets for area in _whole(body, target, extents)]
        elif token.upper() in names:
            areas += names[token.upper()]
        elif token.upper() not in constants and _could_be_name(token):  # a constant or formula name reads no cell
            unknown.append(token)
    return areas, whole, unknown


def _span(sheet: str, sheets: dict[str, str]) -> list[str]:
    """The sheets a reference's sheet part names: one, or each sheet from the first to the last of a 3-D
    reference (``Jan:Mar!B2``) in workbook order."""
    if sheet.upper() in sheets or ":" not in sheet:
        return [sheets.get(sheet.upper(), sheet)]
    first, last = (part.strip("'").upper() for part in sheet.split(":", 1))
    order = list(sheets)
    if first not in sheets or last not in sheets:
        return [sheet]
    low, high = sorted((order.index(first), order.index(last)))
    return [sheets[name] for name in order[low:high + 1]]


def _operands(formula: str) -> list[list[str]]:
    """The reference and name tokens of ``formula``, those joined by the intersection operator (a space
    between two references: ``A1:B2 B1:C3``) together."""
    try:
        tokens = [t for t in Tokenizer(formula if formula.startswith("=") else "=" + formula).items]
    except Exception:
        return []
    out: list[list[str]] = []
    for i, token in enumerate(tokens):
        if token.type != "OPERAND" or token.subtype != "RANGE":
            continue
        joined = i >= 2 and tokens[i - 1].type == "WHITE-SPACE" and tokens[i - 2].type == "OPERAND" and \
            tokens[i - 2].subtype == "RANGE"
        if joined and out:
            out[-1].append(token.value)
        else:
            out.append([token.value])
    return out


def _intersection(areas: list[Area], count: int) -> list[Area] | None:
    """The one area ``count`` areas (one each) of one sheet share, [] when they share no cell; None when it
    cannot be told once for every cell of a run (an end fixed in one and moving in another)."""
    if len(areas) != count or len({a.sheet for a in areas}) != 1:
        return None
    ends = []
    for low, high in (("top", "bottom"), ("left", "right")):
        lows, highs = [getattr(a, low) for a in areas], [getattr(a, high) for a in areas]
        crossed = any(lo[1] > hi[1] for lo, hi in zip(lows, highs, strict=True))
        if len({fixed for fixed, _ in lows + highs}) != 1 or crossed:
            return None
        ends.append(((lows[0][0], max(n for _, n in lows)), (highs[0][0], min(n for _, n in highs))))
    (top, bottom), (left, right) = ends
    if top[1] > bottom[1] or left[1] > right[1]:
        return []  # Excel's #NULL!: no cell in common
    return [Area(areas[0].sheet, top, bottom, left, right)]


def _whole(body: str, sheet: str | None, extents: dict[str, tuple[int, int]]) -> list[Area]:
    """A whole-column or whole-row reference as the area of its sheet that holds cells (``extents``: each
    sheet's last row and column; None: the sheet of the formula, looked up when the run is placed)."""
    left, top, right, bottom = range_boundaries(body.replace("$", ""))
    height, width = extents.get(sheet, (1, 1)) if sheet else (_USED, _USED)
    if top is None:
        top, bottom = 1, height
    if left is None:
        left, right = 1, width
    return [Area(sheet, (True, top), (True, bottom), (True, left), (True, right))]


_USED = 0  # as a fixed end: the last row or column of the formula's own sheet, until the run is placed


def _could_be_name(token: str) -> bool:
    """False for what the tokenizer hands over as a reference but is no name: a structured reference to a
    table (``Table1[Col]``), a reference already broken (``Sheet3!#REF!``), or a range with a function or a
    name at one end (``:D22`` in ``OFFSET(A1,0,1):D22``, ``nx:B2``)."""
    return "[" not in token and "#REF!" not in token.upper() and ":" not in token  # no name holds ":"


def _name_areas(snap: Snapshot, local: dict[str, Key] | None = None) -> dict[str, list[Area]]:
    """Each defined name (upper-case) as the areas it reads: a reference's one or several areas, or the
    references inside a name defined as a formula (``=Main!$A$4*2``). ``local``: a sheet's own names."""
    out = {}
    sheets = {s.upper(): s for s in snap.sheets}
    for name, (sheet, ref) in (local or snap.names).items():
        out[name.upper()] = _fixed_areas([f"{sheet}!{ref}"], sheets)
    for name, text in () if local else (*snap.area_names.items(), *snap.formula_names.items()):
        found = _fixed_areas([t for t in references("=" + text.lstrip("=")) if "!" in t], sheets)
        if found:
            out[name.upper()] = found
    return out


def _fixed_areas(tokens: list[str], sheets: dict[str, str]) -> list[Area]:
    """The areas ``Sheet!$A$1:$B$2`` tokens name, wherever they are read from."""
    out = []
    for token in tokens:
        sheet, ref = split_ref(token, "")
        try:
            left, top, right, bottom = range_boundaries(ref.replace("$", ""))
        except (TypeError, ValueError):
            continue
        if None in (left, top, right, bottom):
            continue  # a name for whole columns or rows: read as no cell
        out.append(Area(sheets.get(sheet.upper(), sheet), (True, top), (True, bottom), (True, left), (True, right)))
    return out


def build_graph(snap: Snapshot) -> Graph:
    """The runs of every formula column of ``snap``, and which runs read which columns."""
    graph = Graph(snap, _sheet_order={s: i for i, s in enumerate(snap.cells)})
    for name, (sheet, ref) in sorted(snap.names.items()) + sorted(n for local in snap.local_names.values()
                                                                    for n in local.items()):
        if ":" not in ref:
            graph.names_by_cell.setdefault((sheet, ref), name)
    sheets = {s.upper(): s for s in snap.sheets}
    workbook_names = _name_areas(snap)
    constants = {n.upper() for n in snap.formula_names}
    extents = {sheet: (cells.grid.shape[0] - 1, cells.grid.shape[1] - 1) for sheet, cells in snap.cells.items()}
    parsed: dict[tuple[str, str], _Parsed] = {}  # the same R1C1 formula reads the same areas where the same names hold
    for sheet, cells in snap.cells.items():
        names = {**workbook_names, **_name_areas(snap, snap.local_names.get(sheet, {}))}  # a sheet's own first
        scope = sheet if sheet in snap.local_names else ""
        for col, (rows, texts) in cells.formulas.items():
            patterns, which = column_patterns(texts, rows, col)
            starts = np.flatnonzero(np.r_[True, (np.diff(rows) != 1) | (np.diff(which) != 0)])
            ends = np.r_[starts[1:], len(rows)] - 1
            runs = []
            for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
                pattern, first = patterns[int(which[start])], int(rows[start])
                if (pattern, scope) not in parsed:
                    parsed[(pattern, scope)] = _parse(texts[start], first, col, sheets, names, constants, extents)
                areas, whole, unknown = parsed[(pattern, scope)]
                runs.append(Run(sheet, col, first, int(rows[end]), pattern, _placed(areas, extents[sheet]), whole,
                                unknown))
            graph.columns[(sheet, col)] = FormulaColumn(rows, patterns, which, starts, runs)
            for run in runs:
                _index(graph, run)
    return graph


def _placed(areas: list[Area], extent: tuple[int, int]) -> list[Area]:
    """``areas`` with a whole row or column of the formula's own sheet ended where that sheet's cells end."""
    used = (True, _USED)
    if all(used not in (a.bottom, a.right) for a in areas):
        return areas
    height, width = extent
    return [Area(a.sheet, a.top, (True, height) if a.bottom == used else a.bottom, a.left,
                 (True, width) if a.right == used else a.right) for a in areas]


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
