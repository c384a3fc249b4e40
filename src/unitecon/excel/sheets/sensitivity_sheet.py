"""The Sensitivity sheet: each grid's output recomputed, one live formula a cell, over two inputs' steps."""

from __future__ import annotations

from xlsxwriter.utility import xl_rowcol_to_cell

from ...geometry import SENSITIVITY
from ...model.rows import SCALAR
from ...model.units import Unit
from ...model.what_if import written_out
from ...reading import fingerprint
from ..formula_text import formula, grid_axis_formula
from ..layout import GridPlace, Layout
from ..styles import HEAT_BAD, HEAT_GOOD, HEAT_MID, Styles
from .common import cached_value


def write_sensitivity(ws, layout: Layout, styles: Styles, written: list,
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
                             cached_value(grid.column_values[j]))
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
                             cached_value(grid.row_values[i]))
            written.append((SENSITIVITY, r, GridPlace.VALUE_COL, text))
            row_value = xl_rowcol_to_cell(r, GridPlace.VALUE_COL, col_abs=True)
            for j in range(len(grid.column_values)):
                cell = place.cell(i, j)
                column_value = xl_rowcol_to_cell(place.values_row, cell.col, row_abs=True)
                text = formula(expr, layout, SENSITIVITY, SCALAR, cell,
                               {grid.row_input: row_value, grid.column_input: column_value})
                ws.write_formula(cell.row, cell.col, text, styles.value("metric", out.unit),
                                 cached_value(grid.values[i][j]))
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
