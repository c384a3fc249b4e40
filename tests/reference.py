"""Independent reference computation of the unitecon metrics (SPEC section 3).

Reads an inputs YAML with plain ``ruamel.yaml`` and computes every metric with
pandas row arithmetic. It deliberately imports nothing from ``unitecon``: the
tests compare the engine's workbook against this file, so a wrong metric
declaration in the engine shows up as a mismatch.

Frame layout: rows = input keys and metric names, columns = period ids plus
``"scalar"``. Period rows have NaN in ``"scalar"``; scalar rows have NaN in the
period columns. Alternatives are ignored (the model uses the primary value).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from ruamel.yaml import YAML

SCALAR = "scalar"
NAN = float("nan")


@dataclass
class Reference:
    """Inputs and metrics of one model, computed independently of the engine."""

    model: str
    currency: str
    periods: list[str]
    months: dict[str, int]
    values: pd.DataFrame
    customers: pd.DataFrame | None = None  # one row per customer, largest first, when a ledger is given

    def get(self, name: str, period: str | None = None) -> float:
        """Value of ``name`` in ``period`` (None -> the scalar column); KeyError if absent/NaN."""
        column = SCALAR if period is None else period
        if name not in self.values.index or column not in self.values.columns:
            raise KeyError(f"{name}[{column}]")
        value = float(self.values.at[name, column])
        if np.isnan(value):
            raise KeyError(f"{name}[{column}] is undefined")
        return value


def read_inputs(path: Path, scenario: str | None = None) -> tuple[dict, pd.DataFrame]:
    """Load the YAML into a plain dict and a frame of its input values: the primary ones, or under
    ``scenario`` each input's value for that scenario where it gives one."""
    doc = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    periods = [str(p) for p in doc["periods"]]

    def pick(entry: dict) -> float:
        given = entry.get("scenarios") or {}
        return float(given[scenario]) if scenario in given else float(entry["value"])

    df = pd.DataFrame(index=pd.Index([], dtype=object), columns=[*periods, SCALAR], dtype=float)
    for key, spec in doc["inputs"].items():
        df.loc[key] = NAN
        if spec["grain"] == "scalar":
            df.loc[key, SCALAR] = pick(spec)
        else:
            for period, entry in spec["values"].items():
                df.loc[key, str(period)] = pick(entry)
    return doc, df


