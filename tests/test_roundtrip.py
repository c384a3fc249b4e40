"""Finance round-trip: edit in Excel, pull, rebuild; nothing is lost on either side."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import openpyxl
import pytest
from click.testing import CliRunner

from unitecon.auditor.comparing import compare
from unitecon.auditor.recompute import recompute
from unitecon.cli import main


@pytest.fixture
def project(tmp_path, monkeypatch, small_inputs):
    """A copy of the inputs and a freshly built minimax workbook, with the CLI run from that folder."""
    shutil.copytree(small_inputs, tmp_path / "inputs")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["build", "minimax"])
    assert result.exit_code == 0, result.output
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def edit_workbook(path, changes: dict[str, object] | None = None, cells: dict[tuple[str, str], object] | None = None):
    """Change cells the way a person would in Excel (openpyxl stands in for Excel here)."""
    wb = openpyxl.load_workbook(path)
    for name, value in (changes or {}).items():
        sheet, ref = next(iter(wb.defined_names[name].destinations))
        wb[sheet][ref.replace("$", "")] = value
    for (sheet, ref), value in (cells or {}).items():
        wb[sheet][ref] = value
    wb.save(path)


def named_value(path, name):
    wb = openpyxl.load_workbook(path)
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    return wb[sheet][ref.replace("$", "")].value


def test_edit_pull_build_keeps_the_edit_in_both_files(project):
    book, yaml = project / "workbooks/minimax.xlsx", project / "inputs/minimax.yaml"
    before = yaml.read_text(encoding="utf-8")
    edit_workbook(book, {"hailuo_paying_users": 350000, "usd_cny": 7.2})

    result = run("pull", str(book), "--yes")
    assert result.exit_code == 0, result.output
    assert "hailuo_paying_users (Inputs!" in result.output and "300,000 → 350,000" in result.output

    after = yaml.read_text(encoding="utf-8")
    assert "value: 350000" in after and "value: 7.2" in after
    assert after.count("edited:") == 2 and "previous: 300000" in after and "previous: 7.0446" in after
    # comments, key order and source quotes survive: every original line except the two values is still there
    removed = [line for line in before.splitlines() if line not in after.splitlines()]
    assert sorted(removed) == sorted(["        value: 300000", "    value: 7.0446"])
    assert "# ---" in after and "海螺视频付费用户30万" in after

    result = run("build", "minimax")
    assert result.exit_code == 0, result.output
    assert named_value(book, "hailuo_paying_users") == 350000
    rec = recompute(book)
    assert compare(rec) == []
    assert rec.by_name("hailuo_arppu_usd") == pytest.approx(18_750_000 / 350_000)
    rows = list(openpyxl.load_workbook(book)["Inputs"].iter_rows())
    note = next(c.column - 1 for r in rows if r[0].value == "Label" for c in r if c.value == "Note")
    notes = [row[note].value for row in rows if row[1].value == "usd_cny"]
    assert notes and notes[0].startswith("EDITED in a workbook")


def test_build_refuses_to_overwrite_unpulled_edits_and_loses_nothing(project):
    book, yaml = project / "workbooks/minimax.xlsx", project / "inputs/minimax.yaml"
    edit_workbook(book, {"hailuo_paying_users": 350000})
    book_bytes, yaml_bytes = book.read_bytes(), yaml.read_bytes()

    result = run("build", "minimax")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "(hailuo_paying_users): edited in the workbook: 300,000 → 350,000" in result.output
    assert "unitecon pull" in result.output and "--force" in result.output
    assert book.read_bytes() == book_bytes and yaml.read_bytes() == yaml_bytes

    assert run("build", "minimax", "--force").exit_code == 0
    assert named_value(book, "hailuo_paying_users") == 300000


def test_build_refuses_hand_changed_and_overtyped_formulas(project):
    book = project / "workbooks/minimax.xlsx"
    wb = openpyxl.load_workbook(book)
    formula_cells = [c for c in wb["Calculations"]["G"] if c.data_type == "f"]
    changed, overtyped = formula_cells[5], formula_cells[6]
    edit_workbook(book, cells={("Calculations", changed.coordinate): "=1+1",
                               ("Calculations", overtyped.coordinate): 42})
    result = run("build", "minimax")
    assert result.exit_code == 1
    assert f"Calculations!{changed.coordinate}: formula changed by hand: =1+1" in result.output
    assert f"Calculations!{overtyped.coordinate}: the build's formula was overtyped with 42" in result.output


def test_a_changed_inputs_file_rebuilds_an_untouched_workbook(project):
    yaml = project / "inputs/minimax.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("value: 300000", "value: 310000", 1), encoding="utf-8")
    assert run("build", "minimax").exit_code == 0
    assert named_value(project / "workbooks/minimax.xlsx", "hailuo_paying_users") == 310000


def test_workbook_open_in_excel_is_not_written(project):
    book = project / "workbooks/minimax.xlsx"
    before = book.read_bytes()
    (project / "workbooks/~$minimax.xlsx").write_bytes(b"owner")
    result = run("build", "minimax", "--force")
    assert result.exit_code == 1 and "is open in Excel" in result.output
    assert book.read_bytes() == before


@pytest.mark.parametrize(("value", "fragment"), [("three hundred", "holds 'three hundred'; expected a number"),
                                                 (-5, "out of range; expected >= 0"),
                                                 ("=C20*2", "holds a formula =C20*2"),
                                                 (None, "holds nothing")])
def test_pulling_a_malformed_input_cell_fails_clearly_and_leaves_the_inputs_file(project, value, fragment):
    book, yaml = project / "workbooks/minimax.xlsx", project / "inputs/minimax.yaml"
    edit_workbook(book, {"hailuo_paying_users": value, "usd_cny": 7.3})
    before = yaml.read_bytes()
    result = run("pull", str(book), "--yes")
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "(hailuo_paying_users)" in lines[0] and fragment in lines[0], result.output
    assert yaml.read_bytes() == before


def test_pull_into_the_wrong_model_is_refused(project):
    result = run("pull", str(project / "workbooks/minimax.xlsx"), "--inputs", "inputs/zhipu.yaml", "--yes")
    assert result.exit_code == 1 and "is the 'minimax' workbook" in result.output


def test_pull_of_a_non_workbook_is_one_clear_line(project):
    bogus = project / "notes.xlsx"
    bogus.write_text("not a spreadsheet")
    result = run("pull", str(bogus), "--yes")
    assert result.exit_code == 1 and "not an .xlsx workbook" in result.output and "Traceback" not in result.output


def test_pulling_the_source_figure_back_clears_the_edited_mark(project):
    book, yaml = project / "workbooks/minimax.xlsx", project / "inputs/minimax.yaml"
    original = yaml.read_text(encoding="utf-8")
    edit_workbook(book, {"hailuo_paying_users": 350000})
    assert run("pull", str(book), "--yes").exit_code == 0
    assert run("build", "minimax").exit_code == 0
    edit_workbook(book, {"hailuo_paying_users": 300000})
    assert run("pull", str(book), "--yes").exit_code == 0
    assert yaml.read_text(encoding="utf-8") == original


def test_a_build_killed_at_any_point_leaves_the_previous_workbook_intact(project):
    book = project / "workbooks/minimax.xlsx"
    yaml = project / "inputs/minimax.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("value: 300000", "value: 320000", 1), encoding="utf-8")
    previous = book.read_bytes()
    outcomes = set()
    for delay in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.5):
        proc = subprocess.Popen([sys.executable, "-m", "unitecon.cli", "build", "minimax"], cwd=project,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = book.read_bytes()
        if data == previous:
            outcomes.add("old")
        else:
            assert named_value(book, "hailuo_paying_users") == 320000  # a complete new workbook, never a torn one
            assert compare(recompute(book)) == []
            outcomes.add("new")
            book.write_bytes(previous)
    assert "old" in outcomes


def test_pull_keeps_inputs_file_changes_made_since_the_build(project):
    book, yaml = project / "workbooks/minimax.xlsx", project / "inputs/minimax.yaml"
    edit_workbook(book, {"hailuo_paying_users": 350000})
    text = yaml.read_text(encoding="utf-8").replace("value: 1400000", "value: 1500000", 1)  # analyst, in the YAML
    yaml.write_text(text, encoding="utf-8")
    result = run("pull", str(book), "--yes")
    assert result.exit_code == 0, result.output
    assert "talkie_paying_users" not in result.output  # untouched in the workbook: not pulled back over the YAML
    after = yaml.read_text(encoding="utf-8")
    assert "value: 1500000" in after and "value: 350000" in after


def test_pull_refuses_a_value_changed_on_both_sides(project):
    book, yaml = project / "workbooks/minimax.xlsx", project / "inputs/minimax.yaml"
    edit_workbook(book, {"hailuo_paying_users": 350000})
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("value: 300000", "value: 310000", 1), encoding="utf-8")
    before = yaml.read_bytes()
    result = run("pull", str(book), "--yes")
    assert result.exit_code == 1 and "changed on both sides since the build" in result.output
    assert yaml.read_bytes() == before
