"""Write the .xlsx: styles, number formats, validation, comments, charts, names and cached values.

XlsxWriter writes the file because it stores a cached value beside every formula (so pandas,
previewers and Excel's Protected View see numbers) while flagging the workbook for a full
recalculation on open, and because its output is byte-for-byte reproducible once the document
timestamp is fixed. Formula text comes from :mod:`unitecon.excel.formula_text`; positions from
:mod:`unitecon.excel.layout`. User-supplied text is always written with ``write_string``: it never
becomes a formula.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from .. import __version__
from ..atomic import replacing
from ..model.assemble import SCALAR, Row, written_out
from ..model.expr import ref
from ..model.inputs import SCENARIO, Figure
from ..model.metrics.arppu import SUMMARY as ARPPU_SUMMARY
from ..model.peers import HEADLINES as PEERS_HEADLINES
from ..model.units import Unit, input_bounds
from ..reading import fingerprint
from ..reading.r1c1 import to_r1c1
from ..sheets import (
    AUDIT,
    AUDIT_COLUMNS,
    CALCULATIONS,
    CHECKS,
    COVER,
    CUSTOMER_HEADER_ROW,
    CUSTOMER_NAME_ROW,
    CUSTOMER_UNIT_ROW,
    CUSTOMERS,
    FINGERPRINT,
    FIRST_BODY_ROW,
    FIRST_CUSTOMER_ROW,
    FIRST_PERIOD,
    HEADER_ROW,
    INPUT_VALUE_COL,
    INPUTS,
    LABEL,
    NAME,
    OPENING_ROW,
    SCALAR_COL,
    SELECTOR_ROW,
    SENSITIVITY,
    SUMMARY,
    UNIT,
)
from .formula_text import (
    customer_formula,
    formula,
    grid_axis_formula,
    in_names,
    scenario_formula,
    scenario_pick_formula,
)
from .layout import GridPlace, Layout, Line
from .lineage import lineage
from .xlsxwriter_adapter import CachedColumnSheet

#: Fixed document timestamp: same inputs give the same bytes.
DOCUMENT_DATE = dt.datetime(2026, 1, 1)

BLUE, GREEN, INPUT_FILL, HEAD_FILL, EDITED_FILL = "#0000FF", "#007A33", "#FFF2CC", "#D9E1F2", "#F8CBAD"
OK_FILL, FAIL_FILL = "#C6EFCE", "#FFC7CE"
ACTIVE_FILL = "#DDEBF7"  # the active scenario's column in the Summary's comparison
HEAT_GOOD, HEAT_MID, HEAT_BAD = "#63BE7B", "#FFEB84", "#F8696B"  # sensitivity heat map


class _Styles:
    """Cell formats, created once per (role, unit) so the file holds no duplicates."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self.wb = wb
        self._cache: dict[tuple[str, str], object] = {}
        base = {"font_name": "Arial", "font_size": 10, "valign": "top"}
        self.text = wb.add_format(base)
        self.wrap = wb.add_format({**base, "text_wrap": True, "valign": "top"})
        self.name = wb.add_format({**base, "font_color": "#595959", "italic": True})
        self.title = wb.add_format({**base, "bold": True, "font_size": 14})
        self.subtitle = wb.add_format({**base, "italic": True, "font_color": "#595959"})
        self.header = wb.add_format({**base, "bold": True, "bg_color": HEAD_FILL, "bottom": 1, "text_wrap": True})
        self.heading = wb.add_format({**base, "bold": True, "bottom": 1})
        self.bold = wb.add_format({**base, "bold": True})
        self.unit = wb.add_format({**base, "indent": 1})
        self.base = base

    def value(self, role: str, unit: str):
        key = (role, unit)
        if key not in self._cache:
            spec = {**self.base, "num_format": Unit(unit).number_format()}
            if role in ("input", "edited"):
                fill = EDITED_FILL if role == "edited" else INPUT_FILL
                spec |= {"font_color": BLUE, "bg_color": fill, "border": 1, "border_color": "#BFBFBF"}
            elif role in ("link", "output"):
                spec |= {"font_color": GREEN}
            elif role in ("master", "check_summary", "check_status"):
                spec |= {"bold": True, "align": "center"}
            self._cache[key] = self.wb.add_format(spec)
        return self._cache[key]


def write_workbook(layout: Layout, path: str | Path, progress: Callable[[str], None] | None = None) -> int:
    """Write the workbook for ``layout`` to ``path`` atomically (temp file in the same folder, then rename).

    Returns the number of formula cells written.
    """
    with replacing(Path(path)) as tmp:
        count = _write(layout, tmp, progress or (lambda message: None))
    return count


