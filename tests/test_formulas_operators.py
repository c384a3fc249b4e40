"""The numeric fast path gives exactly what ``formulas``' own operators give, errors and all."""

from __future__ import annotations

import numpy as np
import pytest
import schedula as sh
from formulas.functions.operators import OPERATORS

from unitecon.engines.formulas_operators import _fast

OPS = ("+", "-", "*", "/", "<", "=", ">=")


def column(*values) -> np.ndarray:
    out = np.empty((len(values), 1), dtype=object)
    out[:, 0] = values
    return out


def same(a, b) -> bool:
    a, b = np.asarray(a, dtype=object).ravel(), np.asarray(b, dtype=object).ravel()
    return len(a) == len(b) and all(str(x) == str(y) if isinstance(x, str) or isinstance(y, str) else x == y
                                    for x, y in zip(a, b, strict=True))


CASES = [
    (column(1.5, 2.0, -3.25), column(0.1, 7.0, 2.0)),  # plain numbers: the fast path
    (np.array([[1.5], [2.0]]), 3.0),  # a float column and a constant
    (column(1.0, 0.0), column(0.0, 2.0)),  # a zero divisor: #DIV/0! from formulas
    (column(1.0, "x"), column(2.0, 3.0)),  # text: #VALUE! (or a text comparison)
    (column(1.0, sh.EMPTY), column(2.0, 3.0)),  # a blank counts as 0
    (column(2.0, 3.0), column(1.0, sh.EMPTY)),  # ... also as a divisor: #DIV/0!
    (column(True, 2.0), column(1.0, 1.0)),  # TRUE is 1 in arithmetic, but not equal to 1
    (column(1e308, 2.0), column(1e308, 1.0)),  # overflow: #NUM!
]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_fast_operator_equals_formulas_operator(op, case):
    left, right = CASES[case]
    slow = getattr(OPERATORS[op], "slow", OPERATORS[op])  # formulas' own, whether or not the path is installed
    expected = slow(left, right)
    assert same(_fast(op, slow)(left, right), expected), (op, left, right, expected)


def test_plain_number_columns_never_reach_the_element_wise_operator():
    def refuse(*args):
        raise AssertionError("the element-wise operator was called")

    assert same(_fast("*", refuse)(column(1.5, 2.0), 3.0), [4.5, 6.0])
    assert same(_fast("<=", refuse)(np.array([[1.0], [5.0]]), 2.0), [True, False])
    assert same(_fast("-", refuse)(column(1.5, 2.0), column(0.5, sh.EMPTY)), [1.0, 2.0])  # a blank below the last row


@pytest.mark.parametrize("case", [column(1.5, -2.0, 0.0), column(-1.0, "x"), column(-1.0, sh.EMPTY),
                                  column(True, -2.0), np.array([[-1.5], [2.0]])])
def test_fast_abs_equals_formulas_abs(case):
    from formulas.functions import get_functions

    from unitecon.engines.formulas_operators import _fast_function

    abs_ = get_functions()["ABS"]
    slow = getattr(abs_, "slow", abs_)
    assert same(_fast_function(np.abs, slow)(case), slow(case)), case
