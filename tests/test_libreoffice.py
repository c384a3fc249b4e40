"""LibreOffice as a second engine: its recalculation of every formula cell equals the Python recomputation
of the file's own formula text, for the shipped workbooks and a 10,000-customer one; and `unitecon render`
prints every sheet.

Before LibreOffice sees a workbook, every cached formula value is stripped from the copy, so a
LibreOffice that merely echoed unitecon's cached numbers could not pass.

Without LibreOffice these tests skip with a reason; `.ci/run` installs it and sets
UNITECON_REQUIRE_LIBREOFFICE=1, under which a missing `soffice` fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, INPUTS, SHIPPED
from openpyxl.utils.cell import coordinate_to_tuple

from unitecon.auditor.comparing import compare_with_engine
from unitecon.auditor.recompute import recompute
from unitecon.build import build
from unitecon.cli import main
from unitecon.engines.libreoffice import find_soffice, recalculate
from unitecon.model.inputs import load_inputs
from unitecon.model.sample import write_sample_ledger
from unitecon.reading.snapshot import read_snapshot

REL_TOL = 1e-9
LARGE_LEDGER = 10_000


def _need(*tools: str) -> None:
    missing = [t for t in tools if not (find_soffice() if t == "soffice" else shutil.which(t))]
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed: the LibreOffice cross-check did not run"
    if os.environ.get("UNITECON_REQUIRE_LIBREOFFICE") == "1":
        pytest.fail(reason + " (UNITECON_REQUIRE_LIBREOFFICE=1 requires it)")
    pytest.skip(reason)


# <c ...><f>text</f><v>cached</v></c> (also shared formulas <f .../>): drop <v> and the result type
_CACHED = re.compile(rb'(<c\b[^>]*?)(?: t="(?:str|b|e|n)")?([^>]*>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>))<v>[^<]*</v>')


def _without_cached_values(source: Path, target: Path) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = _CACHED.sub(rb"\1\2", data)
                assert b"</f><v>" not in data, "a cached value survived: the cross-check would prove nothing"
            zout.writestr(info, data)
    return target


def _libreoffice_values(workbook: Path, tmp: Path):
    blank = _without_cached_values(workbook, tmp / f"blank-{workbook.name}")
    out = tmp / "recalculated"
    out.mkdir(exist_ok=True)
    return read_snapshot(recalculate(blank, out))


@pytest.mark.parametrize("model", SHIPPED)
def test_libreoffice_recalculates_every_shipped_formula_cell_to_the_python_value(built, recomputed, model,
                                                                                 tmp_path):
    _need("soffice")
    rec = recomputed[model]
    theirs = _libreoffice_values(built[model], tmp_path)
    mismatches = compare_with_engine(rec, theirs, "LibreOffice", REL_TOL)
    assert not mismatches, "\n".join(map(str, mismatches[:10]))
    numbers = [v for v in rec.values.values() if isinstance(v, int | float) and v != 0]
    assert len(numbers) > 0.5 * len(rec.formulas)  # the comparison covered real numbers, not blanks


def test_libreoffice_agrees_on_a_company_reporting_in_euros(tmp_path):
    """The README's example company (EUR, its own product lines, a reported compute figure and no R&D)."""
    _need("soffice")
    book = build(EXAMPLES / "lumen" / "lumen.yaml", tmp_path / "lumen.xlsx").path
    rec = recompute(book)
    theirs = _libreoffice_values(book, tmp_path)
    assert compare_with_engine(rec, theirs, "LibreOffice", REL_TOL) == []
    assert len(rec.formulas) > 40


