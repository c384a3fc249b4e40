"""Read a workbook someone may have edited: cell values, formulas, defined names, the build fingerprint.

The file is treated as untrusted: it must be a zip whose inflated size and compression ratio are
within bounds before anything is inflated, and no XML part may declare a DTD (entity expansion and
external entities are refused before parsing; the parsers are set not to resolve entities either,
and openpyxl parses with defusedxml installed). The file is never written to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from openpyxl.formula.translate import Translator
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils.cell import column_index_from_string, get_column_letter
from python_calamine import CalamineWorkbook

from .errors import UniteconError
from .layout import FINGERPRINT

MAX_INFLATED_BYTES = 1 << 30  # 1 GiB: a 100,000-customer workbook inflates to well under this
MAX_RATIO = 200  # inflated / compressed, per member: a zip bomb compresses far better than a real sheet

Key = tuple[str, str]  # (sheet as written, "A1")
MAX_HEADER_COLUMNS = 64  # header rows are read this far to the right


@dataclass
class Snapshot:
    path: Path
    modified: dt.datetime
    sheets: list[str] = field(default_factory=list)  # in workbook order
    names: dict[str, Key] = field(default_factory=dict)
    values: dict[Key, Any] = field(default_factory=dict)
    formulas: dict[Key, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    written_inputs: dict[str, tuple[Key, float]] = field(default_factory=dict)
    written_formulas: list[tuple[str, str, str]] = field(default_factory=list)  # (sheet, cells, R1C1)
    written_data: list[tuple[str, str, str, str]] = field(default_factory=list)  # (sheet, cells, name, digest)
    cached: dict[Key, Any] = field(default_factory=dict)  # value last computed by Excel / LibreOffice / unitecon
    broken_names: dict[str, str] = field(default_factory=dict)  # name -> what it refers to

    @property
    def model(self) -> str | None:
        return self.properties.get("unitecon_model")

    @property
    def has_fingerprint(self) -> bool:
        return bool(self.written_inputs or self.written_formulas)

    def columns_by_header(self, sheet: str, row: int) -> dict[str, str]:
        """Header text -> column letter along ``row`` (1-based) of ``sheet`` (the Inputs sheet's columns move
        when scenario columns are added)."""
        out: dict[str, str] = {}
        for col in range(1, MAX_HEADER_COLUMNS + 1):
            letter = get_column_letter(col)
            value = self.values.get((sheet, f"{letter}{row}"))
            if isinstance(value, str):
                out.setdefault(value, letter)
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
        with zipfile.ZipFile(path) as zf:
            for sheet, part in parts.items():
                formulas, errors = _read_formulas(zf.read(part))
                snap.formulas.update(((sheet, a1), text) for a1, text in formulas.items())
                for a1, error in errors.items():  # calamine reads error values as empty
                    (snap.cached if a1 in formulas else snap.values)[(sheet, a1)] = error
        _read_values(path, list(parts), snap)
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


def _read_formulas(xml: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """Formula text ("=..." by A1 cell) and cached error values of one worksheet part.

    Shared formulas (as Excel saves a filled-down column) are translated to each cell with openpyxl's
    Translator. Finished rows are dropped as parsing goes, so memory stays flat on tall sheets.
    """
    formulas: dict[str, str] = {}
    errors: dict[str, str] = {}
    shared: dict[str, tuple[str, str]] = {}
    tags = _F + _V if _ERROR_CELL.search(xml) else _F
    events = etree.iterparse(io.BytesIO(xml), events=("end",), tag=tags, resolve_entities=False,
                             no_network=True, load_dtd=False)
    for _, element in events:
        cell = element.getparent()
        a1 = _cell_reference(cell)
        if element.tag in _V:
            if cell.get("t") == "e":
                errors[a1] = element.text or ""
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
            formulas[a1] = f"={text}"
        row = cell.getparent()
        while row.getprevious() is not None:
            del row.getparent()[0]
    return formulas, errors


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


def _read_values(path: Path, sheets: list[str], snap: Snapshot) -> None:
    """Every non-empty cell's value: the cached value for a formula cell, the constant otherwise."""
    book = CalamineWorkbook.from_path(str(path))
    try:
        for sheet in sheets:
            rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            width = max((len(r) for r in rows), default=0)
            letters = [get_column_letter(c + 1) for c in range(width)]
            for r, row in enumerate(rows, start=1):
                for c, value in enumerate(row):
                    if value == "" or value is None:
                        continue
                    key = (sheet, f"{letters[c]}{r}")
                    if key in snap.formulas:
                        snap.cached.setdefault(key, value)
                    else:
                        snap.values[key] = value
    finally:
        book.close()


def _sheet_rows(snap: Snapshot, sheet: str, first_row: int, columns: int) -> list[tuple[Any, ...]]:
    """Rows of constants from ``first_row`` down, ``columns`` wide, while the first column is filled."""
    if sheet not in snap.sheets:
        return []
    out = []
    row = first_row
    while (snap.sheets and (sheet, f"A{row}") in snap.values):
        out.append(tuple(snap.values.get((sheet, f"{get_column_letter(c)}{row}")) for c in range(1, columns + 1)))
        row += 1
    return out
