"""Careless and hostile edits on the build → Excel → pull round trip: never a traceback, damaged data, or advice
that cannot work. Each test plants the case in a freshly built workbook, runs the real command line, and
follows the advice it prints."""

from __future__ import annotations

import re
import shlex
import shutil
import stat
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from unitecon.cli import main

BOOK = "workbooks/zhipu.xlsx"
YAML = "inputs/zhipu.yaml"
SENTINEL = 271828.182845  # a value openpyxl writes as this text, then replaced in the sheet's XML


@pytest.fixture(scope="module")
def built_zhipu(small_inputs, tmp_path_factory) -> Path:
    """The zhipu workbook built once from the small inputs; each test gets its own copy."""
    folder = tmp_path_factory.mktemp("hostile")
    shutil.copytree(small_inputs, folder / "inputs")
    result = CliRunner().invoke(main, ["build", "zhipu", "--inputs", str(folder / "inputs"),
                                       "--out", str(folder / "workbooks")])
    assert result.exit_code == 0, result.output
    return folder / "workbooks" / "zhipu.xlsx"


@pytest.fixture
def project(tmp_path, monkeypatch, small_inputs, built_zhipu) -> Path:
    """A copy of the inputs and of a freshly built zhipu workbook, with the CLI run from that folder."""
    shutil.copytree(small_inputs, tmp_path / "inputs")
    (tmp_path / "workbooks").mkdir()
    shutil.copy2(built_zhipu, tmp_path / BOOK)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def follow(output: str):
    """Run the build command a refusal advises, exactly as printed (between backticks, ending in --force)."""
    command = re.search(r"`(unitecon build [^`]*--force)`", output).group(1)
    return run(*shlex.split(command)[1:])


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def errors(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def refused(result) -> str:
    """The first line of a refusal, checked to be a one-line error and no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    first = result.output.splitlines()[0]
    assert first.startswith("error: "), result.output
    return first


def files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (inputs and workbooks), to check a refusal wrote nothing."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def cell_of(path, name: str) -> str:
    wb = openpyxl.load_workbook(path, read_only=True)
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    return f"{sheet}!{ref.replace('$', '')}"


def edit_workbook(path, changes: dict[str, object] | None = None, cells: dict[str, object] | None = None) -> None:
    """Change cells the way a person would in Excel (openpyxl stands in for Excel): by name or "Sheet!A1"."""
    wb = openpyxl.load_workbook(path)
    targets = {cell_of(path, name): value for name, value in (changes or {}).items()} | (cells or {})
    for where, value in targets.items():
        sheet, ref = where.split("!")
        wb[sheet][ref] = value
    wb.save(path)


def named_value(path, name: str):
    sheet, ref = cell_of(path, name).split("!")
    return openpyxl.load_workbook(path)[sheet][ref].value


def plant_number(path, name: str, text: str) -> None:
    """Write ``text`` as the stored number of input ``name``'s cell, by hand in the sheet's XML: openpyxl writes
    NaN as an empty cell and cannot write a number beyond a float, as Excel files from elsewhere may hold."""
    edit_workbook(path, {name: SENTINEL})
    retype(path, repr(SENTINEL), text)


def retype(path, old: str, new: str) -> None:
    """Replace the one stored number ``old`` by ``new`` in the sheets' XML (openpyxl cannot open a workbook
    holding NaN, which Excel shows as #NUM! and lets the user overtype)."""
    with zipfile.ZipFile(path) as zf:
        parts = {info: zf.read(info.filename) for info in zf.infolist()}
    marker = f"<v>{old}</v>".encode()
    hits = [info for info, data in parts.items() if marker in data]
    assert len(hits) == 1 and parts[hits[0]].count(marker) == 1
    parts[hits[0]] = parts[hits[0]].replace(marker, f"<v>{new}</v>".encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in parts.items():
            zf.writestr(info, data)


def first_formula_cell(path) -> tuple[str, str]:
    ws = openpyxl.load_workbook(path)["Calculations"]
    cell = next(c for row in ws.iter_rows() for c in row if c.data_type == "f")
    return f"Calculations!{cell.coordinate}", cell.value


# --- 1. NaN and numbers beyond Excel's range ---------------------------------------------------------------


@pytest.mark.parametrize(("stored", "shown"), [("NaN", "nan"), ("1E+400", "inf"), ("-1E+400", "-inf"),
                                               ("1E+308", "1e+308")])
def test_pull_refuses_a_number_excel_cannot_hold_and_writes_nothing(project, stored, shown):
    plant_number(BOOK, "customers", stored)
    before = files(project)
    result = run("pull", BOOK, "--yes")
    first = refused(result)
    assert first.startswith(f"error: {BOOK}: {cell_of(BOOK, 'customers')} (customers): input cell holds {shown}; "
                            "expected a finite number within Excel's range"), result.output
    assert len(errors(result)) == 1
    assert files(project) == before


def test_pull_takes_the_largest_number_excel_holds(project):
    plant_number(BOOK, "customers", "9.99999999999999E+307")
    result = run("pull", BOOK, "--yes")
    assert result.exit_code == 0, result.output
    assert "value: 9.99999999999999e+307" in Path(YAML).read_text(encoding="utf-8")


@pytest.mark.parametrize("stored", ["NaN", "1E+400"])
def test_build_over_a_number_excel_cannot_hold_refuses_and_its_advice_works(project, stored):
    plant_number(BOOK, "customers", stored)
    before = files(project)
    result = run("build", "zhipu")
    first = refused(result)
    assert first.startswith(f"error: {BOOK}: {cell_of(BOOK, 'customers')} (customers): input cell holds "), first
    assert "expected a finite number within Excel's range" in first
    assert "correct the input cells `unitecon pull` refuses" in result.output
    assert files(project) == before
    retype(BOOK, stored, "9000")  # the advice: a number in the cell, pulled, then built
    assert run("pull", BOOK, "--yes").exit_code == 0
    assert run("build", "zhipu").exit_code == 0
    assert named_value(BOOK, "customers") == 9000


def test_build_force_over_a_nan_input_cell_rebuilds_from_the_inputs_file(project):
    plant_number(BOOK, "customers", "NaN")
    result = run("build", "zhipu", "--force")
    assert result.exit_code == 0, result.output
    assert named_value(BOOK, "customers") == 8000


# --- 2. Advice that works: what was found decides what to do -------------------------------------------------


def test_an_input_edit_is_sent_to_pull_and_following_it_lets_build_proceed(project):
    edit_workbook(BOOK, {"repurchase_rate": 0.8})
    result = run("build", "zhipu")
    refused(result)
    assert f"run `unitecon pull {BOOK}` to keep the input edits" in result.output
    assert run("pull", BOOK, "--yes").exit_code == 0
    assert run("build", "zhipu").exit_code == 0
    assert named_value(BOOK, "repurchase_rate") == 0.8


def test_an_overtyped_formula_is_not_sent_to_pull_and_build_force_clears_it(project):
    where, _ = first_formula_cell(BOOK)
    edit_workbook(BOOK, cells={where: 42})
    before = files(project)
    result = run("build", "zhipu")
    first = refused(result)
    assert first == f"error: {BOOK}: {where}: the build's formula was overtyped with 42"
    assert "`unitecon pull` cannot keep the hand-changed formulas: `unitecon build zhipu --force` discards them" \
        in result.output
    assert "run `unitecon pull" not in result.output
    assert files(project) == before
    pulled = run("pull", BOOK, "--yes")  # pull has nothing to take, and says why the build will still refuse
    assert pulled.exit_code == 0 and "nothing to pull" in pulled.output
    assert f"{where}" in pulled.output and "`unitecon build zhipu --force` discards them" in pulled.output
    assert follow(result.output).exit_code == 0
    assert run("build", "zhipu").exit_code == 0
    assert named_value(BOOK, "repurchase_rate") == 0.79


def test_re_entering_an_overtyped_formula_lets_build_proceed(project):
    where, formula = first_formula_cell(BOOK)
    edit_workbook(BOOK, cells={where: 42})
    result = run("build", "zhipu")
    refused(result)
    assert "re-enter the build's formula in each cell named, and build again" in result.output
    edit_workbook(BOOK, cells={where: formula})
    result = run("build", "zhipu")
    assert result.exit_code == 0, result.output


def test_an_input_edit_and_an_overtyped_formula_advice_pull_then_force_keeps_the_edit(project):
    where, _ = first_formula_cell(BOOK)
    edit_workbook(BOOK, {"repurchase_rate": 0.8}, cells={where: 42})
    result = run("build", "zhipu")
    refused(result)
    assert (f"run `unitecon pull {BOOK}` to keep the input edits in {YAML}, then `unitecon build zhipu --force`: it "
            "discards the hand-changed formulas, which pull cannot keep") in result.output
    pulled = run("pull", BOOK, "--yes")
    assert pulled.exit_code == 0, pulled.output
    assert "now run `unitecon build zhipu --force`" in pulled.output
    again = run("build", "zhipu")  # the input edit is pulled; the formula is what is left
    refused(again)
    assert "run `unitecon pull" not in again.output and "(repurchase_rate)" not in again.output
    assert follow(again.output).exit_code == 0
    assert named_value(BOOK, "repurchase_rate") == 0.8
    assert run("build", "zhipu").exit_code == 0


def test_an_input_replaced_by_a_formula_is_not_sent_to_pull_alone(project):
    edit_workbook(BOOK, {"repurchase_rate": "=0.5+0.3"})
    result = run("build", "zhipu")
    refused(result)
    assert "input replaced by a formula =0.5+0.3; expected a number" in result.output
    assert "correct the input cells `unitecon pull` refuses (named above), then run `unitecon pull" in result.output
    edit_workbook(BOOK, {"repurchase_rate": 0.8})
    assert run("pull", BOOK, "--yes").exit_code == 0
    assert run("build", "zhipu").exit_code == 0


def test_a_value_changed_on_both_sides_is_not_sent_to_pull_alone(project):
    edit_workbook(BOOK, {"repurchase_rate": 0.8})
    yaml = Path(YAML)
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("value: 0.79", "value: 0.75", 1), encoding="utf-8")
    result = run("build", "zhipu")
    first = refused(result)
    assert "(repurchase_rate): changed on both sides since the build" in first
    assert "correct the input cells `unitecon pull` refuses" in result.output
    assert run("pull", BOOK, "--yes").exit_code == 1  # as the build said
    edit_workbook(BOOK, {"repurchase_rate": 0.75})  # the figure to keep, typed into the cell
    assert run("build", "zhipu").exit_code == 0


def _plain_workbook(path) -> None:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "someone's own sheet"
    wb.save(path)


@pytest.mark.parametrize("what", ["plain", "garbage", "other model"])
@pytest.mark.parametrize("follow_advice", ["move it away", "--force"])
def test_a_workbook_unitecon_did_not_build_at_the_target_is_refused_with_advice_that_works(project, what,
                                                                                          follow_advice):
    target = Path("workbooks/minimax.xlsx")
    if what == "plain":
        _plain_workbook(target)
    elif what == "garbage":
        target.write_text("not a spreadsheet")
    else:
        shutil.copy(BOOK, target)
    before = files(project)
    result = run("build", "minimax")
    first = refused(result)
    assert len(errors(result)) == 1, result.output
    assert first.startswith(f"error: {target}: not overwritten: ") and "unitecon workbook of model 'minimax'" \
        in first, first
    assert "move it away, or add --force to this build command to replace it" in first
    assert "unitecon pull" not in first or "cannot read it back" in first
    assert files(project) == before
    if follow_advice == "--force":
        result = run("build", "minimax", "--force")  # the command that was refused, with --force added
    else:
        target.rename("workbooks/mine.xlsx")
        result = run("build", "minimax")
        assert Path("workbooks/mine.xlsx").read_bytes() == before[str(target)]
    assert result.exit_code == 0, result.output
    assert run("build", "minimax").exit_code == 0


@pytest.mark.parametrize("given", [[], ["--inputs", YAML]])
def test_pull_of_a_workbook_unitecon_did_not_build_is_one_line(project, given):
    _plain_workbook("mine.xlsx")
    before = files(project)
    result = run("pull", "mine.xlsx", "--yes", *given)
    first = refused(result)
    assert result.output.strip() == first
    assert first == ("error: mine.xlsx: not a unitecon workbook (no Fingerprint sheet, no model recorded); "
                     "`unitecon pull` reads input cells back only from a workbook `unitecon build` wrote")
    assert files(project) == before


def test_pull_of_another_models_workbook_is_one_line(project):
    before = files(project)
    result = run("pull", BOOK, "--inputs", "inputs/minimax.yaml", "--yes")
    first = refused(result)
    assert result.output.strip() == first
    assert first == (f"error: {BOOK}: is the 'zhipu' workbook but inputs/minimax.yaml holds model 'minimax'; "
                     "pass the matching --inputs file")
    assert files(project) == before


def test_pull_run_away_from_the_inputs_folder_asks_for_the_inputs_file_and_that_works(project, monkeypatch):
    edit_workbook(BOOK, {"repurchase_rate": 0.8})
    (project / "elsewhere").mkdir()
    monkeypatch.chdir(project / "elsewhere")
    book, yaml = str(project / BOOK), str(project / YAML)
    result = run("pull", book, "--yes")
    first = refused(result)
    assert result.output.strip() == first
    assert first == (f"error: {book}: no inputs/zhipu.yaml here (the inputs file of model 'zhipu' when run from its "
                     "project folder); pass --inputs FILE, the inputs file it was built from")
    result = run("pull", book, "--inputs", yaml, "--yes")
    assert result.exit_code == 0, result.output
    assert "value: 0.8" in Path(yaml).read_text(encoding="utf-8")


def test_pull_of_a_value_the_inputs_file_rejects_names_the_cell_not_a_temporary_file(project):
    edit_workbook(BOOK, {"usd_cny": 0})
    before = files(project)
    result = run("pull", BOOK, "--yes")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert errors(result) == [f"error: {BOOK}: {cell_of(BOOK, 'usd_cny')} (usd_cny): an exchange rate must be "
                              f"above 0 (got 0); {YAML} not written"]
    assert ".tmp" not in result.output
    assert files(project) == before


# --- 3. Comments stay where they were ------------------------------------------------------------------------

# Each of these inputs is the last before a section comment (# --- R&D and compute ---, # --- Losses ---, ...):
# its values in the inputs file, after a first edit and after a second; and the key its edited: note belongs under.
LAST_IN_SECTION = {"repurchase_rate": ((0.79, 0.8, 0.81), "repurchase_rate"),
                   "cloud_gross_margin": ((-0.004, -0.01, -0.02), "H1_2025"),
                   "monthly_burn_reported_cny": ((200000000, 210000000, 220000000), "monthly_burn_reported_cny")}


def _without_edited_blocks(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The lines of ``text`` without its ``edited:`` blocks, and for each block the index (in the result) of the
    line it followed and its indentation."""
    kept, blocks, inside = [], [], None
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if inside is not None and line.strip() and indent > inside:
            continue
        inside = None
        if line.strip() == "edited:":
            inside = indent
            blocks.append((len(kept) - 1, indent))
            continue
        kept.append(line)
    return kept, blocks


def assert_comments_in_place(original: str, pulled: str, owners: list[str]) -> None:
    """Line for line ``original`` except value lines, plus one edited block inside each edited input, right
    after its last line (never below the next input's section comment)."""
    before = original.splitlines()
    after, blocks = _without_edited_blocks(pulled)
    assert len(after) == len(before)
    for old, new in zip(before, after, strict=True):
        assert old == new or (old.strip().startswith("value:") and new.strip().startswith("value:")), (old, new)
    found = []
    for at, indent in blocks:
        assert after[at].strip() and not after[at].lstrip().startswith("#"), after[at]
        owner = next(line for line in reversed(after[:at + 1])
                     if line.strip() and not line.lstrip().startswith("#")
                     and len(line) - len(line.lstrip()) < indent)
        found.append(owner.strip().removesuffix(":"))
    assert sorted(found) == sorted(owners)


def test_pull_keeps_edited_notes_with_their_inputs_and_every_comment_in_place(project):
    yaml = Path(YAML)
    original = yaml.read_text(encoding="utf-8")
    for step in (1, 2):  # a first edit, then a second over the edited note
        edit_workbook(BOOK, {name: values[step] for name, (values, _) in LAST_IN_SECTION.items()})
        result = run("pull", BOOK, "--yes")
        assert result.exit_code == 0, result.output
        assert_comments_in_place(original, yaml.read_text(encoding="utf-8"),
                                 [owner for _, owner in LAST_IN_SECTION.values()])
        assert run("build", "zhipu").exit_code == 0
    edit_workbook(BOOK, {name: values[0] for name, (values, _) in LAST_IN_SECTION.items()})  # back to the sources
    result = run("pull", BOOK, "--yes")
    assert result.exit_code == 0, result.output
    assert yaml.read_text(encoding="utf-8") == original


# --- 4. Open workbooks, read-only inputs ---------------------------------------------------------------------


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_a_workbook_open_in_libreoffice_is_not_written_until_it_is_closed(project, force):
    lock = Path("workbooks/.~lock.zhipu.xlsx#")
    lock.write_text(",someone,host,29.11.2026 10:00,file:///home/someone/.config/libreoffice/4;")
    yaml = Path(YAML)
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("value: 0.79", "value: 0.8", 1), encoding="utf-8")
    before = files(project)
    result = run("build", "zhipu", *force)
    first = refused(result)
    assert first == (f"error: {BOOK}: is open in LibreOffice (lock file .~lock.zhipu.xlsx# beside it): close the "
                     "workbook there, then build again (a lock file left behind by a crash can be deleted)")
    assert files(project) == before
    lock.unlink()  # closing LibreOffice removes it
    assert run("build", "zhipu").exit_code == 0
    assert named_value(BOOK, "repurchase_rate") == 0.8


@pytest.mark.parametrize("read_only", ["file", "folder"])
def test_pull_into_a_read_only_inputs_file_or_folder_is_one_line(project, read_only):
    edit_workbook(BOOK, {"repurchase_rate": 0.8})
    place = Path(YAML) if read_only == "file" else Path("inputs")
    mode = place.stat().st_mode
    place.chmod(stat.S_IMODE(mode) & ~0o222)
    try:
        before = files(project)
        result = run("pull", BOOK, "--yes")
        assert result.exit_code == 1 and "Traceback" not in result.output
        shown = "" if read_only == "file" else " (inputs)"
        assert errors(result) == [f"error: {YAML}: not written: the {read_only}{shown} is read-only; make it "
                                  "writable, then pull again"]
        assert files(project) == before and place.stat().st_mode == mode & ~0o222
    finally:
        place.chmod(stat.S_IMODE(mode))
