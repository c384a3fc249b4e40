"""Every shipped workbook, recomputed from its own formulas, agrees with the independent reference."""

from __future__ import annotations

import math

import pytest
from conftest import COMPANIES, INPUTS, MODELS, SHIPPED, sheet_rows, workings_sheets
from ruamel.yaml import YAML

from unitecon.auditor.comparing import compare

REQUIRED_NAMES = {
    "minimax": ["hailuo_paying_users", "hailuo_revenue_usd", "hailuo_arppu_usd", "talkie_arppu_usd",
                "b2b_revenue_per_customer_usd", "compute_to_revenue", "runway_months", "cumulative_net_loss_usd"],
    "zhipu": ["compute_to_revenue", "revenue_cagr", "revenue_per_customer_cny", "runway_months",
              "cumulative_net_loss_cny"],
}
HEADLINE_PERIOD = {"minimax": "9M2025", "zhipu": None}


@pytest.mark.parametrize("model", SHIPPED)
def test_every_formula_cell_recomputes_to_its_cached_value(recomputed, model):
    rec = recomputed[model]
    assert len(rec.formulas) > 15
    assert compare(rec) == []


@pytest.mark.parametrize("model", SHIPPED)
def test_no_cached_value_is_missing_or_an_error(recomputed, model):
    rec = recomputed[model]
    bad = {k: v for k, v in rec.cached.items() if v is None or isinstance(v, str)}
    assert bad == {}


@pytest.mark.parametrize("model", COMPANIES)
def test_calculations_match_the_independent_reference(built, recomputed, references, model):
    rec, ref = recomputed[model], references[model]
    compared = 0
    missing = []
    for name, period, cell in sheet_rows(built[model], "Calculations", model):
        value = rec.value("Calculations", cell.coordinate)
        column = period or "scalar"
        if name == "period_months":
            assert value == ref.months[period]
            continue
        if name not in ref.values.index or math.isnan(ref.values.loc[name, column]):
            missing.append((name, column))
            continue
        assert value == pytest.approx(ref.values.loc[name, column], rel=1e-9), (name, column, cell.formula
                                                                                if hasattr(cell, "formula") else "")
        compared += 1
    assert missing == [], "workbook cells the reference does not compute"
    assert compared >= 7


def _reference_cells(ref, skip: set[str]) -> set[tuple[str, str]]:
    """(name, period or "scalar") of every figure the reference computes, inputs (``skip``) left out."""
    return {(name, col) for name in ref.values.index for col in ref.values.columns
            if name not in skip and not math.isnan(ref.values.loc[name, col])}


@pytest.mark.parametrize("model", COMPANIES)
def test_reference_metrics_all_appear_in_the_workbook(built, references, model):
    """The other direction: every metric the reference computes is a cell of the Calculations sheet, and
    every check side it computes a cell of the Checks sheet."""
    ref = references[model]
    inputs = set(YAML(typ="safe").load((INPUTS / f"{model}.yaml").read_text(encoding="utf-8"))["inputs"])
    in_book = {(name, period or "scalar") for sheet in ("Calculations", "Checks")
               for name, period, _ in sheet_rows(built[model], sheet, model)}
    assert _reference_cells(ref, inputs) - in_book == set()


@pytest.mark.parametrize("model", COMPANIES)
def test_checks_sheet_actual_and_expected_match_the_reference(built, recomputed, references, model):
    """Every check's actual and expected figure, as the file's own formulas compute them, equals the
    reference's; and every check the reference computes is on the sheet."""
    rec, ref = recomputed[model], references[model]
    on_sheet = set()
    for name, period, cell in sheet_rows(built[model], "Checks", model):
        if not name.endswith(("_actual", "_expected")):
            continue
        column = period or "scalar"
        on_sheet.add((name, column))
        assert name in ref.values.index and not math.isnan(ref.values.loc[name, column]), (name, column)
        assert rec.value("Checks", cell.coordinate) == pytest.approx(ref.values.loc[name, column], rel=1e-9), name
    from_reference = {(n, c) for n, c in _reference_cells(ref, set()) if n.startswith("check_")}
    assert on_sheet == from_reference
    assert len(on_sheet) >= 2  # every shipped company has at least one check


@pytest.mark.parametrize("model", MODELS)
def test_required_defined_names_each_name_one_cell(recomputed, references, model):
    rec, _ref = recomputed[model], references[model]
    for name in REQUIRED_NAMES[model]:
        _sheet, cell = rec.names[name.upper()]
        assert ":" not in cell, name
        assert isinstance(rec.by_name(name), float | int), name


def test_minimax_headline_names_hold_the_reference_values(recomputed, references):
    rec, ref = recomputed["minimax"], references["minimax"]
    for name in ("hailuo_arppu_usd", "talkie_arppu_usd", "b2b_revenue_per_customer_usd", "compute_to_revenue",
                 "runway_months"):
        assert rec.by_name(name) == pytest.approx(ref.get(name, "9M2025"), rel=1e-12), name
    assert rec.by_name("cumulative_net_loss_usd") == pytest.approx(ref.get("cumulative_net_loss_usd"), rel=1e-12)
    assert rec.by_name("hailuo_revenue_usd") == ref.get("hailuo_revenue_usd", "9M2025")


def test_zhipu_headline_names_hold_the_reference_values(recomputed, references):
    rec, ref = recomputed["zhipu"], references["zhipu"]
    assert rec.by_name("compute_to_revenue") == pytest.approx(ref.get("compute_to_revenue", "FY2024"), rel=1e-12)
    assert rec.by_name("revenue_per_customer_cny") == pytest.approx(ref.get("revenue_per_customer_cny", "H1_2025"))
    assert rec.by_name("runway_months") == pytest.approx(ref.get("runway_months", "H1_2025"), rel=1e-12)
    assert rec.by_name("revenue_cagr") == pytest.approx(ref.get("revenue_cagr"), rel=1e-12)
    assert rec.by_name("cumulative_net_loss_cny") == pytest.approx(ref.get("cumulative_net_loss_cny"), rel=1e-12)


@pytest.mark.parametrize("model", SHIPPED)
def test_every_calculation_row_has_one_formula_across_its_periods(built, model):
    """FAST rule: the same formula in R1C1 terms across a row (input link rows: the same name pattern)."""
    import re

    from formulas import Parser  # noqa: F401  (formulas is the parser the verifier uses)

    rows: dict[str, list] = {}
    for sheet in workings_sheets(built[model]):
        for name, period, cell in sheet_rows(built[model], sheet, model):
            if period:
                rows.setdefault(name, []).append(cell)
    assert rows
    for name, cells in rows.items():
        shapes = set()
        for cell in cells:
            col = cell.column
            shape = re.sub(r"(?<![A-Za-z_$])([A-Z]{1,3})(\d+)",
                           lambda m, col=col: f"C[{_col(m.group(1)) - col}]R{m.group(2)}", cell.value)
            shape = re.sub(r"_(fy\d{4}|9m\d{4}|h1_\d{4})\b", "_<period>", shape)
            shapes.add(shape)
        assert len(shapes) == 1, (name, shapes)


def _col(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n
