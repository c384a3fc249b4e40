"""Deterministic SYNTHETIC customer ledgers calibrated to the public aggregates in an inputs file.

Real ledgers are confidential; these let the default workbooks show a per-customer sheet of the size
the prospectuses describe. Every file says plainly, in its first lines, that it is synthetic, and so
does every sheet built from it. The same model, size and seed always give the same bytes.

Calibration (targets read from the inputs file where it has them):

* Zhipu: revenue FY2024 and Jan–Jun 2025 from ``revenue_cny``; on-premise share of FY2024 revenue from
  ``on_prem_revenue_share``; repurchase from ``repurchase_rate`` (share of FY2024 customers buying again
  in 2025); top-5 customers 43 % of FY2024 revenue (the issue's "above 40 %"); 8,000 institutions.
* MiniMax: Jan–Sep 2025 open-platform revenue = ``revenue_usd`` × ``b2b_revenue_share``, billed in CNY at
  ``usd_cny``; 25,000 enterprises (``b2b_customers``), all paying in Jan–Sep 2025, 48 % of them also in
  FY2024, whose open-platform revenue is assumed to be FY2024 revenue × the same 28.9 % share.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import replacing
from .errors import UniteconError
from .inputs import Inputs

SEGMENTS = ("internet", "finance", "government", "overseas", "manufacturing", "education")
TOP5_SHARE = 0.43


@dataclass(frozen=True)
class Calibration:
    prefix: str
    currency: str
    periods: tuple[str, str]  # ledger labels, earlier first
    totals: tuple[float, float]  # amount in ``currency`` per period
    customers: int
    first_period_share: float  # share of customers paying in the first period
    repurchase: float  # share of first-period customers paying again in the second
    on_prem_share: float  # share of first-period revenue from on-premise customers
    notes: str


def calibration(inputs: Inputs, customers: int | None = None) -> Calibration:
    """The targets for ``inputs``' model (``minimax`` or ``zhipu``)."""
    def figure(key: str, period: str | None = None) -> float:
        series = inputs.series[key]
        return next(f.value for p, f in series.figures.items() if period is None or p == period)

    if inputs.model == "zhipu":
        return Calibration(
            "ZP", "CNY", ("2024", "2025H1"), (figure("revenue_cny", "FY2024"), figure("revenue_cny", "H1_2025")),
            customers or 8000, 0.70, figure("repurchase_rate"), figure("on_prem_revenue_share", "FY2024"),
            "revenue FY2024 and Jan-Jun 2025, on-premise share 84.5%, repurchase 79%, top-5 share 43%, "
            "8,000 institutions")
    if inputs.model == "minimax":
        share = figure("b2b_revenue_share", "9M2025")
        fx = figure("usd_cny")
        b2b = (figure("revenue_usd", "FY2024") * share * fx, figure("revenue_usd", "9M2025") * share * fx)
        return Calibration(
            "MM", "CNY", ("2024", "2025-01..09"), b2b, customers or int(figure("b2b_customers", "9M2025")), 0.48,
            1.0, 0.0, "open-platform (cloud API) revenue = 28.9% of revenue (Jan-Sep 2025; FY2024 assumed the same "
            "share), "
            "billed in CNY at 7.0446 per USD, 25,000 enterprises all paying in Jan-Sep 2025")
    raise UniteconError(f"no sample-ledger calibration for model {inputs.model!r}; expected minimax or zhipu")


def _amounts(rng: np.random.Generator, n: int, total: float, top5: float | None) -> np.ndarray:
    """Heavy-tailed positive amounts summing to ``total`` to the cent, the largest five holding ``top5``."""
    weights = np.sort(rng.pareto(1.3, n) + 0.05)[::-1]
    if top5 is not None and n > 5:
        head = np.array([0.14, 0.10, 0.08, 0.06, 0.05]) * (top5 / 0.43)
        tail = weights[5:] / weights[5:].sum() * (1 - top5)
        tail = np.minimum(tail, head[-1] * 0.9)
        weights = np.concatenate([head, tail / tail.sum() * (1 - top5)])
    cents = np.floor(weights / weights.sum() * total * 100)
    cents[0] += round(total * 100) - cents.sum()
    return cents / 100


