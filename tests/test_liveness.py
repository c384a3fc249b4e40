"""Change an input cell in the written file, recompute: every dependent moves as the reference says."""

from __future__ import annotations

import math
import shutil

import pytest
from conftest import sheet_rows
from reference import load_reference
from ruamel.yaml import YAML

from unitecon.auditor.recompute import recompute

EDITS = {
    "minimax": [("hailuo_paying_users", "9M2025", 2.0), ("usd_cny", None, 1.1),
                ("rd_expense_usd", "9M2025", 0.5), ("compute_share_of_rd", "9M2025", 0.9),
                ("operating_cash_outflow_usd", "9M2025", 3.0)],
    "zhipu": [("revenue_cny", "FY2022", 0.5), ("customers", "H1_2025", 1.5), ("compute_share_of_rd", "H1_2025", 0.8),
              ("cash_cny", "H1_2025", 2.0)],
}


def _edit_yaml(model: str, tmp_path, edits, small_inputs):
    folder = tmp_path / "inputs"
    shutil.copytree(small_inputs, folder)
    yaml = YAML(typ="rt")
    data = yaml.load((folder / f"{model}.yaml").read_text(encoding="utf-8"))
    changed = {}
    for key, period, factor in edits:
        node = data["inputs"][key] if period is None else data["inputs"][key]["values"][period]
        node["value"] = node["value"] * factor
        changed[(key, period)] = node["value"]
    path = folder / f"{model}.yaml"
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
    return path, changed


def _input_name(key: str, period: str | None, periods_in_series: int) -> str:
    return key if period is None or periods_in_series == 1 else f"{key}_{period.lower()}"


@pytest.mark.parametrize("model", ["minimax", "zhipu"])
def test_editing_inputs_in_the_file_moves_every_dependent(small_built, small_inputs, model, tmp_path):
    built = small_built
    edited_yaml, changed = _edit_yaml(model, tmp_path, EDITS[model], small_inputs)
    ref = load_reference(edited_yaml)
    before = recompute(built[model])
    overrides = {}
    for (key, period), value in changed.items():
        n = 1 if period is None else ref.values.loc[key].drop("scalar").notna().sum()
        sheet, cell = before.names[_input_name(key, period, n).upper()]
        overrides[(sheet, cell)] = value
    after = recompute(built[model], overrides)

    moved = 0
    for name, period, cell in sheet_rows(built[model], "Calculations", model):
        new = after.value("Calculations", cell.coordinate)
        if name == "period_months":
            continue
        expected = ref.values.loc[name, period or "scalar"]
        if math.isnan(expected):
            continue
        assert new == pytest.approx(expected, rel=1e-9), (name, period)
        old = before.value("Calculations", cell.coordinate)
        moved += not math.isclose(new, old, rel_tol=1e-12)
    assert moved >= 10
