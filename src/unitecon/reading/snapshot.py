"""Read a workbook someone may have edited: cell values, formulas, defined names (its Fingerprint sheet:
:mod:`.fingerprint`).

The file is treated as untrusted: it must be a zip whose inflated size and compression ratio are
within bounds before anything is inflated, and no XML part may declare a DTD (entity expansion and
external entities are refused before parsing; the parsers are set not to resolve entities either,
and openpyxl parses with defusedxml installed). The file is never written to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import html
import io
import re
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree
from openpyxl.formula.translate import Translator
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple, get_column_letter
from python_calamine import CalamineWorkbook

from ..errors import Problem, UniteconError
from ..limits import (
    EXCEL_COLUMNS,
    EXCEL_ROWS,
    MAX_GRID_CELLS,
    MAX_INFLATED_BYTES,
    MAX_RATIO,
    MAX_WORKBOOK_CELLS,
    MAX_XML_DEPTH,
    clip,
)
from .r1c1 import column_patterns

Key = tuple[str, str]  # (sheet as written, "A1")
MAX_HEADER_COLUMNS = 64  # header rows are read this far to the right
EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # serial 0 as Excel's 1900 date system counts (1904: 1904-01-01)


class CellError(str):
    """An error value a cell holds (#DIV/0!, #N/A, …): equal as text to the same characters typed into a
    cell, but not the same value; :func:`unitecon.auditor.verdict.same` tells them apart."""

    __slots__ = ()


def value_at(grid: np.ndarray, row: int, col: int) -> Any:
    """One cell of a sheet's grid (1-based, as the sheet numbers them); None outside it."""
    return grid[row, col] if 0 < row < grid.shape[0] and 0 < col < grid.shape[1] else None


def values_at(grid: np.ndarray, rows: np.ndarray, col: int) -> np.ndarray:
    """The cells at ``rows`` of one column of a sheet's grid (None outside it), as a new object array."""
    out = np.full(len(rows), None, dtype=object)
    if 0 < col < grid.shape[1]:
        inside = (rows > 0) & (rows < grid.shape[0])
        out[inside] = grid[rows[inside], col]
    return out


def grid_cells(sheet: str, grid: np.ndarray, wanted: np.ndarray) -> dict[Key, Any]:
    """The cells of a grid where ``wanted`` is True, keyed (sheet, A1)."""
    rows, cols = np.nonzero(wanted)
    letters = {c: get_column_letter(c) for c in set(cols.tolist())}
    return {(sheet, f"{letters[c]}{r}"): v
            for r, c, v in zip(rows.tolist(), cols.tolist(), grid[rows, cols].tolist(), strict=True)}


@dataclass
class SheetCells:
    """One worksheet as columns: every cell value in one grid, formula text column by column.

    ``grid[row, col]`` (1-based, as the sheet numbers them; row 0 and column 0 stay empty) holds the
    constant of a value cell and the cached value of a formula cell, None where the cell is empty.
    ``formulas[col]`` holds the rows (ascending) of that column's formula cells and their text.
    A 100,000-row sheet is one array and a few lists instead of a dictionary entry per cell.
    """

    grid: np.ndarray
    formulas: dict[int, tuple[np.ndarray, list[str]]]
    arrays: set[tuple[int, int]] = field(default_factory=set)  # (row, col) of each array formula's first cell

    def get(self, row: int, col: int) -> Any:
        """The value at 1-based ``row``, ``col``; None outside the grid."""
        return value_at(self.grid, row, col)

    def formula(self, row: int, col: int) -> str | None:
        """The formula text at 1-based ``row``, ``col``; None where the cell holds no formula."""
        if col not in self.formulas:
            return None
        rows, texts = self.formulas[col]
        i = int(np.searchsorted(rows, row))
        return texts[i] if i < len(rows) and rows[i] == row else None

    def formula_mask(self, shape: tuple[int, int] | None = None) -> np.ndarray:
        """True where the grid (or a grid of ``shape``, at least as large) holds a formula cell."""
        mask = np.zeros(shape or self.grid.shape, dtype=bool)
        for col, (rows, _texts) in self.formulas.items():
            mask[rows, col] = True
        return mask


@dataclass
class Snapshot:
    path: Path
    modified: dt.datetime
    sheets: list[str] = field(default_factory=list)  # in workbook order
    names: dict[str, Key] = field(default_factory=dict)
    cells: dict[str, SheetCells] = field(default_factory=dict)  # by sheet name as written
    properties: dict[str, str] = field(default_factory=dict)
    broken_names: dict[str, str] = field(default_factory=dict)  # name -> what it refers to
    formula_names: dict[str, str] = field(default_factory=dict)  # name -> its constant or formula (=0.05)
    area_names: dict[str, str] = field(default_factory=dict)  # name of several areas -> them (names: the first)
    local_names: dict[str, dict[str, Key]] = field(default_factory=dict)  # sheet -> its own names (one area each)
    epoch: dt.datetime = EXCEL_EPOCH  # serial 0; 1904-01-01 in a workbook using the 1904 date system
    recalculate_on_load: bool = False  # the file asks Excel to recalculate every formula when it opens it

    @property
    def model(self) -> str | None:
        return self.properties.get("unitecon_model")

    def value(self, sheet: str, a1: str) -> Any:
        """The value stored in one cell (the cached value of a formula cell); None if empty or absent."""
        cells = self.cells.get(sheet)
        if cells is None:
            return None
        row, col = coordinate_to_tuple(a1)
        return cells.get(row, col)

    @functools.cached_property
    def names_by_upper(self) -> dict[str, Key]:
        """The defined names by upper-case name (Excel's names ignore case)."""
        return {name.upper(): where for name, where in self.names.items()}

    # Cell by cell views, built on first use (the auditor commands walk every cell; verify does not).
    @functools.cached_property
    def formulas(self) -> dict[Key, str]:
        """Formula text ("=...") of every formula cell."""
        return {(sheet, f"{letter}{row}"): text for sheet, cells in self.cells.items()
                for col, (rows, texts) in cells.formulas.items() for letter in (get_column_letter(col),)
                for row, text in zip(rows.tolist(), texts, strict=True)}

    @functools.cached_property
    def patterns(self) -> dict[Key, str]:
        """The R1C1 form of every formula cell: a formula copied down a column reads the same in each."""
        out: dict[Key, str] = {}
        for sheet, cells in self.cells.items():
            for col, (rows, texts) in cells.formulas.items():
                found, which = column_patterns(texts, rows, col)
                letter = get_column_letter(col)
                out.update(((sheet, f"{letter}{row}"), found[k])
                           for row, k in zip(rows.tolist(), which.tolist(), strict=True))
        return out

    @functools.cached_property
    def values(self) -> dict[Key, Any]:
        """Every non-empty cell that holds no formula: the constants."""
        return self._cells_where(formula=False)

    @functools.cached_property
    def cached(self) -> dict[Key, Any]:
        """The value last computed by Excel / LibreOffice / unitecon of every formula cell that has one."""
        return self._cells_where(formula=True)

    def _cells_where(self, formula: bool) -> dict[Key, Any]:
        out: dict[Key, Any] = {}
        for sheet, cells in self.cells.items():
            wanted = (cells.grid != None) & (cells.formula_mask() == formula)  # noqa: E711  (element-wise)
            out.update(grid_cells(sheet, cells.grid, wanted))
        return out

    def columns_by_header(self, sheet: str, row: int) -> dict[str, str]:
        """Header text -> column letter along ``row`` (1-based) of ``sheet`` (the Inputs sheet's columns move
        when scenario columns are added)."""
        out: dict[str, str] = {}
        cells = self.cells.get(sheet)
        for col in range(1, MAX_HEADER_COLUMNS + 1):
            value = cells.get(row, col) if cells else None
            if isinstance(value, str):
                out.setdefault(value, get_column_letter(col))
        return out


def check_zip(path: Path, *, parts: bool = True) -> None:
    """Refuse a file that is not an .xlsx zip, or whose members would inflate out of bounds, or (with
    ``parts``, see :func:`check_parts`) whose XML nests too deep or whose sheets span too many cells."""
    _check_archive(path)
    if parts:
        check_parts(path)


def _refusal(path: Path, message: str) -> UniteconError:
    return UniteconError(Problem(str(path), "", message))


def _check_archive(path: Path) -> None:
    """The zip's directory (sizes, compression ratios, what kind of document it holds) and the start of
    every XML part (no DTD, no deep nesting there), before any parser sees the file."""
    try:
        with zipfile.ZipFile(path) as zf:
            total = 0
            for info in zf.infolist():
                total += info.file_size
                ratio = info.file_size / info.compress_size if info.compress_size else 0
                if ratio > MAX_RATIO and info.file_size > 1 << 20:
                    raise _refusal(path, f"refused: {info.filename} inflates {ratio:.0f}x (limit {MAX_RATIO}x), "
                                         "which looks like a zip bomb")
            if total > MAX_INFLATED_BYTES:
                raise _refusal(path, f"refused: inflates to {total / 2**20:.0f} MiB "
                                     f"(limit {MAX_INFLATED_BYTES / 2**20:.0f} MiB)")
            _check_package(path, zf)
            for info in zf.infolist():
                if info.filename.endswith(_XML_SUFFIXES):
                    head = _inflate(path, zf, info, _PROLOG_LIMIT)
                    _check_prolog(path, info.filename, head)
                    if (xml := _as_xml(head)) is not None:
                        _check_depth(path, info.filename, _tags(xml))
    except zipfile.BadZipFile:
        raise _refusal(path, _not_a_zip(path)) from None
    except OSError as exc:
        raise _refusal(path, f"cannot read ({exc.strerror or exc})") from None


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the signature of a compound file: .xls, or Excel's encrypted .xlsx
_SAVE_AS = "save it as .xlsx in Excel or LibreOffice and try again"


def _not_a_zip(path: Path) -> str:
    """What a file that is no zip is, as far as its first bytes tell, and what to do about it."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if not head:
        return "not an .xlsx workbook: the file is empty (0 bytes)"
    if head.startswith(_OLE2):
        if _holds(path, "EncryptedPackage".encode("utf-16-le")):
            return ("a password-protected workbook (encrypted, so not an .xlsx zip); remove the password in Excel "
                    "(File > Info > Protect Workbook) and try again")
        return f"a legacy .xls workbook or another OLE2 file, not an .xlsx workbook; {_SAVE_AS}"
    if head.startswith(b"PK"):
        return "not an .xlsx workbook that can be read: a truncated or damaged zip; save it again, or restore a copy"
    if head.startswith(b"%PDF"):
        return f"a PDF document, not an .xlsx workbook; {_SAVE_AS}"
    text = head.removeprefix(b"\xef\xbb\xbf")
    if b"\0" not in text:
        first = text.decode("utf-8", errors="replace").lstrip().split("\n", 1)[0].strip()
        if first.startswith("<"):
            kind = "an XML or HTML text file"
        elif any(sep in first for sep in ",;\t"):
            kind = "a text file of separated values (CSV?)"
        else:
            kind = "a text file"
        return f"{kind}, not an .xlsx workbook (first line {clip(first, 30)!r}); {_SAVE_AS}"
    return f"not an .xlsx workbook (not a zip file, or truncated); {_SAVE_AS}"


def _holds(path: Path, needle: bytes, chunk: int = 1 << 20) -> bool:
    """True if the file's bytes contain ``needle`` (read a chunk at a time)."""
    with open(path, "rb") as f:
        tail = b""
        while block := f.read(chunk):
            if needle in tail + block[: len(needle)] or needle in block:
                return True
            tail = block[-len(needle):]
    return False


def _check_package(path: Path, zf: zipfile.ZipFile) -> None:
    """Refuse a zip that is some other kind of document (OpenDocument, .xlsb, a plain zip) in one line."""
    names = set(zf.namelist())
    if "mimetype" in names:
        mimetype = _inflate(path, zf, zf.getinfo("mimetype"), 200).decode("ascii", errors="replace").strip()
        if mimetype.startswith("application/vnd.oasis.opendocument"):
            kind = ("an OpenDocument spreadsheet (.ods)" if mimetype.endswith(".spreadsheet")
                    else f"an OpenDocument file ({clip(mimetype, 60)})")
            raise _refusal(path, f"{kind}, not an .xlsx workbook; {_SAVE_AS}")
    if "xl/workbook.bin" in names:
        raise _refusal(path, f"an Excel binary workbook (.xlsb), not an .xlsx workbook; {_SAVE_AS}")
    if "[Content_Types].xml" not in names:
        raise _refusal(path, f"a zip file but not an .xlsx workbook (no [Content_Types].xml); {_SAVE_AS}")


def _inflate(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int = -1) -> bytes:
    """A member's bytes (the first ``limit`` of them), or one line naming the member that cannot be inflated."""
    try:
        with zf.open(info) as member:
            return member.read(limit)
    except _DAMAGE as exc:
        raise _refusal(path, _damaged(info.filename, exc)) from None


# What zipfile raises for a member it cannot inflate: corrupt deflate data, a stream cut short, a CRC that
# does not match, a compression method it lacks, a member encrypted with a zip password.
_DAMAGE = (zlib.error, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError)


def _damaged(member: str, exc: BaseException) -> str:
    if isinstance(exc, NotImplementedError):
        return f"damaged workbook: member {member} uses a compression method that cannot be read; save it again"
    if isinstance(exc, RuntimeError):
        return f"member {member} is encrypted with a zip password; save the workbook again without one"
    text = str(exc)
    detail = "bad CRC-32" if "CRC-32" in text else clip(text.rsplit(": ", 1)[-1], 60)  # the name is said once
    return f"damaged workbook: member {member} cannot be inflated ({detail}); save it again, or restore a copy"


def _find_damage(path: Path) -> str | None:
    """The first member of the zip that does not inflate to its recorded CRC, said in one line; None if all do."""
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                try:
                    with zf.open(info) as member:
                        while member.read(1 << 20):
                            pass
                except _DAMAGE as exc:
                    return _damaged(info.filename, exc)
    except (zipfile.BadZipFile, OSError):
        return None
    return None


def check_parts(path: Path, sheets: dict[str, str] | None = None) -> dict[str, bytes]:
    """Inflate every member of the zip and refuse, in one line, any that is damaged, any XML part nested
    deeper than :data:`MAX_XML_DEPTH`, and any sheet whose cells reach past Excel's last cell or span more
    than :data:`MAX_GRID_CELLS` from A1. Returns the bytes of the members ``sheets`` (sheet name ->
    member) names, which also name the sheet in a message.

    Every member holding ``sheetData`` is measured, whatever its name (calamine opens the sheets the
    workbook's relationships name), before calamine allocates its grid: it holds a sheet as one block
    from A1 to the farthest cell with a value, so one value in XFD1048576 would ask it for 512 GiB.
    """
    named = {member: f"sheet {sheet!r}" for sheet, member in (sheets or {}).items()}
    kept = {}
    spans: list[tuple[int, _Tags]] = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            data = _inflate(path, zf, info)
            if info.filename in named:
                kept[info.filename] = data
            xml = _as_xml(data)
            if xml is None:
                continue
            sheet = b"sheetData" in xml
            if not sheet and info.file_size <= _PROLOG_LIMIT and info.filename.endswith(_XML_SUFFIXES):
                continue  # measured whole by _check_archive
            tags = _tags(xml)
            _check_depth(path, info.filename, tags)
            if sheet:
                spans.append((_check_extent(path, named.get(info.filename, f"part {info.filename}"), tags), tags))
    total = sum(span for span, _ in spans)
    if total > MAX_WORKBOOK_CELLS:  # measured again exactly where a sheet near A1 was only bounded
        total = sum(rows * cols for rows, cols in (_extent(tags, exact=True) for _, tags in spans))
    if total > MAX_WORKBOOK_CELLS:
        raise _refusal(path, f"refused: its sheets span {total:,} cells from A1 in all (limit "
                             f"{MAX_WORKBOOK_CELLS:,}); move far-away cells next to the data")
    return kept


def _as_xml(data: bytes) -> bytes | None:
    """The bytes of an XML part as UTF-8 (a UTF-16 part decoded); None for a member that is not XML."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace").encode("utf-8")
    start = data[:64].removeprefix(b"\xef\xbb\xbf").lstrip()
    return data if start.startswith(b"<") else None



_MARKUP = {b"<!--": b"-->", b"<![CDATA[": b"]]>", b"<?": b"?>"}  # text that may hold "<", and where it ends
_MARKUP_START = re.compile(rb"<!--|<!\[CDATA\[|<\?")
_PAD = 16  # bytes after the end, so that a tag's next few bytes can be looked at without a bounds check


@dataclass
class _Tags:
    """An XML part from its root on, less comments, CDATA and processing instructions (which may hold
    "<"), as bytes and a numpy view of them (padded with spaces), with where each tag starts and the
    byte after its "<": what the nesting and extent checks count, in a few vectorised passes."""

    xml: bytes
    a: np.ndarray
    starts: np.ndarray
    after: np.ndarray
    as_written: bool = False  # ``a`` is the part from its root on as written: no comment, CDATA or PI taken out

    @functools.cached_property
    def cells(self) -> np.ndarray | None:
        """Where each cell tag (``<c`` then the end of the name) starts; None if a cell is prefixed (``<x:c``)."""
        a = self.a
        colons = np.flatnonzero(a == ord(":"))
        if np.any((a[colons + 1] == ord("c")) & _NAME_END[a[colons + 2]]):
            return None
        cells = self.starts[self.after == ord("c")]
        return cells[_NAME_END[a[cells + 2]]]


def _tags(xml: bytes) -> _Tags:
    root = _ROOT_START.search(xml, 0, _PROLOG_LIMIT)
    body = memoryview(xml)[root.start() if root else 0:]
    a = np.frombuffer(b"".join((body, b" " * _PAD)), dtype=np.uint8)
    starts = np.flatnonzero(a == ord("<"))
    after = a[starts + 1]
    if np.any((after == ord("!")) | (after == ord("?"))):
        a = np.frombuffer(_without_markup(bytes(body)) + b" " * _PAD, dtype=np.uint8)
        starts = np.flatnonzero(a == ord("<"))
        after = a[starts + 1]
        return _Tags(xml, a, starts, after)
    return _Tags(xml, a, starts, after, as_written=True)


def _without_markup(xml: bytes) -> bytes:
    """``xml`` less its comments, CDATA sections and processing instructions (one left open runs to the end),
    in one pass."""
    kept, at = [], 0
    while found := _MARKUP_START.search(xml, at):
        kept.append(xml[at:found.start()])
        end = xml.find(_MARKUP[found.group()], found.end())
        at = len(xml) if end < 0 else end + len(_MARKUP[found.group()])
    kept.append(xml[at:])
    return b"".join(kept)


def _check_depth(path: Path, member: str, tags: _Tags) -> None:
    depth = _too_deep(tags)
    if depth:
        raise _refusal(path, f"refused: {member} nests XML elements at least {depth:,} deep (limit "
                             f"{MAX_XML_DEPTH}; an Excel part nests about 12 deep)")


def _too_deep(tags: _Tags) -> int | None:
    """How deep the elements of an XML part (or the start of one) nest, when deeper than
    :data:`MAX_XML_DEPTH`; None within it. Each ``<x`` opens, each ``</`` and each tag ending ``/>``
    closes.

    A part that puts ``>`` inside attribute values may be miscounted; it gets no further than libxml2's
    own limit, which openpyxl and the formula reader parse with, and calamine streams whatever the
    nesting.
    """
    a, starts, after = tags.a, tags.starts, tags.after
    closing = after == ord("/")
    opening = ~closing & (after != ord("!")) & (after != ord("?"))
    if not len(starts) or np.cumsum(opening.view(np.int8) - closing.view(np.int8), dtype=np.int64).max() \
            <= MAX_XML_DEPTH:
        return None  # even counting each self-closing tag as left open
    ends = np.flatnonzero(a == ord(">"))
    if len(ends) == len(starts) and np.all(ends > starts) and np.all(ends[:-1] < starts[1:]):
        tag_end = ends  # one ">" to each tag: none in text or attribute values
    else:
        found = np.searchsorted(ends, starts)
        tag_end = np.where(found < len(ends), ends[np.minimum(found, len(ends) - 1)], starts + 1)
    empty = opening & (a[tag_end - 1] == ord("/"))
    level = np.cumsum(opening.view(np.int8) - closing.view(np.int8) - empty.view(np.int8), dtype=np.int64)
    depth = int((level + empty).max())
    return depth if depth > MAX_XML_DEPTH else None


def _near_rows(rows: int) -> int:
    """A round number of rows no larger than ``rows``: 600,000 for 621,377."""
    digits = len(str(rows)) - 1
    return rows // 10**digits * 10**digits


# A part all of whose cells are written <c r="X123"...>, with one letter and a row below _NEAR_ROWS,
# cannot span too many cells: that is checked on the tags without parsing the part. Calamine reads a
# cell by its local name in any namespace, so a prefixed cell, or one whose reference is not its first
# attribute, sends the part to the reading of every reference, or to the parser.
_NEAR_ROWS = _near_rows(min(EXCEL_ROWS, MAX_GRID_CELLS // 27 - 1))  # 27 columns: A..Z and the empty column 0
_NEAR_DIGITS = len(str(_NEAR_ROWS - 1))
_NAME_END = np.zeros(256, dtype=bool)  # the bytes that end an element's name: whitespace, "/" and ">"
_NAME_END[list(b" \t\r\n/>")] = True
_ODD_CELL = re.compile(rb'<c(?:[\t\n\r/>]| (?!r="))')
_CELL_REF = re.compile(rb'<c r="([A-Za-z]{1,3})([0-9]{1,7})"')
_REFERENCE = re.compile(r"([A-Za-z]{1,7})([0-9]{1,10})")  # longer is past XFD1048576 by far: refused as such
_ROW_NUMBER = re.compile(r"[0-9]{1,10}")


def _check_extent(path: Path, where: str, tags: _Tags) -> int:
    """Refuse a sheet part whose cells reach past Excel's last cell or span too many cells from A1;
    ``where`` names it ("sheet 'Data'") at the start of the message. Returns the cells it spans."""
    try:
        rows, cols = _extent(tags)
    except ValueError as exc:
        raise _refusal(path, f"{where}: refused: {exc}") from None
    if rows > EXCEL_ROWS or cols > EXCEL_COLUMNS:
        raise _refusal(path, f"{where}: refused: a cell in row {rows:,}, column {cols:,} lies past an Excel "
                             "sheet's last cell, XFD1048576")
    if rows * cols > MAX_GRID_CELLS:
        raise _refusal(path, f"{where}: {_too_wide(rows, cols)}")
    return rows * cols


def _too_wide(rows: int, cols: int) -> str:
    return (f"refused: its cells span {rows:,} rows by {cols:,} columns from A1 (limit {MAX_GRID_CELLS:,} "
            "cells); move far-away cells next to the data")


def _extent(tags: _Tags, exact: bool = False) -> tuple[int, int]:
    """The last row and column any cell of a sheet part stands in (unless ``exact``, an upper bound of
    them where every reference is near A1), as calamine would place the cells."""
    a, xml, cells = tags.a, tags.xml, tags.cells
    if cells is None:
        return _parsed_extent(xml)  # a prefixed cell
    if not exact and _near(a, cells):
        return _NEAR_ROWS - 1, 26
    if (plain := _plain_extent(tags, cells)) is not None:
        return plain
    refs = _CELL_REF.findall(xml) if _ODD_CELL.search(xml) is None else None
    if refs is None or len(refs) != len(cells):
        return _parsed_extent(xml)
    if not refs:
        return 0, 0
    rows = max(int(row) for _, row in refs)
    return rows, max(column_index_from_string(letters.decode().upper()) for letters in {c for c, _ in refs})


def _near(a: np.ndarray, cells: np.ndarray) -> bool:
    """True when every cell tag starting at ``cells`` reads ``<c r="X123"``: one letter A-Z, then a row
    number below :data:`_NEAR_ROWS`, then the closing quote."""
    tag = np.lib.stride_tricks.sliding_window_view(a, 8 + _NEAR_DIGITS)[cells]  # '<c r="X', digits, quote
    ok = (tag[:, 2] == ord(" ")) & (tag[:, 3] == ord("r")) & (tag[:, 4] == ord("=")) & (tag[:, 5] == ord('"'))
    ok &= tag[:, 6] - np.uint8(ord("A")) < 26  # uint8: a byte below "A" wraps round to a large number
    digits = tag[:, 7:]
    length = np.argmin(digits - np.uint8(ord("0")) < 10, axis=1)  # where the digits end; 0 also if not in reach
    ok &= (length > 0) & (digits[np.arange(len(cells)), length] == ord('"'))
    longest = digits[length == _NEAR_DIGITS, :_NEAR_DIGITS].astype(np.int64) - ord("0")
    return bool(ok.all()) and bool(np.all(longest @ 10 ** np.arange(_NEAR_DIGITS - 1, -1, -1) < _NEAR_ROWS))


def _plain_extent(tags: _Tags, cells: np.ndarray) -> tuple[int, int] | None:
    """What reading every ``<c r="..."`` reference with :data:`_CELL_REF` gives, read off the cell tags
    at ``cells`` at once; None (read them one by one) unless every one is written so, with no row number
    starting with 0, and nothing else in the part could match: no comment, CDATA or processing instruction
    from the root on (every "<" before the root starts one)."""
    if not tags.as_written:
        return None
    refs = _cell_refs(tags.a, cells)
    if refs is None:
        return None
    ref, letters, end = refs
    if not len(cells):
        return 0, 0
    if np.any(ref[np.arange(len(cells)), letters] == ord("0")):
        return None  # the longest row number would not always be the largest
    return _largest(ref, letters, end, 10), _largest(ref, np.zeros_like(letters), letters, 26)


_REF_AT = 6  # where the reference starts in a cell tag, after '<c r="'
_REF_WIDTH = 3 + 7 + 1  # the most letters, the most digits and the closing quote


def _cell_refs(a: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Of each cell tag starting at ``cells`` written ``<c r="`` then 1-3 letters (either case), 1-7 digits
    and the closing quote: the bytes of the reference on, how many letters lead and where the digits end.
    None if any cell tag is written otherwise."""
    tag = np.lib.stride_tricks.sliding_window_view(a, _REF_AT + _REF_WIDTH)[cells]
    ok = (tag[:, 2] == ord(" ")) & (tag[:, 3] == ord("r")) & (tag[:, 4] == ord("=")) & (tag[:, 5] == ord('"'))
    ref = tag[:, _REF_AT:]
    letter = (ref[:, :3] & np.uint8(0xDF)) - np.uint8(ord("A")) < 26  # uint8: a byte below "A" wraps round
    letters = letter[:, 0] * (1 + letter[:, 1] * (1 + letter[:, 2].astype(np.int64)))  # how many lead, 0 to 3
    past = (ref - np.uint8(ord("0")) >= 10) & (np.arange(_REF_WIDTH) >= letters[:, None])
    end = np.argmax(past, axis=1)  # the first byte past the digits; 0 if all are digits
    ok &= (letters > 0) & (end > letters) & (end - letters <= 7) & (ref[np.arange(len(cells)), end] == ord('"'))
    return (ref, letters, end) if ok.all() else None


def _largest(ref: np.ndarray, start: np.ndarray, stop: np.ndarray, base: int) -> int:
    """The largest of the numbers written by ``ref[i, start[i]:stop[i]]`` in ``base`` (10: digits; 26: letters
    of either case), none starting with 0: among the longest, place by place the greatest."""
    length = stop - start
    most = int(length.max())
    which = np.flatnonzero(length == most)
    number = 0
    for i in range(most):
        place = ref[which, start[which] + i]
        place = place - np.uint8(ord("0")) if base == 10 else (place & np.uint8(0xDF)) - np.uint8(ord("A") - 1)
        best = place.max()
        which = which[place == best]
        number = number * base + int(best)
    return number


def _parsed_extent(xml: bytes) -> tuple[int, int]:
    """The extent as the XML parser reads it, placing cells without a reference as calamine does: after
    the previous cell of the row, in the row after the previous row. Where the parser cannot tell what
    calamine sees (an empty element written ``<row/>`` or ``<row></row>``), the farther place is taken."""
    rows = cols = 0
    row_at = col_at = 0  # the row and column calamine would give the next cell without a reference, less one
    before = 0
    events = etree.iterparse(io.BytesIO(xml), events=("start", "end"), tag=("{*}row", "{*}c"),
                             resolve_entities=False, no_network=True, load_dtd=False)
    for event, element in events:
        if etree.QName(element).localname == "row":
            if event == "start":
                before, r = row_at, element.get("r")
                if r is not None:
                    if not _ROW_NUMBER.fullmatch(r):
                        raise ValueError(f"a row numbered {clip(r, 20)!r}; expected a row of an Excel sheet, "
                                         f"1 to {EXCEL_ROWS:,}")
                    row_at = int(r) - 1
            else:
                row_at, col_at = (row_at + 1, 0) if len(element) else (max(before, row_at + 1), col_at)
                element.clear()
                while element.getprevious() is not None:
                    del element.getparent()[0]
        elif event == "end":
            r = element.get("r")
            if r is None:
                row, col = row_at + 1, col_at + 1
            elif found := _REFERENCE.fullmatch(r):
                row, col = int(found.group(2)), _column_number(found.group(1))
            else:
                raise ValueError(f"a cell referenced {clip(r, 20)!r}; expected a cell of an Excel sheet, A1 to "
                                 "XFD1048576")
            col_at = col
            rows, cols = max(rows, row), max(cols, col)
    return rows, cols


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


_PROLOG_LIMIT = 1 << 16
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_ROOT_START = re.compile(rb"<(?![?!])")


def _check_prolog(path: Path, member: str, head: bytes) -> None:
    """Refuse a document type declaration (where entities are declared) before the root element.

    No parser used here expands entities anyway; refusing them up front gives one clear line.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="replace").encode("utf-8")
    root = _ROOT_START.search(head)
    if root is None and len(head) >= _PROLOG_LIMIT:
        raise _refusal(path, f"refused: {member} has no root element in its first 64 KiB")
    if b"<!DOCTYPE" in head[: root.start() if root else len(head)].upper():
        raise _refusal(path, f"refused: {member} declares a DTD, where entity expansion and external entities "
                             "hide (an .xlsx has none)")


@contextlib.contextmanager
def _readable(path: Path):
    """Turn any parser's complaint about a damaged or hostile file into one line."""
    try:
        yield
    except UniteconError:
        raise
    except Exception as exc:  # openpyxl, lxml, calamine, defusedxml and zipfile raise many kinds
        kind = type(exc).__name__
        if kind in ("EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden", "NotSupportedError"):
            raise UniteconError(f"{path}: refused: the workbook's XML declares entities or a DTD ({kind})") from None
        damage = _find_damage(path)  # a parser's complaint about garbage often means a member that does not inflate
        if damage:
            raise _refusal(path, damage) from None
        if isinstance(exc, etree.XMLSyntaxError) and "depth" in str(exc).lower():
            raise _refusal(path, f"refused: an XML part nests elements deeper than {MAX_XML_DEPTH} "
                                 f"(the parser's limit; an Excel part nests about 12 deep)") from None
        raise UniteconError(f"{path}: cannot read as .xlsx ({kind}: {clip(str(exc), 200)})") from None


def read_snapshot(path: str | Path) -> Snapshot:
    """Everything unitecon needs from a workbook on disk, read without modifying it.

    Three well-kept readers share the work, each where it is fastest: openpyxl for the workbook part
    (sheets, defined names, document properties), python-calamine for every cell value (constants and
    the values cached beside formulas) and lxml for formula text, which calamine does not expose.
    """
    path = Path(path)
    check_zip(path, parts=False)  # the parts are checked once the workbook part names the sheets
    snap = Snapshot(path, dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC))
    with _readable(path):
        parts = _read_workbook_part(path, snap)
        xml = check_parts(path, parts)  # before calamine sizes a grid for any sheet
        with ThreadPoolExecutor(max_workers=1) as pool:  # calamine parses while formulas are scanned here
            values = pool.submit(_value_rows, path, list(parts))
            found = {sheet: _read_formulas(xml[part]) for sheet, part in parts.items()}
            rows = values.result()
        for sheet, part in parts.items():
            snap.cells[sheet] = _sheet_cells(rows[sheet], *found[sheet], where=f"{path}: sheet {sheet!r}",
                                             epoch=snap.epoch, xml=xml.pop(part))
    return snap


