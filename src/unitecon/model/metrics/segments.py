"""Business segments (``segments:``): revenue, share, gross profit and revenue per customer of each."""

from __future__ import annotations

from ..expr import MONTHS_PER_YEAR, PERIOD_MONTHS, ref, slot
from . import Metric, in_section

SECTION = "Segments"
metric = in_section(SECTION, over=("segment",))

METRICS: list[Metric] = [
    metric("{segment}_revenue_{ccy}", "{segment.label}: revenue", "{CCY}", "period",
           ref("revenue_{ccy}") * ref("{segment.share_input}"),
           "Total revenue times the segment's cited share of it. {segment.description}"),
    metric("{segment}_revenue_{ccy}", "{segment.label}: revenue (the remainder)", "{CCY}", "period",
           ref("revenue_{ccy}") - slot("segment.rest_of"),
           "Revenue not earned by the other segments. {segment.description}"),
    metric("{segment}_revenue_share", "{segment.label}: share of revenue", "ratio", "period",
           ref("{segment.share_from}") / ref("revenue_{ccy}"), "Segment revenue ÷ total revenue."),
    metric("{segment}_gross_profit_{ccy}", "{segment.label}: gross profit", "{CCY}", "period",
           ref("{segment.revenue}") * ref("{segment.gross_margin}"),
           "Segment revenue times its cited gross margin."),
    metric("{segment}_revenue_annualised_{ccy}", "{segment.label}: revenue, annualised", "{CCY}/year", "period",
           ref("{segment.revenue}") / ref(PERIOD_MONTHS) * MONTHS_PER_YEAR,
           "Segment revenue per month times 12.", requires=("{segment.customers}",)),
    metric("{segment}_revenue_per_customer_{ccy}", "{segment.label}: revenue per paying customer",
           "{CCY}/customer", "period", ref("{segment.revenue}") / ref("{segment.customers}"),
           "Segment revenue in the period divided by its paying customers."),
    metric("{segment}_revenue_per_customer_annualised_{ccy}", "{segment.label}: revenue per customer, annualised",
           "{CCY}/customer/year", "period",
           ref("{segment}_revenue_per_customer_{ccy}") / ref(PERIOD_MONTHS) * MONTHS_PER_YEAR,
           "Per-customer revenue per month times 12."),
    metric("{segment}_revenue_per_customer_press_variance",
           "{segment.label}: annualised revenue per customer vs press estimate", "ratio", "period",
           ref("{segment}_revenue_per_customer_annualised_{ccy}") / ref("{segment.press_revenue_per_customer}") - 1,
           "How far the computed figure lies from the journalist's per-customer-per-year estimate."),
]
