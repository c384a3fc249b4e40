"""Same inputs, same bytes; the committed workbooks are exactly what the current code builds."""

from __future__ import annotations

from conftest import INPUTS, ROOT, SHIPPED

from unitecon.build import build


def test_two_builds_are_byte_identical(tmp_path):
    a = build(INPUTS / "zhipu.yaml", tmp_path / "a.xlsx").path.read_bytes()
    b = build(INPUTS / "zhipu.yaml", tmp_path / "b.xlsx").path.read_bytes()
    assert a == b


def test_committed_workbooks_equal_a_fresh_build(built):
    for model in SHIPPED:
        committed = ROOT / "workbooks" / f"{model}.xlsx"
        assert committed.exists(), f"{committed} missing: run `unitecon build`"
        assert committed.read_bytes() == built[model].read_bytes(), f"{committed} is stale: run `unitecon build`"