def _read_workbook_part(path: Path, snap: Snapshot) -> dict[str, str]:
    """Sheet names in order with their zip members; fills names, broken names and properties."""
    reader = ExcelReader(str(path), read_only=True)
    try:
        reader.read_manifest()
        reader.shared_strings = []  # cell values come from calamine: skip openpyxl's string table
        reader.read_workbook()
        reader.read_custom()
        reader.read_worksheets()  # read-only: sheet objects only, no cells parsed
        reader.parser.assign_names()
        parts = {sheet.name: rel.target for sheet, rel in reader.parser.find_sheets()
                 if "chartsheet" not in rel.Type and rel.target in reader.valid_files}
        wb = reader.wb
        if wb.epoch.year == 1904:
            snap.epoch = dt.datetime(1904, 1, 1)
        snap.recalculate_on_load = bool(wb.calculation is not None and wb.calculation.fullCalcOnLoad)
        for prop in wb.custom_doc_props.props:
            snap.properties[prop.name] = str(prop.value)
    finally:
        reader.archive.close()
    snap.sheets = list(parts)
    for name, defined in wb.defined_names.items():
        text = str(defined.attr_text or "")
        if not _AREAS.fullmatch(text.strip()):  # a constant or a formula (=0.05, =Sheet1!$A$1*2): not a reference
            if defined.type == "ERROR" or "#REF!" in text:
                snap.broken_names[name] = text
            else:
                snap.formula_names[name] = text
            continue
        destinations = _destinations(defined)
        good = [(sheet, ref) for sheet, ref in destinations if sheet in parts and "#REF" not in ref]
        if not good:
            snap.broken_names[name] = text
        for sheet, ref in good[:1]:
            snap.names[name] = (sheet, ref.replace("$", ""))
        if len(destinations) > 1:
            snap.area_names[name] = text
    for sheet in wb._sheets:  # names scoped to one sheet, which shadow the workbook's there
        for name, defined in getattr(sheet, "defined_names", {}).items():
            found = _single_area(defined, parts)
            if found is not None and sheet.title in parts:
                snap.local_names.setdefault(sheet.title, {})[name] = found
    return parts


