"""Careless and hostile workbooks: every command that reads one refuses it in one line, fast, without a
traceback, an abort or a change to the file; and a killed build's temporary file does not stay forever.

Each hostile file is planted in a temporary folder and each command runs the real CLI in a forked child
process, so that a reader which aborts the process (calamine's allocation of a whole sheet does) fails
the test instead of ending the test session.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import struct
import time
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from click.testing import CliRunner
from conftest import INPUTS
from python_calamine import CalamineWorkbook

from unitecon.atomic import STALE_AFTER, remove_stale, replacing
from unitecon.cli import main
from unitecon.errors import UniteconError
from unitecon.limits import MAX_GRID_CELLS, MAX_XML_DEPTH
from unitecon.reading.snapshot import read_snapshot
from unitecon.reading.xml_extent import _extent, _tags

SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"


# --- planting --------------------------------------------------------------------------------------

def _book(path: Path, *cells: tuple[str, object], rows: int = 0) -> Path:
    """A small workbook of one sheet, Data: the cells given (A1, number or text), then ``rows`` rows of
    numbers that do not compress well, so its sheet part inflates past 64 KiB."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Data")
    for a1, value in cells:
        ws.write(a1, value)
    for r in range(rows):
        for c in range(8):
            ws.write_number(r + 2, c, (r * 7919 + c * 104729) % 1000003 / 997)
    wb.close()
    return path


def _rewrite(path: Path, member: str, edit, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path) as zin:
        parts = {name: zin.read(name) for name in zin.namelist()}
    parts[member] = edit(parts[member])
    with zipfile.ZipFile(path, "w") as zout:
        for name, data in parts.items():
            zout.writestr(name, data, compress_type=compression if name == member else zipfile.ZIP_DEFLATED)
    return path


def _damage(path: Path, member: str, where: float) -> Path:
    """Overwrite part of ``member``'s stored bytes (from fraction ``where`` of them on) with 0xFF, leaving the
    zip's directory, sizes and CRC as they were: what a bad disk sector or a cut download does."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    first = start + int(info.compress_size * where)
    last = min(first + 64, start + info.compress_size)
    data[first:last] = b"\xff" * (last - first)
    path.write_bytes(bytes(data))
    return path


def _nested(n: int) -> bytes:
    return b"<a>" * n + b"</a>" * n


def _compound_file(path: Path, streams: dict[str, bytes]) -> Path:
    """An OLE2 compound file (the container of .xls, and of an .xlsx Excel has encrypted) holding
    ``streams``, each padded to at least 4,096 bytes so that all live in regular 512-byte sectors."""
    end, free, fat_sector = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    datas = [data.ljust(4096, b"\0") for data in streams.values()]
    chains, fat, next_sector = [], [fat_sector, end], 2  # sector 0: the FAT; sector 1: the directory
    for data in datas:
        count = -(-len(data) // 512)
        chains.append(next_sector)
        fat += [*range(next_sector + 1, next_sector + count), end]
        next_sector += count
    assert len(fat) <= 128
    fat += [free] * (128 - len(fat))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<III", free, right, child) + b"\0" * 36 + struct.pack("<IIII", start, size, 0, 0))

    names = list(streams)
    directory = entry("Root Entry", 5, 1, free, end, 0)
    for i, (name, data) in enumerate(zip(names, datas, strict=True), start=1):
        directory += entry(name, 2, free, i + 1 if i < len(names) else free, chains[i - 1], len(data))
    directory = directory.ljust(512, b"\0")
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + b"\0" * 6 + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
              + struct.pack("<I", 0) + struct.pack("<I", free) * 108)
    assert len(header) == 512
    path.write_bytes(header + struct.pack("<128I", *fat) + directory + b"".join(datas))
    return path


def _ods(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>')
        zf.writestr("content.xml", '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
                    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>')
    return path


def _stored_with_a_changed_digit(path: Path) -> Path:
    """The sheet part stored uncompressed, then one digit of a value changed: the file still parses, and only
    the member's CRC tells that its data is not what was written."""
    _rewrite(_book(path, ("A1", 1)), SHEET, lambda xml: xml, zipfile.ZIP_STORED)
    path.write_bytes(path.read_bytes().replace(b"<v>1</v>", b"<v>7</v>"))
    return path


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _far_rows(xml: bytes, rows: bytes) -> bytes:
    return xml.replace(b"</sheetData>", rows + b"</sheetData>")


DEEP = rf"nests XML elements at least [0-9,]+ deep \(limit {MAX_XML_DEPTH}"

