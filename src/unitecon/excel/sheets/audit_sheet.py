"""The Audit sheet: every calculated row, its formula in names, and the cited inputs it rests on."""

from __future__ import annotations

from ...geometry import AUDIT_COLUMNS, CUSTOMERS, HEADER_ROW
from ...model.units import Unit
from ..layout import Layout
from ..lineage import lineage
from ..styles import Styles
from .common import wrapped_height


def write_audit(ws, layout: Layout, styles: Styles) -> None:
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
        ws.set_row(r, max(wrapped_height(v, w) for v, w in zip(values, widths, strict=True)))