def _write(layout: Layout, path: Path, progress: Callable[[str], None]) -> int:
    model = layout.model
    inputs = model.inputs
    wb = xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    wb.set_properties({
        "title": f"{inputs.company} unit economics",
        "author": "unitecon",
        "comments": f"Built by unitecon {__version__} from {inputs.path.name} (sha256 {inputs.digest})",
        "created": DOCUMENT_DATE,
    })
    wb.set_calc_mode("auto")
    styles = _Styles(wb)
    sheets = {name: wb.add_worksheet(name, worksheet_class=CachedColumnSheet) for name in layout.sheets}
    for ws in sheets.values():
        ws.set_row(0, 20)  # the title is 14 pt; previewers do not grow rows to fit
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.set_paper(9)
        ws.hide_gridlines(2)
        # printed pages say whose and which sheet they are; "&" is the header's escape character
        ws.set_header(f"&L{inputs.company.replace('&', '&&')}: &A&R{inputs.path.name.replace('&', '&&')}")
        ws.set_footer("&CPage &P of &N")

    written: list[tuple[str, int, int, str]] = []
    _write_inputs(sheets[INPUTS], layout, styles, written)
    for sheet in (*layout.sheet_periods, CALCULATIONS, CHECKS, SUMMARY):
        if sheet in sheets:
            _write_rows(sheets[sheet], sheet, layout, styles, written)
    data: list[tuple[str, str, str, str]] = []
    if layout.grids:
        _write_sensitivity(sheets[SENSITIVITY], layout, styles, written, data)
    runs = list(_runs(written))
    if layout.customers:
        runs += _write_customers(sheets[CUSTOMERS], layout, styles, progress, data)
    _write_cover(sheets[COVER], layout, styles, written)
    _write_audit(sheets[AUDIT], layout, styles)
    inputs_written = {f.name: ((INPUTS, layout.names[f.name].a1()), f.value) for f in layout.model.input_cells()}
    fingerprint.write(sheets[FINGERPRINT], styles, fingerprint.Fingerprint(inputs_written, runs, data))
    for key, value in (("unitecon_model", inputs.model), ("unitecon_version", __version__),
                       ("unitecon_inputs_sha256", inputs.digest)):
        wb.set_custom_property(key, value)
    if inputs.members:
        wb.set_custom_property("unitecon_peers", ",".join(model for model, _, _ in inputs.members))
    _write_charts(wb, sheets[SUMMARY], layout)
    for name, cell in sorted(layout.names.items()):
        wb.define_name(name, f"={cell.sheet}!{cell.a1(absolute=True)}")
    for column in sorted(layout.customer_columns.values(), key=lambda c: c.name):
        wb.define_name(column.name, f"={CUSTOMERS}!{layout.customer_range(column)}")
    progress("compressing and saving")
    wb.close()
    customer_formulas = sum(1 for c in layout.customer_columns.values() if c.row) * layout.customers
    return len(written) + customer_formulas


def _cached(value: float) -> float | str:
    return "#DIV/0!" if math.isnan(value) or math.isinf(value) else value


def _period_text(layout: Layout, figure: Figure) -> str:
    period = layout.model.inputs.periods.get(figure.period)
    series = layout.model.series[figure.series]
    if period is None:
        return figure.period
    if figure.as_of:
        return f"as of {figure.as_of:%Y-%m-%d}"
    if series.grain == "scalar" and figure.source.is_assumption:
        return "model assumption"
    if series.kind == "balance":
        return f"at {period.end:%Y-%m-%d} ({figure.period})"
    return f"{period.label}: {period.months} months to {period.end:%Y-%m-%d}"


def _write_inputs(ws, layout: Layout, styles: _Styles, written: list) -> None:
    model = layout.model
    scenarios = model.inputs.scenarios
    col = layout.input_col
    ws.write_string(0, 0, f"{model.inputs.company}: inputs", styles.title)
    ws.write_string(1, 0, "Every assumption, one row each, with its source. Blue cells are inputs: edit them "
                          "and every dependent number follows. Hover a value for its source quote.", styles.subtitle)
    for c, text in enumerate(layout.input_columns):
        shown = "Value (active)" if scenarios and c == INPUT_VALUE_COL else text
        ws.write_string(HEADER_ROW, c, shown, styles.header)
    widths = {"Label": 58, "Defined name": 40, "Value": 16, "Unit": 18, "Period": 34, "Kind": 8,
              "Source document": 26, "Quote": 60, "Note": 60}
    for c, text in enumerate(layout.input_columns):
        ws.set_column(c, c, widths.get(text, 14))
    if scenarios:
        _write_selector(ws, layout, styles)
    ws.freeze_panes(HEADER_ROW + 1, INPUT_VALUE_COL + 1)
    ws.repeat_rows(HEADER_ROW)
    ws.autofilter(HEADER_ROW, 0, HEADER_ROW, len(layout.input_columns) - 1)
    for line in layout.lines[INPUTS]:
        if line.kind == "heading":
            ws.write_string(line.row, 0, line.text, styles.heading)
            continue
        figure: Figure = line.item
        series = model.series[figure.series]
        src = figure.source
        label = series.label + (f" — alternative report ({figure.alternative_of})" if figure.alternative_of else "")
        r = line.row
        ws.write_string(r, 0, label, styles.text)
        ws.write_string(r, 1, figure.name, styles.name)
        for cell in figure.input_cells():
            where = layout.names[cell.name]
            ws.write_number(r, where.col, cell.value, styles.value("edited" if cell.edited else "input", series.unit))
            _validate(ws, r, where.col, figure.series, series.unit)
        if figure.scenarios:
            text = scenario_pick_formula(layout, r)
            ws.write_formula(r, INPUT_VALUE_COL, text, styles.value("metric", series.unit), _cached(figure.value))
            written.append((INPUTS, r, INPUT_VALUE_COL, text))
        ws.write_string(r, col("Unit"), Unit(series.unit).label, styles.unit)
        ws.write_string(r, col("Period"), _period_text(layout, figure), styles.text)
        ws.write_string(r, col("Kind"), series.kind, styles.text)
        ws.write_string(r, col("Source document"), src.document or "Assumption", styles.text)
        ws.write_string(r, col("Quote"), src.quote or src.assumption or "", styles.text)
        note = src.note or ""
        if figure.edited:
            note = (f"EDITED in a workbook (saved {figure.edited.at}); the source's figure is "
                    f"{figure.edited.previous:,.10g}. " + note)
        ws.write_string(r, col("Note"), note, styles.text)
        comment = f"{src.document}: «{src.quote}»" if src.document else f"Assumption: {src.assumption}"
        ws.write_comment(r, INPUT_VALUE_COL, comment, {"author": "unitecon", "x_scale": 2, "y_scale": 1.5})


