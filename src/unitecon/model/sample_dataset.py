"""A SYNTHETIC billing dataset (Parquet) of any number of invoice lines, calibrated like the sample ledger.

``unitecon sample-ledger MODEL --format parquet --invoices N`` writes exactly N rows for the customers of
:func:`~unitecon.model.sample.sample_ledger` of the same model, size and seed: each customer's lines in a
ledger period add up, to the cent, to that customer's total in the CSV sample. Each line is billed at a
moment inside the model period its ledger period maps to, bills some tokens of one of a few generic
models, and a few are credit notes (negative, ``credit_note`` "yes") netting against an invoice of the same
customer and period. The file says it is synthetic in its key-value metadata (:data:`BANNER_KEY`).

The rows are made and written a chunk at a time (a few million rows), so memory stays bounded whatever N
is; the same arguments always give the same bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..atomic import replacing
from ..errors import UniteconError
from .inputs import Inputs
from .ledger_dataset import BANNER_KEY
from .sample import Calibration, CustomerTotals, banner, calibration, customer_totals

MODELS = ("model-a", "model-b", "model-c")  # generic names: the dataset is synthetic
MODEL_SHARE = (0.6, 0.3, 0.1)  # share of lines billing each model
PRICE_PER_MILLION = (1.0, 8.0, 40.0)  # each model's price per million tokens, in the ledger currency
CREDIT_RATE = 0.01  # share of lines drawn as credit notes (fewer are kept: see _credit_notes)
CHUNK_ROWS = 2_000_000  # rows made and written at a time
ROW_GROUP_ROWS = 1_000_000

SCHEMA = pa.schema([
    ("customer_id", pa.string()),
    ("customer_name", pa.string()),
    ("segment", pa.string()),
    ("deployment", pa.string()),
    ("billed_at", pa.timestamp("us")),  # no time zone; UTC meant
    ("amount", pa.float64()),  # whole cents
    ("currency", pa.string()),
    ("credit_note", pa.string()),  # "yes" or ""
    ("tokens", pa.int64()),
    ("model", pa.string()),
])


@dataclass(frozen=True)
class BillingSummary:
    """What :func:`write_billing_dataset` wrote, from the totals it generated (not read back)."""

    path: Path
    customers: int
    rows: int
    currency: str
    totals: dict[str, Decimal]  # ledger period label -> total, exact to the cent


@dataclass(frozen=True)
class _Plan:
    """The customer-period totals, how many rows each gets, and the chunks ("segments") they are cut into."""

    customers: CustomerTotals
    customer: np.ndarray  # per customer-period: customer index
    period: np.ndarray  # per customer-period: ledger period index
    cents: np.ndarray  # per customer-period: total in cents
    period_start: np.ndarray  # per ledger period: first moment, microseconds since 1970 (UTC)
    period_seconds: np.ndarray  # per ledger period: its length in seconds
    seg_start: np.ndarray  # per segment (one customer-period's rows in one chunk): first row
    seg_rows: np.ndarray  # per segment: rows
    seg_group: np.ndarray  # per segment: customer-period
    seg_cents: np.ndarray  # per segment: its part of the customer-period's total, in cents


def billing_banner(cal: Calibration, model: str, seed: int, calibrated_customers: int | None = None) -> str:
    """The CSV sample's banner as one line (no '# ' markers): what the Parquet metadata's banner says."""
    return " ".join(line.removeprefix("# ") for line in banner(cal, model, seed, calibrated_customers).splitlines())


def _period_bounds(inputs: Inputs, cal: Calibration) -> tuple[np.ndarray, np.ndarray]:
    """Each ledger period's first moment (µs since 1970) and length (s), from the model period it maps to."""
    starts, seconds = [], []
    for label in cal.periods:
        pid = inputs.ledger.periods[label]
        if pid not in inputs.periods:
            raise UniteconError(f"{inputs.path}: ledger.periods: {label!r} maps to {pid!r}, which is not one of "
                                f"the file's periods ({', '.join(inputs.periods)})")
        period = inputs.periods[pid]
        starts.append((period.start - dt.date(1970, 1, 1)).days * 86_400_000_000)
        seconds.append(((period.end - period.start).days + 1) * 86_400)
    return np.array(starts, dtype=np.int64), np.array(seconds, dtype=np.int64)


