"""The Inputs sheet: one row per cited figure with its source and quote, and the scenario selector."""

from __future__ import annotations

from ...geometry import HEADER_ROW, INPUT_VALUE_COL, INPUTS, SELECTOR_ROW
from ...model.inputs import Figure
from ...model.units import Unit, input_bounds
from ..formula_text import scenario_pick_formula
from ..layout import Layout
from ..styles import Styles
from .common import cached_value


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


def write_inputs(ws, layout: Layout, styles: Styles, written: list) -> None:
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
            ws.write_formula(r, INPUT_VALUE_COL, text, styles.value("metric", series.unit), cached_value(figure.value))
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


def _write_selector(ws, layout: Layout, styles: Styles) -> None:
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
