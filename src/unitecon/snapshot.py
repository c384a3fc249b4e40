"""Read a workbook someone may have edited: cell values, formulas, defined names, the build fingerprint.

The file is treated as untrusted: it must be a zip whose inflated size and compression ratio are
within bounds before anything is inflated, and no XML part may declare a DTD (entity expansion and
external entities are refused before parsing; the parsers are set not to resolve entities either,
and openpyxl parses with defusedxml installed). The file is never written to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import html
import io
import re
import zipfile
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

from .errors import UniteconError
from .r1c1 import column_patterns
from .sheets import FINGERPRINT

MAX_INFLATED_BYTES = 1 << 30  # 1 GiB: a 100,000-customer workbook inflates to well under this
MAX_RATIO = 200  # inflated / compressed, per member: a zip bomb compresses far better than a real sheet

Key = tuple[str, str]  # (sheet as written, "A1")
MAX_HEADER_COLUMNS = 64  # header rows are read this far to the right
MAX_GRID_CELLS = 1 << 26  # a sheet is held as one grid up to its last cell: 1,048,576 rows x 64 columns


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
    written_inputs: dict[str, tuple[Key, float]] = field(default_factory=dict)
    written_formulas: list[tuple[str, str, str]] = field(default_factory=list)  # (sheet, cells, R1C1)
    written_data: list[tuple[str, str, str, str]] = field(default_factory=list)  # (sheet, cells, name, digest)
    broken_names: dict[str, str] = field(default_factory=dict)  # name -> what it refers to

    @property
    def model(self) -> str | None:
        return self.properties.get("unitecon_model")

    @property
    def has_fingerprint(self) -> bool:
        return bool(self.written_inputs or self.written_formulas)

    def value(self, sheet: str, a1: str) -> Any:
        """The value stored in one cell (the cached value of a formula cell); None if empty or absent."""
        cells = self.cells.get(sheet)
        if cells is None:
            return None
        row, col = coordinate_to_tuple(a1)
        return cells.get(row, col)

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


def column_digest(values: list[Any]) -> str:
    """SHA-256 of a column of cell values as written (numbers to Excel's 15 significant digits, text as
    is): the fingerprint of a ledger column, so an edit anywhere in 25,000 rows is noticed without
    storing the rows twice. (A file stores 16 digits, so the 17th of a Python float does not survive.)"""
    text = "\x1f".join(format(float(v), ".15g") if isinstance(v, int | float) and not isinstance(v, bool)
                        else str(v) for v in values)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_zip(path: Path) -> None:
    """Refuse a file that is not a zip, or whose members would inflate out of bounds."""
    try:
        with zipfile.ZipFile(path) as zf:
            total = 0
            for info in zf.infolist():
                total += info.file_size
                ratio = info.file_size / info.compress_size if info.compress_size else 0
                if ratio > MAX_RATIO and info.file_size > 1 << 20:
                    raise UniteconError(f"{path}: refused: {info.filename} inflates {ratio:.0f}x "
                                        f"(limit {MAX_RATIO}x), which looks like a zip bomb")
            if total > MAX_INFLATED_BYTES:
                raise UniteconError(f"{path}: refused: inflates to {total / 2**20:.0f} MiB "
                                    f"(limit {MAX_INFLATED_BYTES / 2**20:.0f} MiB)")
            for info in zf.infolist():
                if info.filename.endswith((".xml", ".rels", ".vml")):
                    _check_prolog(path, info.filename, zf.open(info).read(_PROLOG_LIMIT))
    except zipfile.BadZipFile:
        raise UniteconError(f"{path}: not an .xlsx workbook (not a zip file, or truncated)") from None
    except OSError as exc:
        raise UniteconError(f"{path}: cannot read ({exc.strerror})") from None


_PROLOG_LIMIT = 1 << 16
_ROOT_START = re.compile(rb"<(?![?!])")


def _check_prolog(path: Path, member: str, head: bytes) -> None:
    """Refuse a document type declaration (where entities are declared) before the root element.

    No parser used here expands entities anyway; refusing them up front gives one clear line.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="replace").encode("utf-8")
    root = _ROOT_START.search(head)
    if root is None and len(head) >= _PROLOG_LIMIT:
        raise UniteconError(f"{path}: refused: {member} has no root element in its first 64 KiB")
    if b"<!DOCTYPE" in head[: root.start() if root else len(head)].upper():
        raise UniteconError(f"{path}: refused: {member} declares a DTD, where entity expansion and external "
                            "entities hide (an .xlsx has none)")


