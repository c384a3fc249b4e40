"""Scenarios and sensitivity, live in the workbook: switch the selector in the file, recompute its formulas,
and find the independent reference's numbers for that scenario; the Summary's comparison and the
Sensitivity grids hold every scenario and every grid point without switching."""

from __future__ import annotations

import shutil

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import INPUTS, MODELS, sheet_rows
from reference import load_reference, sensitivity_grids
from ruamel.yaml import YAML

from unitecon.auditor.recompute import recompute
from unitecon.cli import main
from unitecon.reading import fingerprint
from unitecon.reading.snapshot import read_snapshot

SCENARIOS = ("base", "bull", "bear")
FORWARD = ("payers_next", "arppu_next", "revenue_next", "revenue_growth_next", "compute_spend_next",
           "compute_to_revenue_next", "runway_months_next")


def checked(rec, book, model: str, name: str):
    """The recomputed value of check row ``name``, found by its Name column on the Checks sheet."""
    return next(rec.value("Checks", cell.coordinate) for row, _, cell in sheet_rows(book, "Checks", model)
                if row == name)


def selector(path) -> tuple[str, str]:
    """The cell the defined name ``scenario`` points at, found as any reader would."""
    sheet, cell = read_snapshot(path).names["scenario"]
    return sheet, cell.replace("$", "")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_switching_the_selector_in_the_file_recomputes_every_calculation_to_the_scenario(
        small_built, small_inputs, model, scenario):
    book = small_built[model]
    rec = recompute(book, overrides={selector(book): scenario})
    ref = load_reference(small_inputs / f"{model}.yaml", scenario)
    compared = 0
    for name, period, cell in sheet_rows(book, "Calculations", model):
        if name == "period_months" or name not in ref.values.index:
            continue
        expected = ref.values.loc[name, period or "scalar"]
        if expected != expected:  # NaN: a cell the reference leaves undefined is checked elsewhere
            continue
        assert rec.value("Calculations", cell.coordinate) == pytest.approx(expected, rel=1e-9), (name, period)
        compared += 1
    assert compared > 40
    for name in FORWARD:
        assert rec.by_name(name) == pytest.approx(ref.get(name), rel=1e-9), name
    assert checked(rec, book, model, "check_scenario_selected") == 1


def test_the_scenarios_really_differ():
    """Bull and bear move the exchange rate to opposite sides of base (else the switching tests prove little)."""
    for model in MODELS:
        rates = {s: load_reference(INPUTS / f"{model}.yaml", s).get("compute_to_revenue_next") for s in SCENARIOS}
        assert rates["bull"] < rates["base"] < rates["bear"], (model, rates)


@pytest.mark.parametrize("model", MODELS)
def test_summary_compares_every_scenario_side_by_side_without_switching(recomputed, model):
    """With the selector at base, the comparison's columns already hold bull and bear."""
    rec = recomputed[model]
    for scenario in SCENARIOS:
        ref = load_reference(INPUTS / f"{model}.yaml", scenario)
        for name in FORWARD:
            assert rec.by_name(f"{name}__{scenario}") == pytest.approx(ref.get(name), rel=1e-9), (name, scenario)


def _grids_in_file(rec, path) -> list[tuple[list[float], list[float], list[list[float]]]]:
    """Each grid as a person reads the Sensitivity sheet: the numbers in column A are the row steps; the row
    values sit in column B, the column values two rows above the first grid row, the grid right of a gap."""
    ws = openpyxl.load_workbook(path)["Sensitivity"]
    step_rows = [c.row for c in ws["A"] if isinstance(c.value, int | float)]
    blocks, grids = [], []
    for r in step_rows:
        if blocks and r == blocks[-1][-1] + 1:
            blocks[-1].append(r)
        else:
            blocks.append([r])
    for rows in blocks:
        header = rows[0] - 2
        columns = [c.column_letter for c in ws[header] if c.column > 3 and c.value is not None]
        row_values = [rec.value("Sensitivity", f"B{r}") for r in rows]
        column_values = [rec.value("Sensitivity", f"{c}{header}") for c in columns]
        cells = [[rec.value("Sensitivity", f"{c}{r}") for c in columns] for r in rows]
        grids.append((row_values, column_values, cells))
    return grids


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("scenario", ("base", "bear"))
def test_sensitivity_grid_equals_a_pandas_grid(small_built, small_inputs, model, scenario):
    book = small_built[model]
    rec = recompute(book, overrides={selector(book): scenario})
    expected = sensitivity_grids(small_inputs / f"{model}.yaml", scenario)
    found = _grids_in_file(rec, book)
    assert len(found) == len(expected)
    for (row_values, column_values, cells), (name, grid) in zip(found, expected.items(), strict=True):
        assert row_values == pytest.approx(list(grid.index), rel=1e-12), name
        assert column_values == pytest.approx(list(grid.columns), rel=1e-12, abs=1e-15), name
        assert cells == [pytest.approx(list(line), rel=1e-9) for line in grid.to_numpy()], name
        centre = len(row_values) // 2
        assert cells[centre][centre] == pytest.approx(rec.by_name(name), rel=1e-12)  # the active scenario


def test_a_selector_naming_no_scenario_fails_the_master_check(small_built):
    book = small_built["zhipu"]
    before = recompute(book).by_name("failing_checks")
    rec = recompute(book, overrides={selector(book): "sideways"})
    assert checked(rec, book, "zhipu", "check_scenario_selected") == 0
    assert rec.by_name("failing_checks") == before + 1 and rec.by_name("master_check") == 0


