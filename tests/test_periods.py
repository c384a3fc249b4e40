"""The time axis: months agree with the dates, periods do not overlap unless marked as an overlay, totals
leave overlays out, and growth compares the periods the documents make comparable."""

from __future__ import annotations

import re
import shutil

import pytest
from click.testing import CliRunner
from conftest import INPUTS
from reference import load_reference

from unitecon.build import plan
from unitecon.cli import main


def _openai(tmp_path, old: str = "", new: str = ""):
    folder = tmp_path / "inputs"
    shutil.copytree(INPUTS, folder, ignore=shutil.ignore_patterns("ledgers"))
    path = folder / "openai.yaml"
    text = path.read_text(encoding="utf-8")
    if old:
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _one_error(path, *fragments):
    out = path.parent.parent / "out"
    result = CliRunner().invoke(main, ["build", str(path), "--out", str(out)])
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 1 and len(errors) == 1 and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert not out.exists()
    return errors[0]


def test_months_must_agree_with_start_and_end(tmp_path):
    path = _openai(tmp_path, 'end: 2025-06-30, months: 6}', 'end: 2025-06-30, months: 9}')
    line = _one_error(path, "periods.H1_2025", "months is 9 but 2025-01-01 to 2025-06-30 spans 6", "months: 6")
    assert re.search(r"openai\.yaml:\d+:", line)


def test_overlapping_periods_are_refused_unless_one_is_an_overlay(tmp_path):
    path = _openai(tmp_path, "months: 12, overlay: true}", "months: 12}")
    _one_error(path, "periods.FY2025", "overlaps H1_2025", "overlay: true")


def test_an_overlay_comes_after_the_periods_it_overlays(tmp_path):
    text = ('  FY2025: {label: "FY2025 (expected)", start: 2025-01-01, end: 2025-12-31, months: 12, overlay: true}\n')
    path = _openai(tmp_path, text, "")
    path.write_text(path.read_text(encoding="utf-8").replace(
        "  FY2024: {label", text + "  FY2024: {label", 1), encoding="utf-8")
    _one_error(path, "periods.FY2025", "overlay period listed before FY2024; list overlay periods last")


def test_regular_periods_are_listed_in_time_order(tmp_path):
    text = '  H1_2025: {label: "Jan–Jun 2025", start: 2025-01-01, end: 2025-06-30, months: 6}\n'
    path = _openai(tmp_path, text, "")
    path.write_text(path.read_text(encoding="utf-8").replace("  FY2024: {label", text + "  FY2024: {label", 1),
                    encoding="utf-8")
    _one_error(path, "periods.FY2024", "starts before H1_2025 ends")


def test_totals_over_periods_leave_the_overlay_out(tmp_path):
    """A net loss given for the reported half-year and for the full-year estimate containing it is counted once."""
    path = _openai(tmp_path, "      H1_2025:\n        value: 13500000000\n",
                   "      FY2025:\n        value: 20000000000\n        source:\n          assumption: \"a full-year "
                   "estimate\"\n      H1_2025:\n        value: 13500000000\n")
    model = plan(path).model
    reference = load_reference(path)
    assert model.value("cumulative_net_loss_usd") == 13.5e9 == reference.get("cumulative_net_loss_usd")
    assert model.row("net_loss_usd").periods == ["H1_2025", "FY2025"]


def test_growth_compares_a_year_with_the_year_before_and_a_period_with_the_one_just_before():
    model = plan(INPUTS / "openai.yaml").model
    assert model.row("revenue_growth_yoy").periods == ["FY2025"]  # the estimate for 2025 against 2024
    assert model.value("revenue_growth_yoy", "FY2025") == pytest.approx(13e9 / 3.7e9 - 1, rel=1e-12)
    # the half-year's run-rate against 2024's; the overlay is compared year on year only
    assert model.row("revenue_run_rate_growth").periods == ["H1_2025"]
    assert model.value("revenue_run_rate_growth", "H1_2025") == pytest.approx(4.3e9 * 2 / 3.7e9 - 1, rel=1e-12)
    anthropic = plan(INPUTS / "anthropic.yaml").model
    assert anthropic.value("arr_growth", "FY2025") == pytest.approx(7e9 / 1e9 - 1, rel=1e-12)
    assert anthropic.value("arr_growth", "FY2026") == pytest.approx(23e9 / 7e9 - 1, rel=1e-12)


def test_the_cagr_runs_over_consecutive_full_years_only():
    zhipu = plan(INPUTS / "zhipu.yaml").model
    assert zhipu.value("revenue_cagr") == pytest.approx((312e6 / 57.4e6) ** 0.5 - 1, rel=1e-12)
    minimax = plan(INPUTS / "minimax.yaml").model  # two full years: the year-on-year growth says it all
    assert "revenue_cagr" not in {r.name for r in minimax.rows}
    reason = next(n.reason for n in minimax.not_built if n.name == "revenue_cagr")
    assert "three full-year" in reason


def test_a_period_runs_whole_months(tmp_path):
    path = _openai(tmp_path, "H1_2025: {label: \"Jan–Jun 2025\", start: 2025-01-01,",
                   "H1_2025: {label: \"Jan–Jun 2025\", start: 2025-01-15,")
    _one_error(path, "periods.H1_2025", "from the first day of a month to the last day of a month",
               "2025-01-15 to 2025-06-30")
