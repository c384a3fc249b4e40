"""Careless and hostile input to the auditor commands (verify, trace, diff): never a traceback, a flood of
output, or a silently wrong number. Each case is planted in a built workbook and run through the real CLI."""

from __future__ import annotations

import re
import shutil
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import ROOT

from unitecon.auditor.diff import diff
from unitecon.cli import main
from unitecon.reading.snapshot import read_snapshot

FEW_DOZEN = 60  # the most lines any default run of verify, trace or diff may print
WIDTH = 200  # the longest line diff may print


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def lines(result) -> list[str]:
    return result.output.splitlines()


# --- options -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("option", "value"), [("--rel-tol", "-1"), ("--rel-tol", "nan"), ("--limit", "-3")])
def test_a_bad_verify_option_is_clicks_usage_error(small_built, option, value):
    result = run("verify", small_built["zhipu"], option, value)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output


# --- trace: bounded, iterative ---------------------------------------------------------------------

def test_dependents_of_an_input_read_by_every_customer_are_summarised_not_a_recursion_error():
    shipped = ROOT / "workbooks" / "minimax.xlsx"  # 25,000 customers: a running total 25,000 cells deep
    result = run("trace", shipped, "usd_cny", "--dependents")
    assert result.exit_code == 0, result.output[-500:]
    assert len(lines(result)) <= 41
    assert re.search(r"Customers!(?P<col>[A-Z]+)9:(?P=col)25008  25,000 cells", result.output), result.output
    assert "more cell" in result.output  # what the limit left out is counted


def test_a_running_total_traced_from_its_last_row_is_one_node(small_built):
    snap = read_snapshot(small_built["minimax"])
    last = max(int(cell[1:]) for sheet, cell in snap.formulas if sheet == "Customers" and cell.startswith("P"))
    result = run("trace", small_built["minimax"], f"Customers!P{last}", "--limit", "0")
    assert result.exit_code == 0, result.output
    assert f"Customers!P9:P{last - 1}  {last - 9:,} cells" in result.output
    assert len(lines(result)) < 40


def test_trace_depth_and_limit_bound_the_tree(small_built):
    book = small_built["minimax"]
    shallow = run("trace", book, "usd_cny", "--dependents", "--depth", "1", "--limit", "0")
    full = run("trace", book, "usd_cny", "--dependents", "--limit", "0")
    few = run("trace", book, "usd_cny", "--dependents", "--limit", "5")
    assert shallow.exit_code == full.exit_code == few.exit_code == 0
    assert all(line.startswith(("├─ ", "└─ ")) for line in lines(shallow)[1:])  # one level down only
    assert len(lines(shallow)) < len(lines(full)) < 300
    assert len(lines(few)) <= 6 and "use --limit 0 for all" in few.output


# --- trace: targets that are not there -----------------------------------------------------------

def _one_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert len(lines(result)) == 1, result.output
    assert lines(result)[0].startswith("error: ")
    return result.output


def test_an_empty_cell_far_outside_the_sheet_is_empty_not_an_input(small_built):
    out = _one_error(run("trace", small_built["zhipu"], "Summary!ZZ9999"))
    assert "Summary!ZZ9999 is empty" in out and "outside the sheet's used range" in out
    assert "input" not in out


def test_an_empty_cell_inside_the_used_range_is_empty_too(small_built):
    snap = read_snapshot(small_built["zhipu"])
    grid = snap.cells["Summary"].grid
    row, col = next((r, c) for r in range(1, grid.shape[0]) for c in range(1, grid.shape[1]) if grid[r, c] is None
                    and ("Summary", f"{openpyxl.utils.get_column_letter(c)}{r}") not in snap.formulas)
    cell = f"{openpyxl.utils.get_column_letter(col)}{row}"
    out = _one_error(run("trace", small_built["zhipu"], f"Summary!{cell}"))
    assert f"Summary!{cell} is empty" in out and "inside the sheet's used range" in out


@pytest.mark.parametrize(("target", "expected"), [
    ("Summry!D7", "no sheet 'Summry'; nearest sheet: Summary"),
    ("Summary!A0", "not a cell reference"),
    ("Summary!XFE1", "not a cell reference"),
    ("Summary!", "not a cell reference"),
    ("Summary!A1:B2", "is a range"),
    ("usd_cyn", "nearest names: usd_cny"),
])
def test_a_missing_sheet_or_malformed_reference_is_one_line_with_the_nearest_names(small_built, target, expected):
    assert expected in _one_error(run("trace", small_built["zhipu"], target))


# --- verify: summary first, bounded listing ---------------------------------------------------------

def test_a_workbook_saved_without_cached_values_is_not_a_flood_of_mismatches(small_built, small_inputs, tmp_path):
    resaved = tmp_path / "resaved.xlsx"
    openpyxl.load_workbook(small_built["minimax"]).save(resaved)  # formulas kept, cached values gone
    result = run("verify", resaved, "--inputs", small_inputs / "minimax.yaml")
    assert result.exit_code == 0, result.output[:2000]
    assert len(lines(result)) <= 6, result.output
    assert "0 mismatching" in lines(result)[0] and "3,397 with no cached value" in lines(result)[0]
    assert "the file caches no values" in result.output
    assert not [line for line in lines(result) if line.startswith(("mismatch", "no cached value:"))]
    assert "compared with" in result.output and "minimax.yaml: 0 mismatches" in result.output


