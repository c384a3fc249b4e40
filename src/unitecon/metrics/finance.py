"""Margins, losses and cash: gross margin by segment, S&D intensity, cumulative loss, burn and runway."""

from __future__ import annotations

from ..expr import MONTHS_PER_YEAR, PERIOD_MONTHS, at, latest, ref, total
from . import Metric, in_section

metric = in_section("Margins and cash")


def metrics(ccy: str) -> list[Metric]:
    c = ccy.upper()
    revenue = ref(f"revenue_{ccy}")
    out = [
        metric(f"revenue_annualised_{ccy}", "Revenue, annualised (run-rate)", f"{c}/year", "period",
               revenue / ref(PERIOD_MONTHS) * MONTHS_PER_YEAR,
               "Revenue per month times 12: a simple run-rate that ignores seasonality."),
        metric(f"gross_profit_{ccy}", "Gross profit", c, "period", revenue * ref("gross_margin"),
               "Revenue times the reported gross margin."),
        metric("ai_native_revenue_share", "AI-native share of revenue", "ratio", "period",
               ref("ai_native_revenue_usd") / ref("revenue_usd"), "AI-native product revenue ÷ total revenue."),
        metric("ai_native_gross_profit_usd", "AI-native gross profit", "USD", "period",
               ref("ai_native_revenue_usd") * ref("ai_native_gross_margin"),
               "AI-native revenue times its segment gross margin."),
        metric("b2b_gross_profit_usd", "Open platform gross profit", "USD", "period",
               ref("b2b_revenue_usd") * ref("b2b_gross_margin"),
               "Open platform revenue times its segment gross margin."),
        metric(f"on_prem_revenue_{ccy}", "On-premise deployment revenue", c, "period",
               revenue * ref("on_prem_revenue_share"), "Revenue times the on-premise share."),
        metric(f"cloud_revenue_{ccy}", "Cloud (MaaS / API) revenue", c, "period",
               revenue - ref(f"on_prem_revenue_{ccy}"), "Revenue not from on-premise deployment."),
        metric(f"on_prem_gross_profit_{ccy}", "On-premise gross profit", c, "period",
               ref(f"on_prem_revenue_{ccy}") * ref("on_prem_gross_margin"),
               "On-premise revenue times the on-premise gross margin."),
        metric(f"cloud_gross_profit_{ccy}", "Cloud (MaaS / API) gross profit", c, "period",
               ref(f"cloud_revenue_{ccy}") * ref("cloud_gross_margin"),
               "Cloud revenue times the cloud gross margin."),
        metric("sd_to_revenue", "Selling & distribution as % of revenue", "ratio", "period",
               ref(f"sd_expense_{ccy}") / revenue, "S&D expense divided by revenue."),
        metric("net_loss_margin", "Net loss as multiple of revenue", "multiple", "period",
               ref(f"net_loss_{ccy}") / revenue, "Net loss (positive = loss) divided by revenue."),
        metric("adjusted_loss_margin", "Adjusted (non-IFRS) loss as multiple of revenue", "multiple", "period",
               ref(f"adjusted_net_loss_{ccy}") / revenue, "Adjusted loss divided by revenue."),
        metric(f"cumulative_net_loss_{ccy}", "Cumulative net loss, all periods", c, "scalar",
               total(f"net_loss_{ccy}"), "Sum of net losses over every period on the time axis."),
        metric(f"monthly_burn_{ccy}", "Monthly cash burn (operating outflow ÷ months)", f"{c}/month", "period",
               ref(f"operating_cash_outflow_{ccy}") / ref(PERIOD_MONTHS),
               "Net operating cash outflow in the period divided by its months."),
        metric("runway_months", "Cash runway at period end", "months", "period",
               ref(f"cash_{ccy}") / ref(f"monthly_burn_{ccy}"),
               "Cash at the period end divided by the period's monthly burn."),
        metric("runway_months_reported_burn", "Cash runway at the reported monthly burn", "months", "scalar",
               latest(f"cash_{ccy}") / ref(f"monthly_burn_reported_{ccy}"),
               "Cash at the latest balance date divided by the monthly burn the documents report."),
        metric("revenue_cagr_2022_2024", "Revenue CAGR 2022–2024", "ratio", "scalar",
               (at(f"revenue_{ccy}", "FY2024") / at(f"revenue_{ccy}", "FY2022"))
               ** (MONTHS_PER_YEAR / (at(PERIOD_MONTHS, "FY2023") + at(PERIOD_MONTHS, "FY2024"))) - 1,
               "Compound annual growth of revenue from FY2022 to FY2024 over the months between them."),
    ]
    if ccy == "usd":
        market_cap = ref("market_cap_hkd") / ref("hkd_per_usd")
    else:
        market_cap = ref("market_cap_hkd") / ref("hkd_per_usd") * ref("usd_cny")
        out.append(metric("revenue_usd", "Revenue in USD", "USD", "period", revenue / ref("usd_cny"),
                          "Revenue converted at the cited USD/CNY rate."))
    out += [
        metric(f"market_cap_{ccy}", "Market capitalisation at listing", c, "scalar", market_cap,
               "Market capitalisation in HKD converted to the reporting currency."),
        metric("price_to_sales", "Market cap ÷ latest annualised revenue", "multiple", "scalar",
               ref(f"market_cap_{ccy}") / latest(f"revenue_annualised_{ccy}"),
               "Market capitalisation at listing over the latest period's annualised revenue."),
    ]
    return out