def _floor_share(total: np.ndarray, part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """floor(total * part / whole) in exact int64 arithmetic (0 <= part <= whole, whole > 0)."""
    return (total // whole) * part + ((total % whole) * part) // whole


def _plan(inputs: Inputs, cal: Calibration, invoices: int, seed: int, chunk_rows: int) -> _Plan:
    rng = np.random.default_rng(seed)
    customers = customer_totals(cal, rng)  # the same draws as the CSV sample of this seed: the same totals
    period_index = {label: k for k, label in enumerate(cal.periods)}
    period = customers.totals["period"].map(period_index).to_numpy(dtype=np.int64)
    customer = customers.totals["i"].to_numpy(dtype=np.int64)
    cents = customers.cents
    if (cents < 0).any():
        raise UniteconError("a customer's total in the sample is negative; cannot split it into invoices")
    groups = len(cents)
    if invoices < groups:
        raise UniteconError(f"--invoices must be at least {groups:,} (one row for each customer and ledger "
                            f"period of this sample of {cal.customers:,} customers); got {invoices:,}")
    order = np.lexsort((customer, period))  # ledger period, then customer
    customer, period, cents = customer[order], period[order], cents[order]
    # Every customer-period gets one row, the rest go in proportion to its total (the same cents per line).
    weight = cents / cents.sum() if cents.sum() > 0 else np.full(groups, 1 / groups)
    rows = 1 + rng.multinomial(invoices - groups, weight)
    group_start = np.concatenate([[0], np.cumsum(rows)[:-1]])
    # Segments: a customer-period's rows within one chunk; each gets its share of the total by its rows.
    seg_start = np.union1d(group_start, np.arange(0, invoices, chunk_rows, dtype=np.int64))
    seg_rows = np.diff(np.append(seg_start, invoices))
    seg_group = np.searchsorted(group_start, seg_start, side="right") - 1
    first = seg_start - group_start[seg_group]
    total, whole = cents[seg_group], rows[seg_group]
    seg_cents = _floor_share(total, first + seg_rows, whole) - _floor_share(total, first, whole)
    period_start, period_seconds = _period_bounds(inputs, cal)
    return _Plan(customers, customer, period, cents, period_start, period_seconds,
                 seg_start, seg_rows, seg_group, seg_cents)


def _credit_notes(rng: np.random.Generator, cents: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Turn a few lines into credit notes (in place): each refunds part of the line before it, an invoice of
    the same segment that takes the credit note's own amount too, so the segment's total is unchanged.
    Returns which lines are credit notes."""
    credit = rng.random(len(cents)) < CREDIT_RATE
    credit[starts] = False  # the line before must be in the same segment
    credit[1:] &= ~credit[:-1]  # and not a credit note itself
    at = np.flatnonzero(credit)
    invoice = cents[at - 1] + cents[at]
    refund = np.maximum(1, np.floor(invoice * rng.uniform(0.05, 0.3, len(at))).astype(np.int64))
    cents[at - 1] = invoice + refund
    cents[at] = -refund
    return credit


def _chunk(plan: _Plan, segs: slice, rng: np.random.Generator, currency: str) -> pa.Table:
    """The rows of segments ``segs`` (consecutive, a chunk's worth), ordered by billed_at."""
    seg_rows = plan.seg_rows[segs]
    seg_cents = plan.seg_cents[segs]
    group = plan.seg_group[segs]
    n = int(seg_rows.sum())
    seg = np.repeat(np.arange(len(seg_rows)), seg_rows)
    ends = np.cumsum(seg_rows) - 1
    starts = ends - seg_rows + 1
    period = plan.period[group][seg]
    # Moments: whole seconds, uniform over the period; in order within each segment.
    seconds = rng.integers(0, plan.period_seconds[period])
    key = np.sort(seg.astype(np.int64) << 36 | seconds)  # a period is far shorter than 2**36 s
    seconds = key & ((1 << 36) - 1)
    billed_at = plan.period_start[period] + seconds * 1_000_000
    # Amounts: heavy-tailed shares of the segment's cents; cumulative boundaries floored, so exact and >= 0.
    cw = np.cumsum(rng.lognormal(0.0, 1.0, n))
    end_cw = cw[ends]
    start_cw = np.concatenate([[0.0], end_cw[:-1]])
    frac = (cw - start_cw[seg]) / (end_cw - start_cw)[seg]
    bound = np.clip(np.floor(frac * seg_cents[seg]).astype(np.int64), 0, seg_cents[seg])
    bound[ends] = seg_cents  # already so unless a segment's weights vanished in the running sum
    cents = bound - np.concatenate([[0], bound[:-1]])
    cents[starts] = bound[starts]
    credit = _credit_notes(rng, cents, starts)
    # Tokens: the line's amount at its model's price per million tokens, with some noise; none on a credit note.
    model = np.searchsorted(np.cumsum(MODEL_SHARE), rng.random(n) * sum(MODEL_SHARE), side="right")
    model = np.minimum(model, len(MODELS) - 1)
    noise = rng.lognormal(0.0, 0.15, n)
    tokens = np.round(np.maximum(cents, 0) / 100 / np.asarray(PRICE_PER_MILLION)[model] * 1e6 * noise)
    tokens = np.where(credit, 0, tokens).astype(np.int64)
    order = np.argsort(billed_at, kind="stable")  # a credit note stays after the invoice it refunds
    customer = pa.array(plan.customer[group][seg][order])
    c = plan.customers
    return pa.table({
        "customer_id": pa.array(c.ids, pa.string()).take(customer),
        "customer_name": pa.array(c.names, pa.string()).take(customer),
        "segment": pa.array(c.segment, pa.string()).take(customer),
        "deployment": pa.array(c.deployment, pa.string()).take(customer),
        "billed_at": pa.array(billed_at[order].view("datetime64[us]"), pa.timestamp("us")),
        "amount": pa.array(cents[order] / 100, pa.float64()),
        "currency": pa.repeat(pa.scalar(currency, pa.string()), n),
        "credit_note": pa.array(["", "yes"], pa.string()).take(pa.array(credit[order].astype(np.int8))),
        "tokens": pa.array(tokens[order], pa.int64()),
        "model": pa.array(MODELS, pa.string()).take(pa.array(model[order].astype(np.int8))),
    }, schema=SCHEMA)


def write_billing_dataset(inputs: Inputs, out: Path, invoices: int, customers: int | None = None, seed: int = 0,
                          chunk_rows: int = CHUNK_ROWS) -> BillingSummary:
    """Write the SYNTHETIC billing dataset of ``invoices`` rows for ``inputs``' model to the Parquet file
    ``out`` (atomically), a chunk of ``chunk_rows`` rows at a time; return what it holds."""
    cal = calibration(inputs, customers)
    if cal.customers < 10:
        raise UniteconError(f"--customers must be at least 10 (got {cal.customers})")
    if seed < 0:
        raise UniteconError(f"--seed must be 0 or more (got {seed})")
    if chunk_rows < 1:
        raise UniteconError(f"chunk_rows must be at least 1 (got {chunk_rows})")
    plan = _plan(inputs, cal, invoices, seed, chunk_rows)
    text = billing_banner(cal, inputs.model, seed, calibration(inputs).customers)
    schema = SCHEMA.with_metadata({BANNER_KEY: text})
    chunk_of = plan.seg_start // chunk_rows
    bounds = np.searchsorted(chunk_of, np.arange(int(chunk_of[-1]) + 2))
    with replacing(Path(out)) as tmp, pq.ParquetWriter(str(tmp), schema, compression="zstd") as writer:
        for k in range(len(bounds) - 1):
            # each chunk its own stream, independent of the one the totals were drawn from
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,)))
            writer.write_table(_chunk(plan, slice(bounds[k], bounds[k + 1]), rng, cal.currency),
                               row_group_size=ROW_GROUP_ROWS)
    totals = {label: Decimal(int(plan.cents[plan.period == k].sum())) / 100 for k, label in enumerate(cal.periods)}
    return BillingSummary(Path(out), len(np.unique(plan.customer)), invoices, cal.currency, totals)
