"""The command-line contract, for every command that reads a file: a hostile or careless file, or a bad
invocation, gets a non-zero exit and a few lines whose first names the file and the problem; never a
traceback, a hang, unbounded memory, or a changed byte on disk.

Each case runs ``unitecon`` as its own process (an abort or a hang is caught as well as a traceback), with
its peak memory measured by the kernel (``getrusage`` of a small parent process).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

UNITECON = str(Path(sys.executable).parent / "unitecon")
TIMEOUT = 60  # seconds; the slowest refusal here takes about 3
MAX_RSS_MB = 1500
MAX_LINES = 4

_CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                  b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                  b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                  b'<Default Extension="xml" ContentType="application/xml"/>'
                  b'<Override PartName="/xl/workbook.xml" '
                  b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                  b'<Override PartName="/xl/worksheets/sheet1.xml" '
                  b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                  b'</Types>')
_ROOT_RELS = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
              b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
              b'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
             b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
             b'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                  b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                  b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                  b'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')


def _sheet(cells: bytes) -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            + cells + b'</sheetData></worksheet>')


def _package(path: Path, sheet: bytes, corrupt_sheet: bool = False) -> None:
    """A minimal .xlsx with one sheet; ``corrupt_sheet`` damages that member's deflate stream."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    if corrupt_sheet:
        data = bytearray(path.read_bytes())
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("xl/worksheets/sheet1.xml")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        for i in range(start + 2, start + min(info.compress_size, 40)):
            data[i] ^= 0x5A
        path.write_bytes(bytes(data))


def _hostile_workbooks(folder: Path, good: Path) -> dict[str, Path]:
    """Name -> a file no reader may trip over."""
    out = {}

    def put(name: str) -> Path:
        out[name] = folder / f"{name}.xlsx"
        return out[name]

    put("empty").write_bytes(b"")
    put("text").write_text("customer_id,amount\nC1,5\n")
    put("encrypted").write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 4088)  # an OLE2 compound file
    _package(put("last_cell"), _sheet(b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))
    _package(put("far_apart"), _sheet(b'<row r="1"><c r="A1"><v>1</v></c></row>'
                                      b'<row r="1048575"><c r="BK1048575"><v>1</v></c></row>'))
    _package(put("bad_deflate"), _sheet(b'<row r="1"><c r="A1"><v>1</v></c></row>' * 200), corrupt_sheet=True)
    _package(put("deep_xml"), _sheet(b"<x>" * 100_000 + b"</x>" * 100_000))
    _package(put("zip_bomb"), _sheet(b'<row r="1"><c r="A1" t="inlineStr"><is><t>'
                                     + b"0" * (300 << 20) + b"</t></is></c></row>"))
    plain = openpyxl.Workbook()
    plain.active["A1"] = "=1+1"
    plain.save(put("plain"))
    resaved = openpyxl.load_workbook(good)  # formulas kept, every cached value gone
    resaved.save(put("no_cached_values"))
    put("folder").mkdir()
    out["missing"] = folder / "missing.xlsx"
    return out


@dataclass
class Run:
    code: int
    lines: list[str]
    seconds: float
    rss_mb: float


# Runs unitecon from a small Python process, so the peak memory measured is unitecon's own: a child forked
# straight from pytest would count pytest's pages in its peak until it execs.
_WRAPPER = """
import json, resource, subprocess, sys
out, err, timeout, *command = sys.argv[1:]
with open(out, "wb") as fo, open(err, "wb") as fe:
    try:
        code = subprocess.run(command, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL,
                              timeout=float(timeout)).returncode
    except subprocess.TimeoutExpired:
        code = "timeout"
print(json.dumps({"code": code, "rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _spawn(args: list[str], cwd: Path) -> Run:
    """Run unitecon in ``cwd``: its exit code, output lines (stdout then stderr), time and peak memory."""
    out, err = cwd.parent / "stdout.txt", cwd.parent / "stderr.txt"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _WRAPPER, str(out), str(err), str(TIMEOUT), UNITECON, *args],
                          cwd=cwd, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    if result["code"] == "timeout":
        pytest.fail(f"unitecon {' '.join(args)} still running after {TIMEOUT} s")
    text = out.read_text(errors="replace") + err.read_text(errors="replace")
    return Run(result["code"], text.splitlines(), time.perf_counter() - started, result["rss_kb"] / 1024)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def workspace(small_inputs, small_built, tmp_path_factory) -> Path:
    """inputs/, workbooks/ (a good zhipu.xlsx) and hostile/ (the files above), as a user's folder holds them."""
    root = tmp_path_factory.mktemp("contract") / "work"
    shutil.copytree(small_inputs, root / "inputs")
    (root / "workbooks").mkdir(parents=True)
    shutil.copy(small_built["zhipu"], root / "workbooks" / "zhipu.xlsx")
    (root / "hostile").mkdir()
    _hostile_workbooks(root / "hostile", root / "workbooks" / "zhipu.xlsx")
    return root


