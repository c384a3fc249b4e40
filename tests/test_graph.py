"""The run-level precedent / dependent graph and the circular-reference search, against a brute force.

The reference expands every formula cell's own A1 text (openpyxl's tokenizer, ``range_boundaries``) into
the cells it reads and inverts that: no R1C1, no runs, no intervals.
"""

from __future__ import annotations

import graphlib
import itertools

import pytest
from openpyxl import Workbook
from openpyxl.formula.tokenizer import Tokenizer
from openpyxl.utils.cell import coordinate_to_tuple, get_column_letter, range_boundaries
from openpyxl.workbook.defined_name import DefinedName

from unitecon import cycles
from unitecon.audit import audit
from unitecon.cycles import find_cycle
from unitecon.graph import build_graph
from unitecon.snapshot import read_snapshot
from unitecon.trace import trace


def _brute_precedents(snap) -> dict[tuple[str, str], set[tuple[str, str]]]:
    names = {n.upper(): where for n, where in snap.names.items()}
    out = {}
    for (sheet, a1), text in snap.formulas.items():
        found = set()
        for token in Tokenizer(text).items:
            if token.type != "OPERAND" or token.subtype != "RANGE":
                continue
            value = token.value
            if value.upper() in names:
                target, ref = names[value.upper()]
            elif "!" in value:
                target, ref = value.rsplit("!", 1)
                target = target.strip("'")
            else:
                target, ref = sheet, value
            try:
                left, top, right, bottom = range_boundaries(ref.replace("$", ""))
            except ValueError:
                continue
            if None in (left, top, right, bottom):
                continue  # a whole column or row: a finding, not cells
            found |= {(target, f"{get_column_letter(c)}{r}") for r in range(min(top, bottom), max(top, bottom) + 1)
                      for c in range(min(left, right), max(left, right) + 1)}
        out[(sheet, a1)] = found
    return out


def _workbook(path, sheet1: dict[str, str], sheet2: dict[str, object] | None = None, names=None):
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for row in range(1, 41):
        ws[f"A{row}"] = row * 1.5
    for cell, text in sheet1.items():
        ws[cell] = text
    other = wb.create_sheet("Sheet2")
    for cell, text in (sheet2 or {}).items():
        other[cell] = text
    for name, text in (names or {}).items():
        wb.defined_names[name] = DefinedName(name, attr_text=text)
    wb.save(path)
    return read_snapshot(path)


def _filled(column: str, rows: range, text: str) -> dict[str, str]:
    """``text`` with {r}, {r-1} … put in for each row, down ``column``."""
    return {f"{column}{r}": text.format(r=r, up=r - 1, down=r + 1, up2=r - 2, down2=r + 2) for r in rows}


MIXED = {
    **_filled("B", range(2, 31), "=B{up}+A{r}"),  # a running total: reads its own run, above
    "B1": "=A1",
    **_filled("C", range(1, 31), "=SUM($A$1:A{r})"),  # one end fixed, one moving
    **_filled("D", range(5, 31), "=SUM(A{r}:A$10)"),  # ends that cross at row 10
    **_filled("E", range(1, 31), "=A{down}*2"),  # reads below
    **_filled("F", range(3, 31), "=SUM(A{up2}:A{down2})"),  # both ends moving
    **_filled("G", range(1, 11), "=Total*A{r}+Rate"),  # a name for a cell, a name for a constant
    "H1": "=SUM(Sheet2!B2:B4)+SUM(B:B)",
    "H2": "=Nowhere+1",
    "I1": "=SUM(A1:C3)",  # a block of several columns
    **_filled("J", range(1, 6), "=A{r}"),
    **_filled("J", range(6, 11), "=A{r}*2"),  # a second run right below the first
    **_filled("J", range(13, 16), "=A{r}"),  # and one after a gap
}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    path = tmp_path_factory.mktemp("graph") / "mixed.xlsx"
    return _workbook(path, MIXED, {"A1": 100, **_filled("B", range(1, 6), "=Sheet1!C{r}+Sheet1!A$3")},
                     {"Total": "Sheet2!$A$1", "Rate": "0.05"})


def test_precedents_of_every_formula_cell_are_the_cells_its_text_names(mixed):
    graph = build_graph(mixed)
    reference = _brute_precedents(mixed)
    assert len(reference) == sum(len(rows) for c in mixed.cells.values() for rows, _ in c.formulas.values())
    for key, cells in reference.items():
        found = graph.precedents(key)
        assert set(found) == cells, key
        assert len(found) == len(set(found)), key


def test_dependents_of_every_cell_are_the_formula_cells_that_name_it(mixed):
    graph = build_graph(mixed)
    reference: dict[tuple[str, str], set] = {}
    for key, cells in _brute_precedents(mixed).items():
        for cell in cells:
            reference.setdefault(cell, set()).add(key)
    order = {s: i for i, s in enumerate(mixed.cells)}
    for sheet in ("Sheet1", "Sheet2"):
        for row in range(1, 45):
            for col in range(1, 12):
                key = (sheet, f"{get_column_letter(col)}{row}")
                found = graph.dependents(key)
                assert set(found) == reference.get(key, set()), key
                positions = [(order[s], coordinate_to_tuple(a1)[1], coordinate_to_tuple(a1)[0]) for s, a1 in found]
                assert positions == sorted(set(positions)), key  # column by column, each cell once


