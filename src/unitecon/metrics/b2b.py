"""B2B: revenue per enterprise customer / institution."""

from __future__ import annotations

from ..expr import MONTHS_PER_YEAR, PERIOD_MONTHS, ref
from . import Metric, in_section

metric = in_section("B2B revenue per customer")


def metrics(ccy: str) -> list[Metric]:
    return [
        # MiniMax: open platform (API) customers
        metric("b2b_revenue_usd", "Open platform (B2B) revenue", "USD", "period",
               ref("revenue_usd") * ref("b2b_revenue_share"),
               "Total revenue times the open platform's share of it."),
        metric("b2b_revenue_annualised_usd", "Open platform revenue, annualised", "USD/year", "period",
               ref("b2b_revenue_usd") / ref(PERIOD_MONTHS) * MONTHS_PER_YEAR,
               "B2B revenue per month times 12."),
        metric("b2b_revenue_per_customer_usd", "Revenue per paying enterprise customer", "USD/customer", "period",
               ref("b2b_revenue_usd") / ref("b2b_customers"),
               "Open platform revenue in the period divided by paying enterprise customers."),
        metric("b2b_revenue_per_customer_annualised_usd", "Revenue per enterprise customer, annualised",
               "USD/customer/year", "period",
               ref("b2b_revenue_per_customer_usd") / ref(PERIOD_MONTHS) * MONTHS_PER_YEAR,
               "Per-customer revenue per month times 12."),
        metric("b2b_revenue_per_customer_press_variance", "Annualised per-customer revenue vs press estimate",
               "ratio", "period",
               ref("b2b_revenue_per_customer_annualised_usd") / ref("b2b_revenue_per_customer_press_usd") - 1,
               "How far the computed figure lies from the journalist's ~$6,000 per enterprise per year."),
        # Zhipu: institutional customers
        metric(f"revenue_per_customer_{ccy}", "Revenue per institutional customer", f"{ccy.upper()}/customer",
               "period", ref(f"revenue_{ccy}") / ref("institutions"),
               "Revenue in the period divided by institutions served at the period end."),
        metric(f"revenue_per_customer_annualised_{ccy}", "Revenue per institution, annualised",
               f"{ccy.upper()}/customer/year", "period",
               ref(f"revenue_per_customer_{ccy}") / ref(PERIOD_MONTHS) * MONTHS_PER_YEAR,
               "Per-institution revenue per month times 12."),
    ]
