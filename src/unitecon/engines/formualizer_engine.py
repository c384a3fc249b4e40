"""The one place unitecon talks to formualizer, the Rust spreadsheet engine ``verify`` recomputes with.

Tested with formualizer 0.13 (``pyproject.toml`` pins ``>=0.13,<0.14``); ``tests/test_engines.py`` checks
this adapter on its own. formualizer reads the file itself and recomputes every formula from its text
(cached values are ignored). What it does differently from Excel on files saved by older Excel is
rewritten here before it computes (see :mod:`.legacy`): plain formulas that rely on implicit
intersection, and names of several areas, which it leaves out.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import formualizer as fz
import numpy as np
from openpyxl.utils.cell import coordinate_to_tuple, get_column_letter

from ..limits import MAX_INFLATED_BYTES, MAX_XML_DEPTH
from ..reading.snapshot import EXCEL_EPOCH, CellError, Snapshot, excel_serial
from .legacy import is_range_text, with_areas, with_implicit_intersection

NAME = "formualizer"

ERROR_TEXT = {"Div": "#DIV/0!", "Name": "#NAME?", "Value": "#VALUE!", "Ref": "#REF!", "Num": "#NUM!", "Na": "#N/A",
              "Null": "#NULL!", "Spill": "#SPILL!", "Calc": "#CALC!", "Circ": "#CIRC!", "NImpl": "#N/IMPL!",
              "GettingData": "#GETTING_DATA", "Cancelled": "#CANCELLED!"}


class EngineError(Exception):
    """The engine could not load or recompute the workbook at all (one line, for the command to print)."""


# The engine's own package limits, as the snapshot reader's (the file is read by both at once).
LOAD_LIMITS = {"max_expanded_bytes": MAX_INFLATED_BYTES, "max_xml_depth": MAX_XML_DEPTH}
ERROR_KIND = {text: kind for kind, text in ERROR_TEXT.items()}
Cell = tuple[str, int, int]  # (sheet as written, row, col)


class Recalculation:
    """A workbook loaded into formualizer and recomputed from its formula text.

    :meth:`settle` brings the engine to Excel's meaning of a plain formula from an older file and reads
    back every cell; :meth:`substitute` fixes some cells to given values and recomputes what reads them.
    Loading and recomputing release Python's lock, so a snapshot can be read meanwhile on another thread.
    """

    def __init__(self, path: str | Path):
        try:
            self.book = fz.load_workbook(str(path), load_limits=LOAD_LIMITS)
        except BaseException as exc:  # the engine's refusal, or a panic in its Rust code: one line
            _unless_interrupted(exc)
            raise EngineError(f"{NAME} cannot load the file ({type(exc).__name__}: {str(exc)[:160]})") from None
        self.areas, self.left_out = _left_out_names(self.book)
        self.rewritten: dict[Cell, str] = {}
        self.grids: dict[str, np.ndarray] = {}
        _evaluate(self.book)

    @property
    def defined(self) -> set[str]:
        """Every defined name the file declares, upper-case (those the engine left out included)."""
        return {str(n["name"]).upper() for n in self.book.get_named_ranges()} | set(self.left_out)

    def settle(self, snap: Snapshot) -> dict[str, np.ndarray]:
        """Rewrite what formualizer computes otherwise than Excel, recompute, and read every sheet."""
        try:
            return self._settle(snap)
        except BaseException as exc:
            _unless_interrupted(exc)
            if isinstance(exc, EngineError):
                raise
            raise EngineError(f"{NAME} cannot recompute the file ({type(exc).__name__}: {str(exc)[:160]})") from None

    def _settle(self, snap: Snapshot) -> dict[str, np.ndarray]:
        for sheet, row, col, text in _cells_naming(snap, self.areas) if self.areas else ():
            new = with_areas(text, self.areas)
            if new is not None:
                self.rewritten[(sheet, row, col)] = new
                self.book.set_formula(sheet, row, col, new)
        if self.rewritten:
            _evaluate(self.book)
        self.grids = _read(self.book, snap)
        legacy = _intersected(self.book, snap, self.grids, self.rewritten)
        if legacy:
            for (sheet, row, col), text in legacy.items():
                self.book.set_formula(sheet, row, col, text)
            self.rewritten.update(legacy)
            _evaluate(self.book)
            self.grids = _read(self.book, snap)
        return self.grids

    def substitute(self, values: dict[Cell, Any], snap: Snapshot) -> dict[str, np.ndarray]:
        """Fix each cell of ``values`` to the value given (as Excel stores it), recompute, read every sheet."""
        try:
            for (sheet, row, col), value in values.items():
                self.book.set_value(sheet, row, col, _literal(value))
        except BaseException as exc:
            _unless_interrupted(exc)
            raise EngineError(f"{NAME} cannot take a value ({type(exc).__name__}: {str(exc)[:160]})") from None
        _evaluate(self.book)
        self.grids = _read(self.book, snap)
        return self.grids


def recalculate(snap: Snapshot) -> Recalculation:
    """Load ``snap``'s file into formualizer, recompute every formula and read back the values."""
    recalculation = Recalculation(snap.path)
    recalculation.settle(snap)
    return recalculation


def _literal(value: Any) -> Any:
    if isinstance(value, str) and value in ERROR_KIND:
        return fz.LiteralValue.error(ERROR_KIND[value], None)
    return value


def _evaluate(book: fz.Workbook) -> None:
    try:
        book.evaluate_all()
    except BaseException as exc:
        _unless_interrupted(exc)
        raise EngineError(f"{NAME} cannot recompute the file ({type(exc).__name__}: {str(exc)[:160]})") from None