def compute_metrics(df: pd.DataFrame, periods: list[str], months: pd.Series, ccy: str) -> pd.DataFrame:
    """Add every SPEC section 3 metric (and the Checks figures) whose inputs exist in ``df``."""

    def has(*names: str) -> bool:
        return all(name in df.index for name in names)

    def row(name: str) -> pd.Series:
        """Period values of ``name`` (Series indexed by period id)."""
        return df.loc[name, periods].astype(float)

    def scalar(name: str) -> float:
        return float(df.at[name, SCALAR])

    def set_row(name: str, values: pd.Series) -> None:
        df.loc[name] = NAN
        df.loc[name, periods] = values.astype(float)

    def set_scalar(name: str, value: float) -> None:
        df.loc[name] = NAN
        df.loc[name, SCALAR] = float(value)

    last = periods[-1]
    revenue = f"revenue_{ccy}"
    rd = f"rd_expense_{ccy}"
    sd = f"sd_expense_{ccy}"
    net_loss = f"net_loss_{ccy}"
    cash = f"cash_{ccy}"
    ocf = f"operating_cash_outflow_{ccy}"
    compute = f"compute_spend_{ccy}"
    burn = f"monthly_burn_{ccy}"
    annualised = f"revenue_annualised_{ccy}"
    market_cap = f"market_cap_{ccy}"

    # ---- Common metrics ------------------------------------------------------------------
    # compute spend: the prospectus' own compute figure where it gives one, else R&D x cited compute share
    estimate = row(rd) * row("compute_share_of_rd") if has(rd, "compute_share_of_rd") else None
    reported = row(f"compute_spend_reported_{ccy}") if has(f"compute_spend_reported_{ccy}") else None
    if estimate is not None or reported is not None:
        if reported is None:
            set_row(compute, estimate)
        elif estimate is None:
            set_row(compute, reported)
        else:
            set_row(compute, reported.combine_first(estimate))
    if has(compute, rd):
        set_row("compute_share_of_rd_used", row(compute) / row(rd))
    if has(compute, revenue):
        set_row("compute_to_revenue", row(compute) / row(revenue))
        set_row("revenue_per_compute", row(revenue) / row(compute))
    if has(sd, revenue):
        set_row("sd_to_revenue", row(sd) / row(revenue))
    if has(rd, revenue):
        set_row("rd_to_revenue", row(rd) / row(revenue))
    if has(net_loss, revenue):
        set_row("net_loss_margin", row(net_loss) / row(revenue))
    if has(f"adjusted_net_loss_{ccy}", revenue):
        set_row("adjusted_loss_margin", row(f"adjusted_net_loss_{ccy}") / row(revenue))
    if has(revenue, "gross_margin"):
        set_row(f"gross_profit_{ccy}", row(revenue) * row("gross_margin"))
    if has(net_loss):
        set_scalar(f"cumulative_net_loss_{ccy}", row(net_loss).sum(min_count=1))
    if has(ocf):
        set_row(burn, row(ocf) / months)
    if has(cash, burn):
        set_row("runway_months", row(cash) / row(burn))
    if has(cash, f"monthly_burn_reported_{ccy}"):
        set_scalar("runway_months_reported_burn", row(cash)[last] / scalar(f"monthly_burn_reported_{ccy}"))
    if has(revenue):
        set_row(annualised, row(revenue) / months * 12)
    if has("market_cap_hkd", "hkd_per_usd"):
        if ccy == "usd":
            set_scalar(market_cap, scalar("market_cap_hkd") / scalar("hkd_per_usd"))
        elif has("usd_cny"):
            set_scalar(market_cap, scalar("market_cap_hkd") / scalar("hkd_per_usd") * scalar("usd_cny"))
    if has(market_cap, annualised):
        set_scalar("price_to_sales", scalar(market_cap) / row(annualised)[last])

    # ---- MiniMax only --------------------------------------------------------------------
    if has("revenue_usd", "b2b_revenue_share"):
        set_row("b2b_revenue_usd", row("revenue_usd") * row("b2b_revenue_share"))
    if has("b2b_revenue_usd", "b2b_customers"):
        set_row("b2b_revenue_per_customer_usd", row("b2b_revenue_usd") / row("b2b_customers"))
        set_row(
            "b2b_revenue_per_customer_annualised_usd",
            row("b2b_revenue_per_customer_usd") / months * 12,
        )
    if has("b2b_revenue_usd", "b2b_gross_margin"):
        set_row("b2b_gross_profit_usd", row("b2b_revenue_usd") * row("b2b_gross_margin"))
    if has("ai_native_revenue_usd", "ai_native_gross_margin"):
        set_row("ai_native_gross_profit_usd", row("ai_native_revenue_usd") * row("ai_native_gross_margin"))
    if has("ai_native_revenue_usd", "revenue_usd"):
        set_row("ai_native_revenue_share", row("ai_native_revenue_usd") / row("revenue_usd"))
    if has("ai_native_revenue_usd", "hailuo_revenue_usd", "talkie_revenue_usd"):
        set_row(
            "other_ai_native_revenue_usd",
            row("ai_native_revenue_usd") - row("hailuo_revenue_usd") - row("talkie_revenue_usd"),
        )

    products = {  # product -> (revenue row, paying-users row)
        "hailuo": ("hailuo_revenue_usd", "hailuo_paying_users"),
        "talkie": ("talkie_revenue_usd", "talkie_paying_users"),
        "ai_native": ("ai_native_revenue_usd", "ai_native_paying_users"),
        "llm_app": ("other_ai_native_revenue_usd", "llm_app_paying_users"),
    }
    for product, (product_revenue, users) in products.items():
        if not has(product_revenue, users):
            continue
        set_row(f"{product}_arppu_usd", row(product_revenue) / row(users))
        set_row(f"{product}_arppu_monthly_usd", row(f"{product}_arppu_usd") / months)
        set_row(f"{product}_arppu_annualised_usd", row(f"{product}_arppu_monthly_usd") * 12)
        if has("usd_cny"):
            set_row(f"{product}_arppu_cny", row(f"{product}_arppu_usd") * scalar("usd_cny"))
            set_row(
                f"{product}_arppu_annualised_cny",
                row(f"{product}_arppu_annualised_usd") * scalar("usd_cny"),
            )

    if has("hailuo_arppu_usd", "hailuo_arppu_reported_usd"):
        set_row("hailuo_arppu_variance", row("hailuo_arppu_usd") / row("hailuo_arppu_reported_usd") - 1)
    if has("ai_native_arppu_usd", "ai_native_arppu_reported_usd"):
        set_row(
            "ai_native_arppu_variance",
            row("ai_native_arppu_usd") / row("ai_native_arppu_reported_usd") - 1,
        )

    # the journalist's per-user / per-customer yearly figures against the annualised computed ones
    for product in ("hailuo", "talkie", "llm_app"):
        if has(f"{product}_arppu_annualised_cny", f"{product}_arppu_press_cny"):
            annual_cny = row(f"{product}_arppu_annualised_cny")
            set_row(f"{product}_arppu_press_variance", annual_cny / scalar(f"{product}_arppu_press_cny") - 1)
    if has("b2b_revenue_per_customer_annualised_usd", "b2b_revenue_per_customer_press_usd"):
        annual_usd = row("b2b_revenue_per_customer_annualised_usd")
        set_row("b2b_revenue_per_customer_press_variance",
                annual_usd / scalar("b2b_revenue_per_customer_press_usd") - 1)

    # MiniMax reconciliation figures (Checks sheet)
    if has("ai_native_revenue_usd", "b2b_revenue_usd"):
        set_row("segment_sum_usd", row("ai_native_revenue_usd") + row("b2b_revenue_usd"))
    if has("ai_native_revenue_share", "ai_native_gross_margin", "b2b_revenue_share", "b2b_gross_margin"):
        set_row(
            "blended_gross_margin",
            row("ai_native_revenue_share") * row("ai_native_gross_margin")
            + row("b2b_revenue_share") * row("b2b_gross_margin"),
        )
    if has("hailuo_paying_users", "hailuo_arppu_reported_usd"):
        set_row("hailuo_revenue_implied_usd", row("hailuo_paying_users") * row("hailuo_arppu_reported_usd"))
    if has("ai_native_paying_users", "ai_native_arppu_reported_usd"):
        set_row(
            "ai_native_revenue_implied_usd",
            row("ai_native_paying_users") * row("ai_native_arppu_reported_usd"),
        )
    if has("b2b_customers", "b2b_revenue_per_customer_press_usd"):
        set_row(
            "b2b_revenue_implied_annual_usd",
            row("b2b_customers") * scalar("b2b_revenue_per_customer_press_usd"),
        )
    if has("b2b_revenue_usd"):
        set_row("b2b_revenue_annualised_usd", row("b2b_revenue_usd") / months * 12)

    # ---- Zhipu only ----------------------------------------------------------------------
    if has("revenue_cny", "institutions"):
        set_row("revenue_per_customer_cny", row("revenue_cny") / row("institutions"))
        set_row("revenue_per_customer_annualised_cny", row("revenue_per_customer_cny") / months * 12)
    if has("revenue_cny") and {"FY2022", "FY2023", "FY2024"} <= set(periods):
        growth = row("revenue_cny")["FY2024"] / row("revenue_cny")["FY2022"]
        years = (months["FY2023"] + months["FY2024"]) / 12
        set_scalar("revenue_cagr_2022_2024", growth ** (1 / years) - 1)
    if has("revenue_cny", "on_prem_revenue_share"):
        set_row("on_prem_revenue_cny", row("revenue_cny") * row("on_prem_revenue_share"))
        set_row("cloud_revenue_cny", row("revenue_cny") - row("on_prem_revenue_cny"))
    if has("on_prem_revenue_cny", "on_prem_gross_margin"):
        set_row("on_prem_gross_profit_cny", row("on_prem_revenue_cny") * row("on_prem_gross_margin"))
    if has("cloud_revenue_cny", "cloud_gross_margin"):
        set_row("cloud_gross_profit_cny", row("cloud_revenue_cny") * row("cloud_gross_margin"))
    if has("revenue_cny", "usd_cny"):
        set_row("revenue_usd", row("revenue_cny") / scalar("usd_cny"))

    # Zhipu reconciliation figure (Checks sheet)
    if has("compute_spend_cny", "compute_spend_reported_cny"):
        set_row("compute_spend_check_ratio", row("compute_spend_cny") / row("compute_spend_reported_cny"))

    return df


