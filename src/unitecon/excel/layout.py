"""Where everything lands: sheet, row and column of every input, formula row, check and output.

No I/O and no formula text here. The writer walks :attr:`Layout.sheets` and asks
:mod:`unitecon.excel.formula_text` for each cell's formula; the renderer asks the layout where names live.

Calculations and Checks share one column layout (FAST: the same columns on every time-based sheet)::

    A label | B name | C unit | D scalar / total | E… one column per period, time flowing left to right
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xlsxwriter.utility import xl_rowcol_to_cell

from ..errors import ModelError, Problem
from ..geometry import (
    CALCULATIONS,
    CHECKS,
    CUSTOMER_FACTS,
    CUSTOMERS,
    FIRST_BODY_ROW,
    FIRST_CUSTOMER_ROW,
    FIRST_PERIOD,
    HEADER_ROW,
    INPUT_COLUMNS,
    INPUT_VALUE_COL,
    INPUTS,
    NAME_OK,
    SCALAR_COL,
    SCENARIO,
    SELECTOR_ROW,
    SENSITIVITY,
    SHEET_ORDER,
    SUMMARY,
    looks_like_a_cell,
)
from ..model.expr import PERIOD_MONTHS, Expr, PriorYear
from ..model.inputs import Figure, scenario_header
from ..model.metrics.families import customer_indicator
from ..model.rows import SCALAR, Grid, Model, Row


def validate_defined_name(name: str) -> None:
    """Refuse names Excel or LibreOffice would read as something else (``fy2024`` is cell FY2024)."""
    if not NAME_OK.match(name) or len(name) > 255:
        raise ModelError(Problem("defined names", name, "must start with a letter or _ and hold letters, digits, _"))
    if looks_like_a_cell(name):
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
class CustomerColumn:
    """One column of the Customers sheet: a ledger fact, a ledger amount or a customer metric."""

    name: str  # the defined name of the whole column (customer_share, customer_revenue_fy2024)
    key: str  # the fact or metric (customer_revenue)
    period: str | None
    col: int
    label: str
    unit: str
    row: Row | None = None  # the metric; None for a ledger fact


@dataclass
class GridPlace:
    """Where a sensitivity grid sits on the Sensitivity sheet::

        top          title
        top + 1      .       .            .   column steps (-n … n)
        top + 2      .       label        .   column input values (formulas)
        top + 4 …    step    row value    .   one formula per cell
    """

    grid: Grid
    top: int
    # an empty column and row keep the labels apart from the grid: each is a block with one formula pattern
    STEP_COL, VALUE_COL, FIRST_COL = 0, 1, 3

    @property
    def steps_row(self) -> int:
        return self.top + 1

    @property
    def values_row(self) -> int:
        return self.top + 2

    @property
    def first_row(self) -> int:
        return self.top + 4

    @property
    def bottom(self) -> int:
        return self.first_row + len(self.grid.row_values) - 1

    def cell(self, i: int, j: int) -> Cell:
        return Cell(SENSITIVITY, self.first_row + i, self.FIRST_COL + j)


@dataclass
class Layout:
    model: Model
    lines: dict[str, list[Line]] = field(default_factory=dict)
    cells: dict[tuple[str, str | None], Cell] = field(default_factory=dict)
    names: dict[str, Cell] = field(default_factory=dict)
    period_col: dict[str, int] = field(default_factory=dict)  # the main time axis (Calculations, Checks, Summary)
    sheet_periods: dict[str, list[str]] = field(default_factory=dict)  # a workings sheet with its own time axis
    row_at: dict[str, tuple[str, int]] = field(default_factory=dict)
    customer_columns: dict[tuple[str, str | None], CustomerColumn] = field(default_factory=dict)
    customers: int = 0  # rows on the Customers sheet
    input_columns: tuple[str, ...] = INPUT_COLUMNS  # the Inputs sheet's headers (scenario columns after Value)
    compare_cells: dict[tuple[str, str], Cell] = field(default_factory=dict)  # (forward row, scenario) on Summary
    grids: list[GridPlace] = field(default_factory=list)

    def input_col(self, header: str) -> int:
        """Column of the Inputs sheet under ``header`` (a fixed header, or a scenario's name)."""
        return self.input_columns.index(header)

    @property
    def sheets(self) -> tuple[str, ...]:
        out = []
        for s in SHEET_ORDER:
            if s == CALCULATIONS and self.sheet_periods:
                out += list(self.sheet_periods)  # a peers workbook: each company's workings on its own axis
                if not self.lines.get(CALCULATIONS):
                    continue
            if (s != CUSTOMERS or self.customers) and (s != SENSITIVITY or self.grids):
                out.append(s)
        return tuple(out)

    def periods_of(self, sheet: str) -> list[str]:
        """The time axis of ``sheet``, left to right."""
        return self.sheet_periods.get(sheet, self.model.periods)

    def col_of(self, sheet: str, period: str) -> int:
        """The column of ``period`` on ``sheet``."""
        if sheet in self.sheet_periods:
            return FIRST_PERIOD + self.sheet_periods[sheet].index(period)
        return self.period_col[period]

    @property
    def last_customer_row(self) -> int:
        return FIRST_CUSTOMER_ROW + self.customers - 1

    def customer_column(self, name: str, period: str | None = SCALAR) -> CustomerColumn:
        """The Customers column of ``name`` (in ``period``'s column for a customer × period metric)."""
        return self.customer_columns[(name, period)]

    def customer_range(self, column: CustomerColumn) -> str:
        """Absolute A1 range of a customer column, first to last customer."""
        first = xl_rowcol_to_cell(FIRST_CUSTOMER_ROW, column.col, row_abs=True, col_abs=True)
        last = xl_rowcol_to_cell(self.last_customer_row, column.col, row_abs=True, col_abs=True)
        return f"{first}:{last}"

    def cell(self, name: str, period: str | None = SCALAR) -> Cell:
        """The cell holding ``name`` (a row or a figure) in ``period``."""
        try:
            return self.cells[(name, period)]
        except KeyError:
            return self.names[name] if period is SCALAR else self.cells[(name, period)]

    def slot(self, name: str, period: str) -> Cell:
        """Row ``name``'s cell in ``period``'s column, whether or not the row has a value there."""
        sheet, row = self.row_at[name]
        return Cell(sheet, row, self.col_of(sheet, period))

    def row_span(self, name: str, regular: bool = False) -> tuple[Cell, Cell]:
        """First and last cell of a period row (for SUM/MIN ranges and charts); ``regular``: of its periods
        that are not overlays (totals over periods leave those out)."""
        periods = self.model.row(name).periods
        if regular:
            periods = self.model.axis.regular(periods)
        return self.cells[(name, periods[0])], self.cells[(name, periods[-1])]

    def select(self, name: str, period: str) -> str:
        """The period id a period id or selector (the latest …) names in row ``name``."""
        return self.model.axis.select(period, self.model.row(name).periods)

    def lagged(self, node: Expr, period: str) -> str:
        """The period a year-earlier or previous-period reference in ``period`` reads."""
        periods = self.model.row(node.name).periods
        axis = self.model.axis
        return axis.prior_year(period, periods) if isinstance(node, PriorYear) else axis.previous(period, periods)

    def name_at(self, cell: Cell) -> str | None:
        """The defined name pointing at ``cell``, if any."""
        return self._by_cell.get(cell)

    def finish(self) -> None:
        for name in [*self.names, *(c.name for c in self.customer_columns.values())]:
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
                col = SCALAR_COL if p is SCALAR else layout.col_of(sheet, p)
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

    # Inputs: one row per cited figure, period lengths first. With scenarios, one column per scenario
    # follows the Value column, which then shows the active scenario's value.
    scenarios = model.inputs.scenarios
    if scenarios:
        v = INPUT_VALUE_COL + 1
        layout.input_columns = (*INPUT_COLUMNS[:v], *scenarios, *INPUT_COLUMNS[v:])
        layout.names[SCENARIO] = Cell(INPUTS, SELECTOR_ROW, INPUT_VALUE_COL)
        for scenario in scenarios:
            layout.names[scenario_header(scenario)] = Cell(INPUTS, HEADER_ROW, layout.input_col(scenario))
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
        for scenario_cell, (scenario, _) in zip(figure.scenario_cells(), figure.scenarios, strict=True):
            layout.names[scenario_cell.name] = Cell(INPUTS, r, layout.input_col(scenario))
        r += 1

    rows = model.rows
    if model.ledger is not None:
        _place_customers(layout)
    calc = [row for row in rows if row.role in ("link", "metric") and not row.per_customer]
    own = {}
    for row in calc:
        if row.sheet:
            own.setdefault(row.sheet, []).append(row)
    for sheet, sheet_rows in own.items():
        wanted = {p for row in sheet_rows for p in row.periods}
        layout.sheet_periods[sheet] = [p for p in model.periods if p in wanted]
        _place_rows(layout, sheet, _sections(sheet_rows), FIRST_BODY_ROW)
    _place_rows(layout, CALCULATIONS, _sections([row for row in calc if not row.sheet]), FIRST_BODY_ROW)

    master = [row for row in rows if row.role == "master"]
    summary = [row for row in rows if row.role == "check_summary"]
    groups: list[tuple[str, list[Row]]] = [("Master check", master), ("Check summary", summary)]
    for s in summary:
        groups.append((s.label, [row for row in rows if row.check == s.check and row.role.startswith("check_")
                                 and row.role != "check_summary"]))
    _place_rows(layout, CHECKS, groups, FIRST_BODY_ROW)

    outputs = [row for row in rows if row.role == "output"]
    end = _place_rows(layout, SUMMARY, _sections(outputs), FIRST_BODY_ROW)
    _place_comparison(layout, end)
    top = FIRST_BODY_ROW
    for grid in model.grids:
        layout.grids.append(GridPlace(grid, top))
        top = layout.grids[-1].bottom + 3

    for name, period in model.headlines.items():
        layout.names[name] = layout.cells[(name, period)]
    for row in rows:  # scalars declared named (the customer summaries, the forward view), named like headlines
        if row.named:
            layout.names[row.name] = layout.cells[(row.name, SCALAR)]
    for row in master:
        layout.names[row.name] = layout.cells[(row.name, SCALAR)]
    layout.finish()
    return layout


def _place_comparison(layout: Layout, r: int) -> None:
    """The Summary's scenario comparison: one row per compared forward metric, one column per scenario,
    each column in the same column as its scenario's values on the Inputs sheet."""
    model = layout.model
    if not model.compared:
        return
    lines = layout.lines[SUMMARY]
    lines.append(Line(SUMMARY, r, "heading", "Scenario comparison: next 12 months, every scenario live side by side "
                                             "(the active one highlighted)"))
    lines.append(Line(SUMMARY, r + 1, "compare_header"))
    for i, name in enumerate(model.compared, start=r + 2):
        lines.append(Line(SUMMARY, i, "compare", item=model.row(name)))
        for scenario in model.inputs.scenarios:
            cell = Cell(SUMMARY, i, layout.input_col(scenario))
            layout.compare_cells[(name, scenario)] = cell
            layout.names[f"{name}__{scenario}"] = cell


USAGE_COLUMNS = {"tokens": ("Tokens billed", "tokens"), "models": ("Models billed", "count")}  # label, unit


def _place_customers(layout: Layout) -> None:
    """Columns of the Customers sheet: ledger facts, amounts per ledger period, then customer metrics."""
    model = layout.model
    ledger = model.ledger
    layout.customers = len(ledger.customers)
    columns: list[CustomerColumn] = [CustomerColumn(key, key, SCALAR, 0, label, unit)
                                     for key, label, unit in CUSTOMER_FACTS]
    margins = model.inputs.ledger.margins
    if margins:
        for segment in dict.fromkeys(margins.segments.values()):
            values = " or ".join(v for v, s in margins.segments.items() if s == segment)
            columns.append(CustomerColumn(customer_indicator(segment), customer_indicator(segment), SCALAR, 0,
                                          f"{margins.column.capitalize()} {values} (1) or not (0)", "indicator"))
    for p in ledger.periods:
        columns.append(CustomerColumn(f"customer_amount_{p.lower()}", "customer_amount", p, 0,
                                      f"Ledger amount, {model.inputs.periods[p].label}", ledger.currency))
    for usage in ledger.usage:  # carried from the ledger as it is: no metric reads them (yet)
        label, unit = USAGE_COLUMNS.get(usage, (usage, "count"))
        for p in ledger.periods:
            columns.append(CustomerColumn(f"customer_{usage}_{p.lower()}", f"{usage}_{p}", SCALAR, 0,
                                          f"{label}, {model.inputs.periods[p].label}", unit))
    if "first_billed" in ledger.customers:
        columns += [CustomerColumn("customer_first_billed", "first_billed", SCALAR, 0, "First billed", "UTC"),
                    CustomerColumn("customer_last_billed", "last_billed", SCALAR, 0, "Last billed", "UTC")]
    for row in model.rows:
        if not row.per_customer:
            continue
        for p in row.cells:
            label = row.label if p is SCALAR else f"{row.label}, {model.inputs.periods[p].label}"
            name = row.name if p is SCALAR else f"{row.name}_{p.lower()}"
            columns.append(CustomerColumn(name, row.name, p, 0, label, row.unit, row))
    for col, column in enumerate(columns):
        column.col = col
        layout.customer_columns[(column.key, column.period)] = column
