"""One rule for "the same value" (``verdict.same``), whichever two sources of a cell's value are compared.

The expected outcomes are Excel's, worked out by hand in the comments: TRUE is not the number 1
(``=TRUE=1`` is FALSE, and SUM skips a TRUE it finds in a range), and the error #N/A is not the text
"#N/A" (``=ISERROR("#N/A")`` is FALSE). ``compare`` and ``compare_with_model`` once called such pairs the
same (a helper of their own compared with Python's ``==``), while ``verify``'s own judgement told them apart.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import xlsxwriter

from unitecon.auditor.comparing import compare, compare_with_model
from unitecon.auditor.recompute import recompute
from unitecon.auditor.verdict import differing, same
from unitecon.auditor.verify import verify_file
from unitecon.reading.snapshot import CellError


@pytest.mark.parametrize(("a", "b", "expected"), [
    (True, 1, False), (1.0, True, False), (False, 0.0, False),  # Excel: =TRUE=1 is FALSE
    (True, True, True), (False, False, True),
    (CellError("#N/A"), "#N/A", False), ("#N/A", CellError("#N/A"), False),  # =ISERROR("#N/A") is FALSE
    (CellError("#N/A"), CellError("#N/A"), True), ("x", "x", True),
    (1.0, 1.0 + 1e-12, True), (1.0, 1.001, False), (0.0, 1e-13, True),  # 1e-12 absolute near zero
    (2, 2.0, True), (None, None, True), (None, 0.0, False),
    (math.inf, math.inf, True), (math.nan, math.nan, False),
])
def test_same_is_excels_equality_within_the_tolerance(a, b, expected):
    assert same(a, b, 1e-9) is expected


def _column(*values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def test_differing_says_of_whole_columns_what_same_says_of_each_pair():
    rng = np.random.default_rng(7)
    ours = rng.normal(size=200) * 10.0 ** rng.integers(-14, 14, size=200)
    theirs = ours * (1 + rng.choice([0.0, 1e-12, 1e-6], size=200))
    theirs[:3] = [math.inf, 0.0, 1e-13]
    ours[:3] = [math.inf, 1e-13, 0.0]
    ours, theirs = _column(*ours.tolist()), _column(*theirs.tolist())
    by_pair = [i for i in range(200) if not same(ours[i], theirs[i], 1e-9)]
    assert differing(ours, theirs, 1e-9) == by_pair  # numbers alone: one array operation
    ours[5] = True  # anything but numbers: pair by pair
    assert differing(ours, theirs, 1e-9) == sorted({*by_pair, 5})
    assert differing(_column(1.0, None), _column(1.0, None), 1e-9, also=lambda a, b: b is None) == [1]


@pytest.fixture
def planted(tmp_path):
    path = tmp_path / "planted.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("S")
    sheet.write_formula("A1", "=1+0", None, True)  # Excel computes the number 1; the file caches TRUE
    sheet.write_formula("A2", "=2>1", None, 1)  # Excel computes TRUE; the file caches the number 1
    sheet.write_formula("A3", '="#N/A"', None, "#N/A")  # the text "#N/A"; the file caches the error #N/A
    sheet.write_formula("A4", "=NA()", None, "#N/A")  # the error #N/A, cached as such: right
    sheet.write_formula("A5", "=2>1", None, True)  # right
    sheet.write_formula("A6", "=1+1", None, 2)  # right
    book.close()
    return path


def test_compare_tells_true_from_1_and_an_error_from_its_text(planted):
    assert [d.cell for d in compare(recompute(planted))] == ["A1", "A2", "A3"]


def test_verify_does_not_call_those_cells_matching_either(planted):
    _, verdict, _ = verify_file(planted)
    assert {f.cell for f in verdict.findings} == {"A1", "A2", "A3"}, [f.brief() for f in verdict.findings]


def test_compare_with_model_tells_a_true_flag_from_the_model_s_1(tmp_path):
    """unitecon's model holds every row as a number: a flag is 1.0, and every flag formula of a built sheet
    multiplies its comparison by 1 so the sheet shows 1 too. A sheet edited to show TRUE there no longer
    adds up as the model does (SUM skips a TRUE in a range: a total of flags would be 0, not 1)."""
    path = tmp_path / "flag.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("S")
    sheet.write("A1", 5)
    sheet.write_formula("B1", "=A1>0", None, True)  # TRUE; the model's flag is 1.0
    sheet.write_formula("B2", "=(A1>0)*1", None, 1)  # 1, as the model
    sheet.write_formula("B3", "=A1*2", None, 10)  # 10, as the model
    book.close()
    rows = {"flag_edited": "B1", "flag": "B2", "double": "B3"}
    layout = SimpleNamespace(
        model=SimpleNamespace(values={("flag_edited", "p"): 1.0, ("flag", "p"): 1.0, ("double", "p"): 10.0}),
        cells={(name, "p"): SimpleNamespace(sheet="S", a1=lambda a1=a1: a1) for name, a1 in rows.items()},
        customer_columns={})
    found = compare_with_model(recompute(path), layout)
    assert [(d.cell, d.recomputed, d.theirs, d.other) for d in found] == [("B1", True, 1.0, "the inputs file gives")]
