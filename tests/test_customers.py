"""The Customers sheet: every customer cell recomputed from the file equals the independent reference;
ledger text stays text; synthetic data says so; edits flow through and the order check notices."""

from __future__ import annotations

import gzip
import itertools
import math
import shutil

import numpy as np
import openpyxl
import pytest
from click.testing import CliRunner
from conftest import MODELS
from reference import load_reference

from unitecon.auditor.recompute import recompute
from unitecon.cli import main
from unitecon.model.inputs import load_inputs

NAME_ROW, FIRST_ROW = 6, 9  # 1-based: the defined name of each column; the first customer


def _columns(rec) -> dict[str, str]:
    """Column letter by the name written above it on the Customers sheet."""
    out = {}
    for (sheet, a1), value in rec.constants.items():
        if sheet == "CUSTOMERS" and a1[-1].isdigit() and int("".join(ch for ch in a1 if ch.isdigit())) == NAME_ROW:
            out[str(value)] = "".join(ch for ch in a1 if ch.isalpha())
    return out


def _expected(ref, name: str):
    """The reference column for a Customers column name (None for ledger facts)."""
    frame = ref.customers
    for p in ref.periods:
        suffix = f"_{p.lower()}"
        if name.endswith(suffix):
            base = name.removesuffix(suffix)
            return {"customer_revenue": frame.get(f"revenue_{p}"),
                    "customer_gross_profit": frame.get(f"gross_profit_{p}"),
                    "customer_revenue_positive": (frame[f"revenue_{p}"] > 0).astype(float)}.get(base)
    return {"customer_total_revenue": frame["total"], "customer_share": frame["share"],
            "customer_rank": frame["rank"], "customer_cumulative_share": frame["cumulative_share"],
            "customer_repeat": frame["repeat"],
            "customer_gross_margin": frame.get("gross_margin"),
            "customer_in_order": frame["total"] * 0 + 1}.get(name)


@pytest.mark.parametrize("model", MODELS)
def test_every_customer_cell_matches_the_reference(recomputed, references, model):
    rec, ref = recomputed[model], references[model]
    columns = _columns(rec)
    ids = [rec.value("Customers", f"A{FIRST_ROW + i}") for i in range(len(ref.customers))]
    assert sorted(ids) == sorted(ref.customers.index) and rec.value("Customers", f"A{FIRST_ROW + len(ids)}") is None
    checked = 0
    for name, letter in columns.items():
        expected = _expected(ref, name)
        if ("CUSTOMERS", f"{letter}{FIRST_ROW}") not in rec.formulas:
            continue
        assert expected is not None, f"no reference for Customers column {name}"
        by_id = expected.to_dict()
        for i, customer in enumerate(ids):
            got = rec.value("Customers", f"{letter}{FIRST_ROW + i}")
            assert got == pytest.approx(by_id[customer], rel=1e-9, abs=1e-12), (name, customer)
            checked += 1
    assert checked >= 8 * len(ids)


@pytest.mark.parametrize("model", MODELS)
def test_customer_rows_are_largest_first_and_the_pareto_curve_ends_at_one(recomputed, model):
    rec = recomputed[model]
    columns = _columns(rec)
    n = int(rec.by_name("ledger_customers"))
    totals = [rec.value("Customers", f"{columns['customer_total_revenue']}{FIRST_ROW + i}") for i in range(n)]
    # largest first, to within the last-digit noise between engines (the order check's tolerance)
    assert all(a >= b - abs(a) * 1e-12 for a, b in itertools.pairwise(totals))
    assert rec.value("Customers", f"{columns['customer_cumulative_share']}{FIRST_ROW + n - 1}") == pytest.approx(1)
    assert rec.value("Customers", f"{columns['customer_rank']}{FIRST_ROW + n - 1}") == n


def test_the_shipped_sample_ledgers_are_the_sizes_the_prospectuses_give(references):
    assert len(references["minimax"].customers) == 25000
    assert len(references["zhipu"].customers) == 8000
    zhipu = references["zhipu"].values
    assert zhipu.at["ledger_repurchase_rate", "scalar"] == pytest.approx(0.79, abs=0.02)
    assert zhipu.at["ledger_top_a_share", "scalar"] > 0.40


