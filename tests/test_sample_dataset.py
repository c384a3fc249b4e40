"""The SYNTHETIC Parquet billing dataset (`unitecon sample-ledger --format parquet`): exactly N rows, each
customer's rows in a period adding up to the CSV sample's total to the cent, every billed_at inside its
period, the same bytes for the same arguments, and one clear line when N is too small."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import INPUTS

from unitecon.cli import main
from unitecon.model import sample_dataset
from unitecon.model.inputs import load_inputs

COLUMNS = [("customer_id", pa.string()), ("customer_name", pa.string()), ("segment", pa.string()),
           ("deployment", pa.string()), ("billed_at", pa.timestamp("us")), ("amount", pa.float64()),
           ("currency", pa.string()), ("credit_note", pa.string()), ("tokens", pa.int64()), ("model", pa.string())]


def _run(*args: str):
    return CliRunner().invoke(main, ["sample-ledger", *args])


def _parquet(path: Path, model: str, *args: str) -> Path:
    result = _run(model, "--inputs", str(INPUTS), "--format", "parquet", "--out", str(path), *args)
    assert result.exit_code == 0, result.output
    return path


def _csv(path: Path, model: str, *args: str) -> Path:
    result = _run(model, "--inputs", str(INPUTS), "--out", str(path), *args)
    assert result.exit_code == 0, result.output
    return path


def _csv_totals(path: Path) -> dict[tuple[str, str], Decimal]:
    """Per customer and ledger period label, read with the csv module and Decimal."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True) if not line.startswith("#")]
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in csv.DictReader(io.StringIO("".join(lines))):
        out[(row["customer_id"], row["period"])] += Decimal(row["amount"])
    return dict(out)


def _bounds(model: str) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    """Ledger period label -> first and last second of the model period it maps to."""
    inputs = load_inputs(INPUTS / f"{model}.yaml")
    out = {}
    for label, pid in inputs.ledger.periods.items():
        period = inputs.periods[pid]
        out[label] = (dt.datetime.combine(period.start, dt.time(0, 0, 0)),
                      dt.datetime.combine(period.end, dt.time(23, 59, 59)))
    return out


def _cents(amount: float) -> Decimal:
    """The amount as a Decimal, checked to be whole cents."""
    value = Decimal(repr(amount))
    assert value == value.quantize(Decimal("0.01")), amount
    return value


def _parquet_totals(path: Path, model: str) -> dict[tuple[str, str], Decimal]:
    """Per customer and the ledger period whose dates hold billed_at (each row in exactly one)."""
    bounds = _bounds(model)
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in pq.read_table(path).to_pylist():
        labels = [label for label, (start, end) in bounds.items() if start <= row["billed_at"] <= end]
        assert len(labels) == 1, (row, bounds)
        out[(row["customer_id"], labels[0])] += _cents(row["amount"])
    return dict(out)


@pytest.mark.parametrize(("model", "seed", "customers", "invoices"),
                         [("zhipu", "0", "300", "3000"), ("minimax", "3", "200", "2500")])
def test_totals_match_the_csv_sample_to_the_cent(tmp_path, model, seed, customers, invoices):
    args = ("--customers", customers, "--seed", seed)
    path = _parquet(tmp_path / "billing.parquet", model, *args, "--invoices", invoices)
    expected = _csv_totals(_csv(tmp_path / "ledger.csv", model, *args))
    table = pq.read_table(path)
    assert [(f.name, f.type) for f in table.schema] == COLUMNS
    assert table.num_rows == int(invoices)
    assert _parquet_totals(path, model) == expected
    rows = table.to_pylist()
    assert {r["customer_id"] for r in rows} == {c for c, _ in expected}
    assert all(r["tokens"] >= 0 for r in rows)
    assert {r["credit_note"] for r in rows} == {"", "yes"}
    assert all((r["amount"] < 0) == (r["credit_note"] == "yes") for r in rows)
    assert {r["currency"] for r in rows} == {"CNY"}
    assert {r["model"] for r in rows} <= {"model-a", "model-b", "model-c"}
    assert all(r["customer_name"].endswith(r["customer_id"]) for r in rows)


def test_the_same_arguments_give_the_same_bytes_and_the_seed_matters(tmp_path):
    args = ("--customers", "300", "--invoices", "2000")
    a = _parquet(tmp_path / "a.parquet", "zhipu", *args).read_bytes()
    b = _parquet(tmp_path / "b.parquet", "zhipu", *args).read_bytes()
    c = _parquet(tmp_path / "c.parquet", "zhipu", *args, "--seed", "7").read_bytes()
    assert a == b and a != c


