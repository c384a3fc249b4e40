"""Growth between comparable periods: year on year, run-rate on run-rate, ARR on ARR, and the CAGR."""

from __future__ import annotations

from ..expr import FIRST_YEAR, LAST_YEAR, MONTHS_PER_YEAR, PERIOD_MONTHS, Span, at, call, previous, prior_year, ref
from . import Metric, in_section

SECTION = "Growth"
metric = in_section(SECTION)

METRICS: list[Metric] = [
    metric("revenue_growth_yoy", "Revenue growth, year on year", "ratio", "period",
           ref("revenue_{ccy}") / prior_year("revenue_{ccy}") - 1,
           "Revenue over revenue in the period of the same length one year earlier, minus 1."),
    metric("revenue_run_rate_growth", "Annualised revenue growth over the previous period", "ratio", "period",
           ref("revenue_annualised_{ccy}") / previous("revenue_annualised_{ccy}") - 1,
           "Run-rate (revenue per month × 12) over the run-rate of the period just before, minus 1: compares "
           "periods of different lengths."),
    metric("arr_growth", "ARR growth over the previous period end", "ratio", "period",
           ref("arr_{ccy}") / previous("arr_{ccy}") - 1,
           "Annualised run-rate at the period end over the run-rate at the end of the period just before, "
           "minus 1."),
    metric("revenue_cagr", "Revenue CAGR, first to last full year", "ratio", "scalar",
           (at("revenue_{ccy}", LAST_YEAR) / at("revenue_{ccy}", FIRST_YEAR))
           ** (MONTHS_PER_YEAR / (call("SUM", Span(PERIOD_MONTHS, FIRST_YEAR, LAST_YEAR))
                                  - at(PERIOD_MONTHS, FIRST_YEAR))) - 1,
           "Compound annual growth of revenue from the first to the last 12-month period with revenue, over "
           "the months between their ends (the periods between them must follow one another)."),
]
