"""Customers: per-customer revenue, concentration and repurchase from the customer ledger.

The ledger gives each customer's facts (``customer_amount`` per period in the ledger's currency,
``customer_on_prem`` 1/0, ``customer_segment``, ``customer_deployment``). Customer metrics are columns
of the Customers sheet, one formula down the column; summary metrics aggregate whole columns. Rows
are in descending order of total revenue (the build sorts them), which ``customer_rank`` and
``customer_cumulative_share`` rest on; ``customer_in_order`` checks that order stays true after edits.
"""

from __future__ import annotations

import functools
import operator

from ..expr import (
    ONE,
    Across,
    Label,
    above,
    at,
    below,
    call,
    column,
    compare,
    first,
    latest,
    ref,
)
from . import Metric

SECTION = "Customers (from the ledger)"


def _metric(name: str, label: str, unit: str, grain, expr, description: str, by: str | None = None) -> Metric:
    return Metric(name, label, unit, grain, expr, description, SECTION, by)


def metrics(ccy: str, ledger_fx: str | None = None, reconciles_with: str | None = None,
            ledger_periods: tuple[str, ...] = ()) -> list[Metric]:
    """``ledger_fx``: the input giving ledger-currency units per reporting unit (None: same currency);
    ``reconciles_with``: the reported revenue the ledger should add up to; ``ledger_periods``: the
    periods the ledger covers, whose revenue makes a customer's total."""
    c = ccy.upper()
    by_period = [at("customer_revenue", p) for p in ledger_periods] or [Across("customer_revenue")]
    total = functools.reduce(operator.add, by_period)
    revenue = ref("customer_amount") / ref(ledger_fx) if ledger_fx else ref("customer_amount")
    converted = f"the ledger amount divided by {ledger_fx}" if ledger_fx else "the ledger amount (same currency)"
    return [
        # --- one column per customer (customer_period: one column per ledger period) ---
        _metric("customer_revenue", "Revenue", c, "customer_period", revenue,
                f"The customer's revenue in the period in {c}: {converted}."),
        _metric("customer_total_revenue", "Revenue, all ledger periods", c, "customer",
                total, "The customer's revenue over the ledger periods, added left to right."),
        _metric("customer_share", "Share of ledger revenue", "ratio", "customer",
                ref("customer_total_revenue") / ref("ledger_total_revenue"),
                "The customer's revenue over all customers' revenue."),
        _metric("customer_rank", "Rank by revenue", "count", "customer", above("customer_rank") + ONE,
                "Position in descending order of revenue: the row above's rank plus one (the opening row is 0)."),
        _metric("customer_cumulative_share", "Cumulative share (Pareto)", "ratio", "customer",
                above("customer_cumulative_share") + ref("customer_share"),
                "Share of revenue from this customer and every larger one: the Pareto curve."),
        _metric("customer_in_order", "In descending order", "flag", "customer",
                compare(">=", ref("customer_total_revenue") - below("customer_total_revenue"),
                        -call("ABS", ref("customer_total_revenue")) * ref("ledger_order_tolerance")) * ONE,
                "1 when the customer's revenue is at least the next customer's (to within rounding noise: "
                "engines differ in the last digit), so rank and cumulative share hold; 0 after an edit that "
                "changes the order (rebuild to re-sort)."),
        _metric("customer_gross_margin", "Gross margin (by deployment)", "ratio", "customer",
                ref("customer_on_prem") * latest("on_prem_gross_margin")
                + (ONE - ref("customer_on_prem")) * latest("cloud_gross_margin"),
                "On-premise margin for on-premise customers, cloud margin otherwise (latest cited margins)."),
        _metric("customer_gross_profit", "Gross profit", c, "customer_period",
                ref("customer_revenue") * ref("customer_gross_margin"),
                "Revenue in the period times the customer's deployment margin."),
        _metric("customer_repeat", "Bought in the first and the latest period", "indicator", "customer",
                first("customer_revenue_positive") * latest("customer_revenue_positive"),
                "1 when the customer had revenue in both the first and the latest ledger period."),
        # --- per period, over all customers ---
        _metric("ledger_revenue", "Ledger revenue (sum over customers)", c, "period",
                call("SUM", column("customer_revenue")), "All customers' revenue in the period, from the ledger."),
        _metric("ledger_paying_customers", "Customers with revenue in the period", "count", "period",
                call("SUM", column("customer_revenue_positive")),
                "How many customers had revenue in the period."),
        _metric("customer_revenue_positive", "Paid in the period", "indicator", "customer_period",
                compare(">", ref("customer_revenue"), 0) * ONE, "1 when the customer had revenue in the period."),
        _metric("ledger_reported_revenue", "Reported revenue the ledger should add up to", c, "period",
                ref(reconciles_with or "ledger_reconciles_with_unset"),
                f"The reported figure ({reconciles_with}) the inputs file says the ledger covers."),
        # --- one number over all customers ---
        _metric("ledger_customers", "Customers in the ledger", "count", "scalar",
                call("COUNT", column("customer_total_revenue")), "How many customers the ledger lists."),
        _metric("ledger_total_revenue", "Ledger revenue, all ledger periods", c, "scalar",
                call("SUM", column("customer_total_revenue")), "All customers' revenue over the ledger periods."),
        _metric("ledger_average_revenue", "Average revenue per customer", f"{c}/customer", "scalar",
                ref("ledger_total_revenue") / ref("ledger_customers"), "Ledger revenue over customers."),
        _metric("ledger_median_revenue", "Median revenue per customer", f"{c}/customer", "scalar",
                call("MEDIAN", column("customer_total_revenue")), "The middle customer's revenue."),
        _metric("ledger_top_a_share", "Share of revenue from the largest customers (top A)", "ratio", "scalar",
                call("SUMPRODUCT", compare("<=", column("customer_rank"), ref("concentration_top_a"))
                     * column("customer_share")),
                "Revenue share of the concentration_top_a largest customers (5: the prospectus's top five)."),
        _metric("ledger_top_b_share", "Share of revenue from the largest customers (top B)", "ratio", "scalar",
                call("SUMPRODUCT", compare("<=", column("customer_rank"), ref("concentration_top_b"))
                     * column("customer_share")),
                "Revenue share of the concentration_top_b largest customers (10)."),
        _metric("ledger_top_fraction_share", "Share of revenue from the top fraction of customers", "ratio",
                "scalar", call("SUMPRODUCT", compare("<=", column("customer_rank"), ref("concentration_top_fraction")
                                                     * ref("ledger_customers")) * column("customer_share")),
                "Revenue share of the largest concentration_top_fraction (1%) of customers."),
        _metric("ledger_hhi", "Herfindahl-Hirschman index of customer revenue", "ratio", "scalar",
                call("SUMPRODUCT", column("customer_share"), column("customer_share")),
                "Sum of squared revenue shares: 1 = one customer, near 0 = dispersed (×10,000 for the DOJ scale)."),
        _metric("ledger_repurchase_rate", "Repurchase rate (first-period customers buying again)", "ratio",
                "scalar", call("SUM", column("customer_repeat")) / first("ledger_paying_customers"),
                "Customers with revenue in both the first and latest ledger periods over those in the first."),
        _metric("ledger_in_order", "Customers in descending order of revenue", "flag", "scalar",
                call("MIN", column("customer_in_order")),
                "1 when every customer's revenue is at least the next one's (rank and Pareto curve hold)."),
        # --- breakdowns: one row per segment / deployment found in the ledger ---
        *_breakdowns(c, "segment", "in this segment"),
        *_breakdowns(c, "deployment", "with this deployment"),
    ]


def _breakdowns(c: str, by: str, whom: str) -> list[Metric]:
    """Revenue and customer count per value of the ledger column ``customer_<by>``."""
    return [
        _metric(f"ledger_{by}_revenue", "Revenue", c, "category",
                call("SUMIF", column(f"customer_{by}"), Label(), column("customer_total_revenue")),
                f"Ledger revenue of the customers {whom}.", by=f"customer_{by}"),
        _metric(f"ledger_{by}_customers", "Customers", "count", "category",
                call("COUNTIF", column(f"customer_{by}"), Label()), f"Customers {whom}.", by=f"customer_{by}"),
    ]