def load_reference(path: str | Path, scenario: str | None = None, overrides: dict[str, float] | None = None
                   ) -> Reference:
    """Read an inputs YAML (under ``scenario``, with scalar inputs in ``overrides`` replaced) and compute its
    inputs + metrics frame."""
    doc, df = read_inputs(Path(path), scenario)
    for key, value in (overrides or {}).items():
        df.loc[key, SCALAR] = value
    periods = [str(p) for p in doc["periods"]]
    months = {str(p): int(spec["months"]) for p, spec in doc["periods"].items()}
    ccy = str(doc["currency"]).lower()
    df = compute_metrics(df, periods, pd.Series(months, dtype=float), ccy)
    if doc.get("forward"):
        compute_forward(df, doc["forward"], months, ccy)
    customers = None
    if doc.get("ledger"):
        customers = compute_customers(df, doc, Path(path).parent, periods)
    # Division by zero -> NaN; metrics that are undefined everywhere are absent.
    df = df.astype(float).replace([np.inf, -np.inf], np.nan).dropna(how="all")
    return Reference(model=str(doc["model"]), currency=ccy, periods=periods, months=months, values=df,
                     customers=customers)


def compute_customers(df: pd.DataFrame, doc: dict, folder: Path, periods: list[str]) -> pd.DataFrame:
    """Per-customer figures and their summaries from the raw ledger file, added to ``df``.

    Reads the CSV with pandas directly (``#`` lines are the banner) and aggregates with groupby.
    """
    spec = doc["ledger"]
    raw = pd.read_csv(folder / spec["file"], comment="#", dtype={"amount": float}, keep_default_na=False,
                      dtype_backend="numpy_nullable").astype({"amount": float})
    raw["period"] = raw["period"].astype(str).map({str(k): v for k, v in spec["periods"].items()})
    ledger_periods = [p for p in periods if p in set(raw["period"])]
    currency = raw["currency"].iat[0]
    rate = 1.0 if currency == doc["currency"] else float(df.at[spec["fx"][currency], SCALAR])
    amounts = raw.pivot_table(index="customer_id", columns="period", values="amount", aggfunc="sum",
                              fill_value=0.0).reindex(columns=ledger_periods, fill_value=0.0)
    facts = raw.groupby("customer_id")[["segment", "deployment"]].first()
    out = pd.DataFrame(index=amounts.index)
    for p in ledger_periods:
        out[f"revenue_{p}"] = amounts[p] / rate
    out["total"] = out[[f"revenue_{p}" for p in ledger_periods]].sum(axis=1)
    out = out.join(facts).sort_values(["total"], ascending=False, kind="stable")
    grand = out["total"].sum()
    out["share"] = out["total"] / grand
    out["rank"] = np.arange(1, len(out) + 1, dtype=float)
    out["cumulative_share"] = out["share"].cumsum()
    first, last = f"revenue_{ledger_periods[0]}", f"revenue_{ledger_periods[-1]}"
    out["paid_first"] = (out[first] > 0).astype(float)
    out["repeat"] = ((out[first] > 0) & (out[last] > 0)).astype(float)
    if "on_prem_gross_margin" in df.index and "cloud_gross_margin" in df.index:
        on_prem = float(df.loc["on_prem_gross_margin", periods].dropna().iloc[-1])
        cloud = float(df.loc["cloud_gross_margin", periods].dropna().iloc[-1])
        out["gross_margin"] = np.where(out["deployment"] == "on-prem", on_prem, cloud)
        for p in ledger_periods:
            out[f"gross_profit_{p}"] = out[f"revenue_{p}"] * out["gross_margin"]

    def put(name: str, value: float, period: str = SCALAR) -> None:
        if name not in df.index:
            df.loc[name] = NAN
        df.loc[name, period] = value

    n = len(out)
    shares = out["share"].sort_values(ascending=False)
    put("ledger_customers", n)
    put("ledger_total_revenue", grand)
    put("ledger_average_revenue", grand / n)
    put("ledger_median_revenue", float(out["total"].median()))
    put("ledger_top_a_share", float(shares.iloc[: int(df.at["concentration_top_a", SCALAR])].sum()))
    put("ledger_top_b_share", float(shares.iloc[: int(df.at["concentration_top_b", SCALAR])].sum()))
    top = int(np.floor(df.at["concentration_top_fraction", SCALAR] * n + 1e-9))
    put("ledger_top_fraction_share", float(shares.iloc[:top].sum()))
    put("ledger_hhi", float((out["share"] ** 2).sum()))
    put("ledger_repurchase_rate", float(out["repeat"].sum() / out["paid_first"].sum()))
    put("ledger_in_order", 1.0)
    for p in ledger_periods:
        put("ledger_revenue", float(out[f"revenue_{p}"].sum()), p)
        put("ledger_paying_customers", float((out[f"revenue_{p}"] > 0).sum()), p)
    for p in periods:
        reported = spec["reconciles_with"]
        if reported in df.index and not np.isnan(df.at[reported, p]):
            put("ledger_reported_revenue", float(df.at[reported, p]), p)
    for column in ("segment", "deployment"):
        for value, group in out.groupby(column):
            slug = "".join(ch if ch.isalnum() else "_" for ch in str(value).lower()).strip("_")
            put(f"ledger_{column}_revenue_{slug}", float(group["total"].sum()))
            put(f"ledger_{column}_customers_{slug}", float(len(group)))
    return out