@pytest.fixture
def project(tmp_path, monkeypatch, small_inputs):
    shutil.copytree(small_inputs, tmp_path / "inputs")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_build_scenario_sets_only_the_selectors_starting_value(project):
    runner = CliRunner()
    assert runner.invoke(main, ["build", "zhipu", "--out", "base"]).exit_code == 0
    result = runner.invoke(main, ["build", "zhipu", "--out", "bear", "--scenario", "bear"])
    assert result.exit_code == 0, result.output
    assert "scenario bear" in result.output
    base, bear = read_snapshot(project / "base" / "zhipu.xlsx"), read_snapshot(project / "bear" / "zhipu.xlsx")
    assert bear.values[bear.names["scenario"]] == "bear" and base.values[base.names["scenario"]] == "base"
    assert fingerprint.read(bear).inputs == fingerprint.read(base).inputs  # every scenario's values are in both files
    assert bear.formulas == base.formulas
    ref = load_reference(project / "inputs" / "zhipu.yaml", "bear")
    sheet, cell = bear.names["compute_to_revenue_next"]
    assert bear.cached[(sheet, cell)] == pytest.approx(ref.get("compute_to_revenue_next"), rel=1e-12)


def test_an_unknown_scenario_is_one_line_and_writes_nothing(project):
    result = CliRunner().invoke(main, ["build", "zhipu", "--scenario", "sideways"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: --scenario: sideways: not a scenario of inputs/zhipu.yaml; expected one of base, bull, bear"]
    assert not (project / "workbooks").exists()


def test_a_scenario_value_edited_in_the_workbook_is_pulled_into_its_scenario(project):
    runner = CliRunner()
    assert runner.invoke(main, ["build", "zhipu"]).exit_code == 0
    book = project / "workbooks" / "zhipu.xlsx"
    wb = openpyxl.load_workbook(book)
    sheet, ref = next(iter(wb.defined_names["rd_growth_next__bear"].destinations))
    wb[sheet][ref.replace("$", "")] = 0.5
    wb.save(book)
    before = (project / "inputs" / "zhipu.yaml").read_text(encoding="utf-8")
    result = runner.invoke(main, ["pull", str(book), "--yes"])
    assert result.exit_code == 0, result.output
    after = (project / "inputs" / "zhipu.yaml").read_text(encoding="utf-8")
    data = YAML(typ="safe").load(after)
    assert data["inputs"]["rd_growth_next"]["scenarios"] == {"bull": 0.1, "bear": 0.5}
    assert data["inputs"]["rd_growth_next"]["value"] == 0.2
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert changed == [("    scenarios: {bull: 0.1, bear: 0.35}", "    scenarios: {bull: 0.1, bear: 0.5}")]
    rebuilt = runner.invoke(main, ["build", "zhipu"])
    assert rebuilt.exit_code == 0, rebuilt.output
    rec = recompute(book, overrides={selector(book): "bear"})
    assert rec.by_name("rd_growth_next") == 0.5


def test_scenario_values_on_a_reported_figure_move_history_and_the_comparison_alike(project):
    """A scenario on a cited period figure (Zhipu's Jan–Jun 2025 revenue) changes that period's history, and the
    comparison's columns (written out down to the figure) agree with switching the selector."""
    path = project / "inputs" / "zhipu.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count("        value: 191000000\n") == 1
    path.write_text(text.replace("        value: 191000000\n", "        value: 191000000\n"
                                 "        scenarios: {bull: 250000000, bear: 150000000}\n"), encoding="utf-8")
    assert CliRunner().invoke(main, ["build", "zhipu"]).exit_code == 0
    book = project / "workbooks" / "zhipu.xlsx"
    side_by_side = recompute(book)
    for scenario in SCENARIOS:
        switched = recompute(book, overrides={selector(book): scenario})
        ref = load_reference(path, scenario)
        assert switched.by_name("revenue_cny_h1_2025") == ref.get("revenue_cny", "H1_2025")
        for name in FORWARD:
            assert switched.by_name(name) == pytest.approx(ref.get(name), rel=1e-9), (scenario, name)
            assert side_by_side.by_name(f"{name}__{scenario}") == pytest.approx(ref.get(name), rel=1e-9)


def built_with_selector_at(project, text: str):
    """The zhipu workbook built in ``project``, its selector then set to ``text`` as a person would in Excel."""
    assert CliRunner().invoke(main, ["build", "zhipu"]).exit_code == 0
    book = project / "workbooks" / "zhipu.xlsx"
    wb = openpyxl.load_workbook(book)
    sheet, cell = selector(book)
    wb[sheet][cell] = text
    wb.save(book)
    return book


def test_a_rebuild_keeps_the_scenario_the_workbook_was_left_at(project):
    runner = CliRunner()
    book = built_with_selector_at(project, "bear")  # chosen from the list in Excel
    result = runner.invoke(main, ["build", "zhipu"])
    assert result.exit_code == 0, result.output
    assert "scenario bear" in result.output
    snap = read_snapshot(book)
    assert snap.values[snap.names["scenario"]] == "bear"
    ref = load_reference(project / "inputs" / "zhipu.yaml", "bear")
    assert snap.cached[snap.names["compute_to_revenue_next"]] == pytest.approx(ref.get("compute_to_revenue_next"))
    assert "scenario bull" in runner.invoke(main, ["build", "zhipu", "--scenario", "bull"]).output


def test_verify_names_a_selector_that_holds_no_scenario(project):
    book = built_with_selector_at(project, "sideways")
    result = CliRunner().invoke(main, ["verify", str(book)])
    assert result.exit_code == 4  # verify could not do what was asked
    assert result.output.strip().splitlines() == [
        f"error: {book}: the scenario selector holds 'sideways', which is not a scenario of inputs/zhipu.yaml; "
        "choose one from its list"]
