"""Careless and hostile inputs files and ledgers: each planted, each refused in one line before anything is
written, or (ledger text that looks like a formula criterion) built so that every engine computes what the
ledger says."""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from test_libreoffice import _libreoffice_values, _need

from unitecon.auditor.comparing import compare_with_engine
from unitecon.auditor.recompute import recompute
from unitecon.build import build
from unitecon.cli import main
from unitecon.limits import EXCEL_TEXT, MAX_INPUTS_BYTES
from unitecon.model.inputs import load_inputs
from unitecon.reading.snapshot import read_snapshot

HOSTILE_LABELS = ("*", ">0", "<>x")  # SUMIF/COUNTIF would read these as a wildcard and two comparisons


def _copy(small_inputs: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    shutil.copytree(small_inputs, folder)
    return folder


def _ledger(folder: Path, model: str = "zhipu") -> tuple[Path, pd.DataFrame, str]:
    path = load_inputs(folder / f"{model}.yaml").ledger_path
    text = gzip.decompress(path.read_bytes()).decode()
    banner = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    return path, pd.read_csv(io.StringIO(text), comment="#", dtype=str, keep_default_na=False), banner


def _write_ledger(path: Path, frame: pd.DataFrame, banner: str) -> None:
    path.write_bytes(gzip.compress((banner + frame.to_csv(index=False)).encode()))


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _build(folder: Path, out: Path, *args: str):
    out.mkdir(exist_ok=True)
    (out / "zhipu.xlsx").write_bytes(b"the previous workbook")
    before = _files(folder.parent)
    result = CliRunner().invoke(main, ["build", "zhipu", "--inputs", str(folder), "--out", str(out), *args])
    return result, before


def _refused(result, before: dict[str, str], folder: Path, *fragments: str) -> str:
    """Exit 1, error lines only (the first naming the file), no traceback, and every file as it was."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert 1 <= len(lines) <= 3 and all(line.startswith("error: ") for line in lines), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert _files(folder.parent) == before, "a refused build changed a file on disk"
    return lines[0]


# --- ledger text is never a formula criterion -------------------------------------------------------------

@pytest.fixture(scope="module")
def criteria_workbook(small_inputs, tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """Zhipu built from a ledger whose first three segments are renamed to labels SUMIF would misread."""
    folder = _copy(small_inputs, tmp_path_factory.mktemp("criteria"))
    path, frame, banner = _ledger(folder)
    renames = dict(zip(frame["segment"].drop_duplicates()[:3], HOSTILE_LABELS, strict=True))
    frame["segment"] = frame["segment"].replace(renames)
    _write_ledger(path, frame, banner)
    return build(folder / "zhipu.yaml", folder.parent / "zhipu.xlsx").path, frame


def _segment_rows(book: Path) -> dict[str, tuple[str, str]]:
    """Segment label -> (revenue cell, customers cell) on the Calculations sheet, read from its Name column."""
    ws = openpyxl.load_workbook(book)["Calculations"]
    out: dict[str, list[str]] = {}
    for row in ws.iter_rows():
        name = row[1].value
        if isinstance(name, str) and name.startswith(("ledger_segment_revenue", "ledger_segment_customers")):
            out.setdefault(row[0].value, []).append(row[3].coordinate)
    return {label: tuple(cells) for label, cells in out.items()}


def test_ledger_labels_that_read_as_criteria_are_matched_exactly_by_every_engine(criteria_workbook, tmp_path):
    book, frame = criteria_workbook
    amounts = frame.assign(amount=frame["amount"].astype(float))
    expected_revenue = amounts.groupby("segment")["amount"].sum()
    expected_customers = frame.groupby("segment")["customer_id"].nunique()
    rows = _segment_rows(book)
    assert set(HOSTILE_LABELS) <= set(rows)
    cached = read_snapshot(book)
    python = recompute(book)  # the file's own formula text, evaluated again
    for label in HOSTILE_LABELS:
        revenue_cell, customers_cell = rows[label]
        for values in (cached, python):
            assert values.value("Calculations", revenue_cell) == pytest.approx(expected_revenue[label], rel=1e-9)
            assert values.value("Calculations", customers_cell) == expected_customers[label]
    _need("soffice")
    theirs = _libreoffice_values(book, tmp_path)  # cached values stripped: LibreOffice computes every cell
    assert compare_with_engine(python, theirs, "LibreOffice", 1e-9) == []
    for label in HOSTILE_LABELS:
        assert theirs.value("Calculations", rows[label][0]) == pytest.approx(expected_revenue[label], rel=1e-9)


def test_a_scenario_selector_holding_a_wildcard_matches_no_scenario(criteria_workbook, tmp_path):
    """SUMIF would add every scenario's value for "*" and COUNTIF pass the check; "=" matches none, so the
    check fails and the master check with it."""
    _need("soffice")
    book = tmp_path / "zhipu.xlsx"
    wb = openpyxl.load_workbook(criteria_workbook[0])
    selector = wb.defined_names["scenario"].attr_text.replace("$", "").split("!")
    wb[selector[0]][selector[1]] = "*"
    wb.save(book)
    theirs = _libreoffice_values(book, tmp_path)
    cells = {row[1].value: row[3].coordinate for row in wb["Checks"].iter_rows() if isinstance(row[1].value, str)}
    assert theirs.value("Checks", cells["check_scenario_selected_actual"]) == 0
    assert theirs.value("Checks", cells["master_check"]) == 0


def test_ledger_labels_differing_only_in_case_are_refused(small_inputs, tmp_path):
    folder = _copy(small_inputs, tmp_path)
    path, frame, banner = _ledger(folder)
    first = frame["segment"].iat[0]
    other = frame.index[frame["segment"] != first][0]
    frame.loc[frame["customer_id"] == frame.at[other, "customer_id"], "segment"] = first.upper()
    _write_ledger(path, frame, banner)
    result, before = _build(folder, tmp_path / "out")
    _refused(result, before, folder, path.name, "column segment", f"{first!r} and {first.upper()!r}",
             "differ only in case")


# --- numbers in a locale format, too large, too small, not numbers ------------------------------------------

@pytest.mark.parametrize(("amount", "fragments"), [
    ("21555226,52", ("'21555226,52' has a comma", "decimal point")),
    ("1,2,3", ("'1,2,3' has a comma",)),
    ("1e400", ("1e400", "cannot hold")),
    ("1e-400", ("1e-400", "cannot hold")),
    ("inf", ("'inf' is not a number",)),
    ("NaN", ("'NaN' is not a number",)),
    ("12 345", ("'12 345' is not a number",)),
    ("２１５５５２２６.５２", ("'２１５５５２２６.５２' is not a number",)),  # full-width digits: \d would take them
    ("١٢٣", ("'١٢٣' is not a number",)),
])
def test_ledger_amounts_that_are_not_plain_numbers_are_refused_not_guessed(small_inputs, tmp_path, amount,
                                                                           fragments):
    folder = _copy(small_inputs, tmp_path)
    path, frame, banner = _ledger(folder)
    frame.loc[5, "amount"] = amount
    _write_ledger(path, frame, banner)
    result, before = _build(folder, tmp_path / "out")
    line = _refused(result, before, folder, path.name, "column amount", *fragments)
    assert f"row {5 + banner.count(chr(10)) + 2}" in line


def test_a_ledger_name_longer_than_a_cell_holds_is_refused(small_inputs, tmp_path):
    folder = _copy(small_inputs, tmp_path)
    path, frame, banner = _ledger(folder)
    frame["customer_name"] = frame["customer_name"].astype(object)
    frame.loc[0, "customer_name"] = "N" * (EXCEL_TEXT + 1)
    _write_ledger(path, frame, banner)
    result, before = _build(folder, tmp_path / "out")
    _refused(result, before, folder, "column customer_name", "32,768 characters", "at most 32,767")


def _yaml_with(folder: Path, old: str, new: str) -> None:
    path = folder / "zhipu.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(("value", "fragments"), [
    ("1e308", ("1e+308", "a cell cannot hold")),
    ("-1e308", ("-1e+308", "a cell cannot hold")),
    ("1e-320", ("1e-320", "a cell cannot hold")),
    ("1" + "0" * 400, ("(401 characters)",)),
    (".nan", ("finite number",)),
    (".inf", ("finite number",)),
])
def test_inputs_numbers_a_cell_cannot_hold_are_refused_in_one_line(small_inputs, tmp_path, value, fragments):
    folder = _copy(small_inputs, tmp_path)
    _yaml_with(folder, "value: 6.9333", f"value: {value}")
    result, before = _build(folder, tmp_path / "out")
    line = _refused(result, before, folder, "zhipu.yaml:", "inputs.usd_cny.value", *fragments)
    assert len(line) < 300


def test_inputs_that_compute_a_number_beyond_excel_are_refused_before_a_cached_value_is_written(small_inputs,
                                                                                                 tmp_path):
    """1e307 CNY per USD is a number a cell holds; the market cap it converts is not (Excel: #NUM!)."""
    folder = _copy(small_inputs, tmp_path)
    _yaml_with(folder, "value: 6.9333", "value: 1e307")
    result, before = _build(folder, tmp_path / "out")
    _refused(result, before, folder, "zhipu.yaml", "cannot be computed", "#NUM!")


def test_a_label_longer_than_a_cell_holds_is_refused(small_inputs, tmp_path):
    folder = _copy(small_inputs, tmp_path)
    _yaml_with(folder, 'label: "CNY per USD (implied by the press conversion)"', f'label: "{"L" * 40000}"')
    result, before = _build(folder, tmp_path / "out")
    _refused(result, before, folder, "inputs.usd_cny.label", "40,000 characters", "at most 32,767")


def test_every_problem_is_reported_in_one_run_bad_quotes_included(small_inputs, tmp_path):
    """A misspelt section key used to hide a misquoted source until it was fixed."""
    folder = _copy(small_inputs, tmp_path)
    _yaml_with(folder, "currency: CNY", "curency: CNY")
    text = (folder / "zhipu.yaml").read_text(encoding="utf-8")
    quote = text.split("quote: ", 1)[1].split("\n", 1)[0]
    _yaml_with(folder, f"quote: {quote}", 'quote: "words the article never printed"')
    result = CliRunner().invoke(main, ["build", "zhipu", "--inputs", str(folder), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "curency" in result.output and "quote not found verbatim" in result.output, result.output


# --- YAML built to exhaust: run as a separate process, so a hang or an abort is caught too --------------------

def _cli(args: list[str], cwd: Path, timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "unitecon"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
    return done, time.perf_counter() - started


BILLION_LAUGHS = "\n".join(['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'] + [
    f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]) + "\nmodel: bomb\n"


@pytest.mark.parametrize(("text", "fragments"), [
    (BILLION_LAUGHS, ("aliases expand to more than 100,000 values",)),
    ("model: x\nperiods: " + "[" * 50_000 + "]" * 50_000 + "\n", ("nested more than 64 levels",)),
    ("".join("  " * i + f"k{i}:\n" for i in range(200)), ("nested more than 64 levels",)),
    ("model: x\n" + "# padding\n" * (MAX_INPUTS_BYTES // 10 + 1), ("may be at most 1,048,576 bytes",)),
], ids=["alias bomb", "deep flow", "deep block", "too large"])
def test_yaml_built_to_exhaust_memory_or_stack_is_refused_fast(tmp_path, text, fragments):
    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    done, seconds = _cli(["build", str(path), "--out", str(tmp_path / "out")], tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), done.stderr
    assert all(f in lines[0] for f in fragments), lines[0]
    assert seconds < 30
    assert not (tmp_path / "out").exists()


# --- folders that cannot be written: refused before the work, in one line ------------------------------------

@pytest.mark.parametrize("command", [
    ["build", "zhipu", "--out", "{blocked}/sub"],
    ["sample-ledger", "zhipu", "--out", "{blocked}/sub/ledger.csv"],
    ["render", "{book}", "--out", "{blocked}/sub"],
    ["new", "acme", "--inputs", "{blocked}/sub"],
    ["schema", "--out", "{blocked}/sub/schema.json"],
], ids=lambda c: c[0])
def test_an_output_folder_that_cannot_be_written_is_one_line(small_inputs, tmp_path, command):
    """A regular file where a folder should be: no folder can be made under it, even by root."""
    folder = _copy(small_inputs, tmp_path)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    book = tmp_path / "zhipu.xlsx"
    book.write_bytes(b"")  # render refuses the folder before reading the workbook
    args = [a.format(blocked=blocked, book=book) for a in command]
    before = _files(tmp_path)
    result = CliRunner().invoke(main, [*args, "--inputs", str(folder)] if command[0] in ("build", "sample-ledger")
                                else args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and len(result.output.splitlines()) == 1, result.output
    assert result.output.startswith(f"error: {blocked}"), result.output
    assert _files(tmp_path) == before


def test_a_sample_ledger_of_another_size_says_how_many_customers_it_holds(small_inputs, tmp_path):
    folder = _copy(small_inputs, tmp_path)
    out = tmp_path / "sample.csv"
    result = CliRunner().invoke(main, ["sample-ledger", "zhipu", "--inputs", str(folder), "--customers", "100",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    banner = [line for line in out.read_text().splitlines() if line.startswith("#")]
    assert pd.read_csv(out, comment="#")["customer_id"].nunique() == 100
    assert any("holds 100 customers, not the 8,000" in line for line in banner), banner


def test_an_unforeseen_error_is_one_line_with_exit_70_not_a_traceback(monkeypatch, small_inputs, tmp_path):
    import unitecon.build

    def broken(*args, **kwargs):
        raise KeyError("planted")

    monkeypatch.setattr(unitecon.build, "plan", broken)  # build imports it when it runs
    result = CliRunner().invoke(main, ["build", "zhipu", "--inputs", str(small_inputs), "--out", str(tmp_path)])
    assert result.exit_code == 70
    assert result.output.startswith("error: internal error (KeyError: 'planted')"), result.output
    assert "Traceback" not in result.output and len(result.output.splitlines()) == 1
