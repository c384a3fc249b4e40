"""The Customers sheet: one row per customer, the ledger's columns as inputs, every other column one formula
copied down (written in bulk)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from xlsxwriter.utility import xl_rowcol_to_cell

from ...geometry import (
    CUSTOMER_HEADER_ROW,
    CUSTOMER_NAME_ROW,
    CUSTOMER_UNIT_ROW,
    CUSTOMERS,
    FIRST_CUSTOMER_ROW,
    OPENING_ROW,
)
from ...model.units import Unit
from ...reading import fingerprint
from ...reading.r1c1 import to_r1c1
from ..formula_text import customer_formula
from ..layout import Layout
from ..styles import Styles, flag_colours
from .common import cached_value


def write_customers(ws, layout: Layout, styles: Styles, progress: Callable[[str], None],
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
        ws.write_string(1, 0, f"Customer ledger {ledger.name}. {ledger.banner}".strip(), styles.subtitle)
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
        cached = [cached_value(v) for v in values.astype(float).tolist()]
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
    flag_colours(ws, [(first, c.col, last, c.col) for c in columns if c.unit == "flag"], styles)
    return runs


EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _write_ledger_column(ws, column, model, styles: Styles) -> list:
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
    if column.unit == "UTC":  # a moment: an Excel date serial (days since 1899-12-30), shown as a date and time
        values = [(pd.Timestamp(v) - EXCEL_EPOCH) / pd.Timedelta(days=1) for v in values]
    ws.write_cached_column(first, column.col, None, values, styles.value("input", column.unit))
    return values
