"""`unitecon pull` works from the workbook's Fingerprint and the inputs file alone: it loads no model code
(no catalogue, no metric language, no evaluation, nothing of the Excel side), yet finds the same input
cells a build writes."""

from __future__ import annotations

import pytest
from conftest import COMPANIES, INPUTS, modules_loaded_by

from unitecon.model.assemble import build_model
from unitecon.model.inputs import load_inputs
from unitecon.roundtrip.pull import _input_cells

#: The inputs side of unitecon.model: reading, validating and describing an inputs file.
INPUTS_SIDE = {"builtin_names", "cross_checks", "inputs", "inputs_schema", "quote_checks", "safe_yaml",
               "schema_problems", "units"}


def test_pull_imports_only_the_inputs_side_of_the_model():
    loaded = modules_loaded_by("unitecon.roundtrip.pull")
    model = {m.removeprefix("unitecon.model.") for m in loaded if m.startswith("unitecon.model.")}
    assert model <= INPUTS_SIDE, sorted(model - INPUTS_SIDE)
    assert "inputs" in model
    assert not [m for m in loaded if m.startswith("unitecon.excel")], loaded


@pytest.mark.parametrize("company", COMPANIES)
def test_pull_finds_the_input_cells_the_model_has(company):
    inputs = load_inputs(INPUTS / f"{company}.yaml")
    cells, units = _input_cells(inputs)
    model = build_model(inputs)
    assert cells == model.input_cells()
    assert units == {key: series.unit for key, series in model.series.items()}
