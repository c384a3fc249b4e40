"""The run-level precedent / dependent graph and the circular-reference search, against a brute force.

The reference expands every formula cell's own A1 text (openpyxl's tokenizer, ``range_boundaries``) into
the cells it reads and inverts that: no R1C1, no runs, no intervals.
"""

from __future__ import annotations

import graphlib
import itertools

import openpyxl
import pytest
from openpyxl import Workbook
from openpyxl.formula.tokenizer import Tokenizer
from openpyxl.utils.cell import coordinate_to_tuple, get_column_letter, range_boundaries
from openpyxl.workbook.defined_name import DefinedName

from unitecon.auditor import cycles
from unitecon.auditor.audit import audit
from unitecon.auditor.cycles import find_cycle
from unitecon.auditor.graph import build_graph
from unitecon.auditor.trace import trace
from unitecon.reading.snapshot import read_snapshot


def _brute_precedents(snap) -> dict[tuple[str, str], set[tuple[str, str]]]:
    names = {n.upper(): where for n, where in snap.names.items()}
    out = {}
    for (sheet, a1), text in snap.formulas.items():
        found: set = set()
        last: set | None = None  # the cells of the reference just before, for the intersection operator
        tokens = Tokenizer(text).items
        for i, token in enumerate(tokens):
            if token.type != "OPERAND" or token.subtype != "RANGE":
                continue
            cells = _cells_of(token.value, sheet, names, snap)
            if last is not None and i >= 2 and tokens[i - 1].type == "WHITE-SPACE" and \
                    tokens[i - 2].subtype == "RANGE":  # "A1:B3 B2:C5": only what both hold
                found -= last - cells
                cells &= last
            found |= cells
            last = cells
        out[(sheet, a1)] = found
    return out


def _cells_of(value: str, sheet: str, names: dict, snap) -> set[tuple[str, str]]:
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
        return set()
    height, width = (g - 1 for g in snap.cells[target].grid.shape) if target in snap.cells else (0, 0)
    top, bottom = (1, height) if top is None else (top, bottom)  # a whole column: the rows the sheet uses
    left, right = (1, width) if left is None else (left, right)
    return {(target, f"{get_column_letter(c)}{r}") for r in range(min(top, bottom), max(top, bottom) + 1)
            for c in range(min(left, right), max(left, right) + 1)}


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
    "I2": "=SUM(A1:B3 B2:C5)",  # the intersection operator: B2:B3
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


def test_trace_never_shows_different_formulas_side_by_side_as_one_copied_formula(tmp_path):
    snap = _workbook(tmp_path / "mixed.xlsx", {"K1": "=A1", "K2": "=A2*2", "K3": "=A3+1", "K4": "=A4",
                                               "L1": "=SUM(K1:K4)"})
    tree = trace(str(snap.path), "Sheet1!L1", limit=0)
    assert [(c.cell, c.formula) for c in tree.children] == [("K1", "=A1"), ("K2", "=A2*2"), ("K3", "=A3+1"),
                                                            ("K4", "=A4")]
    assert [[g.cell for g in c.children] for c in tree.children] == [["A1"], ["A2"], ["A3"], ["A4"]]


def test_trace_of_a_run_shows_what_all_of_its_cells_read(tmp_path):
    snap = _workbook(tmp_path / "total.xlsx", {"B1": "=A1", **_filled("B", range(2, 41), "=B{up}+A{r}")})
    tree = trace(str(snap.path), "Sheet1!B40", limit=0)
    run = tree.children[0]
    assert (run.cell, run.formula) == ("B2:B39", "38 cells, the formula =B1+A2 copied")
    assert [c.cell for c in run.children] == ["B1", "A2:A39"]  # B1 (the first cell's) and every A, not only A2
    assert [c.cell for c in tree.children[1:]] == ["A40"]


def test_a_lower_case_reference_reads_the_cell_it_names_wherever_it_stands(tmp_path):
    snap = _workbook(tmp_path / "lower.xlsx", {"K2": "=a2*2", "M5": "=a2*2", "N5": "=$b$3+c4"})
    graph = build_graph(snap)
    assert graph.precedents(("Sheet1", "K2")) == [("Sheet1", "A2")]
    assert graph.precedents(("Sheet1", "M5")) == [("Sheet1", "A2")]
    assert graph.precedents(("Sheet1", "N5")) == [("Sheet1", "B3"), ("Sheet1", "C4")]
    assert graph.dependents(("Sheet1", "A2")) == [("Sheet1", "K2"), ("Sheet1", "M5")]


def test_table_references_broken_references_and_range_tails_are_not_unknown_names(tmp_path):
    snap = _workbook(tmp_path / "odd.xlsx", {"K1": "=SUM(Table1[col2])", "K2": "=Sheet3!#REF!+A1",
                                             "K3": "=SUM(OFFSET(A1,0,1):D2)", "K4": "=nosuch+1"})
    assert build_graph(snap).unknown_names == {("Sheet1", "K4"): ["nosuch"]}
    found = {(f.kind, f.location) for f in audit(str(snap.path))}
    assert ("error value", "Sheet1!K2") in found and ("unknown name", "Sheet1!K4") in found


