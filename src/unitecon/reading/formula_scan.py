"""Formula text and cached error values of a worksheet part, read off its bytes.

calamine reads every cell value but exposes no formula text, so each sheet part is scanned here while calamine
parses it. A part written plainly (as XlsxWriter and Excel write it) is read with numpy over the positions of
its tags or one regular-expression pass; any other part, and any part a fast path does not fully account for,
goes to lxml's streaming parser, which also translates shared formulas to each cell.
"""

from __future__ import annotations

import contextlib
import functools
import html
import io
import re

import numpy as np
from lxml import etree
from openpyxl.formula.translate import Translator
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple, get_column_letter

from ..errors import UniteconError
from .xml_extent import _PROLOG_LIMIT, _REF_AT, _REF_WIDTH, _ROOT_START, _cell_refs

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


def read_formulas(xml: bytes) -> Found:
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
