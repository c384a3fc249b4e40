"""Where everything lands: sheet, row and column of every input, formula row, check and output.

No I/O and no formula text here. The writer walks :attr:`Layout.sheets` and asks
:mod:`unitecon.render` for each cell's formula; the renderer asks the layout where names live.

Calculations and Checks share one column layout (FAST: the same columns on every time-based sheet)::

    A label | B name | C unit | D scalar / total | E… one column per period, time flowing left to right
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from xlsxwriter.utility import xl_rowcol_to_cell

from .errors import ModelError, Problem
from .expr import PERIOD_MONTHS
from .inputs import Figure
from .model import SCALAR, Model, Row

COVER, SUMMARY, INPUTS, CALCULATIONS, CHECKS = "Cover", "Summary", "Inputs", "Calculations", "Checks"
AUDIT, FINGERPRINT = "Audit", "Fingerprint"
SHEET_ORDER = (COVER, SUMMARY, INPUTS, CALCULATIONS, CHECKS, AUDIT, FINGERPRINT)
FINGERPRINT_COLUMNS = ("Kind", "Sheet", "Cells", "Name", "Written")
AUDIT_COLUMNS = ("Name", "Label", "Unit", "Sheet", "Periods", "Formula in names", "Description", "Rests on inputs",
                 "Sources")

LABEL, NAME, UNIT, SCALAR_COL, FIRST_PERIOD = 0, 1, 2, 3, 4
INPUT_COLUMNS = ("Label", "Defined name", "Value", "Unit", "Period", "Kind", "Source document", "Quote", "Note")
INPUT_VALUE_COL = 2
HEADER_ROW = 3
FIRST_BODY_ROW = 5

_CELL_LIKE = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc]?[0-9]*|[Cc][0-9]*)$")
_NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def validate_defined_name(name: str) -> None:
    """Refuse names Excel or LibreOffice would read as something else (``fy2024`` is cell FY2024)."""
    if not _NAME_OK.match(name) or len(name) > 255:
        raise ModelError(Problem("defined names", name, "must start with a letter or _ and hold letters, digits, _"))
    if _CELL_LIKE.match(name) or name.upper() in ("TRUE", "FALSE"):
        raise ModelError(Problem("defined names", name, "looks like a cell reference or constant; rename it"))


@dataclass(frozen=True)
class Cell:
    sheet: str
    row: int  # 0-based
    col: int  # 0-based

    def a1(self, absolute: bool = False) -> str:
        return xl_rowcol_to_cell(self.row, self.col, row_abs=absolute, col_abs=absolute)

    def qualified(self, from_sheet: str, absolute: bool = False) -> str:
        local = self.a1(absolute)
        return local if from_sheet == self.sheet else f"{self.sheet}!{local}"


@dataclass
class Line:
    """One line of a sheet as the writer sees it: a heading, a formula row or an input figure."""

    sheet: str
    row: int
    kind: str  # "heading" | "row" | "figure"
    text: str = ""
    item: Row | Figure | None = None


@dataclass
class Layout:
    model: Model
    lines: dict[str, list[Line]] = field(default_factory=dict)
    cells: dict[tuple[str, str | None], Cell] = field(default_factory=dict)
    names: dict[str, Cell] = field(default_factory=dict)
    period_col: dict[str, int] = field(default_factory=dict)
    row_at: dict[str, tuple[str, int]] = field(default_factory=dict)

    def cell(self, name: str, period: str | None = SCALAR) -> Cell:
        """The cell holding ``name`` (a row or a figure) in ``period``."""
        try:
            return self.cells[(name, period)]
        except KeyError:
            return self.names[name] if period is SCALAR else self.cells[(name, period)]

    def slot(self, name: str, period: str) -> Cell:
        """Row ``name``'s cell in ``period``'s column, whether or not the row has a value there."""
        sheet, row = self.row_at[name]
        return Cell(sheet, row, self.period_col[period])

    def row_span(self, name: str) -> tuple[Cell, Cell]:
        """First and last cell of a period row (for SUM/MIN ranges and charts)."""
        row = self.model.row(name)
        return self.cells[(name, row.periods[0])], self.cells[(name, row.periods[-1])]

    def name_at(self, cell: Cell) -> str | None:
        """The defined name pointing at ``cell``, if any."""
        return self._by_cell.get(cell)

    def finish(self) -> None:
        for name in self.names:
            validate_defined_name(name)
        self._by_cell = {cell: name for name, cell in self.names.items()}


def _place_rows(layout: Layout, sheet: str, groups: list[tuple[str, list[Row]]], start: int) -> int:
    lines = layout.lines.setdefault(sheet, [])
    r = start
    for heading, rows in groups:
        if not rows:
            continue
        lines.append(Line(sheet, r, "heading", heading))
        r += 1
        for row in rows:
            lines.append(Line(sheet, r, "row", row.label, row))
            layout.row_at[row.name] = (sheet, r)
            for p in row.cells:
                col = SCALAR_COL if p is SCALAR else layout.period_col[p]
                layout.cells[(row.name, p)] = Cell(sheet, r, col)
            r += 1
        r += 1
    return r


def _sections(rows: list[Row]) -> list[tuple[str, list[Row]]]:
    out: dict[str, list[Row]] = {}
    for row in rows:
        out.setdefault(row.section, []).append(row)
    return list(out.items())


def build_layout(model: Model) -> Layout:
    """Decide the position of every cell of ``model``'s workbook."""
    layout = Layout(model)
    layout.period_col = {p: FIRST_PERIOD + i for i, p in enumerate(model.periods)}

    # Inputs: one row per cited figure, period lengths first.
    lines = layout.lines.setdefault(INPUTS, [])
    r = FIRST_BODY_ROW
    previous_section = None
    for figure in model.figures():
        section = "Period lengths" if figure.series == PERIOD_MONTHS else "Cited inputs and assumptions"
        if section != previous_section:
            lines.append(Line(INPUTS, r, "heading", section))
            r += 1
            previous_section = section
        lines.append(Line(INPUTS, r, "figure", figure.name, figure))
        cell = Cell(INPUTS, r, INPUT_VALUE_COL)
        layout.names[figure.name] = cell
        layout.cells[(figure.name, SCALAR)] = cell
        r += 1

    rows = model.rows
    calc = [row for row in rows if row.role in ("link", "metric")]
    _place_rows(layout, CALCULATIONS, _sections(calc), FIRST_BODY_ROW)

    master = [row for row in rows if row.role == "master"]
    summary = [row for row in rows if row.role == "check_summary"]
    groups: list[tuple[str, list[Row]]] = [("Master check", master), ("Check summary", summary)]
    for s in summary:
        groups.append((s.label, [row for row in rows if row.check == s.check and row.role.startswith("check_")
                                 and row.role != "check_summary"]))
    _place_rows(layout, CHECKS, groups, FIRST_BODY_ROW)

    outputs = [row for row in rows if row.role == "output"]
    _place_rows(layout, SUMMARY, _sections(outputs), FIRST_BODY_ROW)

    for name, period in model.headlines.items():
        layout.names[name] = layout.cells[(name, period)]
    for row in master:
        layout.names[row.name] = layout.cells[(row.name, SCALAR)]
    layout.finish()
    return layout