def test_the_metadata_says_synthetic_with_the_csv_banner(tmp_path):
    path = _parquet(tmp_path / "billing.parquet", "zhipu", "--customers", "300", "--invoices", "1000")
    banner = pq.read_schema(path).metadata[b"unitecon.banner"].decode("utf-8")
    csv_lines = _csv(tmp_path / "ledger.csv", "zhipu", "--customers", "300").read_text(encoding="utf-8").splitlines()
    expected = " ".join(line[2:] for line in csv_lines if line.startswith("# "))
    assert banner.startswith("SYNTHETIC") and banner == expected
    assert "300 customers" in banner


def test_the_line_printed_says_what_was_written(tmp_path):
    out = tmp_path / "billing.parquet"
    result = _run("zhipu", "--inputs", str(INPUTS), "--format", "parquet", "--out", str(out), "--customers", "300",
                  "--invoices", "1234")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"wrote {out} (SYNTHETIC: 300 customers, 1,234 rows; "
                                          "CNY 2024 312,000,000.00, 2025H1 191,000,000.00)"]


def test_too_few_invoices_are_refused_in_one_line_and_the_minimum_works(tmp_path):
    minimum = len(_csv_totals(_csv(tmp_path / "ledger.csv", "zhipu", "--customers", "300")))
    out = tmp_path / "billing" / "small.parquet"
    result = _run("zhipu", "--inputs", str(INPUTS), "--format", "parquet", "--out", str(out), "--customers", "300",
                  "--invoices", str(minimum - 1))
    assert result.exit_code != 0
    assert len(result.output.splitlines()) == 1
    assert result.output.startswith("error: --invoices must be at least ") and f"{minimum:,}" in result.output
    assert not out.exists() and not [p for p in out.parent.iterdir()]
    _parquet(out, "zhipu", "--customers", "300", "--invoices", str(minimum))
    assert pq.read_metadata(out).num_rows == minimum
    assert len(_parquet_totals(out, "zhipu")) == minimum  # one row for each customer and period


def test_invoices_with_csv_and_parquet_without_invoices_are_refused(tmp_path):
    for args in (("--invoices", "100"), ("--format", "csv", "--invoices", "100"), ("--format", "parquet")):
        result = _run("zhipu", "--inputs", str(INPUTS), "--out", str(tmp_path / "x"), *args)
        assert result.exit_code != 0 and len(result.output.splitlines()) == 1, result.output
        assert result.output.startswith("error: --") and "--invoices" in result.output
    assert not list(tmp_path.iterdir())


def test_without_out_it_writes_the_billing_file_beside_the_ledgers(tmp_path):
    folder = tmp_path / "inputs"
    shutil.copytree(INPUTS, folder)
    result = _run("zhipu", "--inputs", str(folder), "--format", "parquet", "--customers", "50", "--invoices", "500")
    assert result.exit_code == 0, result.output
    assert pq.read_metadata(folder / "ledgers" / "zhipu_billing.parquet").num_rows == 500


def test_customer_periods_split_across_chunks_keep_their_totals(tmp_path):
    """Small chunks, so a customer's rows in a period fall in several chunks (and row groups)."""
    inputs = load_inputs(INPUTS / "zhipu.yaml")
    path = tmp_path / "billing.parquet"
    summary = sample_dataset.write_billing_dataset(inputs, path, 4321, customers=40, seed=5, chunk_rows=97)
    expected = _csv_totals(_csv(tmp_path / "ledger.csv", "zhipu", "--customers", "40", "--seed", "5"))
    assert pq.read_metadata(path).num_rows == summary.rows == 4321
    assert _parquet_totals(path, "zhipu") == expected
    by_period: dict[str, Decimal] = defaultdict(Decimal)
    for (_, period), amount in expected.items():
        by_period[period] += amount
    assert summary.totals == by_period and summary.customers == 40


def test_a_failed_write_leaves_the_previous_file_and_nothing_else(tmp_path, monkeypatch):
    inputs = load_inputs(INPUTS / "zhipu.yaml")
    path = tmp_path / "billing.parquet"
    path.write_bytes(b"previous")
    made = sample_dataset._chunk
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return made(*args, **kwargs)

    monkeypatch.setattr(sample_dataset, "_chunk", failing)
    with pytest.raises(OSError):
        sample_dataset.write_billing_dataset(inputs, path, 1000, customers=40, chunk_rows=100)
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["billing.parquet"]
