"""Read a workbook someone may have edited: cell values, formulas, defined names, the build fingerprint.

The file is treated as untrusted: it must be a zip whose inflated size and compression ratio are
within bounds before anything is inflated, and XML is parsed by openpyxl with defusedxml installed
(entity expansion and external entities refused). The file is never written to.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl

from .errors import UniteconError
from .layout import FINGERPRINT

MAX_INFLATED_BYTES = 1 << 30  # 1 GiB: a 100,000-customer workbook inflates to well under this
MAX_RATIO = 200  # inflated / compressed, per member: a zip bomb compresses far better than a real sheet

Key = tuple[str, str]  # (sheet as written, "A1")


@dataclass
class Snapshot:
    path: Path
    modified: dt.datetime
    names: dict[str, Key] = field(default_factory=dict)
    values: dict[Key, Any] = field(default_factory=dict)
    formulas: dict[Key, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    written_inputs: dict[str, tuple[Key, float]] = field(default_factory=dict)
    written_formulas: list[tuple[str, str, str]] = field(default_factory=list)  # (sheet, cells, R1C1)
    cached: dict[Key, Any] = field(default_factory=dict)  # value last computed by Excel / LibreOffice / unitecon
    broken_names: dict[str, str] = field(default_factory=dict)  # name -> what it refers to

    @property
    def model(self) -> str | None:
        return self.properties.get("unitecon_model")

    @property
    def has_fingerprint(self) -> bool:
        return bool(self.written_inputs or self.written_formulas)


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
    except zipfile.BadZipFile:
        raise UniteconError(f"{path}: not an .xlsx workbook (not a zip file, or truncated)") from None
    except OSError as exc:
        raise UniteconError(f"{path}: cannot read ({exc.strerror})") from None


def open_workbook(path: Path, data_only: bool = False, read_only: bool = False):
    """openpyxl's workbook for an untrusted file: bounds checked first, hostile XML refused in one line."""
    check_zip(path)
    try:
        return openpyxl.load_workbook(path, data_only=data_only, read_only=read_only)
    except Exception as exc:  # openpyxl and defusedxml raise many kinds for a damaged or hostile file
        kind = type(exc).__name__
        if kind in ("EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden", "NotSupportedError"):
            raise UniteconError(f"{path}: refused: the workbook's XML declares entities or a DTD ({kind})") from None
        raise UniteconError(f"{path}: cannot read as .xlsx ({kind}: {exc})") from None


def read_snapshot(path: str | Path, cached: bool = False) -> Snapshot:
    """Everything unitecon needs from a workbook on disk, read without modifying it.

    ``cached`` also reads the values stored beside formulas (a second pass over the file).
    """
    path = Path(path)
    wb = open_workbook(path)
    snap = Snapshot(path, dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC))
    sheets = set(wb.sheetnames)
    for name, defined in wb.defined_names.items():
        try:
            destinations = list(defined.destinations)
        except Exception:
            destinations = []
        good = [(sheet, ref) for sheet, ref in destinations if sheet in sheets and "#REF" not in ref]
        if not good:
            snap.broken_names[name] = str(defined.attr_text)
        for sheet, ref in good:
            snap.names[name] = (sheet, ref.replace("$", ""))
    for prop in wb.custom_doc_props.props:
        snap.properties[prop.name] = str(prop.value)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None:
                    continue
                key = (ws.title, cell.coordinate)
                if cell.data_type == "f":
                    snap.formulas[key] = str(cell.value)
                else:
                    snap.values[key] = cell.value
    if cached:
        for ws in open_workbook(path, data_only=True).worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if (ws.title, cell.coordinate) in snap.formulas:
                        snap.cached[(ws.title, cell.coordinate)] = cell.value
    if FINGERPRINT in wb.sheetnames:
        for kind, sheet, cells, name, written in wb[FINGERPRINT].iter_rows(min_row=5, max_col=5, values_only=True):
            if kind == "input" and isinstance(written, int | float):
                snap.written_inputs[str(name)] = ((str(sheet), str(cells)), float(written))
            elif kind == "formula":
                snap.written_formulas.append((str(sheet), str(cells), str(written)))
    return snap