def _write_selector(ws, layout: Layout, styles: _Styles) -> None:
    """The scenario selector: a data-validated list of the scenario column headers, named ``scenario``."""
    model = layout.model
    scenarios = model.inputs.scenarios
    ws.write_string(SELECTOR_ROW, 0, f"Active scenario (choose from the list: {', '.join(scenarios)}); every "
                                     "calculation reads the Value column, which follows it", styles.heading)
    ws.write_string(SELECTOR_ROW, INPUT_VALUE_COL, model.inputs.active_scenario, styles.value("input", "text"))
    ws.data_validation(SELECTOR_ROW, INPUT_VALUE_COL, SELECTOR_ROW, INPUT_VALUE_COL, {
        "validate": "list", "source": list(scenarios), "error_title": "unitecon scenario",
        "error_message": f"Choose one of: {', '.join(scenarios)}"})


def _validate(ws, row: int, col: int, key: str, unit: str) -> None:
    low, high = input_bounds(key, unit)
    if low is None and high is None:
        return
    whole = unit in ("count", "months")
    bound = (f"between {low:g} and {high:g}" if low is not None and high is not None
             else f">= {low:g}" if low is not None else f"<= {high:g}")
    spec = {
        "validate": "integer" if whole else "decimal",
        "criteria": "between" if low is not None and high is not None else ">=" if low is not None else "<=",
        "error_title": "unitecon input",
        "error_message": f"Expected {'a whole number ' if whole else 'a number '}{bound}",
    }
    if low is not None and high is not None:
        spec |= {"minimum": low, "maximum": high}
    else:
        spec |= {"value": low if low is not None else high}
    ws.data_validation(row, col, row, col, spec)


def _write_rows(ws, sheet: str, layout: Layout, styles: _Styles, written: list) -> None:
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
    by_period = sheet != SUMMARY or any(line.item.grain == "period" for line in layout.lines.get(sheet, [])
                                        if line.kind == "row")
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
            ws.write_formula(cell.row, cell.col, text, fmt, _cached(value))
            written.append((sheet, cell.row, cell.col, text))
            if row.unit == "flag":
                flags.append(cell)
    _flag_colours(ws, [(c.row, c.col, c.row, c.col) for c in flags], styles)


def _write_comparison_line(ws, line: Line, layout: Layout, styles: _Styles, written: list) -> None:
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
                         _cached(model.by_scenario[(row.name, scenario)]))
        written.append((SUMMARY, cell.row, cell.col, text))


