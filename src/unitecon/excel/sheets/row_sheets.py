"""The row-per-metric sheets: Calculations (or a peers workbook's per-company workings), Checks and Summary,
one formula per row copied across the periods, and the Summary's scenario comparison."""

from __future__ import annotations

from xlsxwriter.utility import xl_rowcol_to_cell

from ...geometry import (
    CALCULATIONS,
    CHECKS,
    FIRST_BODY_ROW,
    FIRST_PERIOD,
    HEADER_ROW,
    LABEL,
    NAME,
    SCALAR_COL,
    SCENARIO,
    SUMMARY,
    UNIT,
)
from ...model.rows import Row
from ...model.units import Unit
from ...model.what_if import written_out
from ..formula_text import formula, in_names, scenario_formula
from ..layout import Layout, Line
from ..styles import ACTIVE_FILL, Styles, flag_colours
from .common import cached_value


def has_period_columns(layout: Layout, sheet: str) -> bool:
    """Whether ``sheet`` has a column per period: every row sheet but the Summary, which has them only when it
    shows a row over periods (a peers workbook's companies side by side)."""
    return sheet != SUMMARY or any(line.item.grain == "period" for line in layout.lines.get(sheet, [])
                                   if line.kind == "row")


def write_rows(ws, sheet: str, layout: Layout, styles: Styles, written: list) -> None:
    """Write a row-per-metric sheet, appending each formula cell to ``written``."""
    model = layout.model
    periods = model.inputs.periods
    axis = layout.periods_of(sheet)
    own = sheet in layout.sheet_periods  # a company's workings in a peers workbook
    title = {CALCULATIONS: "calculations", CHECKS: "checks", SUMMARY: "summary"}.get(sheet, "workings")
    company, currency = model.sheet_titles.get(sheet, (model.inputs.company, model.inputs.currency))
    ws.write_string(0, 0, f"{company}: {title}", styles.title)
    ws.write_string(1, 0, f"Reporting currency {currency}. Costs and losses are positive numbers. "
                          "One formula per row, copied across the periods; black = formula, green = link.",
                    styles.subtitle)
    heads = ["Label", "Name", "Unit", "Value" if sheet not in (CALCULATIONS,) and not own else "Total / scalar"]
    by_period = has_period_columns(layout, sheet)
    if by_period:
        heads += [periods[p].label for p in axis]
    for col, text in enumerate(heads):
        ws.write_string(HEADER_ROW, col, text, styles.header)
    if sheet == CHECKS and not layout.lines.get(CHECKS):
        ws.write_string(FIRST_BODY_ROW, LABEL, "No reconciliation applies to these inputs: no figure here is "
                                               "cross-checked against another.", styles.heading)
    if by_period:
        ws.write_string(HEADER_ROW + 1, LABEL, "Period ends", styles.subtitle)
        for p in axis:
            ws.write_string(HEADER_ROW + 1, layout.col_of(sheet, p), f"{periods[p].end:%Y-%m-%d}", styles.subtitle)
        ws.freeze_panes(HEADER_ROW + 2, FIRST_PERIOD)
        ws.repeat_rows(HEADER_ROW, HEADER_ROW + 1)
    else:
        ws.freeze_panes(HEADER_ROW + 1, 0)
    ws.set_column(LABEL, LABEL, 58)
    ws.set_column(NAME, NAME, 40)
    ws.set_column(UNIT, UNIT, 18)
    ws.set_column(SCALAR_COL, FIRST_PERIOD + len(axis), 16)
    flags = []
    for line in layout.lines.get(sheet, []):
        if line.kind == "heading":
            ws.write_string(line.row, LABEL, line.text, styles.heading)
            continue
        if line.kind in ("compare_header", "compare"):
            _write_comparison_line(ws, line, layout, styles, written)
            continue
        row: Row = line.item
        ws.write_string(line.row, LABEL, row.label, styles.bold if row.role == "master" else styles.text)
        ws.write_string(line.row, NAME, in_names(row.expr) if row.role == "output" else row.name, styles.name)
        ws.write_string(line.row, UNIT, Unit(row.unit).label, styles.text)
        fmt = styles.value(row.role, row.unit)
        for p in row.cells:
            cell = layout.cells[(row.name, p)]
            value = model.values[(row.name, p)] if row.role != "link" else model.series[row.name].figures[p].value
            text = formula(row.expr, layout, sheet, p, cell)
            ws.write_formula(cell.row, cell.col, text, fmt, cached_value(value))
            written.append((sheet, cell.row, cell.col, text))
            if row.unit == "flag":
                flags.append(cell)
    flag_colours(ws, [(c.row, c.col, c.row, c.col) for c in flags], styles)


def _write_comparison_line(ws, line: Line, layout: Layout, styles: Styles, written: list) -> None:
    """A line of the Summary's scenario comparison: the scenario headers, or one forward metric per scenario."""
    model = layout.model
    scenarios = model.inputs.scenarios
    if line.kind == "compare_header":
        ws.write_string(line.row, LABEL, "Scenario (columns as on the Inputs sheet)", styles.text)
        for scenario in scenarios:
            ws.write_string(line.row, layout.input_col(scenario), scenario, styles.header)
        first = layout.compare_cells[(model.compared[0], scenarios[0])]
        last = layout.compare_cells[(model.compared[-1], scenarios[-1])]
        active = styles.wb.add_format({"bold": True, "bg_color": ACTIVE_FILL})
        header = xl_rowcol_to_cell(line.row, first.col, row_abs=True)
        ws.conditional_format(line.row, first.col, last.row, last.col,
                              {"type": "formula", "criteria": f"={header}={SCENARIO}", "format": active})
        return
    row: Row = line.item
    ws.write_string(line.row, LABEL, row.label, styles.text)
    ws.write_string(line.row, NAME, f"{row.name}[each scenario]", styles.name)
    ws.write_string(line.row, UNIT, Unit(row.unit).label, styles.text)
    varying = {f.name for f in model.figures() if f.scenarios}
    expr = written_out(model, row.name, varying)
    for scenario in scenarios:
        cell = layout.compare_cells[(row.name, scenario)]
        text = scenario_formula(expr, layout, scenario, cell)
        ws.write_formula(cell.row, cell.col, text, styles.value("metric", row.unit),
                         cached_value(model.by_scenario[(row.name, scenario)]))
        written.append((SUMMARY, cell.row, cell.col, text))
