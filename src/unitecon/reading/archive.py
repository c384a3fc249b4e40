"""Refuse an untrusted .xlsx before any parser sees it, in one line that says what is wrong.

The file must be a zip whose inflated size and compression ratio are within bounds before anything is
inflated; it must be an .xlsx package (not an .xls, .xlsb, .ods, CSV or PDF renamed); every member must
inflate to its recorded CRC; no XML part may declare a DTD (entity expansion and external entities are
refused before parsing; the parsers are set not to resolve entities either, and openpyxl parses with
defusedxml installed) or nest too deep; and no sheet may span more cells than a grid can hold. The sizes
are measured by :mod:`.xml_extent`. The file is never written to.
"""

from __future__ import annotations

import contextlib
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

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
from .xml_extent import _PROLOG_LIMIT, _ROOT_START, _extent, _Tags, _tags, _too_deep, _too_wide


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


def _check_depth(path: Path, member: str, tags: _Tags) -> None:
    depth = _too_deep(tags)
    if depth:
        raise _refusal(path, f"refused: {member} nests XML elements at least {depth:,} deep (limit "
                             f"{MAX_XML_DEPTH}; an Excel part nests about 12 deep)")


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


_XML_SUFFIXES = (".xml", ".rels", ".vml")


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
def errors_in_one_line(path: Path) -> Iterator[None]:
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