def _write_sensitivity(ws, layout: Layout, styles: _Styles, written: list,
                       data: list[tuple[str, str, str, str]]) -> None:
    """Each grid: its output recomputed in every cell from the cell's row and column input values."""
    model = layout.model
    ws.write_string(0, 0, f"{model.inputs.company}: sensitivity", styles.title)
    ws.write_string(1, 0, "Each cell recomputes the output with two inputs set to its row and column values and every "
                          "other input at the active scenario; the centre cell is the active scenario. Live formulas, "
                          "no data tables. Steps and their sizes come from the inputs file.", styles.subtitle)
    ws.set_column(GridPlace.STEP_COL, GridPlace.STEP_COL, 30)
    ws.set_column(GridPlace.VALUE_COL, GridPlace.VALUE_COL, 36)
    ws.set_column(GridPlace.VALUE_COL + 1, GridPlace.VALUE_COL + 1, 2)
    step_format = styles.wb.add_format({**styles.base, "font_color": "#7F7F7F", "align": "center"})
    centre_format = styles.wb.add_format({**styles.base, "bold": True, "align": "center"})  # the active values
    for place in layout.grids:
        grid = place.grid
        out = model.row(grid.output)
        row_series, column_series = model.series[grid.row_input], model.series[grid.column_input]
        ws.write_string(place.top, 0, f"{out.label} ({Unit(out.unit).label}): rows {row_series.label}, "
                                      f"columns {column_series.label}", styles.heading)
        ws.write_string(place.steps_row, GridPlace.VALUE_COL, "column steps from the active value →", styles.subtitle)
        ws.write_string(place.values_row, GridPlace.VALUE_COL, f"columns: {grid.column_input} →", styles.name)
        ws.write_string(place.first_row - 1, GridPlace.STEP_COL, "row steps ↓", styles.subtitle)
        ws.write_string(place.first_row - 1, GridPlace.VALUE_COL, f"rows: {grid.row_input} ↓", styles.name)
        last_col = GridPlace.FIRST_COL + len(grid.column_values) - 1
        ws.set_column(GridPlace.FIRST_COL, last_col, 14)
        for j, offset in enumerate(grid.column_offsets):
            col = GridPlace.FIRST_COL + j
            ws.write_number(place.steps_row, col, offset, centre_format if offset == 0 else step_format)
            text = grid_axis_formula(layout, grid.column_input, grid.column_step,
                                     xl_rowcol_to_cell(place.steps_row, col, row_abs=True))
            ws.write_formula(place.values_row, col, text, styles.value("metric", column_series.unit),
                             _cached(grid.column_values[j]))
            written.append((SENSITIVITY, place.values_row, col, text))
        data.append((SENSITIVITY, f"{xl_rowcol_to_cell(place.steps_row, GridPlace.FIRST_COL)}:"
                                  f"{xl_rowcol_to_cell(place.steps_row, last_col)}",
                     f"{grid.output}_column_steps", fingerprint.column_digest(grid.column_offsets)))
        expr = written_out(model, grid.output, {grid.row_input, grid.column_input})
        for i, offset in enumerate(grid.row_offsets):
            r = place.first_row + i
            ws.write_number(r, GridPlace.STEP_COL, offset, centre_format if offset == 0 else step_format)
            text = grid_axis_formula(layout, grid.row_input, grid.row_step,
                                     xl_rowcol_to_cell(r, GridPlace.STEP_COL, col_abs=True))
            ws.write_formula(r, GridPlace.VALUE_COL, text, styles.value("metric", row_series.unit),
                             _cached(grid.row_values[i]))
            written.append((SENSITIVITY, r, GridPlace.VALUE_COL, text))
            row_value = xl_rowcol_to_cell(r, GridPlace.VALUE_COL, col_abs=True)
            for j in range(len(grid.column_values)):
                cell = place.cell(i, j)
                column_value = xl_rowcol_to_cell(place.values_row, cell.col, row_abs=True)
                text = formula(expr, layout, SENSITIVITY, SCALAR, cell,
                               {grid.row_input: row_value, grid.column_input: column_value})
                ws.write_formula(cell.row, cell.col, text, styles.value("metric", out.unit), _cached(grid.values[i][j]))
                written.append((SENSITIVITY, cell.row, cell.col, text))
        data.append((SENSITIVITY, f"{xl_rowcol_to_cell(place.first_row, GridPlace.STEP_COL)}:"
                                  f"{xl_rowcol_to_cell(place.bottom, GridPlace.STEP_COL)}",
                     f"{grid.output}_row_steps", fingerprint.column_digest(grid.row_offsets)))
        good_low = out.unit == "multiple"  # a lower exchange rate is better; a longer runway is better
        ws.conditional_format(place.first_row, GridPlace.FIRST_COL, place.bottom, last_col, {
            "type": "3_color_scale", "min_color": HEAT_GOOD if good_low else HEAT_BAD, "mid_color": HEAT_MID,
            "max_color": HEAT_BAD if good_low else HEAT_GOOD})
        centre = place.cell(len(grid.row_values) // 2, len(grid.column_values) // 2)
        ws.write_comment(centre.row, centre.col, "The active scenario: equals the Calculations value.",
                         {"author": "unitecon"})
    ws.freeze_panes(2, 0)


def _flag_colours(ws, ranges: list[tuple[int, int, int, int]], styles: _Styles) -> None:
    """Green OK / red FAIL fills on flag cells, each range given as (first row, col, last row, col)."""
    ok = styles.wb.add_format({"bg_color": OK_FILL, "font_color": "#006100"}) if ranges else None
    fail = styles.wb.add_format({"bg_color": FAIL_FILL, "font_color": "#9C0006"}) if ranges else None
    for cells in ranges:
        ws.conditional_format(*cells, {"type": "cell", "criteria": "==", "value": 1, "format": ok})
        ws.conditional_format(*cells, {"type": "cell", "criteria": "!=", "value": 1, "format": fail})


def _write_cover(ws, layout: Layout, styles: _Styles, written: list) -> None:
    """Write the Cover, appending its formula cells (the master check links) to ``written``."""
    model = layout.model
    inputs = model.inputs
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 100, styles.wrap)
    ws.write_string(0, 0, f"{inputs.company}: unit economics", styles.title)
    rows: list[tuple[str, str]] = [
        ("What this is", _what_this_is(layout)),
        ("How to use", "Change a blue cell on the Inputs sheet; every number on Calculations, Checks and "
                       "Summary follows. Each input row cites its source document and the exact quote. "
                       "To make a change permanent, edit the inputs file and rebuild with `unitecon build`."
                       + (" A peers workbook's inputs come from the companies' inputs files: edit those."
                          if inputs.members else "")
                       + (f" Scenarios ({', '.join(inputs.scenarios)}): choose one in the selector cell at the top "
                          "of the Inputs sheet; every calculation follows the active one, and the Summary compares "
                          "them all side by side." if inputs.scenarios else "")),
        ("Sheets", "Summary (" + ("the companies side by side and a chart" if inputs.members else
                                  "outputs, the scenario comparison and charts" if inputs.scenarios else
                                  "outputs and charts") + ") · "
                   + ("Sensitivity (outputs over two inputs, a heat map) · " if layout.grids else "")
                   + "Inputs (cited assumptions) · "
                   + (f"{', '.join(layout.sheet_periods)} (each company's workings on its own time axis)"
                      if layout.sheet_periods else "Calculations (workings, time flowing left to right)")
                   + (" · Checks (reconciliations rolled up to the master check)" if model.reconciling else
                      " · Checks (no reconciliation applies)")
                   + " · Audit (each formula in names and what it rests on) · Fingerprint (what the build wrote, so "
                   "later edits are detected)."),
        ("Conventions", f"Reporting currency {inputs.currency}. Costs and losses are positive numbers. "
                        "One formula per row, copied across the periods; the first cell of a row shows the "
                        "rule. Unit constants (12 months a year) are the only numbers inside formulas."),
        ("Defined names", "Every input and every headline metric has a workbook-scoped snake_case name; "
                          "row formulas use plain relative references so they copy across periods. Input "
                          "rows with several periods are named <key>_<period>"
                          + (f", e.g. {example}." if (example := _period_figure_name(model)) else ".")),
    ]
    ledger = model.ledger
    if ledger is not None:
        kind = ("a SYNTHETIC sample ledger (generated, calibrated to the public aggregates; NOT real customer "
                "data)" if ledger.synthetic else "the customer ledger")
        rows.insert(3, ("Customers", f"The Customers sheet lists {layout.customers:,} customers from {kind} "
                                     f"{ledger.path.name}, one row each, largest first; every derived column is "
                                     "one formula copied down, and whole columns carry defined names "
                                     "(customer_share …) that the summaries on Calculations read. The ledger's "
                                     "amounts are inputs: change them there, or point the inputs file's ledger: "
                                     "at another file and rebuild."))
    r = 2
    for head, text in rows:
        ws.write_string(r, 0, head, styles.bold)
        ws.write_string(r, 1, text, styles.wrap)
        ws.set_row(r, _wrapped_height(text, 100))
        r += 1
    r += 1
    ws.write_string(r, 0, "Colour legend", styles.heading)
    legend = [
        ("input", "count", 1234, "Input: blue on light yellow. Edit these."),
        ("metric", "count", 1234, "Formula: black. Do not overtype."),
        ("link", "count", 1234, "Link to an input or another sheet: green."),
        ("edited", "count", 1234, "Input edited in a workbook and pulled back: no longer the source's figure "
                                  "(see the Note column of the Inputs sheet)."),
    ]
    for role, unit, sample, text in legend:
        r += 1
        ws.write_number(r, 0, sample, styles.value(role, unit))
        ws.write_string(r, 1, text, styles.wrap)
    r += 2
    ws.write_string(r, 0, "Master check", styles.heading)
    if ("master_check", SCALAR) not in layout.cells:
        r += 1
        ws.write_string(r, 1, "None: no check applies to these inputs, so no figure here is cross-checked.",
                        styles.wrap)
    else:
        for name in ("master_check", "failing_checks"):
            r += 1
            row = model.row(name)
            text = formula(ref(name), layout, COVER, SCALAR)
            ws.write_formula(r, 0, text, styles.value("master" if name == "master_check" else "output", row.unit),
                             _cached(model.value(name)))
            written.append((COVER, r, 0, text))
            ws.write_string(r, 1, f"{row.label}: {row.description} See the Checks sheet.", styles.wrap)
            if name == "master_check":
                _flag_colours(ws, [(r, 0, r, 0)], styles)
    r += 2
    ws.write_string(r, 0, "Provenance", styles.heading)
    for head, text in (
        ("Tool", f"unitecon {__version__}"),
        ("Inputs file", inputs.path.name if not inputs.members else
         "; ".join(f"{path.name} (sha256 {digest})" for _, path, digest in inputs.members)),
        ("Inputs sha256", inputs.digest),
        ("Sources", "; ".join(f"{doc}: {d.title}" for doc, d in inputs.documents.items())),
    ):
        r += 1
        ws.write_string(r, 0, head, styles.bold)
        ws.write_string(r, 1, text, styles.wrap)
        ws.set_row(r, _wrapped_height(text, 100))
    ws.activate()


