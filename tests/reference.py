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

import itertools
import re
from dataclasses import dataclass
from decimal import Decimal
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


FX_UNIT = re.compile(r"^([A-Z]{3})_per_([A-Z]{3})$")


def _period_table(doc: dict) -> pd.DataFrame:
    """One row per period: start, end (Timestamps), months, overlay."""
    rows = {str(pid): {"start": pd.Timestamp(spec["start"]), "end": pd.Timestamp(spec["end"]),
                       "months": int(spec["months"]), "overlay": bool(spec.get("overlay", False))}
            for pid, spec in doc["periods"].items()}
    return pd.DataFrame.from_dict(rows, orient="index")


def _fx_path(doc: dict, df: pd.DataFrame, source: str, target: str) -> float | None:
    """Units of ``target`` per one unit of ``source``, through the file's exchange-rate inputs (fewest hops)."""
    if source == target:
        return 1.0
    links: dict[str, list[tuple[str, float]]] = {}
    for key, spec in doc["inputs"].items():
        match = FX_UNIT.match(str(spec["unit"]))
        if match and spec["grain"] == "scalar":
            a, b = match.groups()  # rate = a per one b
            rate = float(df.at[key, SCALAR])
            links.setdefault(b, []).append((a, rate))
            links.setdefault(a, []).append((b, 1 / rate))
    seen = {source: 1.0}
    todo = [source]
    while todo:
        here = todo.pop(0)
        for there, factor in links.get(here, []):
            if there not in seen:
                seen[there] = seen[here] * factor
                todo.append(there)
    return seen.get(target)