def test_dependents_of_a_block_of_rows_are_those_of_each_row_together(mixed):
    graph = build_graph(mixed)
    for first, last in [(1, 1), (1, 40), (8, 12), (10, 10), (29, 33)]:
        together = set()
        for row in range(first, last + 1):
            together |= set(graph.dependents(("Sheet1", f"A{row}")))
        blocks = graph.dependent_blocks("Sheet1", 1, first, last)
        listed = [(s, f"{get_column_letter(c)}{r}") for s, c, low, high in blocks for r in range(low, high + 1)]
        assert set(listed) == together and len(listed) == len(together), (first, last)


def test_a_formula_copied_down_a_column_is_one_run_per_stretch(mixed):
    graph = build_graph(mixed)
    runs = [(run.first, run.last) for run in graph.columns[("Sheet1", 10)].runs]
    assert runs == [(1, 5), (6, 10), (13, 15)]
    assert graph.whole_references == {("Sheet1", "H1"): ["B:B"]}
    assert graph.unknown_names == {("Sheet1", "H2"): ["Nowhere"]}


def _has_cycle(snap) -> bool:
    links = {k: {p for p in v if p in snap.formulas} for k, v in _brute_precedents(snap).items()}
    try:
        graphlib.TopologicalSorter(links).prepare()
    except graphlib.CycleError:
        return True
    return False


CASES = {
    "running totals": MIXED,
    "a loan schedule": {"K1": "=1000", **_filled("L", range(2, 31), "=K{up}*0.01"),
                        **_filled("K", range(2, 31), "=K{up}+L{r}-50")},
    "a cell reading itself": {**_filled("K", range(1, 6), "=A{r}"), "K6": "=K6+1"},
    "two columns reading each other on one row": {**_filled("K", range(1, 6), "=L{r}+1"),
                                                  **_filled("L", range(1, 6), "=K{r}*2")},
    "a run reading above and below": {**_filled("K", range(2, 10), "=K{up}+K{down}")},
    "a run reading only its own rows above, through a fixed end": {"K1": "=A1",
                                                                   **_filled("K", range(2, 20), "=SUM(K$1:K{up})")},
    "a fixed end that takes in the cell itself": {**_filled("K", range(1, 20), "=SUM(K$5:A{up})")},
    "a circle through three sheets' worth of runs": {**_filled("K", range(1, 5), "=Sheet2!C{r}"),
                                                     "M1": "=K4"},
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_circular_reference_is_found_exactly_when_one_exists(tmp_path, case):
    sheet2 = {**_filled("C", range(1, 5), "=Sheet1!M1")} if "three" in case else None
    snap = _workbook(tmp_path / "cycle.xlsx", CASES[case], sheet2)
    expected = _has_cycle(snap)
    cycle = find_cycle(build_graph(snap))
    assert (cycle is not None) == expected
    if cycle:
        reference = _brute_precedents(snap)
        chain = cycle.cells
        assert cycle.certain and chain[0] == chain[-1] and len(chain) >= 2
        assert all(a in reference[b] for a, b in itertools.pairwise(chain))  # each link: a cell the next reads


def test_runs_reading_each_other_with_too_many_links_are_reported_as_possibly_circular(tmp_path, monkeypatch):
    snap = _workbook(tmp_path / "big.xlsx", {**_filled("K", range(2, 31), "=K{up}*0.01+L{up}"),
                                             **_filled("L", range(2, 31), "=SUM(K$2:K{r})")})
    assert not _has_cycle(snap)
    monkeypatch.setattr(cycles, "MAX_CELL_LINKS", 10)
    found = [f for f in audit(str(snap.path)) if f.kind == "circular reference"]
    assert len(found) == 1 and "may not be real" in found[0].message


def test_trace_of_dependents_follows_a_running_total_as_one_run(tmp_path):
    snap = _workbook(tmp_path / "total.xlsx", {"B1": "=A1", **_filled("B", range(2, 41), "=B{up}+A{r}"),
                                               "C1": "=SUM(B1:B40)"})
    tree = trace(str(snap.path), "Sheet1!A1", dependents=True, limit=0)
    b1 = tree.children[0]
    assert [c.cell for c in tree.children] == ["B1"]
    assert [c.cell for c in b1.children] == ["B2", "C1"]  # B2 reads B1; C1 sums B1:B40
    b2 = b1.children[0]
    assert [c.cell for c in b2.children] == ["B3:B40", "C1"]  # the rest of the running total is one node
    assert [c.cell for c in b2.children[0].children] == ["C1"]


def test_the_circle_reported_is_the_same_whatever_python_hashes_strings_with(tmp_path):
    import os
    import subprocess
    import sys

    snap = _workbook(tmp_path / "circles.xlsx", _filled("K", range(1, 30), "=K{r}+1"))  # one run, 29 circles
    outputs = {subprocess.run([sys.executable, "-m", "unitecon.cli", "audit", str(snap.path)], capture_output=True,
                              text=True, env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2, 3)}
    assert len(outputs) == 1 and "Sheet1!K1: circular reference: Sheet1!K1 -> Sheet1!K1" in outputs.pop()