def _period_figure_name(model) -> str | None:
    """A defined name of one period's cited figure, to show the naming rule with (``revenue_usd_fy2024``)."""
    for figure in model.inputs.figures():
        if len(model.series[figure.series].figures) > 1:
            return figure.name
    return None


def _what_this_is(layout: Layout) -> str:
    """The Cover's first paragraph: whose unit economics, from which documents (their own titles), and what the
    workbook holds for them."""
    model = layout.model
    inputs = model.inputs
    documents = "; ".join(f"«{d.title}»" + (f" ({d.publisher}, {d.published})" if d.publisher and d.published
                                            else f" ({d.publisher or d.published})" if d.publisher or d.published
                                            else "") for d in inputs.documents.values())
    count = len(inputs.documents)
    if inputs.members:
        files = ", ".join(path.name for _, path, _ in inputs.members)
        return (f"A comparison of {inputs.company.removeprefix('Peers: ')}: each company computed from its own "
                f"inputs file ({files}) exactly as in its own workbook, on a sheet of its own, amounts in USD at "
                f"the company's own cited exchange rate; the Summary sets them side by side. Sources: "
                f"{documents}. Every calculated cell is a live formula. Reconciliations are in each company's "
                "own workbook.")
    built = {row.pattern for row in model.rows if row.pattern}
    holds = [text for pattern, text in (
        ("{product}_arppu_{ccy}", f"ARPPU for {len(inputs.products)} product line(s)"),
        ("{segment}_revenue_share", "revenue by segment"),
        ("{segment}_revenue_per_customer_{ccy}", "revenue per customer"),
        ("revenue_per_customer_{ccy}", "revenue per customer"),
        ("compute_to_revenue", "the compute-to-revenue exchange rate"),
        ("revenue_growth_yoy", "growth"),
        ("arr_growth", "growth of the annualised run-rate"),
        ("runway_months", "burn and runway"),
    ) if pattern in built]
    if layout.customers:
        holds.append(f"{layout.customers:,} customers from a ledger")
    holds = list(dict.fromkeys(holds))
    what = (", ".join(holds) if holds else "the cited figures and what they allow") + "."
    checks = ("" if model.reconciling else " No reconciliation applies to these inputs: no figure here is "
              "cross-checked against another.")
    return (f"Unit economics of {inputs.company} from {count} cited document{'s' if count != 1 else ''}: "
            f"{documents}. It holds {what} Every calculated cell is a live formula.{checks}")