HOSTILE = ("empty", "text", "encrypted", "last_cell", "far_apart", "bad_deflate", "deep_xml", "zip_bomb", "folder",
           "missing")
READERS = {  # command -> its arguments, {f} the hostile file
    "verify": ["verify", "{f}", "--inputs", "inputs/zhipu.yaml"],
    "audit": ["audit", "{f}"],
    "trace": ["trace", "{f}", "revenue_cny"],
    "diff old": ["diff", "{f}", "workbooks/zhipu.xlsx"],
    "diff new": ["diff", "workbooks/zhipu.xlsx", "{f}"],
    "pull": ["pull", "{f}", "--inputs", "inputs/zhipu.yaml", "--yes"],
}


def _assert_contract(run: Run, args: list[str], names: str, before: dict, after: dict, code=(1,)) -> None:
    shown = "\n".join(run.lines)
    assert run.code in code, f"unitecon {' '.join(args)} exited {run.code}:\n{shown}"
    assert "Traceback" not in shown, shown
    if run.code == 2:  # click refused the arguments: "Usage: …", "Try …", "", "Error: … names the problem"
        assert len(run.lines) <= 6 and run.lines[0].startswith("Usage:"), shown
        assert any(line.startswith("Error:") and names in line for line in run.lines), shown
    else:
        assert 1 <= len(run.lines) <= MAX_LINES, f"{len(run.lines)} lines:\n{shown[:2000]}"
        assert run.lines[0].startswith("error: ") and names in run.lines[0], run.lines[0]
    assert all(len(line) <= 500 for line in run.lines), shown  # two long temporary paths fit
    assert run.rss_mb < MAX_RSS_MB, f"{run.rss_mb:.0f} MB"
    assert after == before, "a command that refused changed a file on disk"


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("command", list(READERS))
def test_every_reading_command_refuses_a_hostile_workbook_in_a_few_lines(workspace, command, hostile):
    path = f"hostile/{hostile}.xlsx"
    args = [a.format(f=path) for a in READERS[command]]
    before = _digest(workspace)
    run = _spawn(args, workspace)
    refused = 4 if command == "verify" else 1  # verify's own exit code for a file it could not read
    _assert_contract(run, args, path, before, _digest(workspace), (refused, 2) if hostile == "folder" else (refused,))


PLAIN = {  # a workbook unitecon did not write: read like any other; what cannot apply to it is one line
    "verify": (0, "hostile/plain.xlsx: 1 formula cells"),
    "audit": (0, "hostile/plain.xlsx: 0 finding(s)"),
    "trace": (1, "error: hostile/plain.xlsx: 'revenue_cny' is neither a defined name"),
    "diff old": (1, "error: hostile/plain.xlsx: holds no cached values"),
    "diff new": (1, "error: hostile/plain.xlsx: holds no cached values"),
    "pull": (1, "error: hostile/plain.xlsx"),
}


@pytest.mark.parametrize("command", list(READERS))
def test_a_workbook_unitecon_did_not_write_is_read_or_refused_in_a_few_lines(workspace, command):
    args = [a.format(f="hostile/plain.xlsx") for a in READERS[command]]
    before = _digest(workspace)
    run = _spawn(args, workspace)
    code, first = PLAIN[command]
    assert run.code == code and run.lines[0].startswith(first), run.lines
    assert len(run.lines) <= 2 * MAX_LINES and "Traceback" not in "\n".join(run.lines)
    assert _digest(workspace) == before


