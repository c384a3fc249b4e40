"""Auditor toolkit: trace, audit (each finding kind planted), verify, diff, and hostile files."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from unitecon.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def book(small_built, tmp_path):
    path = tmp_path / "minimax.xlsx"
    shutil.copy(small_built["minimax"], path)
    return path


def plant(path, cells: dict[tuple[str, str], object]):
    wb = openpyxl.load_workbook(path)
    for (sheet, ref), value in cells.items():
        wb[sheet][ref] = value
    wb.save(path)


def formula_cells(path, sheet="Calculations"):
    return [c for row in openpyxl.load_workbook(path)[sheet].iter_rows() for c in row if c.data_type == "f"]


# --- trace ---------------------------------------------------------------------------------------

def test_trace_reaches_the_cited_quote_of_every_input(book, small_inputs):
    result = run("trace", book, "compute_to_revenue", "--format", "json")
    assert result.exit_code == 0, result.output
    tree = json.loads(result.output)
    assert tree["name"] == "compute_to_revenue" and tree["formula"].startswith("=")
    leaves = []

    def walk(node):
        if not node.get("children"):
            leaves.append(node)
        for child in node.get("children", []):
            walk(child)

    walk(tree)
    names = {leaf["name"] for leaf in leaves}
    assert names == {"rd_expense_usd_9m2025", "compute_share_of_rd", "revenue_usd_9m2025"}
    for leaf in leaves:
        assert leaf["sheet"] == "Inputs" and "formula" not in leaf
        text = (small_inputs / "sources" / leaf["source"]).read_text(encoding="utf-8")
        assert leaf["quote"] in text


def test_trace_a_cell_with_depth_and_dependents(book):
    result = run("trace", book, "Summary!D7", "--depth", "1")
    assert result.exit_code == 0
    assert len(result.output.strip().splitlines()) == 2
    result = run("trace", book, "hailuo_paying_users", "--dependents", "--format", "json")
    tree = json.loads(result.output)
    assert "hailuo_arppu_usd" in json.dumps(tree)


def test_trace_of_an_unknown_target_is_one_clear_line(book):
    result = run("trace", book, "no_such_name")
    assert result.exit_code == 1 and "neither a defined name nor a cell" in result.output


# --- audit ---------------------------------------------------------------------------------------

def test_fresh_workbooks_audit_clean(built):
    for path in built.values():
        result = run("audit", path)
        assert result.exit_code == 0, result.output


def _findings(path) -> list[dict]:
    result = run("audit", path, "--format", "json")
    assert result.exit_code == 1, result.output
    return json.loads(result.output)


@pytest.mark.parametrize(
    ("kind", "plant_with"),
    [
        ("hard-coded number", lambda c: c.value.replace("=", "=1.07*", 1)),
        ("inconsistent formula", lambda c: "=" + c.value[1:] + "+0"),
        ("volatile function", lambda c: c.value.replace("=", "=NOW()*0+", 1)),
        ("whole-column reference", lambda c: c.value.replace("=", "=SUM(B:B)*0+", 1)),
        ("unknown name", lambda c: c.value.replace("=", "=no_such_name*0+", 1)),
    ],
)
def test_each_formula_finding_kind_is_found_where_planted(book, kind, plant_with):
    # a cell in a row with several periods, so a changed formula breaks a pattern
    cells = formula_cells(book)
    by_row: dict[int, list] = {}
    for c in cells:
        by_row.setdefault(c.row, []).append(c)
    target = next(row[1] for row in by_row.values() if len(row) >= 3 and "/" in row[1].value)
    plant(book, {("Calculations", target.coordinate): plant_with(target)})
    found = _findings(book)
    assert any(f["kind"] == kind and f["location"] == f"Calculations!{target.coordinate}" for f in found), found


def test_overtyped_formula_is_found_against_the_fingerprint(book):
    target = formula_cells(book)[10]
    plant(book, {("Calculations", target.coordinate): 1234.5})
    found = _findings(book)
    assert any(f["kind"] == "overtyped formula" and f["location"] == f"Calculations!{target.coordinate}"
               for f in found)


def test_input_without_source_is_found(book):
    ws = openpyxl.load_workbook(book)["Inputs"]
    header = next(r for r in ws.iter_rows() if r[0].value == "Label")
    columns = {c.value: c.column_letter for c in header}
    row = next(r for r in ws.iter_rows() if r[1].value == "hailuo_paying_users")[0].row
    plant(book, {("Inputs", f"{columns['Source document']}{row}"): None, ("Inputs", f"{columns['Quote']}{row}"): None})
    found = _findings(book)
    assert any(f["kind"] == "input without source" and "hailuo_paying_users" in f["message"] for f in found)


def test_error_value_and_circular_reference_are_found(book):
    cells = formula_cells(book)
    a, b = cells[20], cells[21]
    plant(book, {("Calculations", a.coordinate): f"={b.coordinate}+1",
                 ("Calculations", b.coordinate): f"={a.coordinate}",
                 ("Calculations", "A2"): "#DIV/0!"})
    kinds = {f["kind"] for f in _findings(book)}
    assert {"circular reference", "error value"} <= kinds


def test_broken_defined_name_is_found(book):
    wb = openpyxl.load_workbook(book)
    from openpyxl.workbook.defined_name import DefinedName

    wb.defined_names["dangling"] = DefinedName("dangling", attr_text="Nowhere!$A$1")
    wb.save(book)
    assert any(f["kind"] == "broken name" and f["location"] == "dangling" for f in _findings(book))


def test_audit_works_on_a_workbook_unitecon_did_not_build(tmp_path):
    path = tmp_path / "plain.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    for col in "BCDE":
        ws[f"{col}1"] = 10
        ws[f"{col}2"] = f"={col}1*2"
    ws["E2"] = "=E1*3"
    wb.save(path)
    found = _findings(path)
    assert {(f["kind"], f["location"]) for f in found} >= {("inconsistent formula", "Sheet!E2"),
                                                             ("hard-coded number", "Sheet!B2")}
    assert run("trace", path, "Sheet!E2").exit_code == 0


# --- verify ---------------------------------------------------------------------------------------

def test_verify_reports_a_wrong_cached_value_with_cell_formula_and_both_values(book, tmp_path, small_inputs):
    import re

    with zipfile.ZipFile(book) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    position = openpyxl.load_workbook(book, read_only=True).sheetnames.index("Calculations") + 1
    sheet = f"xl/worksheets/sheet{position}.xml"
    xml = members[sheet].decode()
    m = re.search(r'<c r="(H\d+)"[^>]*><f>([^<]+)</f><v>([^<]+)</v>', xml)
    members[sheet] = xml.replace(m.group(0), m.group(0).replace(f"<v>{m.group(3)}</v>", "<v>999</v>")).encode()
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(bad, "w") as zout:
        for n, data in members.items():
            zout.writestr(n, data)
    result = run("verify", bad, "--inputs", small_inputs / "minimax.yaml")
    assert result.exit_code == 1
    assert f"Calculations!{m.group(1)}" in result.output and "999" in result.output


def test_verify_compares_with_the_inputs_file(book, tmp_path, small_inputs):
    shutil.copytree(small_inputs, tmp_path / "inputs")
    changed = tmp_path / "inputs" / "minimax.yaml"
    changed.write_text(changed.read_text(encoding="utf-8").replace("value: 300000", "value: 1", 1), encoding="utf-8")
    result = run("verify", book, "--inputs", changed)
    assert result.exit_code == 1 and "the inputs file gives" in result.output


# --- diff -----------------------------------------------------------------------------------------

def test_diff_by_name_with_a_bridge_that_adds_up(tmp_path, small_inputs):
    from unitecon.build import build

    changed = tmp_path / "inputs"
    shutil.copytree(small_inputs, changed)
    yaml = changed / "minimax.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("value: 300000", "value: 350000", 1)
                    .replace("value: 18750000", "value: 20000000", 1), encoding="utf-8")
    old = build(small_inputs / "minimax.yaml", tmp_path / "old.xlsx").path
    new = build(yaml, tmp_path / "new.xlsx").path
    from unitecon.auditor.diff import diff

    d = diff(old, new)
    assert {c.name for c in d.inputs} == {"hailuo_paying_users", "hailuo_revenue_usd"}
    bridge = next(b for b in d.bridges if b.output == "hailuo_arppu_usd")
    assert bridge.old == pytest.approx(62.5) and bridge.new == pytest.approx(20_000_000 / 350_000)
    steps = dict(bridge.steps)
    assert steps["hailuo_paying_users"] == pytest.approx(18_750_000 / 350_000 - 62.5)
    assert steps["hailuo_revenue_usd"] == pytest.approx(20_000_000 / 300_000 - 62.5)
    assert bridge.old + sum(steps.values()) + bridge.residual == pytest.approx(bridge.new)
    result = run("diff", old, new)
    assert result.exit_code == 0 and "bridge hailuo_arppu_usd" in result.output


# --- hostile files ----------------------------------------------------------------------------------

COMMANDS = [("audit",), ("verify",), ("trace", "compute_to_revenue"), ("pull", "--yes")]


def _hostile(kind: str, tmp_path, book) -> object:
    path = tmp_path / f"{kind}.xlsx"
    if kind == "not-xlsx":
        path.write_text("name,value\nfoo,1\n")
    elif kind == "truncated":
        path.write_bytes(book.read_bytes()[:5000])
    elif kind == "zip-bomb":
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (64 << 20))
    elif kind == "entities":
        with zipfile.ZipFile(book) as zin, zipfile.ZipFile(path, "w") as zout:
            for name in zin.namelist():
                data = zin.read(name)
                if name == "xl/workbook.xml":
                    bomb = ('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
                            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>')
                    text = data.decode()
                    head, rest = text.split("?>", 1)
                    data = (head + "?>" + bomb + rest.replace("<sheets>", "<sheets>&lol3;", 1)).encode()
                zout.writestr(name, data)
    return path


@pytest.mark.parametrize("kind", ["not-xlsx", "truncated", "zip-bomb", "entities"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_hostile_files_get_one_clear_line_fast(book, tmp_path, kind, command):
    path = _hostile(kind, tmp_path, book)
    before = path.read_bytes()
    result = run(command[0], path, *command[1:])
    assert result.exit_code == (4 if command[0] == "verify" else 1), result.output  # verify: 4, could not read
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    expected = {"not-xlsx": "not an .xlsx", "truncated": "not an .xlsx", "zip-bomb": "zip bomb",
                "entities": "entities"}[kind]
    assert expected in errors[0]
    assert path.read_bytes() == before


def test_diff_refuses_hostile_files_too(book, tmp_path):
    path = _hostile("zip-bomb", tmp_path, book)
    result = run("diff", book, path)
    assert result.exit_code == 1 and "zip bomb" in result.output


def test_reading_commands_never_modify_the_workbook(book, small_inputs):
    before = book.read_bytes(), book.stat().st_mtime_ns
    for args in (("audit", book), ("verify", book), ("trace", book, "runway_months"), ("diff", book, book),
                 ("pull", book, "--inputs", small_inputs / "minimax.yaml")):
        run(*args)
    assert (book.read_bytes(), book.stat().st_mtime_ns) == before


def test_trace_finds_a_metric_without_a_defined_name_by_its_row_name():
    """A Calculations row names its metric in column B; trace NAME starts from that row's last formula cell
    (its latest period), read here with openpyxl."""
    from openpyxl import load_workbook

    from unitecon.auditor.trace import trace as tracing

    book = ROOT / "workbooks" / "openai.xlsx"
    sheet = load_workbook(book)["Calculations"]
    defined = set(load_workbook(book).defined_names)
    rows = {row[1].value: row for row in sheet.iter_rows() if isinstance(row[1].value, str)}
    unnamed = [name for name in rows if name.islower() and name not in defined and any(
        isinstance(c.value, str) and c.value.startswith("=") for c in rows[name][4:])]
    assert len(unnamed) >= 5
    for name in unnamed:
        last = [c for c in rows[name][4:] if isinstance(c.value, str) and c.value.startswith("=")][-1]
        root = tracing(str(book), name, 0, False, 40)
        assert (root.sheet, root.cell, root.name) == ("Calculations", last.coordinate, name)
