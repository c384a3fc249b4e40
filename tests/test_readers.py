"""Cached values: readers that do not calculate (pandas, openpyxl data_only, python-calamine) see, in every
formula cell of the shipped workbooks, the number Python recomputes from the cell's formula."""

from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import ROOT, SHIPPED
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from python_calamine import CalamineWorkbook


@pytest.fixture(scope="module")
def shipped(built) -> dict[str, Path]:
    """The committed workbooks (test_determinism proves they are byte for byte what `built` holds)."""
    return {model: ROOT / "workbooks" / f"{model}.xlsx" for model in SHIPPED}


@pytest.mark.parametrize("model", SHIPPED)
def test_openpyxl_data_only_sees_every_recomputed_value(shipped, recomputed, model):
    wb = openpyxl.load_workbook(shipped[model], data_only=True, read_only=True)
    rec = recomputed[model]
    for sheet, name in rec.sheets.items():
        cells = {f"{c.column_letter}{c.row}": c.value for row in wb[name].iter_rows() for c in row
                 if c.value is not None}
        for (formula_sheet, a1), expected in rec.values.items():
            if formula_sheet == sheet:
                _same_number(cells.get(a1), expected, (sheet, a1))


def _same_number(got, expected, where) -> None:
    """A reader's value equals the recomputed one; a number is a number (not None, text, a bool or 0)."""
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        assert isinstance(got, int | float) and not isinstance(got, bool), (where, got)
        assert math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-12), (where, got, expected)
    else:
        assert got == expected, (where, got, expected)


def _grid_position(a1: str) -> tuple[int, int]:
    column, row = coordinate_from_string(a1)
    return row - 1, column_index_from_string(column) - 1


@pytest.mark.parametrize("model", SHIPPED)
def test_pandas_reads_every_formula_cell_of_every_sheet_as_its_number(shipped, recomputed, model):
    rec = recomputed[model]
    frames = pd.read_excel(shipped[model], sheet_name=None, header=None, engine="openpyxl")
    for (sheet, a1), expected in rec.values.items():
        got = frames[rec.sheets[sheet]].iat[_grid_position(a1)]
        _same_number(got.item() if hasattr(got, "item") else got, expected, (sheet, a1))


@pytest.mark.parametrize("model", SHIPPED)
def test_calamine_reads_every_formula_cell_of_every_sheet_as_its_number(shipped, recomputed, model):
    rec = recomputed[model]
    book = CalamineWorkbook.from_path(str(shipped[model]))
    grids = {sheet: book.get_sheet_by_name(name).to_python(skip_empty_area=False)
             for sheet, name in rec.sheets.items()}
    for (sheet, a1), expected in rec.values.items():
        row, col = _grid_position(a1)
        _same_number(grids[sheet][row][col], expected, (sheet, a1))
