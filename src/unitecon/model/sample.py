"""Deterministic SYNTHETIC customer ledgers calibrated to the public aggregates in an inputs file.

Real ledgers are confidential; these let the default workbooks show a per-customer sheet of the size
the documents describe. Every file says plainly, in its first lines, that it is synthetic, and so
does every sheet built from it. The same model, size and seed always give the same bytes.

What a ledger is calibrated to is data: the inputs file's ``ledger: sample:`` section names the revenue
each ledger period adds up to (an input's figure in that period, times the share of it the ledger
covers, converted at the ledger's exchange rate), the number of customers, the share of them paying in
the first period, the repurchase rate, the top-five share and the deployment mix.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import replacing
from ..errors import UniteconError
from .inputs import Inputs

SEGMENTS = ("internet", "finance", "government", "overseas", "manufacturing", "education")


@dataclass(frozen=True)
class Calibration:
    prefix: str
    currency: str
    periods: tuple[str, str]  # ledger labels, earlier first
    totals: tuple[float, float]  # amount in ``currency`` per period
    customers: int
    first_period_share: float  # share of customers paying in the first period
    repurchase: float  # share of first-period customers paying again in the second
    deployment: str  # the deployment whose share of first-period revenue is targeted
    deployment_share: float  # its share of first-period revenue
    other_deployment: str  # every other customer's deployment
    top5: float  # share of first-period revenue from the five largest customers
    top5_later: float | None  # the same for the second period (None: no target)
    notes: str


def calibration(inputs: Inputs, customers: int | None = None) -> Calibration:
    """The targets the inputs file's ``ledger: sample:`` section sets."""
    spec = inputs.ledger.sample if inputs.ledger else None
    if spec is None:
        raise UniteconError(f"{inputs.path}: ledger: has no sample: section saying how to calibrate a synthetic "
                            "ledger (revenue, customers, first_period_share, repurchase, top5_share, notes)")
    ledger_periods = list(inputs.ledger.periods.items())
    if len(ledger_periods) != 2:
        raise UniteconError(f"{inputs.path}: ledger.periods: a sample ledger has two periods; got "
                            f"{len(ledger_periods)}")

    def figure(key: str | float | int, period: str | None = None) -> float:
        """An input's figure in ``period`` (else its latest), or the number given."""
        if not isinstance(key, str):
            return float(key)
        figures = inputs.series[key].figures
        return (figures[period] if period in figures else list(figures.values())[-1]).value

    totals = []
    for _, period in ledger_periods:
        total = figure(spec.revenue, period)
        if spec.share:
            total = total * figure(spec.share, period)
        if spec.currency != inputs.currency:
            total = total * figure(inputs.ledger.fx[spec.currency])
        totals.append(total)
    (deployment, share), = spec.deployment.items() if spec.deployment else (("", 0.0),)
    first = ledger_periods[0][1]
    return Calibration(
        spec.id_prefix, spec.currency, tuple(label for label, _ in ledger_periods), tuple(totals),
        customers or int(figure(spec.customers)), spec.first_period_share, figure(spec.repurchase),
        deployment, figure(share, first), spec.other_deployment or "unspecified", spec.top5_share,
        spec.top5_share_later, spec.notes)


def _amounts(rng: np.random.Generator, n: int, total: float, top5: float | None) -> np.ndarray:
    """Heavy-tailed positive amounts summing to ``total`` to the cent, the largest five holding ``top5``."""
    weights = np.sort(rng.pareto(1.3, n) + 0.05)[::-1]
    if top5 is not None and n > 5:
        head = np.array([0.14, 0.10, 0.08, 0.06, 0.05]) * (top5 / 0.43)  # 0.43: the sum of these five
        tail = weights[5:] / weights[5:].sum() * (1 - top5)
        tail = np.minimum(tail, head[-1] * 0.9)
        weights = np.concatenate([head, tail / tail.sum() * (1 - top5)])
    cents = np.floor(weights / weights.sum() * total * 100)
    cents[0] += round(total * 100) - cents.sum()
    return cents / 100


@dataclass(frozen=True)
class CustomerTotals:
    """Each customer's total in each ledger period: what every sample of one calibration and seed adds up to."""

    ids: np.ndarray  # customer id, by customer index
    names: np.ndarray  # customer name, by customer index
    segment: np.ndarray  # by customer index
    deployment: np.ndarray  # by customer index
    totals: pd.DataFrame  # one row per customer and ledger period: i (customer index), period (label), amount

    @property
    def cents(self) -> np.ndarray:
        """Each customer-period total in whole cents (int64), in the order of ``totals``."""
        return np.round(self.totals["amount"].to_numpy() * 100).astype(np.int64)


