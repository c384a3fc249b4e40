"""How far an XML part reaches, read off the positions of its tags before any parser sees it: how deep its
elements nest (any part) and the last row and column its cells stand in (a sheet part), as calamine would
place them.

Each measure has a vectorised fast path over the bytes (numpy, a few passes) and hands any part it does not
recognise to a slower exact reading (regular expressions, or lxml's streaming parser). The refusals built
on these measures are in :mod:`.archive`; :mod:`.formula_scan` reads cell references the same way.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass

import numpy as np
from lxml import etree
from openpyxl.utils.cell import column_index_from_string

from ..limits import EXCEL_ROWS, MAX_GRID_CELLS, MAX_XML_DEPTH, clip

_PROLOG_LIMIT = 1 << 16  # the start of a part: where its root element is looked for, and what is checked up front
_ROOT_START = re.compile(rb"<(?![?!])")
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
