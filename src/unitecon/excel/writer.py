"""Write the .xlsx: which sheets, in what order, which writer fills each, then names and document properties.

XlsxWriter writes the file because it stores a cached value beside every formula (so pandas,
previewers and Excel's Protected View see numbers) while flagging the workbook for a full
recalculation on open, and because its output is byte-for-byte reproducible once the document
timestamp is fixed. Each sheet has its writer in :mod:`unitecon.excel.sheets`, the formats are in
:mod:`unitecon.excel.styles`, the charts are declared in :mod:`unitecon.model.metrics.charts`. Formula text
comes from :mod:`unitecon.excel.formula_text`; positions from :mod:`unitecon.excel.layout`. User-supplied text
is always written with ``write_string``: it never becomes a formula.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from .. import __version__
from ..atomic import replacing
from ..geometry import AUDIT, CALCULATIONS, CHECKS, COVER, CUSTOMERS, FINGERPRINT, INPUTS, SENSITIVITY, SUMMARY
from ..reading import fingerprint
from ..reading.r1c1 import to_r1c1
from .layout import Layout
from .sheets.audit_sheet import write_audit
from .sheets.cover_sheet import write_cover
from .sheets.customers_sheet import write_customers
from .sheets.inputs_sheet import write_inputs
from .sheets.row_sheets import write_rows
from .sheets.sensitivity_sheet import write_sensitivity
from .sheets.summary_charts import write_charts
from .styles import Styles
from .xlsxwriter_adapter import CachedColumnSheet

#: Fixed document timestamp: same inputs give the same bytes.
DOCUMENT_DATE = dt.datetime(2026, 1, 1)


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
    styles = Styles(wb)
    sheets = {name: wb.add_worksheet(name, worksheet_class=CachedColumnSheet) for name in layout.sheets}
    for ws in sheets.values():
        ws.set_row(0, 20)  # the title is 14 pt; previewers do not grow rows to fit
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.set_paper(9)
        ws.hide_gridlines(2)
        # printed pages say whose and which sheet they are; "&" is the header's escape character
        ws.set_header(page_header(inputs.company, inputs.path.name))
        ws.set_footer("&CPage &P of &N")

    written: list[tuple[str, int, int, str]] = []
    write_inputs(sheets[INPUTS], layout, styles, written)
    for sheet in (*layout.sheet_periods, CALCULATIONS, CHECKS, SUMMARY):
        if sheet in sheets:
            write_rows(sheets[sheet], sheet, layout, styles, written)
    data: list[tuple[str, str, str, str]] = []
    if layout.grids:
        write_sensitivity(sheets[SENSITIVITY], layout, styles, written, data)
    runs = list(_runs(written))
    if layout.customers:
        runs += write_customers(sheets[CUSTOMERS], layout, styles, progress, data)
    write_cover(sheets[COVER], layout, styles, written)
    write_audit(sheets[AUDIT], layout, styles)
    inputs_written = {f.name: ((INPUTS, layout.names[f.name].a1()), f.value) for f in layout.model.input_cells()}
    fingerprint.write(sheets[FINGERPRINT], styles, fingerprint.Fingerprint(inputs_written, runs, data))
    for key, value in (("unitecon_model", inputs.model), ("unitecon_version", __version__),
                       ("unitecon_inputs_sha256", inputs.digest)):
        wb.set_custom_property(key, value)
    if inputs.members:
        wb.set_custom_property("unitecon_peers", ",".join(model for model, _, _ in inputs.members))
    write_charts(wb, sheets[SUMMARY], layout)
    for name, cell in sorted(layout.names.items()):
        wb.define_name(name, f"={cell.sheet}!{cell.a1(absolute=True)}")
    for column in sorted(layout.customer_columns.values(), key=lambda c: c.name):
        wb.define_name(column.name, f"={CUSTOMERS}!{layout.customer_range(column)}")
    progress("compressing and saving")
    wb.close()
    customer_formulas = sum(1 for c in layout.customer_columns.values() if c.row) * layout.customers
    return len(written) + customer_formulas


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


HEADER_LIMIT = 255  # characters Excel allows in a page header, its & codes included


def page_header(company: str, file_name: str) -> str:
    """The printed page's header: the company and the sheet's name on the left, the inputs file on the right.
    ``&`` in either is doubled (a lone one starts a header code); a text too long is cut short, with "…", so the
    header fits Excel's limit (XlsxWriter drops a longer one)."""
    room = HEADER_LIMIT - len("&L: &A&R")
    right = _cut(file_name, max(room // 2, room - len(company.replace("&", "&&"))))
    left = _cut(company, room - len(right))
    return f"&L{left}: &A&R{right}"


def _cut(text: str, room: int) -> str:
    """``text`` with ``&`` doubled, in at most ``room`` characters: cut short with "…" if need be."""
    if len(text.replace("&", "&&")) <= room:
        return text.replace("&", "&&")
    text = text[:room]
    while len(text.replace("&", "&&")) > room - 1:
        text = text[:-1]
    return text.replace("&", "&&") + "…"