HOSTILE = {
    # one value in the last cell of the sheet: calamine would allocate 2**34 cells before any check
    "value-in-XFD1048576": (lambda p: _book(p, ("A1", 1), ("XFD1048576", 2)),
                            r"sheet 'Data': refused: its cells span 1,048,576 rows by 16,384 columns from A1 "
                            rf"\(limit {MAX_GRID_CELLS:,} cells\); move far-away cells next to the data"),
    # cells without a reference are placed after the previous one: the last lands in A1048576
    "unreferenced-cells-far-away": (
        lambda p: _rewrite(_book(p, ("A1", 1)), SHEET, lambda x: _far_rows(
            x, b'<row r="2"><c r="XFC2"><v>1</v></c><c><v>2</v></c></row><row r="1048576"><c><v>3</v></c></row>')),
        r"sheet 'Data': refused: its cells span 1,048,576 rows by 16,384 columns"),
    "row-past-excel": (lambda p: _rewrite(_book(p, ("A1", 1)), SHEET, lambda x: _far_rows(
        x, b'<row r="20000000"><c r="A20000000"><v>1</v></c></row>')),
        r"sheet 'Data': refused: a cell in row 20,000,000, column 1 lies past an Excel sheet's last cell"),
    "deflate-damaged-at-start": (lambda p: _damage(_book(p, ("A1", 1), rows=2000), SHEET, 0.0),
                                 rf"damaged workbook: member {SHEET} cannot be inflated \("),
    "deflate-damaged-past-64KiB": (lambda p: _damage(_book(p, ("A1", 1), rows=2000), SHEET, 0.8),
                                   rf"damaged workbook: member {SHEET} cannot be inflated \("),
    "stored-member-fails-its-crc": (
        _stored_with_a_changed_digit, rf"damaged workbook: member {SHEET} cannot be inflated \(bad CRC-32\); save"),
    "password-protected": (lambda p: _compound_file(p, {"EncryptionInfo": os.urandom(300),
                                                        "EncryptedPackage": os.urandom(6000)}),
                           r"a password-protected workbook .*remove the password in Excel"),
    "legacy-xls": (lambda p: _compound_file(p, {"Workbook": os.urandom(5000)}),
                   r"a legacy \.xls workbook .*not an \.xlsx workbook; save it as \.xlsx"),
    "ods-renamed": (_ods, r"an OpenDocument spreadsheet \(\.ods\), not an \.xlsx workbook; save it as \.xlsx"),
    "csv-renamed": (lambda p: _text(p, "customer,amount\nacme,12\n"),
                    r"a text file of separated values \(CSV\?\), not an \.xlsx workbook \(first line "
                    r"'customer,amount'\); save it as \.xlsx"),
    "deep-shared-strings": (lambda p: _rewrite(_book(p, ("A1", "text")), STRINGS,
                                               lambda x: x.replace(b"<si>", b"<si>" + _nested(100_000), 1)),
                            rf"refused: {STRINGS} " + DEEP),
    "deep-sheet": (lambda p: _rewrite(_book(p, ("A1", 1)), SHEET, lambda x: _far_rows(x, _nested(100_000))),
                   rf"refused: {SHEET} " + DEEP),
    "deep-sheet-past-64KiB": (
        lambda p: _rewrite(_book(p, ("A1", 1), rows=2000), SHEET, lambda x: _far_rows(x, _nested(100_000))),
        rf"refused: {SHEET} " + DEEP),
    "deep-workbook-part": (lambda p: _rewrite(_book(p, ("A1", 1)), "xl/workbook.xml",
                                              lambda x: x.replace(b"</workbook>", _nested(100_000) + b"</workbook>")),
                           "refused: xl/workbook.xml " + DEEP),
}


# --- running -----------------------------------------------------------------------------------------