@pytest.mark.parametrize("model", MODELS)
def test_every_sheet_built_from_a_synthetic_ledger_says_so(built, model):
    wb = openpyxl.load_workbook(built[model])
    assert "SYNTHETIC" in wb["Customers"]["A2"].value
    cover = " ".join(str(c.value) for row in wb["Cover"].iter_rows() for c in row if c.value)
    assert "SYNTHETIC" in cover


PAYLOADS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(1)", "\t=1", "=cmd|' /C calc'!A0",
            "=1+1", "-", "@", "+"]


def test_customer_names_that_look_like_formulas_are_written_as_text(small_inputs, tmp_path):
    folder = tmp_path / "inputs"
    shutil.copytree(small_inputs, folder)
    ledger = folder / "ledgers" / "zhipu_customers.csv.gz"
    lines = gzip.decompress(ledger.read_bytes()).decode("utf-8").splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if line.startswith("customer_id"))
    lines += [f'X{i},"{p.replace(chr(34), chr(34) * 2)}",finance,cloud,2024,{1000 + i},CNY,\n'
              for i, p in enumerate(PAYLOADS)]
    assert header > 0
    ledger.write_bytes(gzip.compress("".join(lines).encode("utf-8")))
    result = CliRunner().invoke(main, ["build", "zhipu", "--inputs", str(folder), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(tmp_path / "zhipu.xlsx")["Customers"]
    names = {c.value: c.data_type for c in ws["B"] if c.row >= FIRST_ROW}
    for payload in PAYLOADS:
        assert names.get(payload) == "s", payload


def test_editing_a_customer_amount_moves_the_summaries_and_trips_the_order_check(small_built, small_inputs):
    path = small_built["zhipu"]
    before = recompute(path)
    columns = _columns(before)
    n = int(before.by_name("ledger_customers"))
    last = FIRST_ROW + n - 1
    amount_col = columns["customer_amount_fy2024"]
    old = before.value("Customers", f"{amount_col}{last}")
    after = recompute(path, {("Customers", f"{amount_col}{last}"): old + 1e9})
    assert after.by_name("ledger_in_order") == 0  # the smallest customer is now the largest
    assert after.by_name("master_check") == 0
    grand = after.by_name("ledger_total_revenue")
    assert grand == pytest.approx(before.by_name("ledger_total_revenue") + 1e9, rel=1e-12)
    shares = [after.value("Customers", f"{columns['customer_share']}{FIRST_ROW + i}") for i in range(n)]
    assert math.fsum(shares) == pytest.approx(1, rel=1e-12)
    assert after.by_name("ledger_hhi") == pytest.approx(float(np.sum(np.square(shares))), rel=1e-9)


def test_verify_recomputes_a_running_total_after_an_edit(small_built):
    """A cumulative column read from stale cached values must be recomputed row by row, not trusted."""
    path = small_built["minimax"]
    before = recompute(path)
    columns = _columns(before)
    first_amount = columns["customer_amount_9m2025"]
    after = recompute(path, {("Customers", f"{first_amount}{FIRST_ROW}"): 0.0})
    n = int(before.by_name("ledger_customers"))
    cumulative = [after.value("Customers", f"{columns['customer_cumulative_share']}{FIRST_ROW + i}") for i in range(n)]
    assert cumulative[-1] == pytest.approx(1, rel=1e-12)
    assert cumulative != [before.value("Customers", f"{columns['customer_cumulative_share']}{FIRST_ROW + i}")
                          for i in range(n)]


def test_a_ledger_too_large_for_an_excel_sheet_is_refused_before_anything_is_written(small_inputs, tmp_path):
    folder = tmp_path / "inputs"
    shutil.copytree(small_inputs, folder)
    n = 1_048_576 - 8 + 1  # one customer more than fits under the sheet's eight header rows
    ids = np.char.add("C", np.arange(n).astype(str))
    body = "\n".join(np.char.add(ids, ",Name,finance,cloud,2024,1,CNY,")) + "\n"
    header = "customer_id,customer_name,segment,deployment,period,amount,currency,credit_note\n"
    (folder / "ledgers" / "zhipu_customers.csv.gz").write_bytes(gzip.compress((header + body).encode(), 1))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", "zhipu", "--inputs", str(folder), "--out", str(out)])
    assert result.exit_code == 1
    assert "1,048,569 customers need 1,048,577 sheet rows; Excel holds at most 1,048,576" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_the_reference_reads_the_ledger_the_inputs_file_names(small_inputs):
    ref = load_reference(small_inputs / "zhipu.yaml")
    inputs = load_inputs(small_inputs / "zhipu.yaml")
    assert inputs.ledger_path.exists() and len(ref.customers) == 300


def test_verify_against_the_inputs_checks_every_customer_row(small_built, small_inputs, tmp_path):
    folder = tmp_path / "inputs"
    shutil.copytree(small_inputs, folder)
    yaml = folder / "minimax.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("value: 7.0446", "value: 7.5", 1), encoding="utf-8")
    runner = CliRunner()
    clean = runner.invoke(main, ["verify", str(small_built["minimax"]), "--inputs", str(small_inputs / "minimax.yaml")])
    assert clean.exit_code == 0, clean.output
    moved = runner.invoke(main, ["verify", str(small_built["minimax"]), "--inputs", str(yaml), "--limit", "0"])
    assert moved.exit_code == 1
    customer_lines = [line for line in moved.output.splitlines() if line.startswith("mismatch model: Customers!")]
    assert len(customer_lines) >= 300  # every customer's revenue moves with usd_cny
    assert "the inputs file gives" in customer_lines[0]


def test_build_refuses_to_overwrite_ledger_data_edited_in_the_workbook(small_inputs, tmp_path):
    folder = tmp_path / "inputs"
    shutil.copytree(small_inputs, folder)
    out = tmp_path / "out"
    runner = CliRunner()
    args = ["build", "zhipu", "--inputs", str(folder), "--out", str(out)]
    assert runner.invoke(main, args).exit_code == 0
    book = out / "zhipu.xlsx"
    assert runner.invoke(main, args).exit_code == 0  # untouched: rebuilds
    wb = openpyxl.load_workbook(book)
    ws = wb["Customers"]
    ws[f"F{FIRST_ROW + 3}"] = ws[f"F{FIRST_ROW + 3}"].value + 1
    wb.save(book)
    before = book.read_bytes()
    refused = runner.invoke(main, args)
    assert refused.exit_code == 1
    assert f"Customers!F{FIRST_ROW}:F{FIRST_ROW + 299}" in refused.output
    assert "data written by the build edited" in refused.output and "ledger file" in refused.output
    assert book.read_bytes() == before
    assert runner.invoke(main, [*args, "--force"]).exit_code == 0


def test_audit_finds_a_customer_formula_that_breaks_its_column(small_built, tmp_path):
    book = tmp_path / "minimax.xlsx"
    shutil.copy(small_built["minimax"], book)
    wb = openpyxl.load_workbook(book)
    ws = wb["Customers"]
    target = f"H{FIRST_ROW + 10}"
    ws[target] = f"=F{FIRST_ROW + 10}/7"
    wb.save(book)
    result = CliRunner().invoke(main, ["audit", str(book), "--format", "json"])
    assert result.exit_code == 1
    import json

    findings = {(f["kind"], f["location"]) for f in json.loads(result.output)}
    assert ("inconsistent formula", f"Customers!{target}") in findings
    assert ("hard-coded number", f"Customers!{target}") in findings


def test_trace_shows_a_named_customer_column_as_one_node(small_built):
    import json

    result = CliRunner().invoke(main, ["trace", str(small_built["zhipu"]), "ledger_hhi", "--format", "json"])
    assert result.exit_code == 0, result.output
    tree = json.loads(result.output)
    (column,) = tree["children"]  # SUMPRODUCT(customer_share, customer_share): one range, shown once
    assert column["cell"].endswith(f":{column['cell'].split(':')[0][0]}{FIRST_ROW + 299}")
    # below it, what any of its cells reads: customer_share is each customer's total over the ledger's
    assert [child["name"] for child in column["children"]] == ["customer_total_revenue", "ledger_total_revenue"]
    assert column["children"][0]["cell"].endswith(f"{FIRST_ROW + 299}")  # the whole column of totals, one node
