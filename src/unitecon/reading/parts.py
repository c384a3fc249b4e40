"""A workbook's workbook part: its sheets and where they are stored, its defined names sorted by what
they point at, its date system, its recalculation flag and its custom document properties.

openpyxl reads the part (:mod:`.openpyxl_adapter`); cell values and shared strings are left to calamine
and formula text to :mod:`.formula_scan`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl.workbook.defined_name import DefinedName

from .openpyxl_adapter import read_workbook_part_with_openpyxl

Place = tuple[str, str]  # (sheet as written, "A1" or "A1:B9")


@dataclass
class WorkbookPart:
    """What the workbook part says, as :class:`~unitecon.reading.snapshot.Snapshot` keeps it."""

    sheets: dict[str, str]  # each worksheet's name -> its zip member, in workbook order
    date_1904: bool = False  # the workbook counts dates from 1904-01-01
    recalculate_on_load: bool = False  # the file asks Excel to recalculate every formula when it opens it
    properties: dict[str, str] = field(default_factory=dict)  # custom document properties, as text
    names: dict[str, Place] = field(default_factory=dict)
    broken_names: dict[str, str] = field(default_factory=dict)  # name -> what it refers to
    formula_names: dict[str, str] = field(default_factory=dict)  # name -> its constant or formula (=0.05)
    area_names: dict[str, str] = field(default_factory=dict)  # name of several areas -> them (names: the first)
    local_names: dict[str, dict[str, Place]] = field(default_factory=dict)  # sheet -> its own names (one area each)


def read_workbook_part(path: Path) -> WorkbookPart:
    """Sheet names in order with their zip members; the names, broken names and properties."""
    found = read_workbook_part_with_openpyxl(path)
    wb, parts = found.workbook, found.worksheets
    book = WorkbookPart(parts, date_1904=wb.epoch.year == 1904,
                        recalculate_on_load=bool(wb.calculation is not None and wb.calculation.fullCalcOnLoad),
                        properties={prop.name: str(prop.value) for prop in wb.custom_doc_props.props})
    for name, defined in wb.defined_names.items():
        text = str(defined.attr_text or "")
        if not _AREAS.fullmatch(text.strip()):  # a constant or a formula (=0.05, =Sheet1!$A$1*2): not a reference
            if defined.type == "ERROR" or "#REF!" in text:
                book.broken_names[name] = text
            else:
                book.formula_names[name] = text
            continue
        destinations = _destinations(defined)
        good = [(sheet, ref) for sheet, ref in destinations if sheet in parts and "#REF" not in ref]
        if not good:
            book.broken_names[name] = text
        for sheet, ref in good[:1]:
            book.names[name] = (sheet, ref.replace("$", ""))
        if len(destinations) > 1:
            book.area_names[name] = text
    for title, scoped in found.sheet_scoped_names:  # names scoped to one sheet, which shadow the workbook's there
        for name, defined in scoped.items():
            where = _single_area(defined, parts)
            if where is not None and title in parts:
                book.local_names.setdefault(title, {})[name] = where
    return book


def _destinations(defined: DefinedName) -> list[Place]:
    """(sheet, reference) of each area a defined name points at. openpyxl leaves a quoted sheet name's
    doubled apostrophe doubled (``'Bob''s data'!$A$1`` gives ``Bob''s data``): undone here."""
    try:
        return [(sheet.replace("''", "'"), ref) for sheet, ref in defined.destinations]
    except Exception:
        return []


def _single_area(defined: DefinedName, parts: dict[str, str]) -> Place | None:
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