@pytest.fixture(scope="module")
def large_workbook(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("large")
    shutil.copytree(INPUTS, folder / "inputs")
    inputs = load_inputs(folder / "inputs" / "minimax.yaml")
    write_sample_ledger(inputs, inputs.ledger_path, customers=LARGE_LEDGER)
    return build(inputs.path, folder / "minimax.xlsx").path


def test_libreoffice_agrees_on_a_10000_customer_workbook(large_workbook, tmp_path):
    _need("soffice")
    rec = recompute(large_workbook)
    customer_cells = [k for k in rec.formulas if k[0] == "CUSTOMERS"]
    assert len(customer_cells) >= 10 * LARGE_LEDGER
    theirs = _libreoffice_values(large_workbook, tmp_path)
    mismatches = compare_with_engine(rec, theirs, "LibreOffice", REL_TOL)
    assert not mismatches, "\n".join(map(str, mismatches[:10]))


def _with_one_wrong_cached_value(source: Path, target: Path) -> str:
    """Copy SOURCE with the first cached number on the Calculations sheet doubled; returns that cell."""
    sheet = f"xl/worksheets/sheet{read_snapshot(source).sheets.index('Calculations') + 1}.xml"
    found = re.compile(rb'<c r="([A-Z]+\d+)"[^>]*><f>[^<]*</f><v>([1-9][^<]*)</v>')
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == sheet:
                match = found.search(data)
                doubled = str(float(match.group(2)) * 2).encode()
                data = data[:match.start(2)] + doubled + data[match.end(2):]
                cell = match.group(1).decode()
            zout.writestr(info, data)
    return cell


def test_verify_libreoffice_recalculates_instead_of_trusting_cached_values(small_built, small_inputs, tmp_path):
    """A wrong cached value is one mismatch with the file; LibreOffice, recalculating, agrees with Python."""
    _need("soffice")
    book = tmp_path / "minimax.xlsx"
    cell = _with_one_wrong_cached_value(small_built["minimax"], book)
    result = CliRunner().invoke(main, ["verify", str(book), "--libreoffice", "--inputs",
                                       str(small_inputs / "minimax.yaml")])
    assert result.exit_code == 1, result.output
    mismatches = [line for line in result.output.splitlines() if line.startswith("mismatch")]
    assert len(mismatches) == 1 and mismatches[0].startswith(f"mismatch: Calculations!{cell}:"), mismatches
    assert "compared with LibreOffice's recalculation: 0 mismatches" in result.output


def test_engine_comparison_names_each_cell_the_engines_disagree_on(small_built):
    rec = recompute(small_built["zhipu"])
    theirs = read_snapshot(small_built["zhipu"])
    (sheet, a1), value = next((k, v) for k, v in theirs.cached.items() if isinstance(v, float) and v)
    theirs.cells[sheet].grid[coordinate_to_tuple(a1)] = value * (1 + 1e-6)  # the other engine computed otherwise
    gone = next(k for k in theirs.formulas if k != (sheet, a1))
    row, col = coordinate_to_tuple(gone[1])
    rows, texts = theirs.cells[gone[0]].formulas[col]  # ... and wrote a constant where we have a formula
    theirs.cells[gone[0]].formulas[col] = (rows[rows != row], [t for r, t in zip(rows, texts, strict=True) if r != row])
    found = {(m.sheet, m.cell, m.other) for m in compare_with_engine(rec, theirs, "Other", REL_TOL)}
    assert found == {(sheet, a1, "Other computes"), (*gone, "Other has no formula there;")}


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout


def _png_size(png: Path) -> tuple[int, int]:
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", png
    return struct.unpack(">II", head[16:24])


def test_render_prints_every_sheet_to_pdf_and_png_with_its_numbers(small_built, small_inputs, tmp_path):
    _need("soffice", "pdftoppm", "pdftotext")
    book = small_built["zhipu"]
    before = book.read_bytes()
    result = CliRunner().invoke(main, ["render", str(book), "--out", str(tmp_path / "out"), "--dpi", "60"])
    assert result.exit_code == 0, result.output
    assert book.read_bytes() == before
    sheets = read_snapshot(book).sheets
    for sheet in sheets:
        stem = sheet.lower()
        text = _pdf_text(tmp_path / "out" / f"{stem}.pdf")
        assert f"): {sheet}" in text, sheet  # the page header names the sheet
        width, height = _png_size(tmp_path / "out" / f"{stem}.png")
        assert width > height > 300  # landscape A4 at 60 dpi is 702 x 496
    # the largest customer, found from the ledger by pandas, heads the printed Customers sheet
    ledger = pd.read_csv(load_inputs(small_inputs / "zhipu.yaml").ledger_path, comment="#")
    largest = ledger.groupby("customer_id")["amount"].sum().idxmax()
    customers = _pdf_text(tmp_path / "out" / "customers.pdf")
    assert customers.index(largest) < customers.index("ZP-", customers.index(largest) + 1)
    # Pages of the Customers sheet: one per screenful of rows, all with the header row repeated
    assert customers.count("Customer id") == customers.count("\f")


def test_render_without_a_workbook_says_so_in_one_line(tmp_path):
    result = CliRunner().invoke(main, ["render", str(tmp_path / "missing.xlsx"), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip() == f"error: {tmp_path / 'missing.xlsx'}: no such file"


def test_a_single_sheet_copy_hides_every_other_sheet_and_shows_that_one():
    from lxml import etree

    from unitecon.engines.libreoffice import _only_sheet_visible

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{main}"><bookViews>'
           '<workbookView firstSheet="1" activeTab="0"/></bookViews><sheets><sheet name="A" sheetId="1"/>'
           '<sheet name="B &amp; C" sheetId="2" state="veryHidden"/><sheet name="D" sheetId="3"/></sheets>'
           '</workbook>').encode()
    root = etree.fromstring(_only_sheet_visible(xml, 1))
    states = [(s.get("name"), s.get("state")) for s in root.iter(f"{{{main}}}sheet")]
    assert states == [("A", "hidden"), ("B & C", None), ("D", "hidden")]
    view = root.find(f"{{{main}}}bookViews/{{{main}}}workbookView")
    assert view.get("activeTab") == "1" and view.get("firstSheet") is None
