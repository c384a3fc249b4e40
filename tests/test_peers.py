"""The peers workbook: each company's figures taken from its own inputs file, computed as in its own workbook,
normalised to USD at its cited exchange rates, and compared side by side as live formulas."""

from __future__ import annotations

import math
import re
import shutil
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import COMPANIES, INPUTS, sheet_rows, workings_sheets
from ruamel.yaml import YAML

from unitecon.auditor.trace import render_text, trace
from unitecon.cli import main

#: Each company's headline period for the exchange rate, from the issue and the documents.
HEADLINE = {"minimax": "9M2025", "zhipu": "FY2024", "openai": "FY2024"}


def _doc(model: str) -> dict:
    return YAML(typ="safe").load((INPUTS / f"{model}.yaml").read_text(encoding="utf-8"))


def _usd_factor(model: str) -> float:
    """USD per unit of the company's reporting currency, from its own cited rates (computed here, not by unitecon)."""
    doc = _doc(model)
    currency = doc["currency"]
    if currency == "USD":
        return 1.0
    for spec in doc["inputs"].values():
        if spec["unit"] == f"{currency}_per_USD":
            return 1 / float(spec["value"])
        if spec["unit"] == f"USD_per_{currency}":
            return float(spec["value"])
    raise AssertionError(f"{model}: no USD rate")


def test_the_three_exchange_rates_are_named_and_equal_each_companys_reference(recomputed, references):
    rec = recomputed["peers"]
    for model, period in HEADLINE.items():
        assert rec.by_name(f"compute_to_revenue_{model}") == pytest.approx(
            references[model].get("compute_to_revenue", period), rel=1e-12), model
    assert rec.by_name("compute_to_revenue_openai") == pytest.approx(5e9 / 3.7e9, rel=1e-12)  # typed from 000
    assert "COMPUTE_TO_REVENUE_ANTHROPIC" not in rec.names  # no compute figure for Anthropic: no rate


def test_every_workings_cell_equals_its_companys_reference_converted_to_usd(built, recomputed, references):
    """Both ways: every cell of a company's sheet is its reference figure (amounts named *_usd converted at the
    company's cited rate), and every compared figure the references compute is on the Summary."""
    path, rec = built["peers"], recomputed["peers"]
    compared = 0
    for sheet in workings_sheets(path):
        model = next(m for m in COMPANIES if sheet.endswith(m))
        ref, ccy = references[model], references[model].currency
        for name, period, cell in sheet_rows(path, sheet, "peers"):
            base = name.removesuffix(f"_{model}")
            value = rec.value(sheet, cell.coordinate)
            if base == "period_months":
                assert value == ref.months[period]
                continue
            if base in ref.values.index and not math.isnan(ref.values.loc[base, period or "scalar"]):
                expected = ref.values.loc[base, period or "scalar"]
            else:  # an amount converted to USD for the comparison
                assert base.endswith("_usd") and ccy != "usd", name
                expected = ref.values.loc[base.removesuffix("_usd") + f"_{ccy}", period] * _usd_factor(model)
            assert value == pytest.approx(expected, rel=1e-9), (sheet, name, period)
            compared += 1
    assert compared > 60
    summary = {(n, p) for n, p, _ in sheet_rows(path, "Summary", "peers")}
    for model in COMPANIES:
        ref = references[model]
        for metric in ("compute_to_revenue", "revenue_growth_yoy", "arr_growth", "rd_to_revenue", "gross_margin",
                       "compute_margin", "runway_months", f"revenue_{ref.currency}", f"net_loss_{ref.currency}"):
            if metric not in ref.values.index:
                continue
            shown = metric.replace(f"_{ref.currency}", "_usd")
            for period in ref.periods:
                if not math.isnan(ref.values.loc[metric, period]):
                    assert (f"{shown}_{model}", period) in {(n.removeprefix("out_"), p) for n, p in summary}, \
                        (model, metric, period)


