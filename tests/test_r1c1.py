"""R1C1 conversion: small comparison tests, and the fast path agrees with the tokenizer on real formulas."""

from __future__ import annotations

import openpyxl
import pytest
from openpyxl.formula.tokenizer import Tokenizer

from unitecon import r1c1
from unitecon.r1c1 import to_r1c1


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
