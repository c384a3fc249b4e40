"""Revenue, margins, losses and cash: gross profit, S&D intensity, cumulative loss, burn, runway, valuation."""

from __future__ import annotations

from ..expr import MONTHS_PER_YEAR, PERIOD_MONTHS, convert, latest, ref, total
from . import Input, Metric, in_section

SECTION = "Margins and cash"
metric = in_section(SECTION)
in_currency = in_section(SECTION, over=("fx",))
listed = in_section(SECTION, over=("listing",))

INPUTS: list[Input] = [
    Input("revenue_{ccy}", "Revenue", "{CCY}", "flow", "period", "Revenue in the period.", "Revenue"),
    Input("arr_{ccy}", "Annualised revenue run-rate (ARR) at the period end", "{CCY}", "balance", "period",
          "Annualised recurring revenue at the period end, as the company or the press states it.", "Revenue"),
    Input("customers", "Paying customers at the period end", "count", "balance", "period",
          "Business customers served at the period end (for revenue per customer).", "Revenue"),
    Input("gross_margin", "Gross margin", "ratio", "rate", "period", "Gross profit ÷ revenue.", SECTION),
    Input("sd_expense_{ccy}", "Selling and distribution expense", "{CCY}", "flow", "period",
          "Selling, marketing and distribution expense in the period.", SECTION),
    Input("net_loss_{ccy}", "Net loss", "{CCY}", "flow", "period", "Net loss (positive = loss).", SECTION),
    Input("adjusted_net_loss_{ccy}", "Adjusted (non-IFRS / non-GAAP) net loss", "{CCY}", "flow", "period",
          "Adjusted loss as the company defines it (positive = loss).", SECTION),
    Input("cash_{ccy}", "Cash and cash equivalents at the period end", "{CCY}", "balance", "period",
          "Cash at the balance date.", SECTION),
    Input("operating_cash_outflow_{ccy}", "Net cash outflow from operating activities", "{CCY}", "flow", "period",
          "Operating cash outflow in the period (positive = outflow).", SECTION),
    Input("monthly_burn_reported_{ccy}", "Monthly cash burn, as reported", "{CCY}/month", "flow", "scalar",
          "A monthly burn the documents state.", SECTION),
    Input("market_cap_{cur}", "Market capitalisation", "<currency>", "balance", "scalar",
          "Market value in any currency (e.g. market_cap_hkd at a Hong Kong listing); converted to the "
          "reporting currency through the file's exchange-rate inputs.", "Valuation"),
]

METRICS: list[Metric] = [
    metric("revenue_annualised_{ccy}", "Revenue, annualised (run-rate)", "{CCY}/year", "period",
           ref("revenue_{ccy}") / ref(PERIOD_MONTHS) * MONTHS_PER_YEAR,
           "Revenue per month times 12: a simple run-rate that ignores seasonality."),
    in_currency("revenue_{fx}", "Revenue in {fx.code}", "{fx.code}", "period",
                convert(ref("revenue_{ccy}"), "{CCY}", "{fx.code}"),
                "Revenue converted at the cited exchange rate."),
    metric("revenue_per_customer_{ccy}", "Revenue per customer", "{CCY}/customer", "period",
           ref("revenue_{ccy}") / ref("customers"),
           "Revenue in the period divided by the customers served at the period end."),
    metric("revenue_per_customer_annualised_{ccy}", "Revenue per customer, annualised", "{CCY}/customer/year",
           "period", ref("revenue_per_customer_{ccy}") / ref(PERIOD_MONTHS) * MONTHS_PER_YEAR,
           "Per-customer revenue per month times 12."),
    metric("gross_profit_{ccy}", "Gross profit", "{CCY}", "period", ref("revenue_{ccy}") * ref("gross_margin"),
           "Revenue times the reported gross margin."),
    metric("sd_to_revenue", "Selling & distribution as % of revenue", "ratio", "period",
           ref("sd_expense_{ccy}") / ref("revenue_{ccy}"), "S&D expense divided by revenue."),
    metric("net_loss_margin", "Net loss as multiple of revenue", "multiple", "period",
           ref("net_loss_{ccy}") / ref("revenue_{ccy}"), "Net loss (positive = loss) divided by revenue."),
    metric("adjusted_loss_margin", "Adjusted (non-IFRS) loss as multiple of revenue", "multiple", "period",
           ref("adjusted_net_loss_{ccy}") / ref("revenue_{ccy}"), "Adjusted loss divided by revenue."),
    metric("cumulative_net_loss_{ccy}", "Cumulative net loss, the periods given", "{CCY}", "scalar",
           total("net_loss_{ccy}"), "Sum of the net losses the file gives, period by period (overlays left out)."),
    metric("monthly_burn_{ccy}", "Monthly cash burn (operating outflow ÷ months)", "{CCY}/month", "period",
           ref("operating_cash_outflow_{ccy}") / ref(PERIOD_MONTHS),
           "Net operating cash outflow in the period divided by its months."),
    metric("runway_months", "Cash runway at period end", "months", "period",
           ref("cash_{ccy}") / ref("monthly_burn_{ccy}"),
           "Cash at the period end divided by the period's monthly burn."),
    metric("runway_months_reported_burn", "Cash runway at the reported monthly burn", "months", "scalar",
           latest("cash_{ccy}") / ref("monthly_burn_reported_{ccy}"),
           "Cash at the latest balance date divided by the monthly burn the documents report."),
    listed("market_cap_{ccy}", "Market capitalisation", "{CCY}", "scalar",
           convert(ref("{listing.input}"), "{listing.currency}", "{CCY}"),
           "Market capitalisation converted to the reporting currency at the cited exchange rates."),
    metric("price_to_sales", "Market cap ÷ latest annualised revenue", "multiple", "scalar",
           ref("market_cap_{ccy}") / latest("revenue_annualised_{ccy}"),
           "Market capitalisation over the latest period's annualised revenue."),
]
