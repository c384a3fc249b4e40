"""What the Cover's first paragraph says a workbook holds, declared once: for each declaration (its name
pattern) the workbook built, a phrase, in this order; a phrase said twice is said once. ``{products}`` is
the number of product lines the inputs file declares. Every pattern must be a metric of the catalogue
(checked when it loads)."""

from __future__ import annotations

HIGHLIGHTS: tuple[tuple[str, str], ...] = (
    ("{product}_arppu_{ccy}", "ARPPU for {products} product line(s)"),
    ("{segment}_revenue_share", "revenue by segment"),
    ("{segment}_revenue_per_customer_{ccy}", "revenue per customer"),
    ("revenue_per_customer_{ccy}", "revenue per customer"),
    ("compute_to_revenue", "the compute-to-revenue exchange rate"),
    ("revenue_growth_yoy", "growth"),
    ("arr_growth", "growth of the annualised run-rate"),
    ("runway_months", "burn and runway"),
)