def customer_totals(cal: Calibration, rng: np.random.Generator) -> CustomerTotals:
    """The customers and their per-period totals, drawn from ``rng`` (which :func:`sample_ledger` then goes on
    drawing from to split the totals into invoices)."""
    n = cal.customers
    ids = np.array([f"{cal.prefix}-C{i:06d}" for i in range(1, n + 1)])
    segment = rng.choice(SEGMENTS, size=n, p=[0.34, 0.18, 0.2, 0.1, 0.12, 0.06])
    first_payers = np.sort(rng.choice(n, size=max(5, round(n * cal.first_period_share)), replace=False))
    rows = []
    # Period 1: heavy-tailed, the largest customers in the targeted deployment until its share is reached.
    first = _amounts(rng, len(first_payers), cal.totals[0], cal.top5)
    targeted = np.zeros(n, dtype=bool)  # customers of the targeted deployment
    reached = np.cumsum(first) / cal.totals[0] <= cal.deployment_share
    targeted[first_payers[reached]] = True
    rows.append(pd.DataFrame({"i": first_payers, "period": cal.periods[0], "amount": first}))
    # Period 2: repeat buyers and the customers new in period 2.
    repeat = rng.random(len(first_payers)) < cal.repurchase
    repeat[:5] = True  # the largest customers (the first payers hold the largest amounts) buy again
    second_payers = np.union1d(first_payers[repeat], np.setdiff1d(np.arange(n), first_payers))
    second = _amounts(rng, len(second_payers), cal.totals[1], cal.top5_later)
    # large customers stay large: repeat buyers by their first-period size, then the new ones at random
    size = np.zeros(n)
    size[first_payers] = first
    ordered = second_payers[np.lexsort((rng.random(len(second_payers)), -size[second_payers]))]
    rows.append(pd.DataFrame({"i": ordered, "period": cal.periods[1], "amount": second}))
    late = ~targeted[second_payers] & (rng.random(len(second_payers)) < cal.deployment_share / 8)
    targeted[second_payers[late & ~np.isin(second_payers, first_payers)]] = True
    names = np.array([f"Synthetic {s} customer {c}" for s, c in zip(segment, ids, strict=True)])
    deployment = np.where(targeted, cal.deployment, cal.other_deployment)
    return CustomerTotals(ids, names, segment, deployment, pd.concat(rows, ignore_index=True))


def sample_ledger(cal: Calibration, seed: int = 0) -> pd.DataFrame:
    """Invoice rows: 1–4 invoices per customer and period, and a few credit notes."""
    rng = np.random.default_rng(seed)
    customers = customer_totals(cal, rng)
    return _invoices(rng, customers, cal.currency)


def _invoices(rng: np.random.Generator, customers: CustomerTotals, currency: str) -> pd.DataFrame:
    """Split each customer-period total into invoices (cents exact) and add credit notes that net to zero."""
    totals = customers.totals
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
    return pd.DataFrame({
        "customer_id": customers.ids[i],
        "customer_name": customers.names[i],
        "segment": customers.segment[i],
        "deployment": customers.deployment[i],
        "period": rep["period"].to_numpy(),
        "amount": rep["amount"].map("{:.2f}".format).to_numpy(),
        "currency": currency,
        "credit_note": rep["credit_note"].to_numpy(),
    })


def banner(cal: Calibration, model: str, seed: int, calibrated_customers: int | None = None) -> str:
    """The ledger's first lines: synthetic, what it is calibrated to, and how many customers it holds when that
    is not the number the calibration describes."""
    text = (f"# SYNTHETIC sample ledger for {model}: not real customer data (unitecon sample-ledger, seed {seed}).\n"
            f"# Calibrated to public aggregates: {cal.notes}.\n")
    if calibrated_customers is not None and calibrated_customers != cal.customers:
        text += (f"# This sample holds {cal.customers:,} customers, not the {calibrated_customers:,} the calibration "
                 "describes; the revenue totals are the same.\n")
    return text


def write_sample_ledger(inputs: Inputs, out: Path, customers: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Write the synthetic ledger CSV for ``inputs``' model to ``out`` (atomically); return its rows."""
    cal = calibration(inputs, customers)
    if cal.customers < 10:
        raise UniteconError(f"--customers must be at least 10 (got {cal.customers})")
    frame = sample_ledger(cal, seed)
    text = io.StringIO()
    text.write(banner(cal, inputs.model, seed, calibration(inputs).customers))
    frame.to_csv(text, index=False, lineterminator="\n")
    data = text.getvalue().encode("utf-8")
    if Path(out).name.lower().endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)  # mtime 0: the same ledger gives the same bytes
    with replacing(Path(out)) as tmp:
        tmp.write_bytes(data)
    return frame