def _destinations(defined) -> list[tuple[str, str]]:
    """(sheet, reference) of each area a defined name points at. openpyxl leaves a quoted sheet name's
    doubled apostrophe doubled (``'Bob''s data'!$A$1`` gives ``Bob''s data``): undone here."""
    try:
        return [(sheet.replace("''", "'"), ref) for sheet, ref in defined.destinations]
    except Exception:
        return []


def _single_area(defined, parts: dict[str, str]) -> Key | None:
    """Where a sheet-scoped name points, when it is one area of a sheet of the workbook."""
    if not _AREAS.fullmatch(str(defined.attr_text or "").strip()):
        return None
    destinations = _destinations(defined)
    if len(destinations) != 1 or destinations[0][0] not in parts or "#REF" in destinations[0][1]:
        return None
    return destinations[0][0], destinations[0][1].replace("$", "")


# A defined name that is a reference: one area or several, each sheet!cell or sheet!range (quoted or not).
_AREA = r"(?:'(?:[^']|'')+'|[^\s!,'()\[\]]+)!\$?[A-Za-z]{0,3}\$?[0-9]*(?::\$?[A-Za-z]{0,3}\$?[0-9]*)?"
_AREAS = re.compile(rf"{_AREA}(?:,{_AREA})*")


_MAIN = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main", "http://purl.oclc.org/ooxml/spreadsheetml/main")
_F = tuple(f"{{{ns}}}f" for ns in _MAIN)
_V = tuple(f"{{{ns}}}v" for ns in _MAIN)
_ERROR_CELL = re.compile(rb"""\st\s*=\s*["']e["']""")
_ERROR_CELL_AT_T = re.compile(rb"""t(?<=\st)\s*=\s*["']e["']""")  # as many matches, found faster from the "t"

