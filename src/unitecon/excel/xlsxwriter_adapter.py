"""The one place unitecon relies on XlsxWriter's internals: a worksheet that writes unitecon's formula text as it
is, tall columns with their cached values in bulk, and chart texts XlsxWriter would read as a cell reference.

Tested with XlsxWriter 3.3 (``pyproject.toml`` pins ``>=3.3,<3.4``). ``tests/test_xlsxwriter_adapter.py``
writes each kind of cell with this worksheet and with XlsxWriter's own and compares the XML, so an upgrade
that changes what an internal does fails one named test, not a golden file.
"""

from __future__ import annotations

import math
import re

from xlsxwriter.utility import xl_rowcol_to_cell_fast
from xlsxwriter.worksheet import CellFormulaTuple, CellNumberTuple, Worksheet

#: XlsxWriter reads a chart title or series name matching this as a reference to a cell (``Chart._process_names``).
_LOOKS_LIKE_A_REFERENCE = re.compile(r"^=?[^!]+!\$?[A-Z]+\$?\d+")
_WORD_JOINER = "\u2060"  # invisible; it only keeps a "!" from being read as a sheet separator


def chart_text(text: str) -> str:
    """``text`` as a chart shows it, never as a reference: a company named ``Acme!B2`` or ``=Summary!A1`` would
    otherwise title a chart with that cell's contents. Such a text gets an invisible word joiner after each
    ``!``; any other text is unchanged."""
    return text.replace("!", "!" + _WORD_JOINER) if _LOOKS_LIKE_A_REFERENCE.match(text) else text


class CachedColumnSheet(Worksheet):
    """A worksheet that writes formula text as rendered, and tall columns in bulk.

    XlsxWriter runs ~30 regular expressions over every formula to add the ``_xlfn.`` prefix to
    dynamic-array functions; unitecon's formulas come only from :mod:`unitecon.excel.formula_text` and use only
    allow-listed functions, none of which need a prefix, so that pass (60 % of writing a 25,000-customer
    sheet) is skipped. :meth:`write_cached_column` and :meth:`_write_cell` take the per-cell overhead out of
    the Customers sheet. The output is what XlsxWriter's own worksheet writes, byte for byte.
    """

    def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:
        return formula[1:] if formula.startswith("=") else formula

    def write_cached_column(self, first_row: int, col: int, formulas: list[str] | None, values: list[float],
                            cell_format) -> None:
        """Numbers (``formulas`` None) or formulas with their cached numbers down one column, stored as
        ``write_number`` / ``write_formula`` store each cell, with the checks they make per cell made
        once: the column is inside the sheet, the numbers are finite, the formulas come from
        :mod:`unitecon.excel.formula_text` (no array or dynamic-array formula among them)."""
        if not values:
            return
        last = first_row + len(values) - 1
        if self._check_dimensions(first_row, col) or self._check_dimensions(last, col):
            raise ValueError(f"column {col} rows {first_row}..{last} are outside the sheet")
        if not all(type(v) in (float, int) and math.isfinite(v) for v in values):
            raise ValueError("a column of cached values must hold finite numbers only")
        table = self.table
        if formulas is None:
            for row, value in enumerate(values, start=first_row):
                table[row][col] = CellNumberTuple(value, cell_format)
            return
        for row, text, value in zip(range(first_row, last + 1), formulas, values, strict=True):
            table[row][col] = CellFormulaTuple(text[1:], cell_format, value)

    def _write_cell(self, row: int, col: int, cell) -> None:
        """XlsxWriter's innermost loop, with the three cells a customer sheet is made of (a formula whose
        cached value is a number, a number, a shared string, each with its own format) written in one
        step, as XlsxWriter writes them; every other cell goes to XlsxWriter. About 40 % of writing a
        100,000-customer sheet."""
        kind = cell.__class__.__name__
        if kind == "String" and cell.format and type(cell.string) is int and not self.constant_memory:
            self.fh.write(f'<c r="{xl_rowcol_to_cell_fast(row, col)}" s="{cell.format._get_xf_index()}" t="s">'
                          f"<v>{cell.string}</v></c>")  # an index into the shared strings
            return
        value = cell.value if kind == "Formula" else cell.number if kind == "Number" else None
        if not cell.format or type(value) not in (float, int):
            super()._write_cell(row, col, cell)
            return
        where = f'<c r="{xl_rowcol_to_cell_fast(row, col)}" s="{cell.format._get_xf_index()}">'
        if kind == "Number":
            self.fh.write(f"{where}<v>{value:.16G}</v></c>")
        else:
            text = cell.formula
            if "&" in text or "<" in text or ">" in text:
                text = self._escape_data(text)
            self.fh.write(f"{where}<f>{text}</f><v>{value}</v></c>")
