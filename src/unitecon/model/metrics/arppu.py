"""ARPPU (average revenue per paying user), one set of rows per consumer product line (``products:``)."""

from __future__ import annotations

from ..expr import MONTHS_PER_YEAR, PERIOD_MONTHS, convert, ref, slot
from . import Metric, in_section

SECTION = "ARPPU by product line"
SUMMARY = "ARPPU by product line, annualised"  # the Summary section, charted
metric = in_section(SECTION, over=("product",))
converted = in_section(SECTION, over=("product", "fx"))

METRICS: list[Metric] = [
    metric("{product}_revenue_{ccy}", "{product.label}: revenue (residual)", "{CCY}", "period",
           slot("product.residual"),
           "{product.label}: revenue not reported on its own, the total less the product lines that are. "
           "{product.description}"),
    metric("{product}_arppu_{ccy}", "{product.label}: ARPPU for the period", "{CCY}/user", "period",
           ref("{product.revenue}") / ref("{product.paying_users}"),
           "{product.label} revenue in the period divided by its paying users."),
    metric("{product}_arppu_monthly_{ccy}", "{product.label}: ARPPU per month", "{CCY}/user/month", "period",
           ref("{product}_arppu_{ccy}") / ref(PERIOD_MONTHS),
           "Period ARPPU divided by the months in the period."),
    metric("{product}_arppu_annualised_{ccy}", "{product.label}: ARPPU annualised", "{CCY}/user/year", "period",
           ref("{product}_arppu_monthly_{ccy}") * MONTHS_PER_YEAR,
           "Monthly ARPPU times 12.", summary=SUMMARY, summary_label="{product.label}"),
    converted("{product}_arppu_{fx}", "{product.label}: ARPPU for the period ({fx.code})", "{fx.code}/user",
              "period", convert(ref("{product}_arppu_{ccy}"), "{CCY}", "{fx.code}"),
              "Period ARPPU converted at the cited exchange rate."),
    converted("{product}_arppu_annualised_{fx}", "{product.label}: ARPPU annualised ({fx.code})",
              "{fx.code}/user/year", "period", convert(ref("{product}_arppu_annualised_{ccy}"), "{CCY}", "{fx.code}"),
              "Annualised ARPPU converted at the cited exchange rate."),
    metric("{product}_arppu_variance", "{product.label}: computed vs company-reported ARPPU", "ratio", "period",
           ref("{product}_arppu_{ccy}") / ref("{product.reported_arppu}") - 1,
           "How far revenue ÷ paying users lies from the ARPPU the company reports (0% = agrees)."),
    metric("{product}_arppu_press_variance", "{product.label}: annualised ARPPU vs press estimate", "ratio",
           "period", ref("{product.press_annualised}") / ref("{product.press_arppu}") - 1,
           "How far the annualised ARPPU (in the estimate's currency) lies from the journalist's "
           "per-user-per-year figure."),
]