def _runs(written: list[tuple[str, int, int, str]]):
    """Group formula cells into runs along a row that share one R1C1 formula: (sheet, cells, R1C1)."""
    run = None
    for sheet, row, col, text in sorted(written, key=lambda w: (w[0], w[1], w[2])):
        r1c1 = to_r1c1(text, row + 1, col + 1)[1:]
        if run and run[0] == sheet and run[1] == row and run[3] == col - 1 and run[4] == r1c1:
            run[3] = col
            continue
        if run:
            yield _run(*run)
        run = [sheet, row, col, col, r1c1]
    if run:
        yield _run(*run)


def _run(sheet: str, row: int, first: int, last: int, r1c1: str) -> tuple[str, str, str]:
    cells = xl_rowcol_to_cell(row, first) + ("" if first == last else ":" + xl_rowcol_to_cell(row, last))
    return sheet, cells, r1c1


def _wrapped_height(text: str, width: int) -> float:
    """Row height (points) that shows ``text`` wrapped in a column ``width`` characters wide.

    LibreOffice and previewers do not grow rows to fit on their own; CJK characters count double.
    """
    chars = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    return 13.5 * max(1, math.ceil(chars / (width * 1.05)))


def _write_audit(ws, layout: Layout, styles: _Styles) -> None:
    """Every calculated row: its formula in names, what it means, and the cited inputs it rests on."""
    model = layout.model
    ws.write_string(0, 0, f"{model.inputs.company}: audit trail", styles.title)
    ws.write_string(1, 0, "Each calculated row, its formula written in names, and the inputs (with their source "
                          "documents) it ultimately rests on. Generated from the same declarations as the formulas.",
                    styles.subtitle)
    widths = (36, 44, 16, 12, 22, 50, 50, 40, 40)
    for col, (text, width) in enumerate(zip(AUDIT_COLUMNS, widths, strict=True)):
        ws.write_string(HEADER_ROW, col, text, styles.header)
        ws.set_column(col, col, width, styles.wrap)
    ws.freeze_panes(HEADER_ROW + 1, 1)
    ws.repeat_rows(HEADER_ROW)
    periods = model.inputs.periods
    for r, entry in enumerate(lineage(model), start=HEADER_ROW + 1):
        row = entry.row
        sheet = CUSTOMERS if row.per_customer else layout.cells[(row.name, row.cells[0])].sheet
        when = ", ".join(periods[p].label for p in row.periods) if row.periods else row.grain.replace("_", " × ")
        values = (row.name, row.label, Unit(row.unit).label, sheet, when, entry.formula_in_names, row.description,
                  ", ".join(entry.inputs), ", ".join(entry.documents))
        for col, text in enumerate(values):
            ws.write_string(r, col, text, styles.name if col == 0 else styles.wrap)
        ws.set_row(r, max(_wrapped_height(v, w) for v, w in zip(values, widths, strict=True)))


