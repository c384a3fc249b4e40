"""``unitecon verify`` on workbooks unitecon did not write: the shared corpus of real files saved by Excel
(and minimal repros saved by LibreOffice), and small workbooks with values planted by hand.

The corpus's cached values are Excel's (or LibreOffice's) own results, an independent reference: a
verifier that calls one of them wrong is wrong itself. The planted workbooks hold values worked out by
hand in the comments.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import xlsxwriter
from click.testing import CliRunner

from unitecon.auditor.verdict import EXIT_CLEAN, EXIT_MISMATCH, EXIT_NOT_VERIFIED, EXIT_UNREADABLE
from unitecon.auditor.verify import verify_file
from unitecon.cli import main

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
REPROS = sorted((CORPUS / "repro").glob("*.xlsx"))
REAL = sorted(p for p in CORPUS.rglob("*.xlsx") if p.parent.name != "repro")


def verify(*args: object):
    return CliRunner().invoke(main, ["verify", *map(str, args)])


def test_the_corpus_is_where_the_tests_expect_it():
    assert len(REPROS) >= 13 and len(REAL) >= 20, CORPUS


@pytest.mark.parametrize("path", [p for p in REPROS if p.stem != "undefined_name"], ids=lambda p: p.stem)
def test_every_repro_of_a_past_verifier_failure_verifies_clean(path):
    result = verify(path, "--format", "json")
    assert result.exit_code == EXIT_CLEAN, result.output
    summary = json.loads(result.output)["summary"]
    assert summary["cells"] > 0 and summary["matching"] == summary["cells"], summary


def test_an_undefined_name_is_one_line_naming_it_and_the_cell_is_not_verified():
    result = verify(CORPUS / "repro" / "undefined_name.xlsx")
    assert result.exit_code == EXIT_NOT_VERIFIED, result.output
    listed = [line for line in result.output.splitlines() if line.startswith("not verified:")]
    assert listed == ["not verified: S!B1: =A1+nosuchname recomputes to #NAME?, the file has #NAME? "
                      "(undefined name nosuchname (Excel shows #NAME?))"]


@pytest.mark.parametrize("path", REAL, ids=lambda p: str(p.relative_to(CORPUS)))
def test_no_real_workbook_saved_by_excel_is_called_wrong(path):
    """Excel's cached values are right in these files (none is stale): verify may leave cells it cannot
    be sure of as not verified, but must never report a mismatch, and never stop on a construct."""
    snap, verdict, _ = verify_file(path)
    assert verdict.cells == sum(len(rows) for cells in snap.cells.values() for rows, _ in cells.formulas.values())
    assert verdict.of("mismatch") == [], [f.brief() for f in verdict.of("mismatch")][:5]
    assert verdict.matching + len(verdict.findings) == verdict.cells


def test_implicit_intersection_and_dates_are_computed_as_excel_saved_them():
    """anthill/koala's basic.xlsx: =A1:A3+B1:B3 in D1:D3 (a plain formula) is each row's own sum in Excel."""
    snap, verdict, grids = verify_file(CORPUS / "anthill+koala" / "examples" / "basic.xlsx")
    assert verdict.findings == [] and verdict.matching == verdict.cells == 31
    sheet = grids["Sheet1"]
    assert [sheet[r, 4] for r in (1, 2, 3)] == [snap.cells["Sheet1"].grid[r, 4] for r in (1, 2, 3)] == [11, 22, 33]


def test_a_negative_number_in_a_date_format_is_read_as_the_number_the_file_holds():
    """pycel's excelcompiler.xlsx, sheet datetime: B1:B10 =A1.. in a date format; A holds -2, -1, 0, 1, 2, 3,
    58, 59, 60, 61 (calamine's own reading turns -2 into midnight and 60 into 28 February)."""
    snap, verdict, _ = verify_file(CORPUS / "dgorissen+pycel" / "tests" / "fixtures" / "excelcompiler.xlsx")
    grid = snap.cells["datetime"].grid
    assert [grid[r, 2] for r in range(1, 11)] == [-2, -1, 0, 1, 2, 3, 58, 59, 60, 61]
    assert not [f for f in verdict.findings if f.sheet == "datetime"]


def _planted(path: Path) -> Path:
    """A workbook whose cached values are set by hand: some right, some stale, some unverifiable."""
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("S")
    sheet.write_number("A1", 5)  # an input edited after the last recalculation: it was 2
    sheet.write_formula("B1", "=A1*3", None, 6)  # stale: 5 * 3 = 15
    sheet.write_formula("C1", "=SUM(B1,1)", None, 7)  # stale through B1: 15 + 1 = 16
    sheet.write_number("A2", 4)
    sheet.write_formula("B2", "=A2*3", None, 12)  # right
    sheet.write_formula("C2", "=_xlfn.NOSUCHFUNCTION(A2)", None, 5)  # no engine knows it
    sheet.write_formula("D2", "=C2*2", None, 10)  # right, given C2's cached 5
    sheet.write_formula("E2", "=C2*3", None, 99)  # wrong even given C2's cached 5: 15
    sheet.write_formula("A3", "=TODAY()", None, 1)  # volatile
    sheet.write_formula("B3", "=A3+1", None, 2)  # right, given A3's cached 1
    sheet.write_formula("C3", '=IF(A2>3,"big","small")', None, "big")  # right
    sheet.write_formula("D3", "=A2/0", None, "#DIV/0!")  # an error value, right
    sheet.write_formula("E3", "=ISERROR(D3)", None, True)  # right
    book.close()
    return path


def test_a_planted_workbook_is_judged_cell_by_cell(tmp_path):
    _, verdict, _ = verify_file(_planted(tmp_path / "planted.xlsx"))
    kinds = {f"{f.sheet}!{f.cell}": f.kind for f in verdict.findings}
    assert kinds == {"S!B1": "mismatch", "S!C1": "mismatch", "S!E2": "mismatch", "S!C2": "not verified",
                     "S!D2": "not verified", "S!A3": "volatile", "S!B3": "not verified"}, verdict.lines(0)
    recomputed = {f"{f.sheet}!{f.cell}": f.recomputed for f in verdict.findings}
    assert (recomputed["S!B1"], recomputed["S!C1"], recomputed["S!E2"]) == (15, 16, 15)
    assert verdict.matching == 4 and verdict.cells == 11
    reasons = {f"{f.sheet}!{f.cell}": f.reason for f in verdict.findings}
    assert "reads S!C2" in reasons["S!D2"] and "reads S!A3" in reasons["S!B3"]
    assert "TODAY" in reasons["S!A3"]


def test_verify_exit_codes_tell_clean_mismatch_not_verified_and_unreadable_apart(tmp_path):
    assert verify(CORPUS / "repro" / "schedule.xlsx").exit_code == EXIT_CLEAN == 0
    assert verify(_planted(tmp_path / "planted.xlsx")).exit_code == EXIT_MISMATCH == 1
    assert verify(CORPUS / "repro" / "undefined_name.xlsx").exit_code == EXIT_NOT_VERIFIED == 3
    junk = tmp_path / "junk.xlsx"
    junk.write_text("not a workbook")
    result = verify(junk)
    assert result.exit_code == EXIT_UNREADABLE == 4 and result.output.count("\n") == 1, result.output


def test_json_lists_every_finding_with_the_summary_first(tmp_path):
    result = verify(_planted(tmp_path / "planted.xlsx"), "--format", "json", "--limit", "1")
    report = json.loads(result.output)
    assert list(report)[:3] == ["workbook", "engine", "summary"]
    assert report["summary"] == {"cells": 11, "verified": 7, "matching": 4, "mismatching": 3, "not verified": 3,
                                 "no cached value": 0, "volatile": 1}
    assert len(report["findings"]) == 7  # --limit shortens the text, never the JSON


def test_the_text_report_shows_at_most_limit_cells_of_each_kind(tmp_path):
    result = verify(_planted(tmp_path / "planted.xlsx"), "--limit", "1")
    lines = result.output.splitlines()
    assert re.match(r".*planted\.xlsx: 11 formula cells recomputed with formualizer: 7 verified \(4 matching, 3 "
                    r"mismatching\), 3 not verified, 0 with no cached value, 1 volatile$", lines[0])
    assert [line.split(":")[0] for line in lines[1:]] == ["mismatch", "… and 2 more mismatch (use --limit 0 for all)",
                                                         "not verified", "… and 2 more not verified (use --limit 0 "
                                                         "for all)", "volatile"]


def test_the_formulas_engine_is_still_selectable_and_agrees_on_the_planted_workbook(tmp_path):
    result = verify(_planted(tmp_path / "planted.xlsx"), "--engine", "formulas", "--format", "json")
    report = json.loads(result.output)
    assert report["engine"] == "formulas"
    mismatches = {f["cell"]: f["recomputed"] for f in report["findings"] if f["kind"] == "mismatch"}
    assert mismatches["B1"] == 15 and mismatches["C1"] == 16


def _two_without_names(tmp_path: Path) -> tuple[Path, Path]:
    paths = []
    for label, a1, b1 in (("old", 2, 6), ("new", 3, 9)):  # B1 = A1 * 3 in both
        path = tmp_path / f"{label}.xlsx"
        book = xlsxwriter.Workbook(path)
        sheet = book.add_worksheet("S")
        sheet.write_number("A1", a1)
        sheet.write_formula("B1", "=A1*3", None, b1)
        sheet.write_formula("C1", "=_xlfn.NOSUCHFUNCTION(A1)", None, b1)
        book.add_worksheet("Only" + label)
        book.close()
        paths.append(path)
    return paths[0], paths[1]


def test_diff_of_workbooks_without_defined_names_compares_by_sheet_and_cell(tmp_path):
    old, new = _two_without_names(tmp_path)
    result = CliRunner().invoke(main, ["diff", str(old), str(new)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "compared by sheet and cell: the workbooks share no defined name (1 sheet in both)",
        "sheets in one workbook only (not compared): Onlyold, Onlynew",
        "no bridge for S!C1: the formulas engine cannot recompute it from the old workbook (it gives '#N/IMPL!')",
        "inputs changed: 1",
        "  S!A1: 2 → 3",
        "formulas changed: 0",
        "outputs changed: 2, each bridged from the inputs that moved it",
        "  bridge S!B1: 6 → 9 (+3): all from S!A1",  # (3 - 2) * 3
        "  S!C1: 6 → 9",
    ]


def test_a_name_defined_as_a_constant_or_a_formula_is_not_a_broken_name(tmp_path):
    path = tmp_path / "names.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("S")
    sheet.write_number("A1", 10)
    sheet.write_formula("B1", "=A1*rate", None, 0.5)
    book.define_name("rate", "=0.05")
    book.define_name("doubled", "=S!$A$1*2")
    book.define_name("gone", "=#REF!")
    book.close()
    result = CliRunner().invoke(main, ["audit", str(path), "--format", "json"])
    findings = json.loads(result.output)
    broken = [f for f in (findings if isinstance(findings, list) else findings["findings"]) if "broken" in str(f)]
    assert [f for f in broken if "gone" in str(f)] and not [f for f in broken if "rate" in str(f) or
                                                            "doubled" in str(f)], broken
    _, verdict, _ = verify_file(path)
    assert verdict.matching == verdict.cells == 1  # 10 * 0.05, the constant name followed by the engine


def _one_sheet(path: Path, cells: list[tuple[str, object, object]]) -> Path:
    """A workbook of (cell, number or formula, cached value) written as given."""
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("S")
    for cell, content, cached in cells:
        if isinstance(content, str) and content.startswith("="):
            sheet.write_formula(cell, content, None, cached)
        elif isinstance(content, str):
            sheet.write_string(cell, content)
        else:
            sheet.write_number(cell, content)
    book.close()
    return path


@pytest.mark.parametrize(("cells", "kinds"), [
    # Excel turns a number into text with 15 significant digits: LEN(0.1+0.2) is 3, RIGHT(2/3,3) "667"
    ([("A1", "=LEN(0.1+0.2)", 3), ("A2", "=RIGHT(2/3,3)", "667")], {"S!A1": "not verified", "S!A2": "not verified"}),
    # a plain SUM(A1:A3*2) in row 2 is Excel's A2*2 = 4 (implicit intersection), not the array's 12
    ([("A1", 1, None), ("A2", 2, None), ("A3", 3, None), ("B2", "=SUM(A1:A3*2)", 4)], {"S!B2": "not verified"}),
])
def test_what_the_engines_compute_otherwise_than_excel_is_never_a_mismatch(tmp_path, cells, kinds):
    _, verdict, _ = verify_file(_one_sheet(tmp_path / "w.xlsx", cells))
    assert {f"{f.sheet}!{f.cell}": f.kind for f in verdict.findings} == kinds, verdict.lines(0)


def test_an_error_value_and_the_same_text_are_told_apart(tmp_path):
    """XlsxWriter writes a cached "#DIV/0!" as an error value: =A1 of the text "#DIV/0!" caches the error,
    a mismatch; =1/0 caching the error matches."""
    _, verdict, _ = verify_file(_one_sheet(tmp_path / "w.xlsx", [("A1", "#DIV/0!", None), ("B1", "=1/0", "#DIV/0!"),
                                                                ("B2", "=A1", "#DIV/0!")]))
    found = {f"{f.sheet}!{f.cell}": f for f in verdict.findings}
    assert list(found) == ["S!B2"] and found["S!B2"].kind == "mismatch", verdict.lines(0)
    assert "recomputes to '#DIV/0!', the file has #DIV/0!" in found["S!B2"].brief()


def test_placeholder_zeros_of_a_file_that_asks_to_be_recalculated_are_no_cached_values(tmp_path):
    path = tmp_path / "placeholders.xlsx"
    book = xlsxwriter.Workbook(path)  # XlsxWriter's default: 0 beside every formula, recalculate on load
    sheet = book.add_worksheet("S")
    sheet.write_number("A1", 5)
    sheet.write_formula("B1", "=A1*2")
    sheet.write_formula("C1", "=B1+1")
    book.close()
    _, verdict, _ = verify_file(path)
    assert verdict.summary()["no cached value"] == 2 and verdict.exit_code == EXIT_CLEAN
    assert any("placeholder" in note for note in verdict.notes)


def test_a_unitecon_workbook_whose_inputs_file_is_not_found_says_the_model_was_not_compared(tmp_path, monkeypatch):
    book = Path(__file__).resolve().parents[1] / "workbooks" / "openai.xlsx"
    monkeypatch.chdir(tmp_path)  # no inputs/ here
    result = verify(book)
    assert result.exit_code == EXIT_CLEAN, result.output
    assert "not compared with its inputs file (inputs/openai.yaml not found" in result.output


def test_an_infinite_cached_value_never_matches(tmp_path):
    path = tmp_path / "inf.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("S")
    sheet.write_number("A1", 1)
    sheet.write_formula("B1", "=A1*2", None, float("inf"))  # no cell of Excel holds an infinity
    sheet.write_formula("B2", "=A1*2", None, 2)
    book.close()
    result = verify(path)
    assert result.exit_code == EXIT_MISMATCH, result.output
    assert "1 matching, 1 mismatching" in result.output and "S!B1" in result.output
