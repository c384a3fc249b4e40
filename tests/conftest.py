"""Shared fixtures: workbooks built into a temp folder, recomputed from their own formula text."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import openpyxl
import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ROOT / "inputs"
MODELS = ("minimax", "zhipu")
sys.path.insert(0, str(Path(__file__).parent))

from reference import load_reference  # noqa: E402

from unitecon.build import build  # noqa: E402
from unitecon.inputs import load_inputs  # noqa: E402
from unitecon.sample import write_sample_ledger  # noqa: E402
from unitecon.verify import recompute  # noqa: E402

SMALL_LEDGER = 300  # customers in the ledgers of the quick fixtures


@pytest.fixture(scope="session")
def small_inputs(tmp_path_factory) -> Path:
    """A copy of inputs/ whose sample ledgers hold 300 customers: quick to build, plant in and recompute.

    Tests of behaviour (round trip, auditor, liveness) use it; tests of the shipped numbers use inputs/.
    """
    out = tmp_path_factory.mktemp("inputs")
    shutil.copytree(INPUTS, out, dirs_exist_ok=True)
    for model in MODELS:
        inputs = load_inputs(out / f"{model}.yaml")
        write_sample_ledger(inputs, inputs.ledger_path, customers=SMALL_LEDGER)
    return out


@pytest.fixture(scope="session")
def small_built(small_inputs, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("small_workbooks")
    return {m: build(small_inputs / f"{m}.yaml", out / f"{m}.xlsx").path for m in MODELS}


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("workbooks")
    return {m: build(INPUTS / f"{m}.yaml", out / f"{m}.xlsx").path for m in MODELS}


@pytest.fixture(scope="session")
def recomputed(built):
    return {m: recompute(path) for m, path in built.items()}


@pytest.fixture(scope="session")
def references():
    return {m: load_reference(INPUTS / f"{m}.yaml") for m in MODELS}


def yaml_periods(model: str) -> dict[str, str]:
    """Period label -> period id, read straight from the inputs file."""
    data = YAML(typ="safe").load((INPUTS / f"{model}.yaml").read_text(encoding="utf-8"))
    return {str(p["label"]): str(pid) for pid, p in data["periods"].items()}


def sheet_rows(path: Path, sheet: str, model: str):
    """(name, period id or None, cell) for every named row cell on a Calculations-style sheet.

    Reads the sheet as a person would: the Name column (B) and the period labels in the header row.
    """
    ws = openpyxl.load_workbook(path)[sheet]
    labels = yaml_periods(model)
    header = next(r for r in ws.iter_rows(min_row=1, max_row=10) if r[0].value == "Label")
    columns = {c.column_letter: labels.get(c.value) for c in header[4:] if c.value}
    for row in ws.iter_rows(min_row=header[0].row + 1):
        name = row[1].value
        if not name or not isinstance(name, str):
            continue
        for cell in row[3:]:
            if cell.data_type == "f":
                yield name, columns.get(cell.column_letter), cell


@pytest.fixture(scope="session")
def workbook_values(built, recomputed):
    """(row name, period id or None) -> value recomputed from the file's formulas, per model and sheet."""
    out = {}
    for model, path in built.items():
        for sheet in ("Calculations", "Checks"):
            for name, period, cell in sheet_rows(path, sheet, model):
                out[(model, name, period)] = recomputed[model].value(sheet, cell.coordinate)
    return out