def _write_charts(wb, ws, layout: Layout) -> None:
    model = layout.model
    arppu = [r for r in model.rows if r.role == "output" and r.section == ARPPU_SUMMARY]
    ccy = model.inputs.currency
    money = Unit(ccy).number_format()
    scenario_cols = [c.col for c in layout.compare_cells.values()]
    anchor = max([FIRST_PERIOD, *scenario_cols]) + 1  # right of the scenario comparison
    by_company = [r for r in model.rows if r.role == "output" and r.section == PEERS_HEADLINES]
    if by_company:
        first, last = layout.cells[(by_company[0].name, SCALAR)], layout.cells[(by_company[-1].name, SCALAR)]
        chart = _exchange_rate_chart(wb, "Compute spend per unit of revenue, each company's headline period",
                                     [SUMMARY, first.row, LABEL, last.row, LABEL],
                                     [SUMMARY, first.row, SCALAR_COL, last.row, SCALAR_COL],
                                     "#C55A11", "Compute-to-revenue exchange rate by company", "company")
        ws.insert_chart(xl_rowcol_to_cell(HEADER_ROW, FIRST_PERIOD + len(model.periods) + 1), chart)
    if arppu:
        first, last = layout.cells[(arppu[0].name, SCALAR)], layout.cells[(arppu[-1].name, SCALAR)]
        chart = wb.add_chart({"type": "bar"})
        chart.add_series({
            "name": f"Annualised ARPPU ({ccy} per paying user per year)",
            "categories": [SUMMARY, first.row, LABEL, last.row, LABEL],
            "values": [SUMMARY, first.row, SCALAR_COL, last.row, SCALAR_COL],
            "data_labels": {"value": True, "num_format": money},
            "fill": {"color": "#4472C4"},
        })
        chart.set_title({"name": f"ARPPU by product line (annualised, {ccy})"})
        chart.set_x_axis({"name": f"{ccy} per paying user per year", "num_format": money, "min": 0})
        chart.set_legend({"none": True})
        chart.set_size({"width": 640, "height": 300})
        ws.insert_chart(xl_rowcol_to_cell(HEADER_ROW, anchor), chart)
    if any(r.name == "compute_to_revenue" for r in model.rows):
        first, last = layout.row_span("compute_to_revenue")
        row_first_col = first.col
        chart = _exchange_rate_chart(wb, f"{model.inputs.company}: compute spend per unit of revenue",
                                     [CALCULATIONS, HEADER_ROW, row_first_col, HEADER_ROW, last.col],
                                     [CALCULATIONS, first.row, row_first_col, last.row, last.col],
                                     "#C55A11", "Compute-to-revenue exchange rate by period", "period")
        ws.insert_chart(xl_rowcol_to_cell(HEADER_ROW + (17 if arppu else 0), anchor), chart)
    if layout.customers:
        rank = layout.customer_column("customer_rank")
        cumulative = layout.customer_column("customer_cumulative_share")
        first, last = FIRST_CUSTOMER_ROW, layout.last_customer_row
        chart = wb.add_chart({"type": "scatter", "subtype": "straight"})
        synthetic = " (SYNTHETIC ledger)" if model.ledger.synthetic else ""
        chart.add_series({
            "name": "Cumulative share of revenue",
            "categories": [CUSTOMERS, first, rank.col, last, rank.col],
            "values": [CUSTOMERS, first, cumulative.col, last, cumulative.col],
            "line": {"color": "#2E75B6", "width": 2},
        })
        chart.set_title({"name": f"Customer concentration: Pareto curve{synthetic}"})
        chart.set_x_axis({"name": "customers, largest first (rank)", "num_format": "#,##0", "min": 0,
                          "max": layout.customers, "log_base": None})
        chart.set_y_axis({"name": "cumulative share of ledger revenue", "num_format": "0%", "min": 0, "max": 1})
        chart.set_legend({"none": True})
        chart.set_size({"width": 640, "height": 300})
        placed = bool(arppu) + any(r.name == "compute_to_revenue" for r in model.rows)
        ws.insert_chart(xl_rowcol_to_cell(HEADER_ROW + 17 * placed, anchor), chart)
    if "compute_to_revenue_next" in model.compared:
        scenarios = model.inputs.scenarios
        first = layout.compare_cells[("compute_to_revenue_next", scenarios[0])]
        last = layout.compare_cells[("compute_to_revenue_next", scenarios[-1])]
        header = layout.compare_cells[(model.compared[0], scenarios[0])].row - 1  # the scenario names
        chart = _exchange_rate_chart(wb, "Compute spend per unit of revenue, next 12 months",
                                     [SUMMARY, header, first.col, header, last.col],
                                     [SUMMARY, first.row, first.col, last.row, last.col],
                                     "#2E75B6", "Exchange rate next 12 months, by scenario", "scenario")
        placed = bool(arppu) + any(r.name == "compute_to_revenue" for r in model.rows) + bool(layout.customers)
        ws.insert_chart(xl_rowcol_to_cell(HEADER_ROW + 17 * placed, anchor), chart)


