"""LibreOffice headless as a second engine: recalculate a workbook, and render its sheets to PDF / PNG.

Each call runs ``soffice`` with a throw-away user profile, so a desktop LibreOffice the user has open
is neither disturbed nor able to block the conversion, and the recalculation setting below applies.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from ..errors import UniteconError

SOFFICE_TIMEOUT = 600  # seconds; a 100,000-customer workbook recalculates in about 15

# Calc's "recalculation on file load" for Excel and ODF files: 0 = always. The default (never) would
# hand back the values unitecon cached, which is exactly what the cross-check must not trust.
_RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
</oor:items>
"""


def find_soffice() -> str | None:
    """Path of LibreOffice's ``soffice`` (or ``libreoffice``) executable, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def _require_soffice() -> str:
    found = find_soffice()
    if not found:
        raise UniteconError("LibreOffice not found: install it (Debian/Ubuntu: apt-get install "
                            "libreoffice-calc) so that `soffice` is on the PATH")
    return found


def _convert(files: list[Path], target: str, out_dir: Path) -> None:
    """``soffice --convert-to TARGET`` for several files in one LibreOffice start, recalculating on load."""
    soffice = _require_soffice()
    with tempfile.TemporaryDirectory(prefix="unitecon-lo-") as profile:
        user = Path(profile) / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(_RECALC_ALWAYS, encoding="utf-8")
        command = [soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
                   "--nologo", "--convert-to", target, "--outdir", str(out_dir), *map(str, files)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=SOFFICE_TIMEOUT,
                                  env={**os.environ, "SAL_USE_VCLPLUGIN": "svp"})
        except subprocess.TimeoutExpired:
            raise UniteconError(f"LibreOffice did not finish converting {files[0].name} within "
                                f"{SOFFICE_TIMEOUT} s") from None
    missing = [f for f in files if not (out_dir / f"{f.stem}.{target.split(':')[0]}").is_file()]
    if done.returncode or missing:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise UniteconError(f"LibreOffice could not convert {(missing or files)[0].name} to {target} "
                            f"(exit {done.returncode}{': ' + detail[-1] if detail else ''})")


def recalculate(workbook: str | Path, out_dir: str | Path) -> Path:
    """Load WORKBOOK in LibreOffice, recalculating every formula, and save the result as .xlsx in OUT_DIR.

    The saved file's cached values are LibreOffice's own results; read them with any reader.
    """
    workbook, out_dir = Path(workbook), Path(out_dir)
    if out_dir.resolve() == workbook.parent.resolve():
        raise UniteconError(f"{out_dir}: choose another folder, the recalculated copy would replace {workbook.name}")
    _convert([workbook], "xlsx", out_dir)
    return out_dir / f"{workbook.stem}.xlsx"


def sheet_names(workbook: Path) -> list[str]:
    """Sheet names in workbook order, read from the workbook part (no cells are read)."""
    from openpyxl import load_workbook

    book = load_workbook(workbook, read_only=True)
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def _only_sheet_visible(workbook_xml: bytes, index: int) -> bytes:
    """workbook.xml with every sheet but the INDEX-th hidden, and that one active (edited as XML, entities
    and network never resolved)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(workbook_xml, parser)
    for position, sheet in enumerate(root.iterfind("{*}sheets/{*}sheet")):
        sheet.attrib.pop("state", None)
        if position != index:
            sheet.set("state", "hidden")
    for view in root.iterfind("{*}bookViews/{*}workbookView"):
        view.attrib.pop("firstSheet", None)
        view.set("activeTab", str(index))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _single_sheet_copy(workbook: Path, index: int, target: Path) -> None:
    """A copy of WORKBOOK in which only the INDEX-th sheet is visible: what LibreOffice then prints."""
    with zipfile.ZipFile(workbook) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/workbook.xml":
                data = _only_sheet_visible(data, index)
            copy.writestr(info, data)


def _file_stem(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name.strip()).strip("_").lower() or "sheet"


def render(workbook: str | Path, out_dir: str | Path, resolution: int = 110,
           progress: Callable[[str], None] | None = None) -> list[Path]:
    """Write ``<sheet>.pdf`` (every page of that sheet, as printed) and ``<sheet>.png`` (its first page)
    for each sheet of WORKBOOK into OUT_DIR, through LibreOffice and poppler's ``pdftoppm``.

    Returns the files written, PDF before PNG, in sheet order.
    """
    from ..reading.archive import check_zip

    workbook, out_dir = Path(workbook), Path(out_dir)
    if not workbook.is_file():
        raise UniteconError(f"{workbook}: no such file")
    check_zip(workbook)
    pdftoppm = shutil.which("pdftoppm")
    if not pdftoppm:
        raise UniteconError("pdftoppm not found: install poppler (Debian/Ubuntu: apt-get install poppler-utils)")
    _require_soffice()
    names = sheet_names(workbook)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="unitecon-render-") as tmp:
        copies = []
        for index, name in enumerate(names):
            copy = Path(tmp) / f"{_file_stem(name)}.xlsx"
            _single_sheet_copy(workbook, index, copy)
            copies.append(copy)
        if progress:
            progress(f"LibreOffice is printing {len(names)} sheets to PDF")
        pdf_dir = Path(tmp) / "pdf"
        pdf_dir.mkdir()
        _convert(copies, "pdf", pdf_dir)
        for copy in copies:
            pdf = out_dir / f"{copy.stem}.pdf"
            shutil.move(pdf_dir / pdf.name, pdf)
            if progress:
                progress(f"{pdf.stem}: PNG of the first page")
            subprocess.run([pdftoppm, "-png", "-r", str(resolution), "-f", "1", "-l", "1", "-singlefile",
                            str(pdf), str(out_dir / copy.stem)], check=True, capture_output=True)
            written += [pdf, out_dir / f"{copy.stem}.png"]
    return written
