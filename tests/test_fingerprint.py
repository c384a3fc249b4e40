"""The Fingerprint sheet on its own: what is written is read back, and each kind of edit is found."""

from __future__ import annotations

from types import SimpleNamespace

import openpyxl
import xlsxwriter

from unitecon.geometry import FINGERPRINT
from unitecon.reading import fingerprint
from unitecon.reading.fingerprint import Fingerprint, column_digest
from unitecon.reading.snapshot import read_snapshot

RECORD = Fingerprint(
    inputs={"revenue": (("Inputs", "C5"), 120.5), "users": (("Inputs", "C6"), 3)},
    formulas=[("Calc", "B2:D2", "R[-1]C*2"), ("Calc", "B3", "SUM(R[-2]C:R[-1]C)")],  # R1C1 without "="
    data=[("Calc", "A10:A12", "customer_id", column_digest(["a", "b", 7]))],
)


def _written(path):
    book = xlsxwriter.Workbook(path)
    styles = SimpleNamespace(title=None, subtitle=None, header=None, text=None)
    inputs, calc = book.add_worksheet("Inputs"), book.add_worksheet("Calc")
    inputs.write_number("C5", 120.5)
    inputs.write_number("C6", 3)
    for col in "BCD":
        calc.write_number(f"{col}1", 1)
        calc.write_formula(f"{col}2", f"={col}1*2", None, 2)
    calc.write_formula("B3", "=SUM(B1:B2)", None, 3)
    for row, value in zip((10, 11, 12), ("a", "b", 7), strict=True):
        calc.write(f"A{row}", value)
    fingerprint.write(book.add_worksheet(FINGERPRINT), styles, RECORD)
    book.close()
    return path


def test_what_is_written_is_read_back(tmp_path):
    assert fingerprint.read(read_snapshot(_written(tmp_path / "book.xlsx"))) == RECORD


def test_a_workbook_without_the_sheet_has_an_empty_fingerprint(tmp_path):
    book = openpyxl.Workbook()
    book.save(tmp_path / "plain.xlsx")
    assert not fingerprint.read(read_snapshot(tmp_path / "plain.xlsx"))


def test_untouched_cells_are_no_edit(tmp_path):
    snap = read_snapshot(_written(tmp_path / "book.xlsx"))
    assert list(fingerprint.overtyped(snap, RECORD)) == []
    assert list(fingerprint.rewritten(snap, RECORD)) == []
    assert list(fingerprint.data_edited(snap, RECORD)) == []


def test_each_kind_of_edit_is_found_where_it_was_made(tmp_path):
    path = _written(tmp_path / "book.xlsx")
    book = openpyxl.load_workbook(path)
    book["Calc"]["C2"] = 99  # a formula overtyped with a number
    book["Calc"]["D2"] = "=D1*3"  # a formula rewritten
    book["Calc"]["B3"] = None  # a formula cleared
    book["Calc"]["A11"] = "z"  # data edited
    book.save(path)
    snap = read_snapshot(path)
    assert list(fingerprint.overtyped(snap, RECORD)) == [(("Calc", "C2"), 99)]
    assert list(fingerprint.rewritten(snap, RECORD)) == [(("Calc", "C2"), None), (("Calc", "D2"), "=D1*3"),
                                                          (("Calc", "B3"), None)]
    assert list(fingerprint.data_edited(snap, RECORD)) == [("Calc", "A10:A12", "customer_id")]


def test_a_number_read_back_is_the_same_to_twelve_digits_and_text_never_is():
    assert fingerprint.same_number(0.1 + 0.2, 0.3)
    assert not fingerprint.same_number(1.000000001, 1.0)
    assert not fingerprint.same_number("0.3", 0.3) and not fingerprint.same_number(True, 1.0)
