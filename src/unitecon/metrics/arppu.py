"""ARPPU (average revenue per paying user) by consumer product line."""

from __future__ import annotations

from ..expr import MONTHS_PER_YEAR, PERIOD_MONTHS, ref
from . import Metric, in_section

metric = in_section("ARPPU by product line")

#: product key -> (label, revenue series, paying-user series)
PRODUCTS = {
    "hailuo": ("Hailuo AI (video)", "hailuo_revenue_usd", "hailuo_paying_users"),
    "talkie": ("Talkie / Xingye (companion)", "talkie_revenue_usd", "talkie_paying_users"),
    "llm_app": ("MiniMax app + voice (LLM app)", "other_ai_native_revenue_usd", "llm_app_paying_users"),
    "ai_native": ("AI-native products, total", "ai_native_revenue_usd", "ai_native_paying_users"),
}


def metrics(ccy: str) -> list[Metric]:
    out = [
        metric(
            "other_ai_native_revenue_usd",
            "MiniMax app + voice revenue (residual)",
            "USD",
            "period",
            ref("ai_native_revenue_usd") - ref("hailuo_revenue_usd") - ref("talkie_revenue_usd"),
            "AI-native revenue not attributed to Hailuo or Talkie: the MiniMax app and MiniMax voice. "
            "Used as the LLM app's revenue; it overstates the app by whatever voice earns.",
        )
    ]
    for key, (label, revenue, users) in PRODUCTS.items():
        arppu = f"{key}_arppu_usd"
        monthly = f"{key}_arppu_monthly_usd"
        annual = f"{key}_arppu_annualised_usd"
        out += [
            metric(arppu, f"{label}: ARPPU for the period", "USD/user", "period",
                   ref(revenue) / ref(users),
                   f"{label} revenue in the period divided by its paying users."),
            metric(monthly, f"{label}: ARPPU per month", "USD/user/month", "period",
                   ref(arppu) / ref(PERIOD_MONTHS),
                   "Period ARPPU divided by the months in the period."),
            metric(annual, f"{label}: ARPPU annualised", "USD/user/year", "period",
                   ref(monthly) * MONTHS_PER_YEAR,
                   "Monthly ARPPU times 12."),
            metric(f"{key}_arppu_cny", f"{label}: ARPPU for the period (CNY)", "CNY/user", "period",
                   ref(arppu) * ref("usd_cny"),
                   "Period ARPPU converted at the cited USD/CNY rate."),
            metric(f"{key}_arppu_annualised_cny", f"{label}: ARPPU annualised (CNY)", "CNY/user/year", "period",
                   ref(annual) * ref("usd_cny"),
                   "Annualised ARPPU converted at the cited USD/CNY rate."),
        ]
    for key in ("hailuo", "ai_native"):
        label = PRODUCTS[key][0]
        out.append(
            metric(f"{key}_arppu_variance", f"{label}: computed vs company-reported ARPPU", "ratio", "period",
                   ref(f"{key}_arppu_usd") / ref(f"{key}_arppu_reported_usd") - 1,
                   "How far revenue ÷ paying users lies from the ARPPU the company reports (0% = agrees).")
        )
    for key in ("hailuo", "talkie", "llm_app"):
        label = PRODUCTS[key][0]
        out.append(
            metric(f"{key}_arppu_press_variance", f"{label}: annualised ARPPU vs press estimate", "ratio",
                   "period", ref(f"{key}_arppu_annualised_cny") / ref(f"{key}_arppu_press_cny") - 1,
                   "How far the annualised CNY ARPPU lies from the journalist's per-user-per-year figure.")
        )
    return out