@contextlib.contextmanager
def _readable(path: Path):
    """Turn any parser's complaint about a damaged or hostile file into one line."""
    try:
        yield
    except UniteconError:
        raise
    except Exception as exc:  # openpyxl, lxml, calamine and defusedxml raise many kinds
        kind = type(exc).__name__
        if kind in ("EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden", "NotSupportedError"):
            raise UniteconError(f"{path}: refused: the workbook's XML declares entities or a DTD ({kind})") from None
        raise UniteconError(f"{path}: cannot read as .xlsx ({kind}: {exc})") from None


def read_snapshot(path: str | Path) -> Snapshot:
    """Everything unitecon needs from a workbook on disk, read without modifying it.

    Three well-kept readers share the work, each where it is fastest: openpyxl for the workbook part
    (sheets, defined names, document properties), python-calamine for every cell value (constants and
    the values cached beside formulas) and lxml for formula text, which calamine does not expose.
    """
    path = Path(path)
    check_zip(path)
    snap = Snapshot(path, dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC))
    with _readable(path):
        parts = _read_workbook_part(path, snap)
        with ThreadPoolExecutor(max_workers=1) as pool:  # calamine parses while formulas are scanned here
            values = pool.submit(_value_rows, path, list(parts))
            with zipfile.ZipFile(path) as zf:
                found = {sheet: _read_formulas(zf.read(part)) for sheet, part in parts.items()}
            rows = values.result()
        for sheet in parts:
            snap.cells[sheet] = _sheet_cells(rows[sheet], *found[sheet], where=f"{path}: sheet {sheet!r}")
    fingerprint = _sheet_rows(snap, FINGERPRINT, first_row=5, columns=5)
    for kind, sheet, cells, name, written in fingerprint:
        if kind == "input" and isinstance(written, int | float):
            snap.written_inputs[str(name)] = ((str(sheet), str(cells)), float(written))
        elif kind == "formula":
            snap.written_formulas.append((str(sheet), str(cells), str(written)))
        elif kind == "data":
            snap.written_data.append((str(sheet), str(cells), str(name), str(written)))
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
        for prop in wb.custom_doc_props.props:
            snap.properties[prop.name] = str(prop.value)
    finally:
        reader.archive.close()
    snap.sheets = list(parts)
    for name, defined in wb.defined_names.items():
        try:
            destinations = list(defined.destinations)
        except Exception:
            destinations = []
        good = [(sheet, ref) for sheet, ref in destinations if sheet in parts and "#REF" not in ref]
        if not good:
            snap.broken_names[name] = str(defined.attr_text)
        for sheet, ref in good:
            snap.names[name] = (sheet, ref.replace("$", ""))
    return parts


_MAIN = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main", "http://purl.oclc.org/ooxml/spreadsheetml/main")
_F = tuple(f"{{{ns}}}f" for ns in _MAIN)
_V = tuple(f"{{{ns}}}v" for ns in _MAIN)
_ERROR_CELL = re.compile(rb"""\st\s*=\s*["']e["']""")

Columns = dict[int, tuple[np.ndarray, list[str]]]  # column -> (rows ascending, formula texts "=...")
Found = tuple[Columns, list[tuple[int, int, str]]]  # formulas by column; error values as (row, col, text)


def _by_column(cells: dict[int, tuple[list[int], list[str]]]) -> Columns:
    """Rows as arrays, sorted where the file lists a column's cells out of order."""
    out = {}
    for col in sorted(cells):
        rows, texts = np.array(cells[col][0], dtype=np.int64), cells[col][1]
        if len(rows) > 1 and not np.all(np.diff(rows) > 0):
            order = np.argsort(rows, kind="stable")
            rows, texts = rows[order], [texts[i] for i in order.tolist()]
        out[col] = (rows, texts)
    return out


def _read_formulas(xml: bytes) -> Found:
    """Formula text ("=...") and cached error values of one worksheet part, as (row, col, text)."""
    return _scan_plain_formulas(xml) or _parse_formulas(xml)


# A worksheet part as XlsxWriter and Excel write it: the main namespace declared once as the default,
# attributes in double quotes, every cell with its reference first, formula text in a plain <f>
# element. Such a part is read with one regular-expression pass (five times faster than walking the
# XML at 1,000,000 formula cells); any other part goes to the XML parser. Element starts are counted
# exactly with bytes.count: "<" cannot occur unescaped in XML text or attribute values.
_PLAIN_FORMULA = re.compile(r'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*><f>([^<]*)</f>')
_PLAIN_ERROR = re.compile(r'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*\st="e"[^>]*>(?:<f>[^<]*</f>)?<v>([^<]*)</v>')
_DEFAULT_MAIN = re.compile(rb'<worksheet\s+xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"')


