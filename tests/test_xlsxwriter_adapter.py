"""The XlsxWriter adapter against XlsxWriter's own worksheet: each kind of cell, written both ways, must
give the same sheet XML byte for byte. An XlsxWriter upgrade that changes an internal the adapter uses
fails here, naming the kind of cell."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest
import xlsxwriter

from unitecon.excel.xlsxwriter_adapter import CachedColumnSheet, chart_text


def _sheet_xml(path, fast: bool, write) -> bytes:
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                           "strings_to_numbers": False})
    book.set_properties({"created": dt.datetime(2026, 1, 1)})
    sheet = book.add_worksheet("S", worksheet_class=CachedColumnSheet) if fast else book.add_worksheet("S")
    write(book, sheet, fast)
    book.close()
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/worksheets/sheet1.xml")


def _same_both_ways(tmp_path, write) -> None:
    assert _sheet_xml(tmp_path / "fast.xlsx", True, write) == _sheet_xml(tmp_path / "stock.xlsx", False, write)


CELLS = {
    "a number with a format": lambda b, s: s.write_number(0, 0, 1 / 3, b.add_format({"num_format": "0.00"})),
    "a number without a format": lambda b, s: s.write_number(0, 0, 0.1 + 0.2),
    "a whole number": lambda b, s: s.write_number(3, 2, 12, b.add_format({"bold": True})),
    "a formula with a cached number": lambda b, s: s.write_formula(0, 0, "=A2*2", b.add_format({"bold": True}), 4),
    "a formula with < > & in it": lambda b, s: s.write_formula(0, 0, '=IF(AND(A2>0,A2<9),A2,0)&""',
                                                               b.add_format({"bold": True}), 3),
    "a formula with a cached text": lambda b, s: s.write_formula(0, 0, '="a"&"b"', b.add_format({"bold": True}),
                                                                 "ab"),
    "a formula without a format": lambda b, s: s.write_formula(0, 0, "=SUM(A2:A9)", None, 7),
    "a text with a format": lambda b, s: s.write_string(1, 1, "Hailuo & Talkie <x>", b.add_format({"bold": True})),
    "a text without a format": lambda b, s: s.write_string(1, 1, "plain"),
}


@pytest.mark.parametrize("kind", list(CELLS))
def test_each_kind_of_cell_is_written_as_xlsxwriter_writes_it(tmp_path, kind):
    _same_both_ways(tmp_path, lambda book, sheet, fast: CELLS[kind](book, sheet))


@pytest.mark.parametrize("formulas", [None, ["=A{r}*2", "=IF(A{r}>1,A{r},0)", "=SUM($A$1:A{r})"]])
def test_a_column_written_in_bulk_is_what_cell_by_cell_writing_gives(tmp_path, formulas):
    values = [1.5, 2.0, 1e-7, 123456789.123, -4.0, 0.0, 1 / 3, 2 / 3 * 1e20] * 5

    def write(book, sheet, fast):
        fmt = book.add_format({"num_format": "#,##0.00"})
        texts = [formulas[r % len(formulas)].format(r=r + 1) for r in range(len(values))] if formulas else None
        if fast:
            sheet.write_cached_column(2, 3, texts, values, fmt)
        elif texts:
            for r, (text, value) in enumerate(zip(texts, values, strict=True)):
                sheet.write_formula(2 + r, 3, text, fmt, value)
        else:
            for r, value in enumerate(values):
                sheet.write_number(2 + r, 3, value, fmt)

    _same_both_ways(tmp_path, write)


def test_a_column_of_cached_values_must_be_finite_and_inside_the_sheet(tmp_path):
    book = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"))
    sheet = book.add_worksheet("S", worksheet_class=CachedColumnSheet)
    with pytest.raises(ValueError, match="finite"):
        sheet.write_cached_column(0, 0, None, [1.0, float("nan")], None)
    with pytest.raises(ValueError, match="outside the sheet"):
        sheet.write_cached_column(1_048_575, 0, None, [1.0, 2.0], None)
    book.close()


def _chart_xml(path, title: str) -> str:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Summary")
    sheet.write_column(0, 0, [1, 2, 3])
    chart = book.add_chart({"type": "column"})
    chart.add_series({"name": title, "values": ["Summary", 0, 0, 2, 0]})
    chart.set_title({"name": title})
    sheet.insert_chart("C1", chart)
    book.close()
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/charts/chart1.xml").decode()


@pytest.mark.parametrize("company", ["=Summary!A1", "Summary!$A$1"])
def test_xlsxwriter_reads_a_chart_text_like_a_cell_reference_as_one(tmp_path, company):
    """What chart_text guards against (a sheet it does not know, as in ``Acme!B2``, ends the write with a
    TypeError); if XlsxWriter stops doing this, the guard can go."""
    assert "<c:f>" in _chart_xml(tmp_path / "raw.xlsx", f"{company}: compute spend per unit of revenue")


@pytest.mark.parametrize("company", ["=Summary!A1", "Acme!B2 Holdings", "Summary!$A$1", "Yahoo! AI", "OpenAI"])
def test_a_chart_text_through_the_adapter_is_text_whatever_it_holds(tmp_path, company):
    text = f"{company}: compute spend per unit of revenue"
    xml = _chart_xml(tmp_path / "guarded.xlsx", chart_text(text))
    assert "<c:f>" not in xml.replace("<c:f>Summary!$A$1:$A$3</c:f>", "")  # only the values' range is a reference
    assert xml.count(f"<a:t>{chart_text(text)}</a:t>") == 1  # the title, as text
    assert chart_text(text).replace("\u2060", "") == text  # nothing visible changed