@pytest.mark.parametrize("hostile", [h for h in HOSTILE if h not in ("folder", "missing", "plain")])
def test_build_refuses_to_overwrite_a_hostile_file_at_its_target(workspace, tmp_path, hostile):
    """The target a build would replace is read first (unpulled edits?): a file it cannot read is kept."""
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(workspace / "hostile" / f"{hostile}.xlsx", out / "zhipu.xlsx")
    args = ["build", "zhipu", "--inputs", str(workspace / "inputs"), "--out", str(out)]
    before = _digest(out)
    run = _spawn(args, workspace)
    _assert_contract(run, args, str(out / "zhipu.xlsx"), before, _digest(out))
    assert "--force" in "\n".join(run.lines)  # says how to replace it anyway


BAD_INVOCATIONS = {  # arguments -> (exit codes, what the first line names)
    "negative tolerance": (["verify", "workbooks/zhipu.xlsx", "--rel-tol", "-1"], (2,), "Usage"),
    "empty cell traced": (["trace", "workbooks/zhipu.xlsx", "Summary!ZZ9999"], (1,), "ZZ9999"),
    "unknown name traced": (["trace", "workbooks/zhipu.xlsx", "no_such_metric"], (1,), "no_such_metric"),
    "unknown sheet traced": (["trace", "workbooks/zhipu.xlsx", "Nowhere!A1"], (1,), "Nowhere"),
    "another model's inputs": (["verify", "workbooks/zhipu.xlsx", "--inputs", "inputs/minimax.yaml"], (4,),
                               "workbooks/zhipu.xlsx"),
    "pull into another model": (["pull", "workbooks/zhipu.xlsx", "--inputs", "inputs/minimax.yaml", "--yes"],
                                (1,), "workbooks/zhipu.xlsx"),
    "unknown model": (["build", "nosuch", "--inputs", "inputs"], (1,), "nosuch"),
    "diff without cached values": (["diff", "workbooks/zhipu.xlsx", "hostile/no_cached_values.xlsx"], (1,),
                                   "hostile/no_cached_values.xlsx: holds no cached values"),
    "unknown command": (["bulid"], (2,), "Usage"),
}


@pytest.mark.parametrize("case", list(BAD_INVOCATIONS))
def test_a_bad_invocation_gets_a_few_lines_naming_what_is_wrong(workspace, case):
    args, codes, names = BAD_INVOCATIONS[case]
    before = _digest(workspace)
    run = _spawn(args, workspace)
    if codes == (2,):  # click's usage error: "Usage: …", "Try …", "Error: …"
        assert run.code == 2 and any(line.startswith("Error:") for line in run.lines), run.lines
        assert "Traceback" not in "\n".join(run.lines) and len(run.lines) <= 6 and names in run.lines[0]
        assert _digest(workspace) == before
        return
    _assert_contract(run, args, names, before, _digest(workspace), codes)


def test_audit_of_a_column_of_overtyped_formulas_lists_a_few_and_counts_the_rest(workspace, tmp_path):
    book = tmp_path / "overtyped.xlsx"
    wb = openpyxl.load_workbook(workspace / "workbooks" / "zhipu.xlsx")
    ws = wb["Customers"]
    column = next(c.column_letter for c in ws[ws.max_row] if isinstance(c.value, str) and c.value.startswith("="))
    overtyped = 0
    for row in range(1, ws.max_row + 1):
        if isinstance(ws[f"{column}{row}"].value, str) and ws[f"{column}{row}"].value.startswith("="):
            ws[f"{column}{row}"] = 1.0
            overtyped += 1
    wb.save(book)
    assert overtyped >= 300
    run = _spawn(["audit", str(book), "--limit", "5"], workspace)
    assert run.code == 1 and "Traceback" not in "\n".join(run.lines)
    assert len(run.lines) <= 30, "\n".join(run.lines)
    assert run.lines[-1].startswith(f"{book}: ") and "use --limit 0 for all" in "\n".join(run.lines)
    everything = _spawn(["audit", str(book), "--limit", "0"], workspace)
    assert len(everything.lines) > overtyped