def compute_metrics(df: pd.DataFrame, doc: dict) -> pd.DataFrame:
    """Add every documented metric and every check's actual and expected figure whose inputs exist in ``df``."""
    periods = [str(p) for p in doc["periods"]]
    table = _period_table(doc)
    months = table["months"].astype(float)
    ccy = str(doc["currency"]).lower()
    regular = [p for p in periods if not table.at[p, "overlay"]]

    def has(*names: str) -> bool:
        return all(name in df.index and df.loc[name].notna().any() for name in names)

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

    def last_of(name: str) -> float:
        return float(row(name).dropna().iloc[-1])

    def shifted(values: pd.Series, pick) -> pd.Series:
        """values[pick(p)] in each period p (NaN where pick gives nothing)."""
        return pd.Series({p: values.get(pick(p), NAN) if pick(p) else NAN for p in periods}, dtype=float)

    def year_earlier(p: str) -> str | None:
        start = table.at[p, "start"] - pd.DateOffset(years=1)
        same = table[(table["start"] == start) & (table["months"] == table.at[p, "months"])]
        return same.index[0] if len(same) else None

    def before(p: str, values: pd.Series) -> str | None:
        """The regular period ending the day before regular period ``p`` starts (an overlay has none)."""
        if table.at[p, "overlay"]:
            return None
        end = table.at[p, "start"] - pd.Timedelta(days=1)
        found = table[(table["end"] == end) & ~table["overlay"]]
        found = [q for q in found.index if not np.isnan(values.get(q, NAN))]
        return found[0] if found else None

    def check(name: str, actual, expected) -> None:
        """A check's two sides: Series for a check per period (where both sides exist), floats for a single one."""
        if isinstance(actual, pd.Series):
            both = actual.notna() & expected.notna()
            if not both.any():
                return
            actual, expected = actual.where(both), expected.where(both)
        for side, value in (("actual", actual), ("expected", expected)):
            if isinstance(value, pd.Series):
                set_row(f"check_{name}_{side}", value)
            else:
                set_scalar(f"check_{name}_{side}", value)

    def convert_factor(source: str, target: str) -> float | None:
        return _fx_path(doc, df, source.upper(), target.upper())

    revenue = f"revenue_{ccy}"
    rd, sd, compute = f"rd_expense_{ccy}", f"sd_expense_{ccy}", f"compute_spend_{ccy}"
    burn, annualised = f"monthly_burn_{ccy}", f"revenue_annualised_{ccy}"

    # ---- Products: ARPPU per product line ---------------------------------------------------
    others = [str(c) for c in doc.get("convert_to") or []]
    for key, spec in (doc.get("products") or {}).items():
        product_revenue = spec["revenue"]
        if isinstance(product_revenue, dict):
            residual = row(product_revenue["total"]).copy()
            for part in product_revenue["less"]:
                residual = residual - row(part)
            product_revenue = f"{key}_revenue_{ccy}"
            set_row(product_revenue, residual)
        users = spec["paying_users"]
        if not has(product_revenue, users):
            continue
        arppu = row(product_revenue) / row(users)
        set_row(f"{key}_arppu_{ccy}", arppu)
        set_row(f"{key}_arppu_monthly_{ccy}", arppu / months)
        set_row(f"{key}_arppu_annualised_{ccy}", arppu / months * 12)
        for other in others:
            factor = convert_factor(ccy, other)
            set_row(f"{key}_arppu_{other.lower()}", arppu * factor)
            set_row(f"{key}_arppu_annualised_{other.lower()}", arppu / months * 12 * factor)
        if spec.get("reported_arppu"):
            set_row(f"{key}_arppu_variance", arppu / row(spec["reported_arppu"]) - 1)
            check(f"{key}_users_times_arppu", row(users) * row(spec["reported_arppu"]), row(product_revenue))
        if spec.get("press_arppu"):
            press = doc["inputs"][spec["press_arppu"]]
            press_ccy = str(press["unit"]).split("/")[0]
            if press_ccy.lower() == ccy or press_ccy in others:
                factor = convert_factor(ccy, press_ccy)
                set_row(f"{key}_arppu_press_variance", arppu / months * 12 * factor / scalar(spec["press_arppu"]) - 1)

    # ---- Segments ----------------------------------------------------------------------------
    segments = doc.get("segments") or {}
    seg_revenue: dict[str, str] = {}
    seg_share: dict[str, str] = {}
    for key, spec in segments.items():
        if spec.get("revenue"):
            seg_revenue[key] = spec["revenue"]
        elif spec.get("share") and has(revenue, spec["share"]):
            seg_revenue[key] = f"{key}_revenue_{ccy}"
            set_row(seg_revenue[key], row(revenue) * row(spec["share"]))
    for key, spec in segments.items():
        if spec.get("rest") and has(revenue):
            rest = row(revenue).copy()
            for other_key in segments:
                if other_key != key:
                    rest = rest - row(seg_revenue[other_key])
            seg_revenue[key] = f"{key}_revenue_{ccy}"
            set_row(seg_revenue[key], rest)
    for key, spec in segments.items():
        if key not in seg_revenue or not has(seg_revenue[key]):
            continue
        seg = row(seg_revenue[key])
        if spec.get("share"):
            seg_share[key] = spec["share"]
        elif has(revenue):
            seg_share[key] = f"{key}_revenue_share"
            set_row(seg_share[key], seg / row(revenue))
        if spec.get("gross_margin"):
            set_row(f"{key}_gross_profit_{ccy}", seg * row(spec["gross_margin"]))
        if spec.get("customers"):
            set_row(f"{key}_revenue_annualised_{ccy}", seg / months * 12)
            per_customer = seg / row(spec["customers"])
            set_row(f"{key}_revenue_per_customer_{ccy}", per_customer)
            set_row(f"{key}_revenue_per_customer_annualised_{ccy}", per_customer / months * 12)
            if spec.get("press_revenue_per_customer"):
                press = scalar(spec["press_revenue_per_customer"])
                set_row(f"{key}_revenue_per_customer_press_variance", per_customer / months * 12 / press - 1)
                check(f"{key}_customers_times_revenue", row(spec["customers"]) * press, seg / months * 12)
    if segments and not any(s.get("rest") for s in segments.values()) and has(revenue):
        check("segments_sum_to_total", sum(row(seg_revenue[k]) for k in segments), row(revenue))
    if segments and all(s.get("gross_margin") for s in segments.values()) and has("gross_margin"):
        blended = sum(row(seg_share[k]) * row(s["gross_margin"]) for k, s in segments.items())
        check("segments_blend_to_gross_margin", blended, row("gross_margin"))

    # ---- Compute -------------------------------------------------------------------------------
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
    if has(rd, revenue):
        set_row("rd_to_revenue", row(rd) / row(revenue))
    if has("compute_margin"):
        set_row("serving_compute_to_revenue", 1 - row("compute_margin"))
    if has("tokens_per_day_reported"):
        set_scalar("tokens_per_day", scalar("tokens_per_day_reported"))
    elif has("tokens_per_minute"):
        set_scalar("tokens_per_day", scalar("tokens_per_minute") * 60 * 24)

    # ---- Revenue, margins, cash ----------------------------------------------------------------
    if has(revenue):
        set_row(annualised, row(revenue) / months * 12)
        for other in others:
            set_row(f"revenue_{other.lower()}", row(revenue) * convert_factor(ccy, other))
    if has(revenue, "customers"):
        set_row(f"revenue_per_customer_{ccy}", row(revenue) / row("customers"))
        set_row(f"revenue_per_customer_annualised_{ccy}", row(revenue) / row("customers") / months * 12)
    if has(revenue, "gross_margin"):
        set_row(f"gross_profit_{ccy}", row(revenue) * row("gross_margin"))
    if has(sd, revenue):
        set_row("sd_to_revenue", row(sd) / row(revenue))
    if has(f"net_loss_{ccy}", revenue):
        set_row("net_loss_margin", row(f"net_loss_{ccy}") / row(revenue))
    if has(f"adjusted_net_loss_{ccy}", revenue):
        set_row("adjusted_loss_margin", row(f"adjusted_net_loss_{ccy}") / row(revenue))
    if has(f"net_loss_{ccy}") and row(f"net_loss_{ccy}")[regular].notna().any():
        set_scalar(f"cumulative_net_loss_{ccy}", row(f"net_loss_{ccy}")[regular].sum())
    if has(f"operating_cash_outflow_{ccy}"):
        set_row(burn, row(f"operating_cash_outflow_{ccy}") / months)
    if has(f"cash_{ccy}", burn):
        set_row("runway_months", row(f"cash_{ccy}") / row(burn))
    if has(f"cash_{ccy}", f"monthly_burn_reported_{ccy}"):
        set_scalar("runway_months_reported_burn", last_of(f"cash_{ccy}") / scalar(f"monthly_burn_reported_{ccy}"))
    listing = [k for k, spec in doc["inputs"].items()
               if k == f"market_cap_{str(spec['unit']).lower()}" and str(spec["unit"]).lower() != ccy]
    market_cap = f"market_cap_{ccy}"
    for key in listing:
        factor = convert_factor(doc["inputs"][key]["unit"], ccy)
        if factor is not None:
            set_scalar(market_cap, scalar(key) * factor)
    if has(market_cap, annualised):
        set_scalar("price_to_sales", scalar(market_cap) / last_of(annualised))

    # ---- Growth --------------------------------------------------------------------------------
    if has(revenue):
        values = row(revenue)
        growth = values / shifted(values, year_earlier) - 1
        if growth.notna().any():
            set_row("revenue_growth_yoy", growth)
        run_rate = values / months * 12
        growth = run_rate / shifted(run_rate, lambda p: before(p, run_rate)) - 1
        if growth.notna().any():
            set_row("revenue_run_rate_growth", growth)
        years = [p for p in regular if table.at[p, "months"] == 12 and not np.isnan(values[p])]
        if len(years) >= 3:
            first, last = years[0], years[-1]
            span = periods[periods.index(first):periods.index(last) + 1]
            joined = all(table.at[b, "start"] - table.at[a, "end"] == pd.Timedelta(days=1)
                         for a, b in itertools.pairwise(span)) and not any(table.at[p, "overlay"] for p in span)
            if joined:
                elapsed = sum(table.at[p, "months"] for p in span[1:])
                set_scalar("revenue_cagr", (values[last] / values[first]) ** (12 / elapsed) - 1)
    if has(f"arr_{ccy}"):
        values = row(f"arr_{ccy}")
        growth = values / shifted(values, lambda p: before(p, values)) - 1
        if growth.notna().any():
            set_row("arr_growth", growth)

    # ---- Published figures and conflicting reports ----------------------------------------------
    for metric, entry in (doc.get("published") or {}).items():
        name = entry if isinstance(entry, str) else entry["input"]
        spec = doc["inputs"][name]
        if metric not in df.index:
            continue
        if spec["grain"] == "scalar":
            period = str(spec["period"])
            actual = df.at[metric, period] if df.loc[metric, periods].notna().any() else df.at[metric, SCALAR]
            check(name, float(actual), scalar(name))
        else:
            check(name, row(metric), row(name))
    for key, spec in doc["inputs"].items():
        figures = [(None, spec)] if spec["grain"] == "scalar" else [(str(p), e) for p, e in spec["values"].items()]
        for period, entry in figures:
            base = key if period is None or len(figures) == 1 else f"{key}_{period.lower()}"
            for i, alt in enumerate(entry.get("alternatives") or []):
                alt_name = f"{base}_alt" if i == 0 else f"{base}_alt{i + 1}"
                check(f"conflict_{alt_name}", float(entry["value"]), float(alt["value"]))
    if doc.get("scenarios"):
        check("scenario_selected", 1.0, 1.0)
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
    df = compute_metrics(df, doc)
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
    raw = pd.read_csv(folder / spec["file"], comment="#", dtype={"amount": str}, keep_default_na=False)
    raw["amount"] = raw["amount"].map(Decimal)  # added exactly, then rounded once, as a ledger's sums are defined
    raw["period"] = raw["period"].astype(str).map({str(k): v for k, v in spec["periods"].items()})
    ledger_periods = [p for p in periods if p in set(raw["period"])]
    currency = raw["currency"].iat[0]
    rate = 1.0 if currency == doc["currency"] else float(df.at[spec["fx"][currency], SCALAR])
    amounts = (raw.groupby(["customer_id", "period"])["amount"].sum().map(float).unstack("period")
               .reindex(columns=ledger_periods).fillna(0.0))
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
    margins = spec.get("margins")
    if margins:  # each customer earns the latest gross margin of the segment its ledger value maps to
        latest = {value: float(df.loc[doc["segments"][segment]["gross_margin"], periods].dropna().iloc[-1])
                  for value, segment in margins["segments"].items()}
        out["gross_margin"] = out[margins["column"]].map(latest)
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
            if p in ledger_periods:
                put("check_ledger_reconciles_actual", float(out[f"revenue_{p}"].sum()), p)
                put("check_ledger_reconciles_expected", float(df.at[reported, p]), p)
    put("check_ledger_in_order_actual", 1.0)
    put("check_ledger_in_order_expected", 1.0)
    for column in ("segment", "deployment"):
        for value, group in out.groupby(column):
            slug = "".join(ch if ch.isalnum() else "_" for ch in str(value).lower()).strip("_")
            put(f"ledger_{column}_revenue_{slug}", float(group["total"].sum()))
            put(f"ledger_{column}_customers_{slug}", float(len(group)))
    return out


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


if __name__ == "__main__":
    repo = Path(__file__).resolve().parent.parent
    display = (
        *("display.max_rows", None, "display.max_columns", None, "display.width", 200),
        *("display.float_format", "{:,.6g}".format),
    )
    with pd.option_context(*display):
        for path in sorted((repo / "inputs").glob("*.yaml")):
            ref = load_reference(path)
            print(f"== {ref.model} ({ref.currency}), months {ref.months}")
            print(ref.values)
            print()