Columns = dict[int, tuple[np.ndarray, list[str]]]  # column -> (rows ascending, formula texts "=...")
# formulas by column; error values as (row, col, text); formula cells whose cached value is text; array formulas
Found = tuple[Columns, list[tuple[int, int, str]], set[tuple[int, int]], set[tuple[int, int]]]


def _by_column(cells: dict[int, tuple[list[int], list[str]]]) -> Columns:
    """Rows as arrays, sorted where the file lists a column's cells out of order."""
    return {col: _ascending(np.array(cells[col][0], dtype=np.int64), cells[col][1]) for col in sorted(cells)}


def _ascending(rows: np.ndarray, texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """One column's rows and texts, sorted (stably) where the file lists its cells out of order."""
    if len(rows) > 1 and not np.all(np.diff(rows) > 0):
        order = np.argsort(rows, kind="stable")
        rows, texts = rows[order], [texts[i] for i in order.tolist()]
    return rows, texts


def _read_formulas(xml: bytes) -> Found:
    """Formula text ("=...") and cached error values of one worksheet part, as (row, col, text)."""
    return _scan_plain_formulas(xml) or _parse_formulas(xml)


# A worksheet part as XlsxWriter and Excel write it: the main namespace declared once as the default,
# attributes in double quotes, every cell with its reference first, formula text in a plain <f>
# element. Such a part is read with one regular-expression pass (five times faster than walking the
# XML at 1,000,000 formula cells), or where every tag is whole (see _tagged_formulas) by walking its tags
# with numpy; any other part goes to the XML parser. Element starts are counted exactly at each "<":
# it cannot occur unescaped in XML text or attribute values.
_PLAIN_FORMULA = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"([^>]*)><f>([^<]*)</f>')
_TEXT_RESULT = re.compile(r'\st="(?:str|s|inlineStr)"')
_PLAIN_ERROR = re.compile(r'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*\st="e"[^>]*>(?:<f>[^<]*</f>)?<v>([^<]*)</v>')
_DEFAULT_MAIN = re.compile(rb'<worksheet\s+xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"')

# The formula cells of a plain part: column and row of each, their texts as written joined by "<" (which
# no text holds: the pattern reads up to the next "<"), and those whose cached value is text.
Plain = tuple[np.ndarray, np.ndarray, bytes, set[tuple[int, int]]]


def _scan_plain_formulas(xml: bytes) -> Found | None:
    """The fast reading of a plain part; None (use the parser) for any other form.

    The part is parsed by calamine as well, which refuses malformed XML; here every formula element
    and every error cell counted in the part must have been matched by the patterns.
    """
    root = _ROOT_START.search(xml, 0, _PROLOG_LIMIT)
    if root is None or not _DEFAULT_MAIN.match(xml, root.start()) or xml.count(b"spreadsheetml/2006/main") != 1:
        return None  # a prefixed or second declaration of the main namespace
    tags = _TagStarts(xml)
    if xml.count(b'xmlns="') != 1 or tags.count(b"?", root.start()) or tags.count(b"!") or b"\r" in xml:
        return None  # a default namespace redeclared inside, a processing instruction, a comment or CDATA,
        # or line ends the parser would normalise
    if (b"#" in xml and b"&#" in xml) or (b"'" in xml and b"='" in xml):  # a quick look for the rare byte first
        return None
    if tags.count(b"c ") != tags.count(b'c r="') or tags.count(b"c>") or tags.count(b"c/"):
        return None  # a cell without its reference first
    if tags.count(b"f ") or tags.count(b"f/"):
        return None  # shared or array formulas, attributes on <f>
    if not xml.isascii():
        _check_utf8(xml, tags.a)  # refuse a part that is not UTF-8 here, as reading it as text always did
    ends = _whole_tags(tags)
    plain = _matched_formulas(xml, tags.count(b"f>")) if ends is None else _tagged_formulas(xml, tags, ends)
    if plain is None:
        return None
    wrong = len(_ERROR_CELL_AT_T.findall(xml))  # t="e" however it is spaced or quoted
    errors = _PLAIN_ERROR.findall(xml.decode("utf-8")) if wrong else []
    if len(errors) != wrong:
        return None
    cols, rows, texts, text_results = plain
    return (_grouped(cols, rows, _formula_texts(texts)),
            [(int(r), column_index_from_string(c), html.unescape(v)) for c, r, v in errors], text_results, set())


def _check_utf8(xml: bytes, a: np.ndarray) -> None:
    """Raise what ``xml.decode("utf-8")`` raises, if anything, having decoded only its runs of bytes past
    ASCII (``a`` views ``xml``): a part is UTF-8 exactly when each run is, as an ASCII byte is a character
    of its own and no part of any other."""
    high = np.flatnonzero(a >= 0x80)
    runs = np.insert(a[high], np.flatnonzero(np.diff(high) > 1) + 1, 0).tobytes()  # a NUL between runs
    with contextlib.suppress(UnicodeDecodeError):
        runs.decode("utf-8")
        return
    xml.decode("utf-8")  # the same complaint, placed in the part


class _TagStarts:
    """Where each "<" of a part stands and the bytes after it (``a``: the part, then NUL bytes, which no
    tag goes on with), found in one pass: what the plain scan counts and walks."""

    def __init__(self, xml: bytes) -> None:
        self.a = np.frombuffer(xml + bytes(_REF_AT + _REF_WIDTH), dtype=np.uint8)
        self.at = np.flatnonzero(self.a == ord("<"))
        self.after = self.a[self.at + 1]

    def count(self, follow: bytes, start: int = 0) -> int:
        """What ``xml.count(b"<" + follow, start)`` gives (such bytes cannot overlap themselves)."""
        if len(follow) == 2 and not start:
            return int(self.pairs[follow[0] << 8 | follow[1]])
        at = self.at[self.after == follow[0]]
        at = at[at >= start] if start else at
        for i, byte in enumerate(follow[1:], start=2):
            at = at[self.a[at + i] == byte]
        return len(at)

    @functools.cached_property
    def pairs(self) -> np.ndarray:
        """How many tags go on with each two bytes after their "<" (by the bytes' 16-bit number)."""
        return np.bincount((self.after.astype(np.uint16) << 8) | self.a[self.at + 2], minlength=1 << 16)


def _whole_tags(tags: _TagStarts) -> np.ndarray | None:
    """Where each tag ends, when "<" and ">" take turns through the part: every tag is whole, and no text
    or attribute value holds either. None otherwise."""
    ends = np.flatnonzero(tags.a == ord(">"))
    at = tags.at
    return ends if len(ends) == len(at) and np.all(at < ends) and np.all(ends[:-1] < at[1:]) else None


def _tagged_formulas(xml: bytes, tags: _TagStarts, ends: np.ndarray) -> Plain | None:
    """What :data:`_PLAIN_FORMULA` finds in a part whose tags are whole (``ends``), read off the tags: each
    ``<f>`` tag right after a ``<c r="B7"...>`` tag and before its text and a ``</f>`` tag. None if some
    ``<f>`` stands otherwise (the pattern would not match it)."""
    a, at, after = tags.a, tags.at, tags.after
    f = np.flatnonzero((after == ord("f")) & (a[at + 2] == ord(">")))  # the <f> tags, by number
    if len(f) and (f[0] == 0 or f[-1] == len(at) - 1):
        return None
    cell, close = at[f - 1], at[f + 1]
    if not np.all((after[f - 1] == ord("c")) & (ends[f - 1] + 1 == at[f]) & (after[f + 1] == ord("/"))
                  & (a[close + 2] == ord("f")) & (a[close + 3] == ord(">"))):
        return None
    refs = _cell_refs(a, cell)
    if refs is None or not np.all((refs[0][:, :3] - np.uint8(ord("A")) < 26) | (np.arange(3) >= refs[1][:, None])):
        return None  # the pattern reads upper-case letters only
    starts = ends[f] + 1
    kept = np.flatnonzero(close > starts)  # an empty <f></f> is no formula
    ref, letters, end = (part[kept] for part in refs)
    rows, cols = _ref_numbers(ref, letters, end)
    attributes, stops = cell[kept] + _REF_AT + end + 1, ends[f - 1][kept]  # after the reference's quote
    typed = np.flatnonzero(_holds_t(a, attributes, stops))
    text_results = _text_results([xml[i:j] for i, j in zip(attributes[typed].tolist(), stops[typed].tolist(),
                                                             strict=True)], rows[typed], cols[typed])
    return cols, rows, _joined(a, starts[kept], close[kept]), text_results


def _holds_t(a: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """True where ``a[starts[i]:stops[i]]`` holds ' t="' (each stop at a ">"): looked for in those bytes only."""
    joined = _joined(a, starts, stops)  # joined by the ">" of each stop
    b = np.frombuffer(joined + bytes(4), dtype=np.uint8)
    t = np.flatnonzero(b == ord("t"))
    t = t[(b[t - 1] == ord(" ")) & (b[t + 1] == ord("=")) & (b[t + 2] == ord('"'))]  # b[-1]: a NUL
    out = np.zeros(len(starts), dtype=bool)
    if len(t):
        block = (stops - starts + 1).astype(np.int64)
        out[np.searchsorted(np.cumsum(block) - block, t, side="right") - 1] = True  # the range each stands in
    return out


def _ref_numbers(ref: np.ndarray, letters: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each reference read by :func:`_cell_refs`."""
    rows = cols = np.zeros(len(ref), dtype=np.int64)
    for i in range(3):
        cols = np.where(i < letters, cols * 26 + (ref[:, i] & np.uint8(0xDF)) - (ord("A") - 1), cols)
    for i in range(1, _REF_WIDTH):
        rows = np.where((i >= letters) & (i < end), rows * 10 + ref[:, i] - ord("0"), rows)
    return rows, cols


def _joined(a: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> bytes:
    """The bytes ``a[starts[i]:stops[i]]``, each followed by the byte at ``stops[i]`` but the last, gathered
    at once."""
    if not len(starts):
        return b""
    kind = np.int32 if len(a) < 1 << 31 else np.int64  # half the memory to fill for any part below 2 GiB
    starts, stops = starts.astype(kind), stops.astype(kind)
    block = stops - starts + 1  # each range and the byte after it
    offsets = np.cumsum(block, dtype=kind) - block
    return a[np.arange(int(block.sum()) - 1, dtype=kind) - np.repeat(offsets - starts, block)[:-1]].tobytes()


def _matched_formulas(xml: bytes, formulas: int) -> Plain | None:
    """What :data:`_PLAIN_FORMULA` finds in a part, matched one by one; None unless it matches all
    ``formulas`` ``<f>`` elements of the part."""
    pieces = _PLAIN_FORMULA.split(xml)  # the bytes between matches and each match's groups: no tuple per match
    if len(pieces) // 5 != formulas:
        return None
    letters, rows, attributes, texts = (pieces[group::5] for group in range(1, 5))
    if not all(texts):  # an empty <f></f> is no formula
        keep = [i for i, text in enumerate(texts) if text]
        letters, rows, attributes, texts = ([group[i] for i in keep] for group in (letters, rows, attributes, texts))
    index = {c: column_index_from_string(c.decode()) for c in set(letters)}
    cols = np.fromiter(map(index.__getitem__, letters), dtype=np.int64, count=len(letters))
    numbers = np.fromiter(map(int, rows), dtype=np.int64, count=len(rows))
    return cols, numbers, b"<".join(texts), _text_results(attributes, numbers, cols)


def _text_results(attributes: list[bytes], rows: np.ndarray, cols: np.ndarray) -> set[tuple[int, int]]:
    """The formula cells whose other attributes (after the reference) say their cached value is text."""
    text = {found for found in set(attributes) if b' t="' in found and _TEXT_RESULT.search(found.decode("utf-8"))}
    pick = [i for i, found in enumerate(attributes) if found in text] if text else []
    return set(zip(rows[pick].tolist(), cols[pick].tolist(), strict=True))


def _grouped(cols: np.ndarray, rows: np.ndarray, texts: list[str]) -> Columns:
    """Formula cells listed in the file's order, by column (ascending)."""
    order = np.argsort(cols, kind="stable")
    out: Columns = {}
    for pick in np.split(order, np.flatnonzero(np.diff(cols[order])) + 1) if len(order) else []:
        out[int(cols[pick[0]])] = _ascending(rows[pick], list(map(texts.__getitem__, pick.tolist())))
    return out


_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))  # &amp; last
_OTHER_AMP = re.compile(r"&(?!(?:lt|gt|quot|apos|amp);)")


def _formula_texts(joined: bytes) -> list[str]:
    """Formula texts as written in ``<f>`` elements and joined by "<", unescaped, each after "=": all at once
    where every "&" starts one of the five XML entities (a character reference sent the part to the parser)."""
    if not joined:
        return []
    text = joined.decode("utf-8")
    if "\0" in text or _OTHER_AMP.search(text):
        return ["=" + (html.unescape(f) if "&" in f else f) for f in text.split("<")]
    text = "=" + text.replace("<", "\0=")  # no entity spans a separator: the names hold neither byte
    if "&" in text:
        for entity, character in _ENTITIES:
            text = text.replace(entity, character)
    return text.split("\0")


def _parse_formulas(xml: bytes) -> Found:
    """The XML parser's reading of any worksheet part. Shared formulas (as Excel saves a filled-down
    column) are translated to each cell with openpyxl's Translator. Finished rows are dropped as parsing
    goes, so memory stays flat on tall sheets."""
    formulas: dict[int, tuple[list[int], list[str]]] = {}
    errors: list[tuple[int, int, str]] = []
    texts: set[tuple[int, int]] = set()
    arrays: set[tuple[int, int]] = set()
    shared: dict[str, tuple[str, str]] = {}
    tags = _F + _V if _ERROR_CELL.search(xml) else _F
    events = etree.iterparse(io.BytesIO(xml), events=("end",), tag=tags, resolve_entities=False,
                             no_network=True, load_dtd=False)
    for _, element in events:
        cell = element.getparent()
        a1 = _cell_reference(cell)
        if element.tag in _V:
            if cell.get("t") == "e":
                errors.append((*coordinate_to_tuple(a1), element.text or ""))
            continue
        kind, text = element.get("t"), element.text
        if kind == "dataTable":
            continue  # a what-if table's cells hold values only; there is no formula to recompute
        if kind == "shared":
            if text:
                shared[element.get("si")] = (text, a1)
            elif element.get("si") in shared:
                master, origin = shared[element.get("si")]
                text = Translator(f"={master}", origin).translate_formula(a1)[1:]
        if text:
            row_number, col = coordinate_to_tuple(a1)
            column = formulas.setdefault(col, ([], []))
            column[0].append(row_number)
            column[1].append(f"={text}")
            if cell.get("t") in ("str", "s", "inlineStr"):
                texts.add((row_number, col))
            if kind == "array":
                arrays.add((row_number, col))
        row = cell.getparent()
        while row.getprevious() is not None:
            del row.getparent()[0]
    return _by_column(formulas), errors, texts, arrays


def _cell_reference(cell) -> str:
    """A cell's A1 reference; the position among its row's cells where the file omits it (allowed)."""
    a1 = cell.get("r")
    if a1:
        return a1
    row = cell.getparent()
    steps, sibling = 0, cell
    while (sibling := sibling.getprevious()) is not None:
        steps += 1
        if sibling.get("r"):
            col = column_index_from_string(_LETTERS.match(sibling.get("r")).group(0)) + steps
            return f"{get_column_letter(col)}{row.get('r')}"
    if not row.get("r"):
        raise UniteconError("a row without a row number and a cell without a reference")
    return f"{get_column_letter(steps + 1)}{row.get('r')}"


_LETTERS = re.compile(r"[A-Za-z]+")


def _value_rows(path: Path, sheets: list[str]) -> dict[str, list[list[Any]]]:
    """Every cell's value, row by row from A1, as calamine reads it ("" where empty)."""
    book = CalamineWorkbook.from_path(str(path))
    try:
        return {sheet: book.get_sheet_by_name(sheet).to_python(skip_empty_area=False) for sheet in sheets}
    finally:
        book.close()


def _sheet_cells(rows: list[list[Any]], formulas: Columns, errors: list[tuple[int, int, str]],
                 texts: set[tuple[int, int]] = frozenset(), arrays: set[tuple[int, int]] = frozenset(),
                 where: str = "", epoch: dt.datetime = EXCEL_EPOCH, xml: bytes | None = None) -> SheetCells:
    """One sheet's values as a grid covering its formula cells too, with the formulas found beside them.

    Every value is as Excel holds it: a date or time is its serial number (calamine reads a number in a
    date format as a date), and a formula whose cached result is the empty string holds "" (an empty
    cell is None).
    """
    height = max([len(rows), *(int(r[-1]) for r, _ in formulas.values()), *(r for r, _, _ in errors)])
    width = max([0, *(len(r) for r in rows), *formulas, *(c for _, c, _ in errors)])
    if height * width > MAX_GRID_CELLS:
        raise UniteconError(f"{where}: {_too_wide(height, width)}")
    grid = np.full((height + 1, width + 1), None, dtype=object)
    if rows and len(set(map(len, rows))) == 1:
        grid[1:len(rows) + 1, 1:len(rows[0]) + 1] = np.array(rows, dtype=object).reshape(len(rows), -1)
    else:
        for r, row in enumerate(rows, start=1):
            grid[r, 1:len(row) + 1] = row
    grid[grid == ""] = None  # calamine's empty cell
    for r, c, text in errors:  # calamine reads error values as empty
        grid[r, c] = CellError(text)
    for r, c in texts:
        if grid[r, c] is None:
            grid[r, c] = ""
    _dates_as_serials(grid, epoch, xml)
    return SheetCells(grid, formulas, set(arrays))



def _dates_as_serials(grid: np.ndarray, epoch: dt.datetime, xml: bytes | None = None) -> None:
    """Replace calamine's dates, times and durations in ``grid`` with the numbers Excel stores: read from
    the sheet's XML where it is at hand (calamine's reading loses some: a negative number in a date
    format becomes midnight, serial 60 becomes 28 February), else converted back."""
    flat = grid.ravel()
    values = flat.tolist()
    if _SERIAL.isdisjoint(map(type, values)):
        return
    kinds = np.fromiter((type(v) in _SERIAL for v in values), dtype=bool, count=flat.size)
    where = np.flatnonzero(kinds).tolist()
    if not where:
        return
    width = grid.shape[1]
    raw = _raw_numbers(xml, {(i // width, i % width) for i in where}) if xml is not None else {}
    for i in where:
        number = raw.get((i // width, i % width))
        flat[i] = excel_serial(flat[i], epoch) if number is None else number


_RAW_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*?(?:/>|>(.*?)</c>)', re.DOTALL)
_RAW_VALUE = re.compile(rb"<v>([^<]*)</v>")


def _raw_numbers(xml: bytes, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], float | int]:
    """The stored numbers of ``wanted`` cells (row, col), from a part written with unprefixed elements."""
    out: dict[tuple[int, int], float | int] = {}
    for match in _RAW_CELL.finditer(xml):
        key = (int(match.group(2)), _column_number(match.group(1).decode()))
        if key in wanted and match.group(3):
            value = _RAW_VALUE.search(match.group(3))
            try:
                number = float(value.group(1)) if value else None
            except ValueError:
                continue
            if number is not None:
                out[key] = int(number) if number.is_integer() and abs(number) < 2**53 else number
    return out


def excel_serial(value: dt.date | dt.time | dt.timedelta, epoch: dt.datetime = EXCEL_EPOCH) -> float | int:
    """The serial number Excel stores for a date, time or duration (days; the fraction is the time of day)."""
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 86400
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400
    if epoch == EXCEL_EPOCH and value < (dt.datetime(1900, 3, 1) if isinstance(value, dt.datetime)
                                         else dt.date(1900, 3, 1)):
        epoch = dt.datetime(1899, 12, 31)  # Excel counts a 29 February 1900 that never was
    if not isinstance(value, dt.datetime):
        return (dt.datetime(value.year, value.month, value.day) - epoch).days
    days = value - epoch
    return days.days + days.seconds / 86400 + days.microseconds / 86400e6 if days.seconds or days.microseconds \
        else days.days


_SERIAL = {dt.date, dt.datetime, dt.time, dt.timedelta}
