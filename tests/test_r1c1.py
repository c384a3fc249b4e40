"""R1C1 conversion: small comparison tests, and the fast path agrees with the tokenizer on real formulas."""

from __future__ import annotations

import numpy as np
import openpyxl
import pytest
from openpyxl.formula.tokenizer import Tokenizer

from unitecon.reading import r1c1
from unitecon.reading.r1c1 import to_r1c1


@pytest.mark.parametrize(
    ("formula", "row", "col", "expected"),
    [
        ("=G9/G10", 14, 7, "=R[-5]C/R[-4]C"),
        ("=H9/H10", 14, 8, "=R[-5]C/R[-4]C"),
        ("=SUM($E$11:$H$11)", 3, 4, "=SUM(R11C5:R11C8)"),
        ("=Calculations!E5+usd_cny", 28, 7, "=Calculations!R[-23]C[-2]+usd_cny"),
        ("=LOG10(A1)+revenue_usd_fy2024", 1, 1, "=LOG10(RC)+revenue_usd_fy2024"),
        ('=IF(A1="B2",1,0)', 2, 2, '=IF(R[-1]C[-1]="B2",1,0)'),
        ("='My Sheet'!$A1", 5, 5, "='My Sheet'!R[-4]C1"),
    ],
)
def test_a1_to_relative_r1c1(formula, row, col, expected):
    assert to_r1c1(formula, row, col) == expected


def _slow(formula: str, row: int, col: int) -> str:
    out = []
    for tok in Tokenizer(formula).items:
        out.append(r1c1._range_to_r1c1(tok.value, row, col) if tok.type == "OPERAND" and tok.subtype == "RANGE"
                   else tok.value)
    return "=" + "".join(out)


def test_fast_path_equals_tokenizer_on_every_shipped_formula(built):
    seen = 0
    for path in built.values():
        for ws in openpyxl.load_workbook(path):
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type == "f":
                        assert to_r1c1(c.value, c.row, c.column) == _slow(c.value, c.row, c.column), c.value
                        seen += 1
    assert seen > 200


def test_column_patterns_equal_cell_by_cell_conversion_on_a_mixed_column():
    texts, rows = [], []
    for row in range(5, 400):
        if row % 7 == 0:
            text = f"=SUM($B$2:B{row})+C{row - 1}*2.5"  # a growing range and a literal with digits
        elif row % 11 == 0:
            text = f"=IF(A{row}>0,\"x{row}\",'Sheet 2'!A{row})"  # quotes: converted cell by cell
        elif row % 13 == 0:
            text = f"=LOG10(D{row + 3})+$A${row}"  # an absolute row that moves: a new pattern each time
        elif row % 17 == 0:
            text = f"=H{row + 1}-H{row}"  # same shape as the rows around it, other offsets
        else:
            text = f"=H{row}+I{row}*usd_cny2+K{row - 1}"
        texts.append(text)
        rows.append(row)
    patterns, which = r1c1.column_patterns(texts, np.array(rows), 8)
    assert [patterns[w] for w in which] == [to_r1c1(t, r, 8) for t, r in zip(texts, rows, strict=True)]
    assert len(patterns) == len(set(patterns))


def test_column_patterns_of_the_shipped_customer_columns(built):
    from unitecon.reading.snapshot import read_snapshot

    for path in built.values():
        snap = read_snapshot(path)
        for cells in snap.cells.values():
            for col, (rows, texts) in cells.formulas.items():
                patterns, which = r1c1.column_patterns(texts, rows, col)
                expected = [to_r1c1(t, r, col) for t, r in zip(texts, rows.tolist(), strict=True)]
                assert [patterns[w] for w in which] == expected


def test_column_patterns_of_texts_holding_a_control_character_are_found_cell_by_cell():
    texts = ["=A1*2\x01", "=A2*2\x01", "=B3+1"]
    rows = np.array([1, 2, 3])
    patterns, which = r1c1.column_patterns(texts, rows, 3)
    assert [patterns[k] for k in which] == [to_r1c1(t, r, 3) for t, r in zip(texts, rows.tolist(), strict=True)]
