"""The fast workbook reader agrees with openpyxl's full load, and reads what Excel itself writes."""

from __future__ import annotations

import datetime as dt
import re
import zipfile

import openpyxl
import pytest
import xlsxwriter
from conftest import SHIPPED

from unitecon.auditor.comparing import compare
from unitecon.auditor.recompute import recompute
from unitecon.errors import UniteconError
from unitecon.reading.snapshot import read_snapshot


@pytest.mark.parametrize("model", SHIPPED)
def test_every_cell_reads_as_openpyxl_reads_it(built, model):
    snap = read_snapshot(built[model])
    formulas, constants, cached = {}, {}, {}
    wb = openpyxl.load_workbook(built[model])
    values = openpyxl.load_workbook(built[model], data_only=True)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                key = (ws.title, cell.coordinate)
                if cell.data_type == "f":
                    formulas[key] = cell.value
                    cached[key] = values[ws.title][cell.coordinate].value
                elif cell.value not in (None, ""):
                    constants[key] = cell.value
    assert snap.sheets == wb.sheetnames
    assert snap.formulas == formulas
    assert snap.cached == cached
    assert snap.values.keys() == constants.keys()
    for key, value in constants.items():
        got = snap.values[key]
        if isinstance(value, dt.datetime):
            value = value.date() if value.time() == dt.time() else value
        assert got == value, key
    assert {n: d.attr_text.replace("$", "") for n, d in wb.defined_names.items()} == {
        n: f"{s}!{ref}" for n, (s, ref) in snap.names.items()}


def _rewrite(path, member: str, edit) -> None:
    with zipfile.ZipFile(path) as zin:
        parts = {name: zin.read(name) for name in zin.namelist()}
    parts[member] = edit(parts[member].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts.items():
            zout.writestr(name, data)


def _column_book(path, rows: int = 5) -> None:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Data")
    for r in range(2, rows + 2):
        ws.write_number(f"A{r}", r * 10)
        ws.write_formula(f"B{r}", f"=A{r}*2+$A$2", None, r * 20 + 20)
    wb.close()


def _data_book(path, *cells) -> None:
    """A workbook with one sheet, Data: each cell (A1, number or text) or (A1, formula, cached value)."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Data")
    for a1, *content in cells:
        if len(content) == 2:
            ws.write_formula(a1, content[0], None, content[1])
        elif isinstance(content[0], str):
            ws.write_string(a1, content[0])
        else:
            ws.write_number(a1, content[0])
    wb.close()


def test_shared_formulas_as_excel_saves_them_are_expanded_per_cell(tmp_path):
    path = tmp_path / "shared.xlsx"
    _column_book(path)

    def share(xml: str) -> str:
        xml = xml.replace("<f>A2*2+$A$2</f>", '<f t="shared" ref="B2:B6" si="0">A2*2+$A$2</f>')
        return re.sub(r"<f>A[3-6]\*2\+\$A\$2</f>", '<f t="shared" si="0"/>', xml)

    _rewrite(path, "xl/worksheets/sheet1.xml", share)
    snap = read_snapshot(path)
    assert [snap.formulas[("Data", f"B{r}")] for r in range(2, 7)] == [f"=A{r}*2+$A$2" for r in range(2, 7)]
    rec = recompute(snap)
    assert compare(rec) == []
    assert [rec.value("Data", f"B{r}") for r in range(2, 7)] == [r * 20 + 20 for r in range(2, 7)]


def test_cells_without_a_reference_take_their_place_in_the_row(tmp_path):
    path = tmp_path / "no-r.xlsx"
    _column_book(path, rows=2)
    _rewrite(path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace('<c r="B3"', "<c"))
    snap = read_snapshot(path)
    assert snap.formulas[("Data", "B3")] == "=A3*2+$A$2"
    assert snap.cached[("Data", "B3")] == 80


def test_cached_error_values_are_read_although_calamine_drops_them(tmp_path):
    path = tmp_path / "errors.xlsx"
    _data_book(path, ("A1", 0), ("B1", "=1/A1", "#DIV/0!"))
    snap = read_snapshot(path)
    assert snap.cached[("Data", "B1")] == "#DIV/0!"
    assert compare(recompute(snap)) == []


def test_a_dtd_in_any_sheet_part_is_refused_before_parsing(tmp_path):
    path = tmp_path / "dtd.xlsx"
    _column_book(path)
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    _rewrite(path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace("?>", "?>" + bomb, 1))
    with pytest.raises(UniteconError, match="declares a DTD"):
        read_snapshot(path)


def _sheet_parts(path):
    with zipfile.ZipFile(path) as zf:
        return [zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]


@pytest.mark.parametrize("model", SHIPPED)
def test_the_fast_formula_scan_reads_what_the_xml_parser_reads(built, model):
    from unitecon.reading.formula_scan import _parse_formulas, _scan_plain_formulas

    for xml in _sheet_parts(built[model]):
        fast = _scan_plain_formulas(xml)
        assert fast is not None  # XlsxWriter's parts are plain
        assert _as_lists(fast) == _as_lists(_parse_formulas(xml))


def _as_lists(found):
    columns, errors, texts, arrays = found
    return {col: (rows.tolist(), texts) for col, (rows, texts) in columns.items()}, errors, texts, arrays


@pytest.mark.parametrize("change", [
    lambda x: x.replace(b"<f>", b'<f aca="false">'),  # attributes on <f>, as LibreOffice writes
    lambda x: x.replace(b'<worksheet xmlns="', b'<x:worksheet xmlns:x="', 1),  # a prefixed namespace
    lambda x: x.replace(b'<c r="B3"', b"<c", 1),  # a cell without its reference
    lambda x: x.replace(b"*2", b"*&#50;", 1),  # a character reference
])
def test_the_fast_formula_scan_leaves_any_other_form_to_the_parser(tmp_path, change):
    from unitecon.reading.formula_scan import _scan_plain_formulas

    path = tmp_path / "plain.xlsx"
    _column_book(path)
    xml = _sheet_parts(path)[0]
    assert _scan_plain_formulas(xml) is not None
    assert _scan_plain_formulas(change(xml)) is None


def test_escaped_text_in_formulas_reads_as_written(tmp_path):
    path = tmp_path / "escaped.xlsx"
    _data_book(path, ("A1", "a<b & \"c\""), ("B1", '=IF(A1="a<b & ""c""",1,0)', 1))
    snap = read_snapshot(path)
    assert snap.formulas[("Data", "B1")] == '=IF(A1="a<b & ""c""",1,0)'
    assert compare(recompute(snap)) == []


