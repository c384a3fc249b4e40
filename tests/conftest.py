"""Shared fixtures: workbooks built into a temp folder, recomputed from their own formula text."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ROOT / "inputs"
EXAMPLES = ROOT / "examples"
MODELS = ("minimax", "zhipu")  # the companies with a customer ledger, scenarios and a forward view
COMPANIES = ("anthropic", "minimax", "openai", "zhipu")  # every shipped inputs file
SHIPPED = (*COMPANIES, "peers")  # every workbook the default build writes
sys.path.insert(0, str(Path(__file__).parent))

from reference import load_reference  # noqa: E402

from unitecon.auditor.recompute import recompute  # noqa: E402
from unitecon.build import build, plan_peers  # noqa: E402
from unitecon.excel.writer import write_workbook  # noqa: E402
from unitecon.model.inputs import load_inputs  # noqa: E402
from unitecon.model.sample import write_sample_ledger  # noqa: E402

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
    """Every shipped workbook, built from inputs/ into a temporary folder (the peers workbook from all of them)."""
    out = tmp_path_factory.mktemp("workbooks")
    paths = {m: build(INPUTS / f"{m}.yaml", out / f"{m}.xlsx").path for m in COMPANIES}
    write_workbook(plan_peers([INPUTS / f"{m}.yaml" for m in COMPANIES], out), out / "peers.xlsx")
    return {**paths, "peers": out / "peers.xlsx"}


@pytest.fixture(scope="session")
def recomputed(built):
    return {m: recompute(path) for m, path in built.items()}


@pytest.fixture(scope="session")
def references():
    return {m: load_reference(INPUTS / f"{m}.yaml") for m in COMPANIES}


def yaml_periods(model: str) -> dict[str, str]:
    """Period label -> period id, read straight from the inputs file (for peers: from every company's)."""
    files = [INPUTS / f"{m}.yaml" for m in COMPANIES] if model == "peers" else [_inputs_file(model)]
    out = {}
    for path in files:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        out |= {str(p["label"]): str(pid) for pid, p in data["periods"].items()}
    return out


def _inputs_file(model: str) -> Path:
    path = INPUTS / f"{model}.yaml"
    return path if path.exists() else EXAMPLES / model / f"{model}.yaml"


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


def workings_sheets(path: Path) -> list[str]:
    """The sheets of row formulas over periods: Calculations, or a peers workbook's one sheet per company."""
    names = openpyxl.load_workbook(path, read_only=True).sheetnames
    return names[names.index("Inputs") + 1:names.index("Checks")]


@pytest.fixture(scope="session")
def workbook_values(built, recomputed):
    """(row name, period id or None) -> value recomputed from the file's formulas, per model and sheet."""
    out = {}
    for model, path in built.items():
        for sheet in (*workings_sheets(path), "Checks"):
            for name, period, cell in sheet_rows(path, sheet, model):
                out[(model, name, period)] = recomputed[model].value(sheet, cell.coordinate)
    return out


def modules_loaded_by(module: str) -> list[str]:
    """The unitecon modules a fresh interpreter holds after importing ``module``."""
    code = f"import sys, {module}; print(*sorted(m for m in sys.modules if m.startswith('unitecon')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.split()
