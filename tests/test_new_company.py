"""A company that is not in the repo, from its inputs file alone: its own product lines, reporting in EUR,
only a reported compute figure and no R&D (examples/lumen, the README's walk-through)."""

from __future__ import annotations

import math
import shutil

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, sheet_rows
from reference import load_reference
from ruamel.yaml import YAML

from unitecon.auditor.audit import audit
from unitecon.auditor.comparing import compare
from unitecon.auditor.recompute import recompute
from unitecon.cli import main

LUMEN = EXAMPLES / "lumen" / "lumen.yaml"


@pytest.fixture(scope="module")
def lumen(tmp_path_factory):
    out = tmp_path_factory.mktemp("lumen")
    result = CliRunner().invoke(main, ["build", str(LUMEN), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "lumen.xlsx", result.output


def _figures() -> dict:
    return YAML(typ="safe").load(LUMEN.read_text(encoding="utf-8"))["inputs"]


def _value(inputs: dict, key: str, period: str) -> float:
    return float(inputs[key]["values"][period]["value"])


def test_each_declared_product_gets_its_arppu_rows_in_the_reporting_currency(lumen):
    path, _ = lumen
    rec = recompute(path)
    inputs = _figures()
    names = {name for name, _, _ in sheet_rows(path, "Calculations", "lumen")}
    for product in ("chat", "studio"):
        assert {f"{product}_arppu_eur", f"{product}_arppu_monthly_eur", f"{product}_arppu_annualised_eur",
                f"{product}_arppu_usd", f"{product}_arppu_annualised_usd"} <= names
    values = {(name, period): rec.value("Calculations", cell.coordinate)
              for name, period, cell in sheet_rows(path, "Calculations", "lumen")}
    arppu = _value(inputs, "chat_revenue_eur", "H1_2025") / _value(inputs, "chat_paying_users", "H1_2025")
    assert values[("chat_arppu_eur", "H1_2025")] == pytest.approx(arppu, rel=1e-12)
    assert values[("chat_arppu_annualised_eur", "H1_2025")] == pytest.approx(arppu / 6 * 12, rel=1e-12)
    assert values[("chat_arppu_usd", "H1_2025")] == pytest.approx(arppu * inputs["usd_per_eur"]["value"], rel=1e-12)
    assert rec.by_name("chat_arppu_eur") == pytest.approx(arppu, rel=1e-12)  # a headline, by its defined name


def test_the_exchange_rate_comes_from_the_reported_compute_figure_without_rd(lumen):
    path, _ = lumen
    rec = recompute(path)
    inputs = _figures()
    values = {(name, period): rec.value("Calculations", cell.coordinate)
              for name, period, cell in sheet_rows(path, "Calculations", "lumen")}
    for period in ("FY2024", "H1_2025"):
        expected = _value(inputs, "compute_spend_reported_eur", period) / _value(inputs, "revenue_eur", period)
        assert values[("compute_to_revenue", period)] == pytest.approx(expected, rel=1e-12)
    names = {name for name, _ in values}
    assert not {"rd_to_revenue", "compute_share_of_rd_used"} & names  # no R&D: no rows resting on it


def test_it_verifies_audits_and_matches_the_independent_reference(lumen):
    path, _ = lumen
    rec = recompute(path)
    assert compare(rec) == []
    assert audit(str(path)) == []
    ref = load_reference(LUMEN)
    compared = 0
    for name, period, cell in sheet_rows(path, "Calculations", "lumen"):
        if name == "period_months":
            continue
        expected = ref.values.loc[name, period or "scalar"]
        assert not math.isnan(expected), name
        assert rec.value("Calculations", cell.coordinate) == pytest.approx(expected, rel=1e-9), name
        compared += 1
    assert compared > 25
    inputs = set(_figures())
    in_book = {(n, p or "scalar") for n, p, _ in sheet_rows(path, "Calculations", "lumen")}
    computed = {(n, c) for n in ref.values.index for c in ref.values.columns
                if n not in inputs and not math.isnan(ref.values.loc[n, c])}
    assert computed - in_book == set()


def test_amounts_are_formatted_in_euros(lumen):
    path, _ = lumen
    ws = openpyxl.load_workbook(path)["Calculations"]
    formats = {ws.cell(row=c.row, column=c.column).number_format
               for n, p, c in sheet_rows(path, "Calculations", "lumen") if n == "revenue_eur"}
    assert formats == {'"€"#,##0'}


def test_the_build_says_nothing_is_reconciled(lumen):
    path, output = lumen
    assert "no reconciliation applies to these inputs: no figure is cross-checked" in output
    cover = openpyxl.load_workbook(path)["Cover"]
    text = " ".join(str(c.value) for row in cover.iter_rows() for c in row if c.value)
    assert "No reconciliation applies to these inputs" in text
    assert "Lumen AI SAS — half-year results, 30 September 2025 (FICTIONAL EXAMPLE)" in text  # the document's title
    assert "prospectus" not in text


def test_a_misspelt_unused_input_gets_a_warning_and_the_build_succeeds(tmp_path):
    folder = tmp_path / "lumen"
    shutil.copytree(LUMEN.parent, folder)
    path = folder / "lumen.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + '''
  gros_margin:
    label: "Gross margin, restated"
    unit: ratio
    kind: rate
    grain: period
    values:
      FY2024:
        value: 0.31
        source: {document: lumen_results_2025.txt, quote: "up from 31% in 2024"}
''', encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "inputs.gros_margin: no metric reads this input; did you mean gross_margin? (the file gives that too)" \
        in warnings[0]
    assert (tmp_path / "out" / "lumen.xlsx").exists()