if __name__ == "__main__":
    repo = Path(__file__).resolve().parent.parent
    display = (
        *("display.max_rows", None, "display.max_columns", None, "display.width", 200),
        *("display.float_format", "{:,.6g}".format),
    )
    with pd.option_context(*display):
        for name in ("minimax", "zhipu"):
            ref = load_reference(repo / "inputs" / f"{name}.yaml")
            print(f"== {ref.model} ({ref.currency}), months {ref.months}")
            print(ref.values)
            print()


def compute_forward(df: pd.DataFrame, forward: dict, months: dict[str, int], ccy: str) -> None:
    """The next 12 months from each series' own latest period: payers x ARPPU plus other revenue, R&D x
    compute share, and the runway at the resulting burn (other costs flat)."""

    def last(name: str) -> tuple[str, float]:
        series = df.loc[name, list(months)].astype(float).dropna()
        return series.index[-1], float(series.iloc[-1])

    def last_value(name: str) -> float:
        return last(name)[1]

    def per_year(name: str) -> float:
        period, value = last(name)
        return value * 12 / months[period]

    def given(name: str) -> float:
        return float(df.at[name, SCALAR])

    payers_now, arppu_now = last_value(forward["payers"]), last_value(forward["arppu"])
    revenue_now = per_year(f"revenue_{ccy}")
    payers = payers_now * (1 + given("paying_user_growth_next"))
    arppu = arppu_now * (1 + given("arppu_change_next"))
    other = (revenue_now - payers_now * arppu_now) * (1 + given("other_revenue_growth_next"))
    revenue = payers * arppu + other
    compute = per_year(f"rd_expense_{ccy}") * (1 + given("rd_growth_next")) * given("compute_share_of_rd_next")
    outflow = (per_year(f"operating_cash_outflow_{ccy}") + compute - per_year(f"compute_spend_{ccy}")
               - (revenue - revenue_now))
    burn = outflow / 12
    rd = per_year(f"rd_expense_{ccy}") * (1 + given("rd_growth_next"))
    for name, value in {
        f"payer_revenue_next_{ccy}": payers * arppu, f"other_revenue_now_{ccy}": revenue_now - payers_now * arppu_now,
        f"other_revenue_next_{ccy}": other, f"rd_expense_next_{ccy}": rd, f"operating_cash_outflow_next_{ccy}": outflow,
        "payers_next": payers, "arppu_next": arppu, "revenue_next": revenue,
        "revenue_growth_next": revenue / revenue_now - 1, "compute_spend_next": compute,
        "compute_to_revenue_next": compute / revenue, "monthly_burn_next": burn,
        "runway_months_next": last_value(f"cash_{ccy}") / burn if burn > 0 else given("runway_cap_months"),
    }.items():
        df.loc[name] = NAN
        df.loc[name, SCALAR] = value


def sensitivity_grids(path: str | Path, scenario: str | None = None) -> dict[str, pd.DataFrame]:
    """Each sensitivity output as a frame: index = row input values, columns = column input values, every
    cell the forward view recomputed with the two inputs set to them (history does not read them)."""
    doc = YAML(typ="safe").load(Path(path).read_text(encoding="utf-8"))
    spec = doc["sensitivity"]
    base = load_reference(path, scenario)
    months = base.months

    def axis(side: dict) -> list[float]:
        centre, step = base.get(side["input"]), base.get(side["step"])
        n = side["steps_each_side"]
        return [centre + k * step for k in range(-n, n + 1)]

    rows, columns = axis(spec["rows"]), axis(spec["columns"])
    grids = {name: pd.DataFrame(index=rows, columns=columns, dtype=float) for name in spec["outputs"]}
    frame = base.values.copy()
    for i, r in enumerate(rows):
        for j, c in enumerate(columns):
            frame.loc[spec["rows"]["input"], SCALAR] = r
            frame.loc[spec["columns"]["input"], SCALAR] = c
            compute_forward(frame, doc["forward"], months, base.currency)
            for name, grid in grids.items():
                grid.iat[i, j] = float(frame.at[name, SCALAR])
    return grids