def _exchange_rate_chart(wb, name: str, categories: list, values: list, colour: str, title: str, axis: str):
    """A column chart of compute-to-revenue multiples, labelled 0.00x."""
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"name": name, "categories": categories, "values": values,
                      "data_labels": {"value": True, "num_format": '0.00"x"'}, "fill": {"color": colour}})
    chart.set_title({"name": title})
    chart.set_y_axis({"name": "compute spend ÷ revenue (x)", "num_format": '0.0"x"', "min": 0})
    chart.set_x_axis({"name": axis})
    chart.set_legend({"none": True})
    chart.set_size({"width": 640, "height": 300})
    return chart


def _write_customers(ws, layout: Layout, styles: _Styles, progress: Callable[[str], None],
                     data: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str]]:
    """The Customers sheet, one row per customer; returns the fingerprint runs (one per formula column)."""
    model = layout.model
    ledger = model.ledger
    n = layout.customers
    first, last = FIRST_CUSTOMER_ROW, layout.last_customer_row
    ws.write_string(0, 0, f"{model.inputs.company}: customers", styles.title)
    if ledger.synthetic:
        warn = styles.wb.add_format({**styles.base, "bold": True, "font_color": "#C00000"})
        ws.write_string(1, 0, f"SYNTHETIC DATA — {ledger.banner}", warn)
    else:
        ws.write_string(1, 0, f"Customer ledger {ledger.path.name}. {ledger.banner}".strip(), styles.subtitle)
    ws.write_string(2, 0, ledger.describe() + " Blue columns are the ledger's data; every other column is one "
                          "formula copied down.", styles.subtitle)
    columns = sorted(layout.customer_columns.values(), key=lambda c: c.col)
    runs = []
    for column in columns:
        c = column.col
        ws.write_string(CUSTOMER_HEADER_ROW, c, column.label, styles.header)
        ws.write_string(CUSTOMER_NAME_ROW, c, column.name, styles.name)
        ws.write_string(CUSTOMER_UNIT_ROW, c, Unit(column.unit).label if column.unit != "text" else "", styles.unit)
        ws.set_column(c, c, 34 if column.key == "customer_name" else max(14, len(column.name) * 0.9))
        if column.row is None:
            written = _write_ledger_column(ws, column, model, styles)
            cells = f"{xl_rowcol_to_cell(first, c)}:{xl_rowcol_to_cell(last, c)}"
            data.append((CUSTOMERS, cells, column.name, fingerprint.column_digest(written)))
            continue
        progress(f"Customers: column {column.name} ({c + 1} of {len(columns)}, {n:,} rows)")
        fmt = styles.value("metric", column.unit)
        template = customer_formula(column.row.expr, layout, column.period)
        values = model.values[(column.key, column.period)]
        cached = [_cached(v) for v in values.astype(float).tolist()]
        texts = [template.format(r=r, a=r - 1, b=r + 1) for r in range(first + 1, first + n + 1)]
        if all(type(v) is float for v in cached):
            ws.write_cached_column(first, c, texts, cached, fmt)
        else:  # a #DIV/0! among the cached values: cell by cell
            for i, (text, value) in enumerate(zip(texts, cached, strict=True)):
                ws.write_formula(first + i, c, text, fmt, value)
        text = template.format(r=first + 1, a=first, b=first + 2)
        runs.append((CUSTOMERS, f"{xl_rowcol_to_cell(first, c)}:{xl_rowcol_to_cell(last, c)}",
                     to_r1c1(text, first + 1, c + 1)[1:]))
        if "{a}" in template:
            ws.write_number(OPENING_ROW, c, 0, styles.value("input", column.unit))
    ws.write_string(OPENING_ROW, 1, "Opening row: running totals start from 0 here", styles.subtitle)
    ws.set_row(CUSTOMER_HEADER_ROW, 45)  # labels wrap to up to three lines
    ws.freeze_panes(FIRST_CUSTOMER_ROW, 2)
    ws.repeat_rows(CUSTOMER_HEADER_ROW, CUSTOMER_UNIT_ROW)
    ws.autofilter(CUSTOMER_HEADER_ROW, 0, last, columns[-1].col)
    _flag_colours(ws, [(first, c.col, last, c.col) for c in columns if c.unit == "flag"], styles)
    return runs


def _write_ledger_column(ws, column, model, styles: _Styles) -> list:
    """A column of ledger data, as the model holds it (ids and names only shown, so taken from the ledger):
    text written as text (a name starting with = stays a name), numbers as inputs."""
    key = (column.key, column.period)
    values = (model.values[key] if key in model.values else model.ledger.customers[column.key]).tolist()
    first = FIRST_CUSTOMER_ROW
    if column.unit == "text":
        values = [str(text) for text in values]
        for i, text in enumerate(values):
            ws.write_string(first + i, column.col, text, styles.text)
        return values
    ws.write_cached_column(first, column.col, None, values, styles.value("input", column.unit))
    return values