def test_a_cell_without_a_cached_value_is_listed_apart_not_as_a_mismatch(small_built, small_inputs, tmp_path):
    with zipfile.ZipFile(small_built["zhipu"]) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    position = openpyxl.load_workbook(small_built["zhipu"], read_only=True).sheetnames.index("Calculations") + 1
    part = f"xl/worksheets/sheet{position}.xml"
    xml = members[part].decode()
    found = re.search(r'<c r="(H\d+)"[^>]*><f>[^<]+</f>(<v>[^<]+</v>)', xml)
    members[part] = xml.replace(found.group(0), found.group(0).replace(found.group(2), ""), 1).encode()
    planted = tmp_path / "planted.xlsx"
    with zipfile.ZipFile(planted, "w") as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    result = run("verify", planted, "--inputs", small_inputs / "zhipu.yaml")
    assert result.exit_code == 0, result.output
    assert "0 mismatching), 0 not verified, 1 with no cached value" in lines(result)[0]
    assert [line for line in lines(result) if line.startswith("no cached value:")] == [
        line for line in lines(result) if f"Calculations!{found.group(1)}:" in line]


def test_verify_against_another_models_inputs_is_refused_in_one_line(small_built, small_inputs):
    result = run("verify", small_built["zhipu"], "--inputs", small_inputs / "minimax.yaml")
    assert result.exit_code == 4  # verify could not do what was asked
    assert lines(result) == [f"error: {small_built['zhipu']}: built from model 'zhipu', not 'minimax' "
                             f"({small_inputs / 'minimax.yaml'} holds model 'minimax'); pass the matching --inputs "
                             f"file, e.g. {small_inputs / 'zhipu.yaml'}"]


def test_verify_lists_a_summary_then_at_most_limit_mismatches_of_each_kind(small_built, small_inputs, tmp_path):
    folder = tmp_path / "inputs"
    shutil.copytree(small_inputs, folder)
    yaml = folder / "minimax.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("value: 7.0446", "value: 7.5", 1), encoding="utf-8")
    default = run("verify", small_built["minimax"], "--inputs", yaml)
    assert default.exit_code == 1
    head, model = lines(default)[:2]
    assert "formula cells recomputed with formualizer:" in head and "(" in head and "0 mismatching)" in head
    assert re.search(r"compared with .*minimax\.yaml: [\d,]+ mismatches", model)
    listed = [line for line in lines(default) if line.startswith("mismatch model:")]
    assert len(listed) == 20 and len(lines(default)) <= FEW_DOZEN
    assert re.search(r"… and [\d,]+ more model mismatches \(use --limit 0 for all\)", default.output)
    everything = run("verify", small_built["minimax"], "--inputs", yaml, "--limit", "0")
    assert len([line for line in lines(everything) if line.startswith("mismatch model:")]) >= 300
    assert "more model mismatches" not in everything.output


# --- diff ----------------------------------------------------------------------------------------------

def test_diff_of_two_models_keeps_every_line_short_and_the_output_bounded(small_built):
    result = run("diff", small_built["minimax"], small_built["zhipu"])
    assert result.exit_code == 0, result.output
    assert max(map(len, lines(result))) <= WIDTH
    assert len(lines(result)) <= FEW_DOZEN
    assert re.search(r"names added \(\d+\): .+ … and \d+ more \(use --limit 0 for all\)", result.output)


@pytest.fixture(scope="module")
def scenarios(small_built, small_inputs, tmp_path_factory):
    """The zhipu workbook at base (the first scenario) and the same inputs built with the selector at bull."""
    out = tmp_path_factory.mktemp("bull")
    built = CliRunner().invoke(main, ["build", "zhipu", "--inputs", str(small_inputs), "--out", str(out),
                                      "--scenario", "bull", "--no-peers"])
    assert built.exit_code == 0, built.output
    return small_built["zhipu"], out / "zhipu.xlsx"


def test_a_scenario_switch_is_attributed_to_the_selector_and_the_inputs_it_switches(scenarios):
    base, bull = scenarios
    d = diff(base, bull)
    assert [(c.name, c.old, c.new) for c in d.inputs] == [("scenario", "base", "bull")] and not d.formulas
    assert {c.name for c in d.switched["scenario"]} >= {"paying_user_growth_next", "arppu_change_next"}
    revenue = next(b for b in d.bridges if b.output == "revenue_next")
    assert [name for name, _ in revenue.steps] == ["scenario"]
    assert revenue.steps[0][1] == pytest.approx(revenue.new - revenue.old, rel=1e-9)
    assert revenue.residual == pytest.approx(0, abs=1e-9 * abs(revenue.new))
    assert {name for name, _ in revenue.parts["scenario"]} == {"paying_user_growth_next", "arppu_change_next"}

    result = run("diff", base, bull)
    assert result.exit_code == 0, result.output
    assert "residual" not in result.output
    assert "bridge revenue_next: " in result.output and "all from scenario 'base' → 'bull'" in result.output
    assert len(lines(result)) <= FEW_DOZEN and max(map(len, lines(result))) <= WIDTH


def test_diff_prints_figures_in_the_workbooks_style_not_in_exponent_notation(scenarios):
    result = run("diff", *scenarios)
    assert not re.search(r"\de[+-]?\d", result.output), result.output
    assert re.search(r"bridge revenue_next: \d{1,3}(,\d{3})+ → \d{1,3}(,\d{3})+ \(\+\d{1,3}(,\d{3})+\)", result.output)
