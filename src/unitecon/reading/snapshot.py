"""Read a workbook someone may have edited: cell values, formulas, defined names (its Fingerprint sheet:
:mod:`.fingerprint`).

The file is treated as untrusted: :mod:`.archive` refuses it, in one line, unless it is an .xlsx zip whose
every part is within bounds, before any parser sees it. The file is never written to. The workbook part is
read by :mod:`.parts`, formula text by :mod:`.formula_scan` and every cell value by python-calamine, here.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from openpyxl.utils.cell import coordinate_to_tuple, get_column_letter
from python_calamine import CalamineWorkbook

from ..errors import UniteconError
from ..limits import MAX_GRID_CELLS
from .archive import check_parts, check_zip, errors_in_one_line
from .formula_scan import Columns, read_formulas
from .parts import read_workbook_part
from .r1c1 import column_patterns
from .xml_extent import _column_number, _too_wide

Key = tuple[str, str]  # (sheet as written, "A1")
MAX_HEADER_COLUMNS = 64  # header rows are read this far to the right
EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # serial 0 as Excel's 1900 date system counts
EXCEL_1904_EPOCH = dt.datetime(1904, 1, 1)  # serial 0 in a workbook using the 1904 date system


class CellError(str):
    """An error value a cell holds (#DIV/0!, #N/A, …): equal as text to the same characters typed into a
    cell, but not the same value; :func:`unitecon.auditor.verdict.same` tells them apart."""

    __slots__ = ()


def value_at(grid: np.ndarray, row: int, col: int) -> Any:
    """One cell of a sheet's grid (1-based, as the sheet numbers them); None outside it."""
    return grid[row, col] if 0 < row < grid.shape[0] and 0 < col < grid.shape[1] else None


def values_at(grid: np.ndarray, rows: np.ndarray, col: int) -> np.ndarray:
    """The cells at ``rows`` of one column of a sheet's grid (None outside it), as a new object array."""
    out = np.full(len(rows), None, dtype=object)
    if 0 < col < grid.shape[1]:
        inside = (rows > 0) & (rows < grid.shape[0])
        out[inside] = grid[rows[inside], col]
    return out


def grid_cells(sheet: str, grid: np.ndarray, wanted: np.ndarray) -> dict[Key, Any]:
    """The cells of a grid where ``wanted`` is True, keyed (sheet, A1)."""
    rows, cols = np.nonzero(wanted)
    letters = {c: get_column_letter(c) for c in set(cols.tolist())}
    return {(sheet, f"{letters[c]}{r}"): v
            for r, c, v in zip(rows.tolist(), cols.tolist(), grid[rows, cols].tolist(), strict=True)}


@dataclass
class SheetCells:
    """One worksheet as columns: every cell value in one grid, formula text column by column.

    ``grid[row, col]`` (1-based, as the sheet numbers them; row 0 and column 0 stay empty) holds the
    constant of a value cell and the cached value of a formula cell, None where the cell is empty.
    ``formulas[col]`` holds the rows (ascending) of that column's formula cells and their text.
    A 100,000-row sheet is one array and a few lists instead of a dictionary entry per cell.
    """

    grid: np.ndarray
    formulas: dict[int, tuple[np.ndarray, list[str]]]
    arrays: set[tuple[int, int]] = field(default_factory=set)  # (row, col) of each array formula's first cell

    def get(self, row: int, col: int) -> Any:
        """The value at 1-based ``row``, ``col``; None outside the grid."""
        return value_at(self.grid, row, col)

    def formula(self, row: int, col: int) -> str | None:
        """The formula text at 1-based ``row``, ``col``; None where the cell holds no formula."""
        if col not in self.formulas:
            return None
        rows, texts = self.formulas[col]
        i = int(np.searchsorted(rows, row))
        return texts[i] if i < len(rows) and rows[i] == row else None

    def formula_mask(self, shape: tuple[int, int] | None = None) -> np.ndarray:
        """True where the grid (or a grid of ``shape``, at least as large) holds a formula cell."""
        mask = np.zeros(shape or self.grid.shape, dtype=bool)
        for col, (rows, _texts) in self.formulas.items():
            mask[rows, col] = True
        return mask


@dataclass
class Snapshot:
    path: Path
    modified: dt.datetime
    sheets: list[str] = field(default_factory=list)  # in workbook order
    names: dict[str, Key] = field(default_factory=dict)
    cells: dict[str, SheetCells] = field(default_factory=dict)  # by sheet name as written
    properties: dict[str, str] = field(default_factory=dict)
    broken_names: dict[str, str] = field(default_factory=dict)  # name -> what it refers to
    formula_names: dict[str, str] = field(default_factory=dict)  # name -> its constant or formula (=0.05)
    area_names: dict[str, str] = field(default_factory=dict)  # name of several areas -> them (names: the first)
    local_names: dict[str, dict[str, Key]] = field(default_factory=dict)  # sheet -> its own names (one area each)
    epoch: dt.datetime = EXCEL_EPOCH  # serial 0; 1904-01-01 in a workbook using the 1904 date system
    recalculate_on_load: bool = False  # the file asks Excel to recalculate every formula when it opens it

    @property
    def model(self) -> str | None:
        return self.properties.get("unitecon_model")

    def value(self, sheet: str, a1: str) -> Any:
        """The value stored in one cell (the cached value of a formula cell); None if empty or absent."""
        cells = self.cells.get(sheet)
        if cells is None:
            return None
        row, col = coordinate_to_tuple(a1)
        return cells.get(row, col)

    @functools.cached_property
    def names_by_upper(self) -> dict[str, Key]:
        """The defined names by upper-case name (Excel's names ignore case)."""
        return {name.upper(): where for name, where in self.names.items()}

    # Cell by cell views, built on first use (the auditor commands walk every cell; verify does not).
    @functools.cached_property
    def formulas(self) -> dict[Key, str]:
        """Formula text ("=...") of every formula cell."""
        return {(sheet, f"{letter}{row}"): text for sheet, cells in self.cells.items()
                for col, (rows, texts) in cells.formulas.items() for letter in (get_column_letter(col),)
                for row, text in zip(rows.tolist(), texts, strict=True)}

    @functools.cached_property
    def patterns(self) -> dict[Key, str]:
        """The R1C1 form of every formula cell: a formula copied down a column reads the same in each."""
        out: dict[Key, str] = {}
        for sheet, cells in self.cells.items():
            for col, (rows, texts) in cells.formulas.items():
                found, which = column_patterns(texts, rows, col)
                letter = get_column_letter(col)
                out.update(((sheet, f"{letter}{row}"), found[k])
                           for row, k in zip(rows.tolist(), which.tolist(), strict=True))
        return out

    @functools.cached_property
    def values(self) -> dict[Key, Any]:
        """Every non-empty cell that holds no formula: the constants."""
        return self._cells_where(formula=False)

    @functools.cached_property
    def cached(self) -> dict[Key, Any]:
        """The value last computed by Excel / LibreOffice / unitecon of every formula cell that has one."""
        return self._cells_where(formula=True)

    def _cells_where(self, formula: bool) -> dict[Key, Any]:
        out: dict[Key, Any] = {}
        for sheet, cells in self.cells.items():
            wanted = (cells.grid != None) & (cells.formula_mask() == formula)  # noqa: E711  (element-wise)
            out.update(grid_cells(sheet, cells.grid, wanted))
        return out

    def columns_by_header(self, sheet: str, row: int) -> dict[str, str]:
        """Header text -> column letter along ``row`` (1-based) of ``sheet`` (the Inputs sheet's columns move
        when scenario columns are added)."""
        out: dict[str, str] = {}
        cells = self.cells.get(sheet)
        for col in range(1, MAX_HEADER_COLUMNS + 1):
            value = cells.get(row, col) if cells else None
            if isinstance(value, str):
                out.setdefault(value, get_column_letter(col))
        return out


def read_snapshot(path: str | Path) -> Snapshot:
    """Everything unitecon needs from a workbook on disk, read without modifying it.

    Three well-kept readers share the work, each where it is fastest: openpyxl for the workbook part
    (sheets, defined names, document properties), python-calamine for every cell value (constants and
    the values cached beside formulas) and lxml for formula text, which calamine does not expose.
    """
    path = Path(path)
    check_zip(path, parts=False)  # the parts are checked once the workbook part names the sheets
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
    with errors_in_one_line(path):
        book = read_workbook_part(path)
        parts = book.sheets
        snap = Snapshot(path, modified, sheets=list(parts), names=book.names, properties=book.properties,
                        broken_names=book.broken_names, formula_names=book.formula_names,
                        area_names=book.area_names, local_names=book.local_names,
                        epoch=EXCEL_1904_EPOCH if book.date_1904 else EXCEL_EPOCH,
                        recalculate_on_load=book.recalculate_on_load)
        xml = check_parts(path, parts)  # before calamine sizes a grid for any sheet
        with ThreadPoolExecutor(max_workers=1) as pool:  # calamine parses while formulas are scanned here
            values = pool.submit(_value_rows, path, list(parts))
            found = {sheet: read_formulas(xml[part]) for sheet, part in parts.items()}
            rows = values.result()
        for sheet, part in parts.items():
            snap.cells[sheet] = _sheet_cells(rows[sheet], *found[sheet], where=f"{path}: sheet {sheet!r}",
                                             epoch=snap.epoch, xml=xml.pop(part))
    return snap


def _value_rows(path: Path, sheets: list[str]) -> dict[str, list[list[Any]]]:
    """Every cell's value, row by row from A1, as calamine reads it ("" where empty)."""
    book = CalamineWorkbook.from_path(str(path))
    try:
        return {sheet: book.get_sheet_by_name(sheet).to_python(skip_empty_area=False) for sheet in sheets}
    finally:
        book.close()


def _sheet_cells(rows: list[list[Any]], formulas: Columns, errors: list[tuple[int, int, str]],
                 texts: set[tuple[int, int]] = frozenset(), arrays: set[tuple[int, int]] = frozenset(),
                 where: str = "", epoch: dt.datetime = EXCEL_EPOCH, xml: bytes | None = None) -> SheetCells:
    """One sheet's values as a grid covering its formula cells too, with the formulas found beside them.

    Every value is as Excel holds it: a date or time is its serial number (calamine reads a number in a
    date format as a date), and a formula whose cached result is the empty string holds "" (an empty
    cell is None).
    """
    height = max([len(rows), *(int(r[-1]) for r, _ in formulas.values()), *(r for r, _, _ in errors)])
    width = max([0, *(len(r) for r in rows), *formulas, *(c for _, c, _ in errors)])
    if height * width > MAX_GRID_CELLS:
        raise UniteconError(f"{where}: {_too_wide(height, width)}")
    grid = np.full((height + 1, width + 1), None, dtype=object)
    if rows and len(set(map(len, rows))) == 1:
        grid[1:len(rows) + 1, 1:len(rows[0]) + 1] = np.array(rows, dtype=object).reshape(len(rows), -1)
    else:
        for r, row in enumerate(rows, start=1):
            grid[r, 1:len(row) + 1] = row
    grid[grid == ""] = None  # calamine's empty cell
    for r, c, text in errors:  # calamine reads error values as empty
        grid[r, c] = CellError(text)
    for r, c in texts:
        if grid[r, c] is None:
            grid[r, c] = ""
    _dates_as_serials(grid, epoch, xml)
    return SheetCells(grid, formulas, set(arrays))


def _dates_as_serials(grid: np.ndarray, epoch: dt.datetime, xml: bytes | None = None) -> None:
    """Replace calamine's dates, times and durations in ``grid`` with the numbers Excel stores: read from
    the sheet's XML where it is at hand (calamine's reading loses some: a negative number in a date
    format becomes midnight, serial 60 becomes 28 February), else converted back."""
    flat = grid.ravel()
    values = flat.tolist()
    if _SERIAL.isdisjoint(map(type, values)):
        return
    kinds = np.fromiter((type(v) in _SERIAL for v in values), dtype=bool, count=flat.size)
    where = np.flatnonzero(kinds).tolist()
    if not where:
        return
    width = grid.shape[1]
    raw = _raw_numbers(xml, {(i // width, i % width) for i in where}) if xml is not None else {}
    for i in where:
        number = raw.get((i // width, i % width))
        flat[i] = excel_serial(flat[i], epoch) if number is None else number


_RAW_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*?(?:/>|>(.*?)</c>)', re.DOTALL)
_RAW_VALUE = re.compile(rb"<v>([^<]*)</v>")


def _raw_numbers(xml: bytes, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], float | int]:
    """The stored numbers of ``wanted`` cells (row, col), from a part written with unprefixed elements."""
    out: dict[tuple[int, int], float | int] = {}
    for match in _RAW_CELL.finditer(xml):
        key = (int(match.group(2)), _column_number(match.group(1).decode()))
        if key in wanted and match.group(3):
            value = _RAW_VALUE.search(match.group(3))
            try:
                number = float(value.group(1)) if value else None
            except ValueError:
                continue
            if number is not None:
                out[key] = int(number) if number.is_integer() and abs(number) < 2**53 else number
    return out


def excel_serial(value: dt.date | dt.time | dt.timedelta, epoch: dt.datetime = EXCEL_EPOCH) -> float | int:
    """The serial number Excel stores for a date, time or duration (days; the fraction is the time of day)."""
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 86400
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400
    if epoch == EXCEL_EPOCH and value < (dt.datetime(1900, 3, 1) if isinstance(value, dt.datetime)
                                         else dt.date(1900, 3, 1)):
        epoch = dt.datetime(1899, 12, 31)  # Excel counts a 29 February 1900 that never was
    if not isinstance(value, dt.datetime):
        return (dt.datetime(value.year, value.month, value.day) - epoch).days
    days = value - epoch
    return days.days + days.seconds / 86400 + days.microseconds / 86400e6 if days.seconds or days.microseconds \
        else days.days


_SERIAL = {dt.date, dt.datetime, dt.time, dt.timedelta}
