"""The compute-to-revenue "exchange rate": compute spend per unit of revenue."""

from __future__ import annotations

from ..expr import ref, reported_else
from . import Metric, in_section

metric = in_section("Compute-to-revenue exchange rate")


def metrics(ccy: str) -> list[Metric]:
    c = ccy.upper()
    return [
        metric(f"compute_spend_{ccy}", "Compute spend in R&D (reported, else R&D × compute share)", c, "period",
               reported_else(f"compute_spend_reported_{ccy}", ref(f"rd_expense_{ccy}") * ref("compute_share_of_rd")),
               "The compute cost the prospectus reports where it gives one; otherwise R&D expense times the "
               "share of R&D paid to compute vendors. Compute inside cost of revenue is not included."),
        metric("compute_share_of_rd_used", "Compute share of R&D (used)", "ratio", "period",
               ref(f"compute_spend_{ccy}") / ref(f"rd_expense_{ccy}"),
               "Compute spend divided by R&D: the cited share, or the share a reported compute figure implies."),
        metric("compute_to_revenue", "Compute-to-revenue exchange rate", "multiple", "period",
               ref(f"compute_spend_{ccy}") / ref(f"revenue_{ccy}"),
               "Compute spend per unit of revenue: the press's '3 yuan of compute for every yuan earned'."),
        metric("revenue_per_compute", "Revenue per unit of compute (inverse)", "multiple", "period",
               ref(f"revenue_{ccy}") / ref(f"compute_spend_{ccy}"),
               "Revenue earned per unit of compute spend: the inverse exchange rate."),
        metric("rd_to_revenue", "R&D as multiple of revenue", "multiple", "period",
               ref(f"rd_expense_{ccy}") / ref(f"revenue_{ccy}"),
               "R&D expense divided by revenue."),
    ]
