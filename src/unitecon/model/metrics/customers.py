"""Customers: per-customer revenue, concentration and repurchase from the customer ledger (``ledger:``).

The ledger gives each customer's facts (``customer_amount`` per period in the ledger's currency,
``customer_segment``, ``customer_deployment`` and, where the inputs file says which segment's margin a
customer earns, one 1/0 column per such segment). Customer metrics are columns of the Customers sheet,
one formula down the column; summary metrics aggregate whole columns. Rows are in descending order of
total revenue (the build sorts them), which ``customer_rank`` and ``customer_cumulative_share`` rest on;
``customer_in_order`` checks that order stays true after edits.
"""

from __future__ import annotations

from ..expr import ONE, Label, above, below, call, column, compare, first, latest, ref, slot
from . import Input, Metric

SECTION = "Customers (from the ledger)"
CUSTOMERS = "Customers"  # the Summary section of the customer summaries


def _metric(name: str, label: str, unit: str, grain, expr, description: str, by: str | None = None,
            summary: str | None = None) -> Metric:
    return Metric(name, label, unit, grain, expr, description, SECTION, ("ledger",), by=by, summary=summary,
                  named=grain == "scalar")


INPUTS: list[Input] = [
    Input("concentration_top_a", "Largest customers counted in the first concentration measure (top N)", "count",
          "rate", "scalar", "N for the top-N share (5: a prospectus's top five).", SECTION),
    Input("concentration_top_b", "Largest customers counted in the second concentration measure (top N)", "count",
          "rate", "scalar", "N for the second top-N share (10).", SECTION),
    Input("concentration_top_fraction", "Fraction of customers counted in the top-fraction measure", "ratio",
          "rate", "scalar", "e.g. 0.01 for the top 1 %.", SECTION),
    Input("ledger_order_tolerance", "Relative rounding allowed when checking customers stay in order", "ratio",
          "rate", "scalar", "Engines differ in the last digit; 1e-12 is plenty.", SECTION),
]

