"""openpyxl's reader, driven step by step to read a workbook's workbook part and none of its cells.

``openpyxl.reader.excel.ExcelReader``'s steps, its ``parser``, ``valid_files``, ``shared_strings`` and
``archive``, and ``Workbook._sheets`` are openpyxl internals, not its public API: this module is the one place
unitecon uses them. Tested against openpyxl 3.1.5 (pyproject.toml pins ``openpyxl>=3.1,<3.2``);
tests/test_openpyxl_adapter.py exercises this module on its own, so an upgrade that changes them fails there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from openpyxl.reader.excel import ExcelReader
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook


@dataclass
class OpenpyxlWorkbookPart:
    """What openpyxl reads of a workbook part, without parsing a cell or the shared strings."""

    workbook: Workbook  # its defined names, custom document properties, calculation properties and epoch
    worksheets: dict[str, str]  # each worksheet's name -> its zip member, in workbook order (no chartsheets)
    sheet_scoped_names: list[tuple[str, Mapping[str, DefinedName]]]  # each sheet's title and its own names


def read_workbook_part_with_openpyxl(path: Path) -> OpenpyxlWorkbookPart:
    """Read ``path``'s workbook part with openpyxl (read-only, so sheet objects only), then close the file."""
    reader = ExcelReader(str(path), read_only=True)
    try:
        reader.read_manifest()
        reader.shared_strings = []  # cell values come from calamine: skip openpyxl's string table
        reader.read_workbook()
        reader.read_custom()
        reader.read_worksheets()  # read-only: sheet objects only, no cells parsed
        reader.parser.assign_names()
        worksheets = {sheet.name: rel.target for sheet, rel in reader.parser.find_sheets()
                      if "chartsheet" not in rel.Type and rel.target in reader.valid_files}
        wb = reader.wb
    finally:
        reader.archive.close()
    scoped = [(sheet.title, getattr(sheet, "defined_names", {})) for sheet in wb._sheets]  # chartsheets have none
    return OpenpyxlWorkbookPart(wb, worksheets, scoped)
