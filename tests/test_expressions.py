"""The expression tree and its Excel text: small comparison tests."""

from __future__ import annotations

import pytest

from unitecon.errors import ModelError
from unitecon.excel.formula_text import _text, in_names
from unitecon.excel.layout import validate_defined_name
from unitecon.model.expr import MONTHS_PER_YEAR, call, compare, ref


def text(e) -> str:
    return _text(e, lambda node: node.name)


def test_numbers_other_than_unit_constants_are_refused():
    with pytest.raises(ValueError, match="typed into a formula"):
        ref("revenue") * 0.77
    assert text(ref("x") * 12) == "x*12"


def test_functions_outside_the_allow_list_are_refused():
    with pytest.raises(ValueError, match="allow-list"):
        call("OFFSET", ref("a"))
    with pytest.raises(ValueError, match="allow-list"):
        call("XLOOKUP", ref("a"))
    assert text(call("abs", ref("a"))) == "ABS(a)"


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda a, b, c: a - (b - c), "a-(b-c)"),
        (lambda a, b, c: (a - b) - c, "a-b-c"),
        (lambda a, b, c: a / (b * c), "a/(b*c)"),
        (lambda a, b, c: a / b * c, "a/b*c"),
        (lambda a, b, c: (a + b) * c, "(a+b)*c"),
        (lambda a, b, c: a + b * c, "a+b*c"),
        (lambda a, b, c: (a / b) ** (MONTHS_PER_YEAR / c) - 1, "(a/b)^(12/c)-1"),
        (lambda a, b, c: -(a - b), "-(a-b)"),
        (lambda a, b, c: compare("<=", call("ABS", a), b) * 1, "(ABS(a)<=b)*1"),
    ],
)
def test_operators_render_with_the_parentheses_excel_needs(build, expected):
    assert text(build(ref("a"), ref("b"), ref("c"))) == expected


def test_formula_in_names_reads_like_the_declaration():
    assert in_names(ref("hailuo_revenue_usd") / ref("hailuo_paying_users")) == "hailuo_revenue_usd/hailuo_paying_users"


@pytest.mark.parametrize("name", ["fy2024", "FY2024", "l22", "nl24", "r1c1", "R", "c", "A1", "xfd1048576", "TRUE",
                                  "9m2025", "has space"])
def test_names_that_excel_would_read_as_cells_are_refused(name):
    with pytest.raises(ModelError):
        validate_defined_name(name)


@pytest.mark.parametrize("name", ["revenue_usd_fy2024", "hailuo_arppu_usd", "months_9m2025", "usd_cny", "_x"])
def test_ordinary_snake_case_names_are_accepted(name):
    validate_defined_name(name)


def test_column_functions_give_what_a_cell_by_cell_loop_gives():
    import random

    from unitecon.model.functions import FUNCTIONS

    rng = random.Random(7)
    revenue = [rng.uniform(-5, 500) for _ in range(2000)]
    weights = [float(rng.randint(0, 1)) for _ in range(2000)]
    python = {name: f.python for name, f in FUNCTIONS.items()}
    assert python["SUM"](revenue) == sum(revenue)
    assert python["SUMPRODUCT"](revenue, weights) == sum((r * w for r, w in zip(revenue, weights, strict=True)), 0.0)
    assert python["SUMPRODUCT"]([2.0, True, "x"], [3.0, 4.0, 5.0]) == 6.0  # TRUE and text count as 0
    assert python["MEDIAN"](revenue) == (sorted(revenue)[999] + sorted(revenue)[1000]) / 2
    assert python["MIN"]([*revenue, None]) == min(revenue)
    assert not {"SUMIF", "COUNTIF", "SUMIFS", "COUNTIFS", "MATCH", "SEARCH"} & set(python)  # criteria are patterns