def _isolated(args: list[str], cwd: Path, timeout: int = 120) -> tuple[int, str, float]:
    """Run the CLI with ``args`` in a forked child: (exit code, or minus the signal that killed it; its output
    on stdout and stderr; seconds taken). The child is killed by SIGALRM after ``timeout`` seconds."""
    read_end, write_end = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_end)
            signal.alarm(timeout)
            os.chdir(cwd)
            result = CliRunner().invoke(main, args)
            payload = json.dumps([result.exit_code, result.output]).encode()
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    with os.fdopen(read_end, "rb") as inp:
        while select.select([inp], [], [], timeout + 10)[0] and (chunk := inp.read1(1 << 16)):
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - started
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status), b"".join(chunks).decode(errors="replace"), elapsed
    code, output = json.loads(b"".join(chunks) or b'[-1, "(no output)"]')
    return code, output, elapsed


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A folder with inputs/anthropic.yaml (a quick build) and a good workbook to compare with."""
    root = tmp_path_factory.mktemp("project")
    (root / "inputs").mkdir()
    shutil.copy(INPUTS / "anthropic.yaml", root / "inputs")
    shutil.copytree(INPUTS / "sources", root / "inputs" / "sources")
    _book(root / "good.xlsx", ("A1", 1), ("B1", 2))
    return root


COMMANDS = {  # every command that reads a workbook; {wb} is the hostile file
    "verify": ["verify", "{wb}"],
    "audit": ["audit", "{wb}"],
    "trace": ["trace", "{wb}", "arr_usd"],
    "diff-old": ["diff", "{wb}", "good.xlsx"],
    "diff-new": ["diff", "good.xlsx", "{wb}"],
    "pull": ["pull", "{wb}", "--inputs", "inputs/anthropic.yaml", "--yes"],
    "build": ["build", "anthropic", "--inputs", "inputs", "--out", "{out}"],  # reads workbooks/<model>.xlsx
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_workbook_is_refused_in_one_line_by_every_command_and_left_as_it_was(project, tmp_path, kind,
                                                                                      command):
    make, expected = HOSTILE[kind]
    out = tmp_path / "workbooks"
    out.mkdir()
    wb = out / "anthropic.xlsx"  # where build looks for the workbook it would overwrite
    make(wb)
    before = wb.read_bytes(), wb.stat().st_mtime_ns
    inputs_before = (project / "inputs" / "anthropic.yaml").read_bytes()
    args = [a.format(wb=wb, out=out) for a in COMMANDS[command]]
    code, output, elapsed = _isolated(args, project)
    assert code == (4 if command == "verify" else 1), f"exit {code}: {output}"  # verify: 4, could not read
    assert "Traceback" not in output
    first = output.splitlines()[0]
    assert first.startswith(f"error: {wb}: "), output
    assert re.search(expected, first), first
    assert len(first) <= 400, f"{len(first)} characters: {first}"
    assert elapsed < 30, f"took {elapsed:.1f} s"
    assert (wb.read_bytes(), wb.stat().st_mtime_ns) == before
    assert (project / "inputs" / "anthropic.yaml").read_bytes() == inputs_before
    assert sorted(p.name for p in out.iterdir()) == ["anthropic.xlsx"]  # no temporary file left behind


# --- what must still be read --------------------------------------------------------------------------

@pytest.mark.parametrize("far", ["XFD1", "BL1000", "N1048576", "Z621377"])
def test_a_wide_or_tall_sparse_sheet_within_the_limit_is_read(tmp_path, far):
    path = _book(tmp_path / "sparse.xlsx", ("A1", 1), (far, 2))
    snap = read_snapshot(path)
    assert snap.value("Data", far) == 2 and snap.value("Data", "A1") == 1
    result = CliRunner().invoke(main, ["verify", str(path)])
    assert result.exit_code == 0, result.output


def test_one_cell_past_the_grid_limit_is_refused(tmp_path):
    assert 645_277 * 26 <= MAX_GRID_CELLS < 645_278 * 26  # rows 1..645,277 by columns A..Z fit, one more row not
    read_snapshot(_book(tmp_path / "at.xlsx", ("A1", 1), ("Z645277", 2)))
    with pytest.raises(UniteconError, match=r"sheet 'Data': refused: its cells span 645,278 rows by 26 columns"):
        read_snapshot(_book(tmp_path / "over.xlsx", ("A1", 1), ("Z645278", 2)))


def test_many_sheets_within_the_sheet_limit_are_refused_past_the_workbook_limit(tmp_path):
    from unitecon.limits import MAX_WORKBOOK_CELLS

    book = xlsxwriter.Workbook(tmp_path / "many.xlsx")
    for i in range(3):  # 3 sheets of 1,048,576 rows by 14 columns: each under one sheet's limit, 44 M in all
        sheet = book.add_worksheet(f"S{i}")
        sheet.write("A1", 1)
        sheet.write("N1048576", 2)
    book.close()
    assert MAX_GRID_CELLS >= 1_048_576 * 14 and MAX_WORKBOOK_CELLS < 3 * 1_048_576 * 14
    with pytest.raises(UniteconError, match=r"refused: its sheets span 44,040,192 cells from A1 in all"):
        read_snapshot(tmp_path / "many.xlsx")


@pytest.mark.parametrize(("rows", "exact"), [
    (b'<row r="3"><c><v>1</v></c><c r="E3"><v>2</v></c><c><v>3</v></c></row>', True),  # after the previous cell
    (b'<row><c><v>1</v></c><c><v>2</v></c></row><row><c t="inlineStr"><is><t>x</t></is></c></row>', True),
    (b'<row r="2"><c r="B7"><v>1</v></c><c><v>2</v></c></row>', True),  # a cell outside its row's number
    (b'<row r="4"><c r="c4"><v>1</v></c></row>', True),  # lower-case letters
    (b'<x:row r="5" xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
     b'<x:c r="D5"><x:v>1</x:v></x:c></x:row>', True),  # a prefixed namespace
    (b'<row r="9"/><row><c><v>1</v></c></row>', False),  # calamine does not see an empty <row/> at all
    (b'<row r="9"></row><row><c><v>1</v></c></row>', True),  # but moves on past <row></row>
])
def test_the_extent_check_places_every_cell_at_least_as_far_as_calamine_does(tmp_path, rows, exact):
    path = _rewrite(_book(tmp_path / "odd.xlsx", ("A1", 1)), SHEET, lambda x: _far_rows(x, rows))
    with zipfile.ZipFile(path) as zf:
        height, width = _extent(_tags(zf.read(SHEET)))
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Data").to_python(skip_empty_area=False)
    assert height >= len(grid) and width >= max(len(row) for row in grid)
    assert not exact or (height, width) == (len(grid), max(len(row) for row in grid))


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "not an .xlsx workbook: the file is empty (0 bytes)"),
    (b"<html><body>404</body></html>", "an XML or HTML text file, not an .xlsx workbook"),
    (b"%PDF-1.7\n...", "a PDF document, not an .xlsx workbook"),
    (b"PK\x03\x04" + b"\0" * 100, "not an .xlsx workbook that can be read: a truncated or damaged zip"),
])
def test_the_first_bytes_of_a_file_that_is_not_a_zip_say_what_it_is(tmp_path, content, expected):
    path = tmp_path / "book.xlsx"
    path.write_bytes(content)
    with pytest.raises(UniteconError, match=re.escape(expected)):
        read_snapshot(path)


# --- temporary files of killed writes --------------------------------------------------------------------

def _aged(path: Path, seconds: float, content: bytes = b"partial") -> Path:
    path.write_bytes(content)
    when = time.time() - seconds
    os.utime(path, (when, when))
    return path


def test_a_temporary_file_a_killed_write_left_is_removed_by_the_next_write_of_that_target(tmp_path):
    target = tmp_path / "minimax.xlsx"
    stale = _aged(tmp_path / ".minimax.k1ll3d_x.xlsx.tmp", STALE_AFTER + 60)
    fresh = _aged(tmp_path / ".minimax.wr1t1ng_.xlsx.tmp", 60)  # another write, still going
    other = _aged(tmp_path / ".zhipu.k1ll3d_x.xlsx.tmp", STALE_AFTER + 60)  # another target's
    dotted = _aged(tmp_path / ".minimax.v2.k1ll3d_x.xlsx.tmp", STALE_AFTER + 60)  # target minimax.v2.xlsx
    unrelated = _aged(tmp_path / ".minimax.notes.tmp", STALE_AFTER + 60)
    (tmp_path / ".minimax.d1rectry.xlsx.tmp").mkdir()
    with replacing(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert not stale.exists()
    assert all(p.exists() for p in (fresh, other, dotted, unrelated, tmp_path / ".minimax.d1rectry.xlsx.tmp"))


def test_remove_stale_says_what_it_removed_and_leaves_young_files(tmp_path):
    target = tmp_path / "sales.csv.gz"
    old = _aged(tmp_path / ".sales.csv.abcdefgh.gz.tmp", 7200)
    young = _aged(tmp_path / ".sales.csv.ijklmnop.gz.tmp", 10)
    assert remove_stale(target) == [old]
    assert young.exists()
    assert remove_stale(target, older_than=0) == [young]


def test_a_build_removes_the_temporary_file_a_killed_build_left(project, tmp_path):
    out = tmp_path / "workbooks"
    out.mkdir()
    stale = _aged(out / ".anthropic.abc_1234.xlsx.tmp", STALE_AFTER + 60)
    code, output, _ = _isolated(["build", "anthropic", "--inputs", "inputs", "--out", str(out)], project)
    assert code == 0, output
    assert sorted(p.name for p in out.iterdir()) == ["anthropic.xlsx"]
    assert not stale.exists()
