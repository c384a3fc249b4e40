"""Checks sheet: reconciliations pass or fail as the documents' own figures say, and roll up to the master check."""

from __future__ import annotations

from conftest import INPUTS
from ruamel.yaml import YAML


def _inputs(model: str) -> dict:
    return YAML(typ="safe").load((INPUTS / f"{model}.yaml").read_text(encoding="utf-8"))["inputs"]


def _v(inputs: dict, key: str, period: str | None = None) -> float:
    item = inputs[key]
    return float(item["value"] if period is None else item["values"][period]["value"])


def test_b2b_customers_times_press_revenue_fails_on_the_documents_figures(workbook_values):
    x = _inputs("minimax")
    implied = _v(x, "b2b_customers", "9M2025") * _v(x, "b2b_revenue_per_customer_press_usd")
    actual = _v(x, "revenue_usd", "9M2025") * _v(x, "b2b_revenue_share", "9M2025") / 9 * 12
    assert abs(implied / actual - 1) > _v(x, "reconciliation_tolerance")  # the documents disagree …
    assert workbook_values[("minimax", "check_b2b_customers_times_revenue", None)] == 0  # … and the sheet says so


def test_segments_sum_to_total_passes(workbook_values):
    assert workbook_values[("minimax", "check_segments_sum_to_total", None)] == 1


def test_zhipu_revenue_conflicts_are_flagged(workbook_values):
    x = _inputs("zhipu")
    for period in ("FY2024", "H1_2025"):
        figure = x["revenue_cny"]["values"][period]
        alt = figure["alternatives"][0]["value"]
        assert abs(figure["value"] / alt - 1) > _v(x, "conflict_tolerance")
        assert workbook_values[("zhipu", f"check_conflict_revenue_cny_{period.lower()}_alt", None)] == 0


def test_minimax_revenue_rounding_difference_is_not_a_conflict(workbook_values):
    assert workbook_values[("minimax", "check_conflict_revenue_usd_9m2025_alt", None)] == 1


def test_master_check_is_the_minimum_of_all_checks(workbook_values):
    for model in ("minimax", "zhipu"):
        statuses = [v for (m, name, period), v in workbook_values.items()
                    if m == model and name.startswith("check_") and name.count("_") >= 2 and period is None
                    and not name.endswith(("_actual", "_expected", "_difference", "_status"))]
        assert statuses
        assert workbook_values[(model, "master_check", None)] == min(statuses)
        assert workbook_values[(model, "failing_checks", None)] == statuses.count(0)
        assert workbook_values[(model, "master_check", None)] == 0  # both fail on the documents' own figures


def test_cover_shows_the_master_check(recomputed):
    for rec in (recomputed[m] for m in ("minimax", "zhipu", "openai", "anthropic")):
        cover = {a1: v for (sheet, a1), v in rec.values.items() if sheet == "COVER"}
        assert rec.by_name("master_check") in cover.values()
        assert any(rec.formulas[("COVER", a1)] == "=master_check" for a1 in cover)