def _scan_plain_formulas(xml: bytes) -> Found | None:
    """The fast reading of a plain part; None (use the parser) for any other form.

    The part is parsed by calamine as well, which refuses malformed XML; here every formula element
    and every error cell counted in the part must have been matched by the patterns.
    """
    root = _ROOT_START.search(xml, 0, _PROLOG_LIMIT)
    if root is None or not _DEFAULT_MAIN.match(xml, root.start()) or xml.count(b"spreadsheetml/2006/main") != 1:
        return None  # a prefixed or second declaration of the main namespace
    if xml.count(b'xmlns="') != 1 or xml.find(b"<?", root.start()) >= 0 or b"<!" in xml or b"\r" in xml:
        return None  # a default namespace redeclared inside, a processing instruction, a comment or CDATA,
        # or line ends the parser would normalise
    if b"&#" in xml or b"='" in xml:
        return None
    if xml.count(b"<c ") != xml.count(b'<c r="') or xml.count(b"<c>") or xml.count(b"<c/"):
        return None  # a cell without its reference first
    if xml.count(b"<f ") or xml.count(b"<f/"):
        return None  # shared or array formulas, attributes on <f>
    text = xml.decode("utf-8")
    formulas = _PLAIN_FORMULA.findall(text)
    if len(formulas) != xml.count(b"<f>"):
        return None
    wrong = len(_ERROR_CELL.findall(xml))  # t="e" however it is spaced or quoted
    errors = _PLAIN_ERROR.findall(text) if wrong else []
    if len(errors) != wrong:
        return None
    cells: dict[str, tuple[list[int], list[str]]] = {}
    for letters, row, formula in formulas:
        if formula:
            column = cells.get(letters) or cells.setdefault(letters, ([], []))
            column[0].append(row)
            column[1].append(formula)
    unescape = html.unescape  # the five XML entities (a character reference sent the part to the parser)
    return (_by_column({column_index_from_string(letters): (list(map(int, rows)),
                                                             ["=" + (unescape(f) if "&" in f else f) for f in texts])
                        for letters, (rows, texts) in cells.items()}),
            [(int(r), column_index_from_string(c), unescape(v)) for c, r, v in errors])


def _parse_formulas(xml: bytes) -> Found:
    """The XML parser's reading of any worksheet part. Shared formulas (as Excel saves a filled-down
    column) are translated to each cell with openpyxl's Translator. Finished rows are dropped as parsing
    goes, so memory stays flat on tall sheets."""
    formulas: dict[int, tuple[list[int], list[str]]] = {}
    errors: list[tuple[int, int, str]] = []
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
        row = cell.getparent()
        while row.getprevious() is not None:
            del row.getparent()[0]
    return _by_column(formulas), errors


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
                 where: str = "") -> SheetCells:
    """One sheet's values as a grid covering its formula cells too, with the formulas found beside them."""
    height = max([len(rows), *(int(r[-1]) for r, _ in formulas.values()), *(r for r, _, _ in errors)])
    width = max([0, *(len(r) for r in rows), *formulas, *(c for _, c, _ in errors)])
    if (height + 1) * (width + 1) > MAX_GRID_CELLS:
        raise UniteconError(f"{where}: refused: its cells span {height:,} rows by {width:,} columns "
                            f"(limit {MAX_GRID_CELLS:,} cells in all); move far-away formulas next to the data")
    grid = np.full((height + 1, width + 1), None, dtype=object)
    if rows and all(len(r) == len(rows[0]) for r in rows):
        grid[1:len(rows) + 1, 1:len(rows[0]) + 1] = np.array(rows, dtype=object).reshape(len(rows), -1)
    else:
        for r, row in enumerate(rows, start=1):
            grid[r, 1:len(row) + 1] = row
    grid[grid == ""] = None  # calamine's empty cell
    for r, c, text in errors:  # calamine reads error values as empty
        grid[r, c] = text
    return SheetCells(grid, formulas)


def _sheet_rows(snap: Snapshot, sheet: str, first_row: int, columns: int) -> list[tuple[Any, ...]]:
    """Rows of constants from ``first_row`` down, ``columns`` wide, while the first column is filled."""
    cells = snap.cells.get(sheet)
    if cells is None:
        return []
    out = []
    row = first_row
    while cells.get(row, 1) is not None:
        out.append(tuple(cells.get(row, c) for c in range(1, columns + 1)))
        row += 1
    return out