METRICS: list[Metric] = [
    # --- one column per customer (customer_period: one column per ledger period) ---
    _metric("customer_revenue", "Revenue", "{CCY}", "customer_period", slot("ledger.revenue"),
            "The customer's revenue in the period in {CCY}: {ledger.converted}."),
    _metric("customer_total_revenue", "Revenue, all ledger periods", "{CCY}", "customer", slot("ledger.total"),
            "The customer's revenue over the ledger periods, added left to right."),
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
    _metric("customer_gross_margin", "Gross margin (by {ledger.margins_by})", "ratio", "customer",
            slot("ledger.margin"),
            "The latest cited gross margin of the segment the customer's {ledger.margins_by} maps to."),
    _metric("customer_gross_profit", "Gross profit", "{CCY}", "customer_period",
            ref("customer_revenue") * ref("customer_gross_margin"),
            "Revenue in the period times the customer's segment margin."),
    _metric("customer_repeat", "Bought in the first and the latest period", "indicator", "customer",
            first("customer_revenue_positive") * latest("customer_revenue_positive"),
            "1 when the customer had revenue in both the first and the latest ledger period."),
    # --- per period, over all customers ---
    _metric("ledger_revenue", "Ledger revenue (sum over customers)", "{CCY}", "period",
            call("SUM", column("customer_revenue")), "All customers' revenue in the period, from the ledger."),
    _metric("ledger_paying_customers", "Customers with revenue in the period", "count", "period",
            call("SUM", column("customer_revenue_positive")),
            "How many customers had revenue in the period."),
    _metric("customer_revenue_positive", "Paid in the period", "indicator", "customer_period",
            compare(">", ref("customer_revenue"), 0) * ONE, "1 when the customer had revenue in the period."),
    _metric("ledger_reported_revenue", "Reported revenue the ledger should add up to", "{CCY}", "period",
            ref("{ledger.reconciles_with}"),
            "The reported figure ({ledger.reconciles_with}) the inputs file says the ledger covers."),
    # --- one number over all customers ---
    _metric("ledger_customers", "Customers in the ledger", "count", "scalar",
            call("COUNT", column("customer_total_revenue")), "How many customers the ledger lists.",
            summary=CUSTOMERS),
    _metric("ledger_total_revenue", "Ledger revenue, all ledger periods", "{CCY}", "scalar",
            call("SUM", column("customer_total_revenue")), "All customers' revenue over the ledger periods."),
    _metric("ledger_average_revenue", "Average revenue per customer", "{CCY}/customer", "scalar",
            ref("ledger_total_revenue") / ref("ledger_customers"), "Ledger revenue over customers.",
            summary=CUSTOMERS),
    _metric("ledger_median_revenue", "Median revenue per customer", "{CCY}/customer", "scalar",
            call("MEDIAN", column("customer_total_revenue")), "The middle customer's revenue.", summary=CUSTOMERS),
    _metric("ledger_top_a_share", "Share of revenue from the largest customers (top A)", "ratio", "scalar",
            call("SUMPRODUCT", compare("<=", column("customer_rank"), ref("concentration_top_a"))
                 * column("customer_share")),
            "Revenue share of the concentration_top_a largest customers (5: a prospectus's top five).",
            summary=CUSTOMERS),
    _metric("ledger_top_b_share", "Share of revenue from the largest customers (top B)", "ratio", "scalar",
            call("SUMPRODUCT", compare("<=", column("customer_rank"), ref("concentration_top_b"))
                 * column("customer_share")),
            "Revenue share of the concentration_top_b largest customers (10).", summary=CUSTOMERS),
    _metric("ledger_top_fraction_share", "Share of revenue from the top fraction of customers", "ratio",
            "scalar", call("SUMPRODUCT", compare("<=", column("customer_rank"), ref("concentration_top_fraction")
                                                 * ref("ledger_customers")) * column("customer_share")),
            "Revenue share of the largest concentration_top_fraction (1%) of customers.", summary=CUSTOMERS),
    _metric("ledger_hhi", "Herfindahl-Hirschman index of customer revenue", "ratio", "scalar",
            call("SUMPRODUCT", column("customer_share"), column("customer_share")),
            "Sum of squared revenue shares: 1 = one customer, near 0 = dispersed (×10,000 for the DOJ scale).",
            summary=CUSTOMERS),
    _metric("ledger_repurchase_rate", "Repurchase rate (first-period customers buying again)", "ratio",
            "scalar", call("SUM", column("customer_repeat")) / first("ledger_paying_customers"),
            "Customers with revenue in both the first and latest ledger periods over those in the first.",
            summary=CUSTOMERS),
    _metric("ledger_in_order", "Customers in descending order of revenue", "flag", "scalar",
            call("MIN", column("customer_in_order")),
            "1 when every customer's revenue is at least the next one's (rank and Pareto curve hold)."),
    # --- breakdowns: one row per segment / deployment found in the ledger. Matched with "=", never SUMIF or
    # COUNTIF: those read a label such as "*", ">0" or "<>x" as a wildcard or a comparison ---
    _metric("ledger_segment_revenue", "Revenue", "{CCY}", "category",
            call("SUMPRODUCT", compare("=", column("customer_segment"), Label()) * column("customer_total_revenue")),
            "Ledger revenue of the customers in this segment.", by="customer_segment"),
    _metric("ledger_segment_customers", "Customers", "count", "category",
            call("SUMPRODUCT", compare("=", column("customer_segment"), Label()) * ONE), "Customers in this segment.",
            by="customer_segment"),
    _metric("ledger_deployment_revenue", "Revenue", "{CCY}", "category",
            call("SUMPRODUCT",
                 compare("=", column("customer_deployment"), Label()) * column("customer_total_revenue")),
            "Ledger revenue of the customers with this deployment.", by="customer_deployment"),
    _metric("ledger_deployment_customers", "Customers", "count", "category",
            call("SUMPRODUCT", compare("=", column("customer_deployment"), Label()) * ONE),
            "Customers with this deployment.",
            by="customer_deployment"),
]