def sample_ledger(cal: Calibration, seed: int = 0) -> pd.DataFrame:
    """Invoice rows: 1–4 invoices per customer and period, and a few credit notes."""
    rng = np.random.default_rng(seed)
    n = cal.customers
    ids = np.array([f"{cal.prefix}-C{i:06d}" for i in range(1, n + 1)])
    segment = rng.choice(SEGMENTS, size=n, p=[0.34, 0.18, 0.2, 0.1, 0.12, 0.06])
    first_payers = np.sort(rng.choice(n, size=max(5, round(n * cal.first_period_share)), replace=False))
    rows = []
    # Period 1: heavy-tailed, the largest customers on-premise until their share is reached.
    first = _amounts(rng, len(first_payers), cal.totals[0], TOP5_SHARE)
    on_prem = np.zeros(n, dtype=bool)
    reached = np.cumsum(first) / cal.totals[0] <= cal.on_prem_share
    on_prem[first_payers[reached]] = True
    rows.append(pd.DataFrame({"i": first_payers, "period": cal.periods[0], "amount": first}))
    # Period 2: repeat buyers and the customers new in period 2.
    repeat = rng.random(len(first_payers)) < cal.repurchase
    repeat[:5] = True  # the largest customers (the first payers hold the largest amounts) buy again
    second_payers = np.union1d(first_payers[repeat], np.setdiff1d(np.arange(n), first_payers))
    second = _amounts(rng, len(second_payers), cal.totals[1], TOP5_SHARE if cal.prefix == "ZP" else None)
    # large customers stay large: repeat buyers by their first-period size, then the new ones at random
    size = np.zeros(n)
    size[first_payers] = first
    ordered = second_payers[np.lexsort((rng.random(len(second_payers)), -size[second_payers]))]
    rows.append(pd.DataFrame({"i": ordered, "period": cal.periods[1], "amount": second}))
    late = ~on_prem[second_payers] & (rng.random(len(second_payers)) < cal.on_prem_share / 8)
    on_prem[second_payers[late & ~np.isin(second_payers, first_payers)]] = True
    totals = pd.concat(rows, ignore_index=True)
    return _invoices(rng, totals, ids, segment, on_prem, cal.currency)


def _invoices(rng, totals: pd.DataFrame, ids, segment, on_prem, currency: str) -> pd.DataFrame:
    """Split each customer-period total into invoices (cents exact) and add credit notes that net to zero."""
    k = rng.integers(1, 5, size=len(totals))
    rep = totals.loc[totals.index.repeat(k)].reset_index(drop=True)
    part = rng.random(len(rep)) + 0.2
    group = np.repeat(np.arange(len(totals)), k)
    share = part / np.bincount(group, weights=part)[group]
    cents = np.floor(rep["amount"].to_numpy() * 100 * share)
    last = np.r_[np.diff(group) != 0, True]
    residual = np.round(totals["amount"].to_numpy() * 100) - np.bincount(group, weights=cents)
    cents[last] += residual
    rep["amount"] = cents / 100
    rep["credit_note"] = ""
    credit = rep[rng.random(len(rep)) < 0.02].copy()
    credit["amount"] = -np.round(credit["amount"] * 0.1, 2)
    credit["credit_note"] = "yes"
    back = credit.copy()
    back["amount"] = -credit["amount"]
    back["credit_note"] = ""
    rep = pd.concat([rep, back, credit]).sort_values(["period", "i"], kind="stable").reset_index(drop=True)
    i = rep["i"].to_numpy()
    seg = segment[i]
    return pd.DataFrame({
        "customer_id": ids[i],
        "customer_name": [f"Synthetic {s} customer {n}" for s, n in zip(seg, ids[i], strict=True)],
        "segment": seg,
        "deployment": np.where(on_prem[i], "on-prem", "cloud"),
        "period": rep["period"].to_numpy(),
        "amount": rep["amount"].map("{:.2f}".format).to_numpy(),
        "currency": currency,
        "credit_note": rep["credit_note"].to_numpy(),
    })


def banner(cal: Calibration, model: str, seed: int) -> str:
    return (f"# SYNTHETIC sample ledger for {model}: not real customer data (unitecon sample-ledger, seed {seed}).\n"
            f"# Calibrated to public aggregates: {cal.notes}.\n")


def write_sample_ledger(inputs: Inputs, out: Path, customers: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Write the synthetic ledger CSV for ``inputs``' model to ``out`` (atomically); return its rows."""
    cal = calibration(inputs, customers)
    if cal.customers < 10:
        raise UniteconError(f"--customers must be at least 10 (got {cal.customers})")
    frame = sample_ledger(cal, seed)
    text = io.StringIO()
    text.write(banner(cal, inputs.model, seed))
    frame.to_csv(text, index=False, lineterminator="\n")
    data = text.getvalue().encode("utf-8")
    if Path(out).name.lower().endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)  # mtime 0: the same ledger gives the same bytes
    with replacing(Path(out)) as tmp:
        tmp.write_bytes(data)
    return frame
