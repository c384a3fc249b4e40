"""The forward view: the next twelve months from the latest period, by growth and price assumptions.

The inputs file's ``forward:`` section names the paying-user count and the annual revenue per paying
user the view grows (paying users and their annualised ARPPU, or customers and the annualised revenue per
customer). Revenue not earned from those payers grows at its own rate. R&D grows, and compute is
its share of R&D; the compute-to-revenue exchange rate and the cash runway follow. Every assumption
may carry scenario values, so the Summary can show every scenario side by side.
"""

from __future__ import annotations

from ..expr import MONTHS_PER_YEAR, ONE, PERIOD_MONTHS, Expr, call, compare, latest, ref
from . import Input, Metric, in_section

SECTION = "Forward view: next 12 months (active scenario)"
metric = in_section(SECTION, over=("forward",), named=True)

#: Forward metrics the Summary compares across scenarios, in table order.
COMPARED = ("payers_next", "arppu_next", "revenue_next", "revenue_growth_next", "compute_spend_next",
            "compute_to_revenue_next", "runway_months_next")


def _annualised(name: str) -> Expr:
    """The latest period's value of a flow, per month times 12."""
    return latest(name) / latest(PERIOD_MONTHS) * MONTHS_PER_YEAR


INPUTS: list[Input] = [
    Input(name, label, unit, "rate", "scalar", description, SECTION) for name, label, unit, description in (
        ("paying_user_growth_next", "Paying-user growth, next 12 months", "ratio", "Growth of the payer count."),
        ("arppu_change_next", "Change in annual revenue per payer, next 12 months", "ratio", "Price change."),
        ("other_revenue_growth_next", "Growth of other revenue, next 12 months", "ratio",
         "Growth of the revenue not explained by the payers."),
        ("rd_growth_next", "R&D growth, next 12 months", "ratio", "Growth of annualised R&D."),
        ("compute_share_of_rd_next", "Compute share of R&D, next 12 months", "ratio", "Compute ÷ R&D assumed."),
        ("runway_cap_months", "Runway shown when the next 12 months generate cash", "months",
         "The cap used instead of a negative runway."),
    )
]

revenue_now = latest("revenue_annualised_{ccy}")

METRICS: list[Metric] = [
    metric("payers_next", "Paying users (or customers), next 12 months", "count", "scalar",
           latest("{forward.payers}") * (ONE + ref("paying_user_growth_next")),
           "The latest {forward.payers} grown by the paying-user growth assumption."),
    metric("arppu_next", "Annual revenue per paying user (or customer), next 12 months", "{CCY}/payer/year",
           "scalar",
           latest("{forward.arppu}") * (ONE + ref("arppu_change_next")),
           "The latest {forward.arppu} changed by the price assumption."),
    metric("payer_revenue_next_{ccy}", "Revenue from paying users, next 12 months", "{CCY}/year", "scalar",
           ref("payers_next") * ref("arppu_next"), "Paying users times their annual revenue each."),
    metric("other_revenue_now_{ccy}", "Other revenue, latest annualised", "{CCY}/year", "scalar",
           revenue_now - latest("{forward.payers}") * latest("{forward.arppu}"),
           "Annualised revenue not explained by the paying users and their ARPPU (an API business, "
           "say); 0 where the payers are all the revenue."),
    metric("other_revenue_next_{ccy}", "Other revenue, next 12 months", "{CCY}/year", "scalar",
           ref("other_revenue_now_{ccy}") * (ONE + ref("other_revenue_growth_next")),
           "Other revenue grown by its own growth assumption."),
    metric("revenue_next", "Revenue, next 12 months", "{CCY}/year", "scalar",
           ref("payer_revenue_next_{ccy}") + ref("other_revenue_next_{ccy}"),
           "Revenue from paying users plus other revenue."),
    metric("revenue_growth_next", "Revenue growth over the latest annualised revenue", "ratio", "scalar",
           ref("revenue_next") / revenue_now - ONE,
           "Next-12-month revenue over the latest period's annualised revenue, minus 1."),
    metric("rd_expense_next_{ccy}", "R&D expense, next 12 months", "{CCY}/year", "scalar",
           _annualised("rd_expense_{ccy}") * (ONE + ref("rd_growth_next")),
           "The latest period's R&D, annualised, grown by the R&D growth assumption."),
    metric("compute_spend_next", "Compute spend, next 12 months", "{CCY}/year", "scalar",
           ref("rd_expense_next_{ccy}") * ref("compute_share_of_rd_next"),
           "Next-12-month R&D times the compute share of R&D assumed for it."),
    metric("compute_to_revenue_next", "Compute-to-revenue exchange rate, next 12 months", "multiple", "scalar",
           ref("compute_spend_next") / ref("revenue_next"),
           "Compute spend per unit of revenue over the next 12 months."),
    metric("operating_cash_outflow_next_{ccy}", "Net operating cash outflow, next 12 months", "{CCY}/year",
           "scalar",
           _annualised("operating_cash_outflow_{ccy}")
           + (ref("compute_spend_next") - _annualised("compute_spend_{ccy}"))
           - (ref("revenue_next") - revenue_now),
           "The latest annualised outflow, plus the extra compute spend, less the extra revenue (collected "
           "in cash); other costs held flat."),
    metric("monthly_burn_next", "Monthly cash burn, next 12 months", "{CCY}/month", "scalar",
           ref("operating_cash_outflow_next_{ccy}") / MONTHS_PER_YEAR, "Next-12-month outflow ÷ 12."),
    metric("runway_months_next", "Cash runway at the next-12-month burn", "months", "scalar",
           call("IF", compare(">", ref("monthly_burn_next"), 0), latest("cash_{ccy}") / ref("monthly_burn_next"),
                ref("runway_cap_months")),
           "Cash at the latest balance date ÷ next-12-month monthly burn; the cap input where the year "
           "generates cash instead."),
]
