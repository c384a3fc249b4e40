"""Reconciliations shown on the Checks sheet and rolled up into the master check.

Source conflicts (a figure reported with two values) are added for every ``alternatives`` entry of
the inputs file by :mod:`unitecon.model`; they need no declaration here.
"""

from __future__ import annotations

from ..expr import ONE, at, ref
from . import Check

RECONCILE = "reconciliation_tolerance"
PRINT = "conflict_tolerance"


def checks(ccy: str) -> list[Check]:
    c = ccy.upper()
    return [
        Check("segments_sum_to_total", "Segments sum to total revenue (AI-native + open platform)", c, "period",
              ref("ai_native_revenue_usd") + ref("b2b_revenue_usd"), ref("revenue_usd"),
              "AI-native revenue (a cited amount) plus open platform revenue (total × its cited share) "
              "reproduces total revenue.", tolerance=PRINT),
        Check("blended_gross_margin", "Segment margins blend to the reported gross margin", "ratio", "period",
              ref("ai_native_revenue_share") * ref("ai_native_gross_margin")
              + ref("b2b_revenue_share") * ref("b2b_gross_margin"),
              ref("gross_margin"),
              "Revenue-weighted segment gross margins reproduce the overall gross margin.", tolerance=RECONCILE),
        Check("hailuo_users_times_arppu", "Hailuo paying users × reported ARPPU ≈ Hailuo revenue", "USD", "period",
              ref("hailuo_paying_users") * ref("hailuo_arppu_reported_usd"), ref("hailuo_revenue_usd"),
              "Paying users times the company-reported ARPPU reproduces product revenue.", tolerance=RECONCILE),
        Check("ai_native_users_times_arppu", "AI-native paying users × reported ARPPU ≈ AI-native revenue", "USD",
              "period", ref("ai_native_paying_users") * ref("ai_native_arppu_reported_usd"),
              ref("ai_native_revenue_usd"),
              "Paying users times the reported average spend reproduces AI-native revenue.", tolerance=RECONCILE),
        Check("b2b_customers_times_revenue", "B2B customers × press revenue per customer ≈ B2B revenue (annualised)",
              "USD/year", "period",
              ref("b2b_customers") * ref("b2b_revenue_per_customer_press_usd"), ref("b2b_revenue_annualised_usd"),
              "25,000 customers at the press's ~$6,000 a year should reproduce annualised open platform "
              "revenue; on the documents' own figures it does not.", tolerance=RECONCILE),
        Check("blended_gross_margin_deployment", "On-premise and cloud margins blend to the reported gross margin",
              "ratio", "period",
              ref("on_prem_revenue_share") * ref("on_prem_gross_margin")
              + (1 - ref("on_prem_revenue_share")) * ref("cloud_gross_margin"),
              ref("gross_margin"),
              "Revenue-weighted deployment margins reproduce the overall gross margin.", tolerance=RECONCILE),
        Check("sd_to_revenue_published", "S&D % of revenue = press-printed figure", "ratio", "period",
              ref("sd_to_revenue"), ref("sd_to_revenue_published"),
              "The workbook reproduces the S&D intensity the article prints.", tolerance=PRINT),
        Check("ai_native_share_published", "AI-native share of revenue = press-printed 71.1%", "ratio", "period",
              ref("ai_native_revenue_share"), ref("ai_native_revenue_share_published"),
              "The workbook reproduces the AI-native share the article prints.", tolerance=PRINT),
        Check("cumulative_loss_published", "Cumulative net loss = press-printed figure", c, "scalar",
              ref(f"cumulative_net_loss_{ccy}"), ref(f"cumulative_net_loss_published_{ccy}"),
              "The sum of period net losses reproduces the cumulative loss the article prints.", tolerance=PRINT),
        Check("cumulative_loss_published_min", "Cumulative net loss at least the press's lower bound", c, "scalar",
              ref(f"cumulative_net_loss_{ccy}"), ref(f"cumulative_net_loss_published_min_{ccy}"),
              "The article says the cumulative loss exceeds this figure.", rule="at_least"),
        Check("revenue_cagr_published", "Revenue CAGR 2022–2024 at least the press's 130%", "ratio", "scalar",
              ref("revenue_cagr_2022_2024"), ref("revenue_cagr_published"),
              "The article says the CAGR exceeds 130%.", rule="at_least"),
        Check("ledger_reconciles", "Customer ledger revenue = reported revenue it covers", c, "period",
              ref("ledger_revenue"), ref("ledger_reported_revenue"),
              "The customers' revenue in the ledger adds up to the reported segment revenue.", tolerance=RECONCILE),
        Check("ledger_in_order", "Customers are in descending order of revenue", "flag", "scalar",
              ref("ledger_in_order"), ONE,
              "Rank, cumulative share and top-N shares assume the order the build sorted; an edit that "
              "changes it fails here until the workbook is rebuilt.", rule="at_least"),
        Check("rd_to_revenue_published", "R&D at least 7× revenue in FY2024 (press)", "multiple", "scalar",
              at("rd_to_revenue", "FY2024"), ref("rd_to_revenue_published"),
              "The article says R&D was more than 7 times revenue in 2024.", rule="at_least"),
    ]
