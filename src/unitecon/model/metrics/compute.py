"""The compute-to-revenue "exchange rate": compute spend per unit of revenue, and the compute margin."""

from __future__ import annotations

from ..expr import ONE, ref, reported_else
from . import Input, Metric, in_section

SECTION = "Compute-to-revenue exchange rate"
metric = in_section(SECTION)

INPUTS: list[Input] = [
    Input("rd_expense_{ccy}", "Research and development expense", "{CCY}", "flow", "period",
          "R&D expense in the period.", SECTION),
    Input("compute_spend_reported_{ccy}", "Compute spend, as reported", "{CCY}", "flow", "period",
          "A compute cost the documents give directly (used instead of R&D × compute share where given).",
          SECTION),
    Input("compute_share_of_rd", "Compute (paid to compute vendors) share of R&D", "ratio", "rate", "period",
          "The share of R&D spent on compute, for the estimate R&D × share.", SECTION),
    Input("compute_margin", "Compute margin (paying users' revenue left after serving compute)", "ratio", "rate",
          "period", "The share of paying users' revenue left after the compute that serves them.", SECTION),
    Input("tokens_per_minute", "Tokens processed per minute", "tokens/minute", "rate", "scalar",
          "A token volume given per minute (e.g. API calls).", SECTION),
    Input("tokens_per_day_reported", "Tokens processed per day, as reported", "tokens/day", "rate", "scalar",
          "A daily token volume the documents give directly.", SECTION),
]

METRICS: list[Metric] = [
    metric("compute_spend_{ccy}", "Compute spend (reported, else R&D × compute share)", "{CCY}", "period",
           reported_else("compute_spend_reported_{ccy}", ref("rd_expense_{ccy}") * ref("compute_share_of_rd")),
           "The compute cost the documents report where they give one; otherwise R&D expense times the share "
           "of R&D paid to compute vendors. Each period uses what it has."),
    metric("compute_share_of_rd_used", "Compute share of R&D (used)", "ratio", "period",
           ref("compute_spend_{ccy}") / ref("rd_expense_{ccy}"),
           "Compute spend divided by R&D: the cited share, or the share a reported compute figure implies."),
    metric("compute_to_revenue", "Compute-to-revenue exchange rate", "multiple", "period",
           ref("compute_spend_{ccy}") / ref("revenue_{ccy}"),
           "Compute spend per unit of revenue: the press's '3 yuan of compute for every yuan earned'."),
    metric("revenue_per_compute", "Revenue per unit of compute (inverse)", "multiple", "period",
           ref("revenue_{ccy}") / ref("compute_spend_{ccy}"),
           "Revenue earned per unit of compute spend: the inverse exchange rate."),
    metric("rd_to_revenue", "R&D as multiple of revenue", "multiple", "period",
           ref("rd_expense_{ccy}") / ref("revenue_{ccy}"),
           "R&D expense divided by revenue."),
    metric("serving_compute_to_revenue", "Serving compute per unit of paying users' revenue (1 − compute margin)",
           "ratio", "period", ONE - ref("compute_margin"),
           "The compute cost of serving paying users per unit of their revenue: what the compute margin leaves."),
    metric("tokens_per_day", "Tokens processed per day", "tokens/day", "scalar",
           reported_else("tokens_per_day_reported", ref("tokens_per_minute") * 60 * 24),
           "The daily volume the documents report, else the per-minute volume times 60 × 24."),
]