def test_whole_column_and_row_references_recompute_over_the_cells_in_use(tmp_path):
    path = tmp_path / "whole.xlsx"
    _data_book(path, *((f"A{r}", r) for r in range(1, 6)),
               ("B1", "=SUM(A:A)", 15), ("B2", "=SUM($A:$A)*2", 30), ("D1", "=SUM(2:2)", 2 + 30))
    rec = recompute(path)
    assert compare(rec) == []
    assert [rec.value("Data", a1) for a1 in ("B1", "B2", "D1")] == [15, 30, 32]


def test_a_blank_sheet_beside_formulas_reads_and_verifies(tmp_path):
    path = tmp_path / "blank-sheet.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("Data").write_formula("A1", "=1+1", None, 2)
    wb.add_worksheet("Empty")
    wb.close()
    snap = read_snapshot(path)
    assert snap.sheets == ["Data", "Empty"]
    assert compare(recompute(snap)) == []


def test_a_formula_reading_a_blank_cell_is_blank_and_counts_as_zero_after(tmp_path):
    path = tmp_path / "blank-ref.xlsx"
    _data_book(path, ("A1", 1), ("B1", "=$A$10", 0), ("C1", "=B1+1", 1))
    rec = recompute(path)
    assert rec.value("Data", "B1") is None  # formulas gives a blank; Excel shows 0
    assert rec.value("Data", "C1") == 1


@pytest.mark.parametrize("spelling", ['\nt="e"', " t = 'e'"])
def test_error_values_however_the_attribute_is_written(tmp_path, spelling):
    path = tmp_path / "errors.xlsx"
    _data_book(path, ("B1", "=NA()", "#N/A"))
    _rewrite(path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(' t="e"', spelling))
    snap = read_snapshot(path)
    assert snap.cached[("Data", "B1")] == "#N/A"
    assert compare(recompute(snap)) == []


def test_a_cell_inside_a_comment_is_not_a_formula(tmp_path):
    path = tmp_path / "comment.xlsx"
    _column_book(path, rows=2)
    _rewrite(path, "xl/worksheets/sheet1.xml",
             lambda xml: xml.replace("<sheetData>", '<sheetData><!-- <c r="Z9"><f>1/0</f></c> -->'))
    snap = read_snapshot(path)
    assert ("Data", "Z9") not in snap.formulas
    assert compare(recompute(snap)) == []


def test_a_formula_far_from_the_data_is_refused_in_one_line_not_by_running_out_of_memory(tmp_path):
    path = tmp_path / "far.xlsx"
    _data_book(path, ("A1", 1), ("XFD1048576", "=A1", ""))  # no cached value: calamine does not see the cell
    with pytest.raises(UniteconError, match=r"sheet 'Data': refused: its cells span 1,048,576 rows"):
        read_snapshot(path)