def test_a_sheets_own_name_shadows_the_workbooks_there_and_only_there(tmp_path):
    wb = Workbook()
    first, second = wb.active, wb.create_sheet("Other")
    first.title = "Sheet1"
    first["A1"], first["B1"], second["A1"], second["B1"] = 1, "=Rate*10", 2, "=Rate*10"
    second["C1"] = "=Mine+1"
    wb.defined_names["Rate"] = DefinedName("Rate", attr_text="Sheet1!$A$1")
    second.defined_names["Rate"] = DefinedName("Rate", attr_text="Other!$A$1")
    second.defined_names["Mine"] = DefinedName("Mine", attr_text="Other!$B$1")
    wb.save(tmp_path / "local.xlsx")
    snap = read_snapshot(tmp_path / "local.xlsx")
    graph = build_graph(snap)
    assert graph.precedents(("Sheet1", "B1")) == [("Sheet1", "A1")]
    assert graph.precedents(("Other", "B1")) == [("Other", "A1")]
    assert graph.precedents(("Other", "C1")) == [("Other", "B1")] and graph.unknown_names == {}
    assert graph.dependents(("Other", "A1")) == [("Other", "B1")]
    assert (trace(str(snap.path), "Mine").sheet, trace(str(snap.path), "Other!Rate").sheet) == ("Other", "Other")


def test_names_of_several_areas_or_defined_as_formulas_read_every_cell_they_name(tmp_path):
    snap = _workbook(tmp_path / "names.xlsx", {"K1": "=SUM(two)", "K2": "=fx+k", "K3": "=SUM(A:A)"},
                     names={"two": "Sheet1!$A$1,Sheet1!$A$10", "fx": "Sheet1!$A$4*2", "k": "0.05"})
    graph = build_graph(snap)
    assert graph.precedents(("Sheet1", "K1")) == [("Sheet1", "A1"), ("Sheet1", "A10")]
    assert graph.precedents(("Sheet1", "K2")) == [("Sheet1", "A4")]
    assert graph.precedents(("Sheet1", "K3")) == [("Sheet1", f"A{r}") for r in range(1, 41)]
    assert graph.dependents(("Sheet1", "A10")) == [("Sheet1", "K1"), ("Sheet1", "K3")]
    assert graph.unknown_names == {}


@pytest.mark.parametrize("formulas", [{"A1": "=SUM(two)", "B1": "=A1"}, {"A1": "=fx", "B1": "=A1"},
                                      {"A1": "=SUM(B:B)", "B1": "=A1"}, {"A2": "=SUM(A:A)"}])
def test_a_circle_through_a_name_or_a_whole_column_is_found(tmp_path, formulas):
    snap = _workbook(tmp_path / "circle.xlsx", {}, names={"two": "Sheet1!$C$1,Sheet1!$B$1", "fx": "Sheet1!$B$1*2"})
    path = snap.path
    book = openpyxl.load_workbook(path)
    for cell, text in formulas.items():
        book["Sheet1"][cell] = text
    book.save(path)
    assert find_cycle(build_graph(read_snapshot(path))) is not None


def test_a_3d_reference_reads_the_cell_on_every_sheet_of_its_span(tmp_path):
    wb = Workbook()
    wb.active.title = "Main"
    for title, value in (("Jan", 1), ("Feb", 2), ("Mar", 3), ("Apr", 4)):
        wb.create_sheet(title)["B2"] = value
    wb["Main"]["A1"] = "=SUM(Jan:Mar!B2)"
    wb["Main"]["A2"] = "=SUM('Mar:Feb'!B2)"
    wb.save(tmp_path / "3d.xlsx")
    graph = build_graph(read_snapshot(tmp_path / "3d.xlsx"))
    assert graph.precedents(("Main", "A1")) == [("Jan", "B2"), ("Feb", "B2"), ("Mar", "B2")]
    assert graph.precedents(("Main", "A2")) == [("Feb", "B2"), ("Mar", "B2")]
    assert graph.dependents(("Feb", "B2")) == [("Main", "A1"), ("Main", "A2")]


def test_a_name_on_a_sheet_whose_name_holds_an_apostrophe_is_followed(tmp_path):
    wb = Workbook()
    wb.active.title = "S"
    data = wb.create_sheet("Bob's data")
    wb.defined_names["bob"] = DefinedName("bob", attr_text="'Bob''s data'!$A$1")
    wb["S"]["A1"], data["A1"] = "=bob+1", "=S!A1"
    wb["S"]["B1"] = "=SUM(bob:B2)"  # a range with a name at one end: no unknown name
    wb.save(tmp_path / "quoted.xlsx")
    snap = read_snapshot(tmp_path / "quoted.xlsx")
    assert snap.names["bob"] == ("Bob's data", "A1") and not snap.broken_names
    graph = build_graph(snap)
    assert graph.precedents(("S", "A1")) == [("Bob's data", "A1")] and graph.unknown_names == {}
    assert find_cycle(graph) is not None