def _unless_interrupted(exc: BaseException) -> None:
    """A panic in formualizer's Rust code arrives as a BaseException; only an interrupt or exit goes on up."""
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        raise exc


def _left_out_names(book: fz.Workbook) -> tuple[dict[str, str], dict[str, str]]:
    """Names formualizer did not take: those of several areas (written out where faithful) and the rest."""
    areas, left_out = {}, {}
    for item in book.name_import_diagnostics:
        name, definition = str(item.get("name", "")), str(item.get("definition", ""))
        if "," in definition and "(" not in definition:
            areas[name.upper()] = definition
            left_out[name.upper()] = f"name {name} stands for several areas ({definition[:60]})"
        else:
            left_out[name.upper()] = f"name {name} = {definition[:60]}: {item.get('message', 'not loaded')}"
    return areas, left_out


def _cells_naming(snap: Snapshot, names: dict[str, str]):
    """(sheet, row, col, text) of every formula cell whose text mentions one of ``names``."""
    pattern = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, names)) + r")(?![\w.(])", re.IGNORECASE)
    for sheet, cells in snap.cells.items():
        for col, (rows, texts) in cells.formulas.items():
            for row, text in zip(rows.tolist(), texts, strict=True):
                if pattern.search(text):
                    yield sheet, row, col, text


def _intersected(book: fz.Workbook, snap: Snapshot, grids: dict[str, np.ndarray],
                 rewritten: dict[tuple[str, int, int], str]) -> dict[tuple[str, int, int], str]:
    """Plain formulas the engine computed as arrays (a #SPILL! error, or values spilled into empty cells),
    rewritten with implicit intersection as Excel computes a plain formula."""
    multi = {str(n["name"]).upper() for n in book.get_named_ranges() if n.get("kind") == "range"}

    def multi_cell(token: str) -> bool:
        name = token.rsplit("!", 1)[-1].upper()
        return is_range_text(token) or name in multi

    anchors: set[tuple[str, int, int]] = set()
    for sheet, cells in snap.cells.items():
        grid = grids[sheet]
        formula = cells.formula_mask(grid.shape)
        spilled = np.equal(grid, "#SPILL!") & formula
        anchors.update((sheet, int(r), int(c)) for r, c in zip(*np.nonzero(spilled), strict=True))
        members = ~np.equal(grid, None) & np.equal(cells.grid, None) & ~formula
        for r, c in zip(*np.nonzero(members), strict=True):
            anchor = _anchor(book, sheet, int(r), int(c))
            if anchor is not None:
                anchors.add(anchor)
    out = {}
    for sheet, row, col in sorted(anchors):
        cells = snap.cells.get(sheet)
        if cells is None or (row, col) in cells.arrays:
            continue  # an array formula spills as Excel's does
        text = rewritten.get((sheet, row, col)) or cells.formula(row, col)
        new = with_implicit_intersection(text, multi_cell) if text else None
        if new is not None:
            out[(sheet, row, col)] = new
    return out


def _anchor(book: fz.Workbook, sheet: str, row: int, col: int) -> tuple[str, int, int] | None:
    quoted = "'" + sheet.replace("'", "''") + "'"
    try:
        spill = book.inspect_cell(f"{quoted}!{get_column_letter(col)}{row}").cell.spill
    except Exception:
        return None
    if spill is None or spill.anchor is None:
        return None
    where, _, a1 = spill.anchor.rpartition("!")
    anchor_row, anchor_col = coordinate_to_tuple(a1.replace("$", ""))
    return (where.strip("'").replace("''", "'") or sheet), anchor_row, anchor_col


def _read(book: fz.Workbook, snap: Snapshot) -> dict[str, np.ndarray]:
    """Each sheet's values after recalculation, as a grid of values as Excel stores them."""
    grids = {}
    for sheet, cells in snap.cells.items():
        height, width = cells.grid.shape
        grid = np.full((height, width), None, dtype=object)
        if height > 1 and width > 1:
            rows = book.sheet(sheet).get_values(fz.RangeAddress(sheet, 1, 1, height - 1, width - 1))
            block = np.empty((height - 1, width - 1), dtype=object)
            block[:, :] = rows
            grid[1:, 1:] = block
        _as_stored(grid, snap.epoch)
        grids[sheet] = grid
    return grids


_PLAIN = {float, bool, str, type(None)}


def _as_stored(grid: np.ndarray, epoch: dt.datetime = EXCEL_EPOCH) -> None:
    """Replace formualizer's values that Excel stores otherwise: error dicts, dates, times, ints, arrays."""
    flat = grid.ravel()
    odd = np.fromiter((type(v) not in _PLAIN for v in flat.tolist()), dtype=bool, count=flat.size)
    for i in np.flatnonzero(odd).tolist():
        flat[i] = stored(flat[i], epoch)


def stored(value: Any, epoch: dt.datetime = EXCEL_EPOCH) -> Any:
    """One formualizer value as Excel stores it in a cell."""
    if isinstance(value, dict) and value.get("type") == "Error":
        kind = str(value.get("kind", ""))
        return CellError(ERROR_TEXT.get(kind, f"#{kind.upper()}!"))
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        return excel_serial(value, epoch)
    if isinstance(value, list):  # an array left in one cell: its first element, as Excel shows
        first = value[0] if value else None
        return stored(first[0] if isinstance(first, list) and first else first, epoch)
    return value
