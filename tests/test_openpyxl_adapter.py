"""The openpyxl adapter on its own: it drives openpyxl's ``ExcelReader`` step by step and reads
``Workbook._sheets``, internals that an openpyxl upgrade may change. Such an upgrade fails here, by name,
before it shows as a wrong snapshot."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from unitecon.reading.openpyxl_adapter import read_workbook_part_with_openpyxl


def _book(path: Path) -> Path:
    """Two worksheets and a chartsheet; names of the workbook and of a sheet; a custom property; 1904 dates."""
    wb = xlsxwriter.Workbook(str(path), {"date_1904": True})
    data = wb.add_worksheet("Data")
    bob = wb.add_worksheet("Bob's data")
    data.write("A1", 1)
    data.write("B2", 0.05)
    bob.write("A1", "text")
    chart = wb.add_chart({"type": "line"})
    chart.add_series({"values": "=Data!$A$1:$A$1"})
    wb.add_chartsheet("Chart").set_chart(chart)
    wb.define_name("rate", "=Data!$B$2")
    wb.define_name("bobs", "='Bob''s data'!$A$1")
    wb.define_name("growth", "=0.05")
    wb.define_name("Data!local", "=Data!$A$1")
    wb.set_custom_property("unitecon_model", "anthropic")
    wb.close()
    return path


def _open_files() -> set[str]:
    fds = Path("/proc/self/fd")
    return {os.path.realpath(fd) for fd in fds.iterdir()} if fds.is_dir() else set()


def test_the_workbook_part_is_read_without_a_cell_and_the_file_is_closed(tmp_path):
    path = _book(tmp_path / "book.xlsx")
    before = _open_files()
    found = read_workbook_part_with_openpyxl(path)
    assert str(path.resolve()) not in _open_files() - before
    assert found.worksheets == {"Data": "xl/worksheets/sheet1.xml", "Bob's data": "xl/worksheets/sheet2.xml"}
    wb = found.workbook
    assert wb.epoch.year == 1904
    assert wb.calculation is not None and wb.calculation.fullCalcOnLoad  # XlsxWriter asks for a recalculation
    assert [(p.name, str(p.value)) for p in wb.custom_doc_props.props] == [("unitecon_model", "anthropic")]
    assert {name: d.attr_text for name, d in wb.defined_names.items()} == {
        "rate": "Data!$B$2", "bobs": "'Bob''s data'!$A$1", "growth": "0.05"}
    assert [(title, {name: d.attr_text for name, d in names.items()}) for title, names in found.sheet_scoped_names] \
        == [("Data", {"local": "Data!$A$1"}), ("Bob's data", {}), ("Chart", {})]  # in workbook order, chartsheet too


def test_openpyxl_leaves_a_quoted_sheet_names_apostrophe_doubled_in_destinations(tmp_path):
    """What parts._destinations undoes."""
    wb = read_workbook_part_with_openpyxl(_book(tmp_path / "book.xlsx")).workbook
    assert list(wb.defined_names["bobs"].destinations) == [("Bob''s data", "$A$1")]
    assert list(wb.defined_names["rate"].destinations) == [("Data", "$B$2")]


def test_a_worksheet_whose_member_is_missing_is_left_out(tmp_path):
    path = _book(tmp_path / "book.xlsx")
    with zipfile.ZipFile(path) as zin:
        parts = {name: zin.read(name) for name in zin.namelist() if name != "xl/worksheets/sheet2.xml"}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts.items():
            zout.writestr(name, data)
    assert read_workbook_part_with_openpyxl(path).worksheets == {"Data": "xl/worksheets/sheet1.xml"}


def test_the_file_is_closed_when_openpyxl_gives_up(tmp_path):
    path = tmp_path / "no-workbook-part.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    before = _open_files()
    with pytest.raises(Exception):  # noqa: B017  (the kind is openpyxl's; read_snapshot says it in one line)
        read_workbook_part_with_openpyxl(path)
    assert str(path.resolve()) not in _open_files() - before