def test_inputs_are_the_companies_own_figures_and_quotes(built):
    wb = openpyxl.load_workbook(built["peers"])
    ws = wb["Inputs"]
    header = next(r for r in ws.iter_rows(min_row=1, max_row=6) if r[0].value == "Label")
    col = {c.value: c.column - 1 for c in header}
    seen = 0
    for row in ws.iter_rows(min_row=header[0].row + 1):
        name = row[col["Defined name"]].value
        model = next((m for m in COMPANIES if name and f"_{m}" in name), None)
        if model is None:
            continue
        key = re.sub(rf"_{model}(_[a-z0-9_]+)?$", "", name)
        period = (re.search(rf"_{model}_([a-z0-9_]+)$", name) or [None, None])[1]
        spec = _doc(model)["inputs"][key]
        entry = spec if spec["grain"] == "scalar" else next(
            e for p, e in spec["values"].items() if period is None or str(p).lower() == period)
        assert row[col["Value"]].value == entry["value"], name
        assert row[col["Quote"]].value == entry["source"].get("quote", entry["source"].get("assumption")), name
        seen += 1
    assert seen > 30


def test_trace_follows_each_exchange_rate_to_its_quotes(built):
    openai = render_text(trace(str(built["peers"]), "compute_to_revenue_openai", None, False))
    assert "OpenAI去年收入約為37億美元" in openai and "EpochAI曾估算去年該公司在研發" in openai
    zhipu = render_text(trace(str(built["peers"]), "compute_to_revenue_zhipu", None, False))
    assert "usd_cny" not in zhipu  # a ratio: no currency conversion on its path
    assert "其中仅算力成本就花了15.73亿元" in zhipu


def test_a_native_chart_shows_the_exchange_rate_by_company(built):
    with zipfile.ZipFile(built["peers"]) as zf:
        charts = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/charts/chart")]
    assert any("Compute-to-revenue exchange rate by company" in c and "Summary!$D$" in c for c in charts)


def test_the_default_build_writes_the_peers_workbook_and_verify_rebuilds_it_from_the_companies(tmp_path):
    folder = tmp_path / "inputs"
    shutil.copytree(INPUTS, folder)
    runner = CliRunner()
    built = runner.invoke(main, ["build", "--inputs", str(folder), "--out", str(tmp_path / "out")])
    assert built.exit_code == 0, built.output
    assert re.search(r"wrote \S+peers\.xlsx \(\d+ inputs, \d+ formula cells; no reconciliation", built.output)
    verified = runner.invoke(main, ["verify", str(tmp_path / "out" / "peers.xlsx"), "--inputs", str(folder)])
    assert verified.exit_code == 0 and "0 mismatches" in verified.output, verified.output
    # an edited company figure: the peers workbook no longer matches what its files give
    path = folder / "openai.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("value: 5000000000", "value: 6000000000"),
                    encoding="utf-8")
    stale = runner.invoke(main, ["verify", str(tmp_path / "out" / "peers.xlsx"), "--inputs", str(folder)])
    assert stale.exit_code == 1 and "model:" in stale.output


def test_pull_refuses_a_peers_workbook_in_one_line(built):
    result = CliRunner().invoke(main, ["pull", str(built["peers"]), "--yes"])
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1
    assert "peers workbook" in result.output and "inputs files" in result.output


def test_one_period_id_must_mean_the_same_dates_in_every_company(tmp_path):
    folder = tmp_path / "inputs"
    shutil.copytree(INPUTS, folder, ignore=shutil.ignore_patterns("ledgers"))
    path = folder / "anthropic.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        'FY2025: {label: "FY2025", start: 2025-01-01, end: 2025-12-31, months: 12}',
        'FY2025: {label: "FY2025", start: 2025-04-01, end: 2026-03-31, months: 12}'), encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8").replace(
        'FY2026: {label: "FY2026 (expected)", start: 2026-01-01,', 'FY2026: {label: "FY2026 (expected)", '
        'start: 2026-04-01,').replace("end: 2026-12-31, months: 12}", "end: 2027-03-31, months: 12}"),
        encoding="utf-8")
    result = CliRunner().invoke(main, ["build", "anthropic", "openai", "--peers", "--inputs", str(folder),
                                       "--out", str(tmp_path / "out")])
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 1 and len(errors) == 1, result.output
    assert "periods.FY2025" in errors[0] and "one period id must mean the same dates" in errors[0]
    assert not (tmp_path / "out").exists()


def test_verify_says_when_it_cannot_find_the_companies_files(built, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no inputs/ folder here
    result = CliRunner().invoke(main, ["verify", str(built["peers"])])
    assert result.exit_code == 0, result.output
    assert "note:" in result.output and "not compared with their inputs files" in result.output
