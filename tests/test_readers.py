"""Cached values: readers that do not calculate (pandas, openpyxl data_only, calamine) see the numbers."""

from __future__ import annotations

import math

import openpyxl
import pandas as pd
import pytest
from conftest import MODELS


@pytest.mark.parametrize("model", MODELS)
def test_openpyxl_data_only_sees_every_recomputed_value(built, recomputed, model):
    wb = openpyxl.load_workbook(built[model], data_only=True)
    rec = recomputed[model]
    for (sheet, a1) in rec.formulas:
        cached = wb[rec.sheets[sheet]][a1].value
        assert isinstance(cached, int | float), (sheet, a1, cached)
        assert math.isclose(cached, rec.values[(sheet, a1)], rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("engine", ["openpyxl", "calamine"])
def test_pandas_reads_the_calculations_sheet_as_numbers(built, recomputed, model, engine):
    frame = pd.read_excel(built[model], sheet_name="Calculations", header=None, engine=engine)
    rec = recomputed[model]
    checked = 0
    for (sheet, a1), value in rec.values.items():
        if sheet != "CALCULATIONS":
            continue
        cell = openpyxl.utils.cell.coordinate_from_string(a1)
        got = frame.iat[cell[1] - 1, openpyxl.utils.cell.column_index_from_string(cell[0]) - 1]
        assert got == pytest.approx(value, rel=1e-12), a1
        checked += 1
    assert checked > 50
