"""What the peers workbook compares across companies, declared once: each metric, its label, and whether it
is an amount (shown in USD); the headline metric and the Summary section its per-company values make."""

from __future__ import annotations

from dataclasses import dataclass

HEADLINE = "compute_to_revenue"
HEADLINE_SECTION = "Compute-to-revenue exchange rate by company (headline period)"


@dataclass(frozen=True)
class Compared:
    """A metric compared across companies: its name in a company model, and whether it is an amount."""

    pattern: str  # {ccy}: the company's reporting currency
    label: str
    amount: bool = False  # shown in USD, converted where the company reports in another currency


#: What the peers workbook compares, in Summary order.
COMPARED = (
    Compared("compute_to_revenue", "Compute-to-revenue exchange rate (compute spend ÷ revenue)"),
    Compared("compute_spend_{ccy}", "Compute spend, USD", amount=True),
    Compared("revenue_{ccy}", "Revenue, USD", amount=True),
    Compared("revenue_growth_yoy", "Revenue growth, year on year"),
    Compared("revenue_run_rate_growth", "Annualised revenue growth over the previous period"),
    Compared("arr_{ccy}", "Annualised run-rate (ARR), USD", amount=True),
    Compared("arr_growth", "ARR growth over the previous period end"),
    Compared("rd_to_revenue", "R&D ÷ revenue"),
    Compared("gross_margin", "Gross margin"),
    Compared("compute_margin", "Compute margin (paying users' revenue left after serving compute)"),
    Compared("serving_compute_to_revenue", "Serving compute ÷ paying users' revenue (1 − compute margin)"),
    Compared("net_loss_{ccy}", "Net loss, USD", amount=True),
    Compared("runway_months", "Cash runway at the period end (months)"),
)
