"""The articles print derived figures; the workbook's own formulas must reproduce each within the print's rounding.

The expected values below are typed from the documents (inputs/sources), not taken from unitecon.
"""

from __future__ import annotations

import pytest


def within_print(value: float, printed: float, last_digit: float) -> bool:
    """True when ``value`` rounds to ``printed`` at the printed precision (half a unit of the last digit)."""
    return abs(value - printed) <= last_digit / 2 + 1e-12


@pytest.mark.parametrize(
    ("period", "printed", "digit"),
    [("FY2023", 6.597, 0.001), ("FY2024", 2.85, 0.01), ("9M2025", 0.736, 0.001)],
    ids=["659.7% FY2023", "285% FY2024", "73.6% 9M2025"],
)
def test_minimax_sd_as_share_of_revenue(workbook_values, period, printed, digit):
    # 004: 销售与分销支出…分别占当年营业收入的659.7%、285%和73.6%
    assert within_print(workbook_values[("minimax", "sd_to_revenue", period)], printed, digit)


def test_minimax_cumulative_net_loss_is_1_32_billion(workbook_values):
    # 004: 不到4年,MiniMax累计亏损了13.2亿美元
    assert within_print(workbook_values[("minimax", "cumulative_net_loss_usd", None)], 1.32e9, 0.01e9)


def test_minimax_ai_native_share_is_71_1_percent(workbook_values):
    # 001: 应用相关收入达到3802万美元,占总收入的 71.1%
    assert within_print(workbook_values[("minimax", "ai_native_revenue_share", "9M2025")], 0.711, 0.001)


def test_minimax_spends_about_three_yuan_of_compute_per_yuan_earned(workbook_values):
    # 001: 你每花出去3块钱的算力成本,只能从市场上收回来1块钱 (a one-digit figure: 2.5 to 3.5)
    assert within_print(workbook_values[("minimax", "compute_to_revenue", "9M2025")], 3, 1)


def test_zhipu_revenue_cagr_above_130_percent(workbook_values):
    # 004: 2022年至2024年,其收入分别为5740万元、1.25亿元和3.12亿元,年均复合增长率超过130%
    assert workbook_values[("zhipu", "revenue_cagr", None)] > 1.30


def test_zhipu_rd_more_than_seven_times_revenue_in_2024(workbook_values):
    # 004: 2024年公司的研发开支为21.95亿元,是收入的7倍多
    ratio = workbook_values[("zhipu", "rd_to_revenue", "FY2024")]
    assert 7 < ratio < 8


def test_zhipu_cumulative_net_loss_above_6_2_billion(workbook_values):
    # 004: 三年半时间内累计亏损超62亿元
    assert 6.2e9 < workbook_values[("zhipu", "cumulative_net_loss_cny", None)] < 6.3e9


def test_zhipu_compute_is_about_seventy_percent_of_rd(workbook_values):
    # 004: 其中仅算力成本就花了15.73亿元,占比达七成 — the workbook's compute estimate stays within 1% of 15.73亿
    assert workbook_values[("zhipu", "compute_spend_cny", "FY2024")] == pytest.approx(1.573e9, rel=0.01)
