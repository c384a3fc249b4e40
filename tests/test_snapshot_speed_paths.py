"""The vectorised readings of a sheet part give what the slower readings beside them give.

read_snapshot measures every sheet part's extent and scans its formulas with numpy and a few passes over
the bytes; each fast path hands any part it does not recognise to the slow one. These tests pin the two
together on small crafted parts: where the fast path answers, it must answer exactly as the slow one.
"""

from __future__ import annotations

import datetime as dt
import html
import random

import numpy as np
import pytest
from lxml import etree

from unitecon.reading.formula_scan import (
    _ERROR_CELL,
    _ERROR_CELL_AT_T,
    _check_utf8,
    _formula_texts,
    _grouped,
    _holds_t,
    _matched_formulas,
    _parse_formulas,
    _scan_plain_formulas,
    _tagged_formulas,
    _TagStarts,
    _whole_tags,
)
from unitecon.reading.snapshot import EXCEL_EPOCH, _dates_as_serials, _sheet_cells, excel_serial
from unitecon.reading.xml_extent import _CELL_REF, _extent, _parsed_extent, _plain_extent, _tags

HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">')


def _part(rows: str, head: str = HEAD) -> bytes:
    return f"{head}<dimension ref=\"A1\"/><sheetData>{rows}</sheetData></worksheet>".encode()


def _cells(*refs: str, attributes: str = "") -> str:
    """One row element per cell, each a value cell at ``ref``."""
    return "".join(f'<row r="{i}"><c r="{ref}"{attributes}><v>{i}</v></c></row>' for i, ref in enumerate(refs, 1))


def _letters(col: int) -> str:
    out = ""
    while col:
        col, rest = divmod(col - 1, 26)
        out = chr(ord("A") + rest) + out
    return out


def _findall_extent(xml: bytes) -> tuple[int, int]:
    """The extent as the reading of every reference with _CELL_REF gives it (the path the fast one replaces)."""
    refs = _CELL_REF.findall(xml)
    cols = [sum((ord(ch) - 64) * 26**i for i, ch in enumerate(reversed(c.decode().upper()))) for c, _ in refs]
    return (max(int(r) for _, r in refs), max(cols)) if refs else (0, 0)


# --- the extent of a sheet part ---------------------------------------------------------------------------

PLAIN = {
    "one cell": _cells("A1"),
    "three letters, last row": _cells("A1", "XFD1048576"),
    "past the last cell": _cells("ZZZ9999999"),
    "unusual order": _cells("C7", "AB2", "B900", "A1", "ZZ3", "D10"),
    "lower case": _cells("a1", "xfd5", "Bc20"),
    "mixed lengths": _cells("Z9", "AA10", "AAA1", "B1234567"),
    "rows of one to seven digits": _cells("A1", "B12", "C123", "D1234", "E12345", "F123456", "G1234567"),
    "longer row number smaller column": _cells("ZZ99", "A100"),
    "attributes after the reference": _cells("B2", "C3", attributes=' s="3" t="n"'),
    "a self-closing cell": '<row r="4"><c r="K4"/></row>',
    "no cells": "",
}


def test_a_comment_before_the_root_leaves_the_fast_path_open():
    xml = _part(_cells("A1", "AB12"), HEAD.replace("?>", "?><!-- a comment --><?pi x?>", 1))
    tags = _tags(xml)
    assert _plain_extent(tags, tags.cells) == _parsed_extent(xml) == (12, 28)


@pytest.mark.parametrize("rows", PLAIN.values(), ids=PLAIN.keys())
def test_the_vectorised_extent_reads_every_reference_as_the_parser_does(rows):
    xml = _part(rows)
    tags = _tags(xml)
    assert _plain_extent(tags, tags.cells) is not None  # the fast path answers
    assert _extent(tags, exact=True) == _parsed_extent(xml) == _findall_extent(xml)


OTHER = {
    "attribute before r=": _cells("A1") + '<row r="2"><c s="1" r="Q2"><v>1</v></c></row>',
    "a cell without a reference": _cells("A1", "B2") + "<row><c><v>1</v></c></row>",
    "four letters": _cells("A1", "AAAA3"),
    "eight digits": _cells("A1", "B12345678"),
    "a leading zero": _cells("A1", "B0000041"),
    "a cell in a comment": _cells("A1") + '<!-- <c r="Z99"> -->',
    "a processing instruction": _cells("A1") + "<?x y?>",
    "a comment inside a cell tag": _cells("A1") + '<row r="2"><c<!-- --> r="B2"><v>1</v></c></row>',
    "a tab after <c": _cells("A1") + '<row r="2"><c\tr="C2"><v>1</v></c></row>',
}


@pytest.mark.parametrize("name", OTHER)
def test_any_other_cell_goes_to_the_slower_reading_with_the_same_result(name):
    xml = _part(OTHER[name])
    tags = _tags(xml)
    assert _plain_extent(tags, tags.cells) is None
    try:
        expected = _parsed_extent(xml)
    except etree.XMLSyntaxError:  # what the reading of a malformed part raises
        with pytest.raises(etree.XMLSyntaxError):
            _extent(tags, exact=True)
    else:
        assert _extent(tags, exact=True) == expected


def test_random_references_read_alike(seed=20_240_601):
    rng = random.Random(seed)
    for _ in range(200):
        refs = []
        for _ in range(rng.randint(1, 30)):
            letters = _letters(rng.choice([rng.randint(1, 26), rng.randint(27, 702), rng.randint(703, 18_278)]))
            letters = "".join(ch.lower() if rng.random() < 0.2 else ch for ch in letters)
            refs.append(f"{letters}{rng.randint(1, 10 ** rng.randint(1, 7) - 1)}")
        xml = _part(_cells(*refs))
        tags = _tags(xml)
        assert _plain_extent(tags, tags.cells) == _parsed_extent(xml) == _findall_extent(xml), refs


# --- the formula scan -------------------------------------------------------------------------------------

def _as_lists(found):
    columns, errors, texts, arrays = found
    return ([(col, rows.dtype, rows.tolist(), texts) for col, (rows, texts) in columns.items()],
            errors, texts, arrays)


def _formula_row(r: int, *cells: tuple[str, str, str]) -> str:
    """A row of formula cells (column letters, attributes after the reference, formula text as escaped)."""
    return f'<row r="{r}">' + "".join(f'<c r="{col}{r}"{attributes}><f>{text}</f><v>1</v></c>'
                                      for col, attributes, text in cells) + "</row>"


FORMULAS = {
    "escaped": _formula_row(1, ("A", "", "IF(H9&gt;0,1,0)"), ("B", ' s="2"', "A1&amp;&quot;x&quot;&amp;&apos;y&apos;"),
                            ("C", "", "IF(A1&lt;&gt;2,&quot;a&lt;b&quot;,0)"), ("D", "", "&amp;lt;&amp;amp;")),
    "empty formula": _formula_row(1, ("A", "", ""), ("B", "", "A1+1")) + _formula_row(2, ("A", "", "")),
    "text results": _formula_row(1, ("A", ' t="str"', 'A1&amp;"x"'), ("B", ' s="1" t="str"', "B9"),
                                 ("C", ' t="s"', "C9"), ("D", ' t="inlineStr"', "D9"), ("E", ' t="n"', "E9")),
    "error cells": _formula_row(1, ("A", "", "1+1")) + '<row r="2"><c r="A2" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
                   '<c r="B2" s="1" t="e"><v>#N/A</v></c></row>',
    "columns interleaved": "".join(_formula_row(r, ("A", "", f"B{r}*2"), ("AB", "", f"A{r}+1"),
                                                ("XFD", "", f"AB{r}")) for r in range(1, 8)),
    "rows out of order": _formula_row(5, ("A", "", "5")) + _formula_row(2, ("A", "", "2"), ("C", "", "2"))
                         + _formula_row(9, ("A", "", "9")) + _formula_row(2, ("B", "", "2")),
    "the same cell twice": _formula_row(3, ("A", "", "1")) + _formula_row(3, ("A", "", "2")),
    "text beyond ASCII": _formula_row(1, ("A", "", "A2&amp;&quot;é→x&quot;"), ("B", "", "LEN(&quot;日本&quot;)")),
    "values only": _cells("A1", "B2"),
}


@pytest.mark.parametrize("rows", FORMULAS.values(), ids=FORMULAS.keys())
def test_the_plain_formula_scan_reads_what_the_xml_parser_reads(rows):
    xml = _part(rows)
    fast = _scan_plain_formulas(xml)
    assert fast is not None
    assert _as_lists(fast) == _as_lists(_parse_formulas(xml))


@pytest.mark.parametrize("texts", [
    [b"H9&gt;0", b"A1&amp;&quot;x&quot;", b"&apos;a&apos;", b"&amp;lt;", b"plain", b"&lt;&gt;&amp;&quot;&apos;"],
    [b"a&copy;b", b"&amp", b"&lt"],  # not one of the five entities: each unescaped on its own
    [b"A1&lt", b"&gt;"],  # an entity without its semicolon
    [b"A1\0B1", b"&amp;"],  # a NUL inside a text
    ["é→x&amp;y".encode(), b"1"],
    [b"x"],
    [],
])
def test_formula_texts_unescape_as_html_unescape_does(texts):
    assert _formula_texts(b"<".join(texts)) == ["=" + html.unescape(t.decode()) for t in texts]


def test_a_part_that_is_not_utf8_is_refused_as_decoding_it_is():
    xml = _part(_formula_row(1, ("A", "", "A2&amp;&quot;é&quot;"))).replace("é".encode(), b"\xc3(")
    with pytest.raises(UnicodeDecodeError) as decoding:
        xml.decode("utf-8")
    with pytest.raises(UnicodeDecodeError) as scanning:
        _scan_plain_formulas(xml)
    assert str(scanning.value) == str(decoding.value)


@pytest.mark.parametrize("data", [b"plain", "é→x 日本".encode(), b"a\xc3(b", b"\xe2\x82", b"x\xe2\x82\xacy\xff",
                                  b"\xed\xa0\x80", b"\xc3 \xa9", b"\xf4\x90\x80\x80", b"\xc0\xaf"])
def test_utf8_is_checked_on_the_runs_past_ascii_as_decoding_checks_it(data):
    a = np.frombuffer(data + bytes(4), dtype=np.uint8)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as decoding:
        with pytest.raises(UnicodeDecodeError) as checking:
            _check_utf8(data, a)
        assert str(checking.value) == str(decoding)
    else:
        _check_utf8(data, a)


def test_error_cells_are_counted_from_their_t_as_from_the_space_before(seed=7):
    rng = random.Random(seed)
    for _ in range(2000):
        text = "".join(rng.choice([" ", "\t", "\n", "t", "=", '"', "'", "e", "x"]) for _ in range(rng.randint(0, 40)))
        data = text.encode()
        assert len(_ERROR_CELL_AT_T.findall(data)) == len(_ERROR_CELL.findall(data)), text


def test_tags_are_counted_as_bytes_count_counts_them(seed=11):
    rng = random.Random(seed)
    follows = [b"c ", b'c r="', b"c>", b"c/", b"f ", b"f/", b"f>", b"!", b"?"]
    for _ in range(500):
        xml = bytes(rng.choice(b'<cf r="=/>!?x') for _ in range(rng.randint(0, 60)))
        tags = _TagStarts(xml)
        for follow in follows:
            start = rng.randint(0, len(xml))
            assert tags.count(follow) == xml.count(b"<" + follow), (xml, follow)
            assert tags.count(follow, start) == xml.count(b"<" + follow, start), (xml, follow, start)


def _plain(found):
    cols, rows, texts, text_results = found
    return cols.dtype, rows.dtype, cols.tolist(), rows.tolist(), texts, text_results


def _random_part(rng: random.Random, raw: bool = False) -> str:
    """Rows of value and formula cells in any order: columns of 1-3 letters, attributes that may say the
    cached value is text, formula texts with the five entities (``raw``: or a ">" as is), empty ones, error
    values."""
    rows = []
    for r in rng.sample(range(1, 2000), rng.randint(0, 12)):
        cells = []
        for col in rng.sample(range(1, 18_278), rng.randint(1, 6)):
            attributes = rng.choice(["", ' s="1"', ' t="str"', ' s="2" t="str"', ' t="n"', ' x=" t=" t="s"',
                                     ' t="e"', ' s="1" t="inlineStr"'])
            text = rng.choice(["", "A1+1", "IF(B2&gt;0,&quot;a&lt;b&quot;,1)", "A1&amp;&apos;x&apos;", "SUM(A:A)",
                               '"é"&amp;B3', "1/0", *([">"] if raw else [])])
            ref = f"{_letters(col)}{r}"
            if rng.random() < 0.3:
                cells.append(f'<c r="{ref}"{attributes}><v>{r}</v></c>')
            else:
                value = "#DIV/0!" if "e" in attributes.split('"')[-2:-1] else str(r)
                cells.append(f'<c r="{ref}"{attributes}><f>{text}</f><v>{value}</v></c>')
        rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    return "".join(rows)


def test_formula_cells_read_off_the_tags_are_what_the_pattern_matches(seed=5):
    rng = random.Random(seed)
    for _ in range(300):
        xml = _part(_random_part(rng))
        tags = _TagStarts(xml)
        ends = _whole_tags(tags)
        assert ends is not None
        tagged, matched = _tagged_formulas(xml, tags, ends), _matched_formulas(xml, tags.count(b"f>"))
        assert tagged is not None and matched is not None
        assert _plain(tagged) == _plain(matched), xml
        assert _as_lists(_scan_plain_formulas(xml)) == _as_lists(_parse_formulas(xml)), xml


def test_a_part_with_a_greater_than_sign_in_a_text_is_read_by_the_pattern_alike(seed=9):
    rng = random.Random(seed)
    for _ in range(200):
        xml = _part(_random_part(rng, raw=True))
        assert _as_lists(_scan_plain_formulas(xml)) == _as_lists(_parse_formulas(xml)), xml


def _by_pattern(xml: bytes):
    """The formulas by column as the pattern, matched one by one, finds them."""
    cols, rows, texts, text_results = _matched_formulas(xml, _TagStarts(xml).count(b"f>"))
    return _as_lists((_grouped(cols, rows, _formula_texts(texts)), [], text_results, set()))


@pytest.mark.parametrize(("rows", "whole", "matched"), [
    (_formula_row(1, ("A", "", "IF(A2>0,1,0)")), False, True),  # ">" in a text: the pattern reads the part
    (_formula_row(1, ("A", ' t="str"', "A2>0"), ("B", "", "1")) + '<row r="2"><c r="C2" x="<"><v>1</v></c></row>',
     False, True),  # as many "<" as ">", but not in turn
    (_formula_row(1, ("A", "", "1")) + '<row r="2"><c r="b2"><f>2</f></c></row>', True, False),  # lower case
    (_formula_row(1, ("A", "", "1")) + '<row r="2"><c r="B2"><v>1</v><f>2</f></c></row>', True, False),
    (_formula_row(1, ("A", "", "1")) + '<row r="2"><x r="B2"><f>2</f></x></row>', True, False),
    (_formula_row(1, ("A", "", "1")) + '<row r="2"><c r="B2"><f>2</f><v>1</v></c><f>3</f></row>', True, False),
    (_formula_row(1, ("A", "", "1")) + '<row r="2"><c r="B2"><f>2</g><v>1</v></c></row>', True, False),
])
def test_a_formula_the_pattern_would_not_match_leaves_the_part_to_the_parser(rows, whole, matched):
    xml = _part(rows)
    tags = _TagStarts(xml)
    ends = _whole_tags(tags)
    assert (ends is not None) == whole
    if whole:
        assert _tagged_formulas(xml, tags, ends) is None
    assert (_matched_formulas(xml, tags.count(b"f>")) is not None) == matched
    fast = _scan_plain_formulas(xml)
    assert (fast is not None) == matched
    if matched:
        assert _as_lists(fast) == _by_pattern(xml)


def test_t_in_attributes_is_found_as_the_in_operator_finds_it(seed=3):
    rng = random.Random(seed)
    for _ in range(300):
        data, starts, stops = b"", [], []
        for _ in range(rng.randint(0, 8)):
            data += bytes(rng.choice(b' t="x') for _ in range(rng.randint(0, 4)))  # between the ranges
            starts.append(len(data))
            data += bytes(rng.choice(b' t="x') for _ in range(rng.randint(0, 12)))
            stops.append(len(data))
            data += b">"
        a = np.frombuffer(data + bytes(8), dtype=np.uint8)
        expected = [b' t="' in data[i:j] for i, j in zip(starts, stops, strict=True)]
        got = _holds_t(a, np.array(starts, dtype=np.int64), np.array(stops, dtype=np.int64))
        assert got.tolist() == expected, (data, starts, stops)


# --- a sheet's grid ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("rows", [[[1, "a"], [2, ""]], [[1], [2, 3], []], [], [[None]]])
def test_a_grid_holds_rows_of_any_lengths_from_a1(rows):
    grid = _sheet_cells(rows, {}, []).grid
    assert grid.shape == (len(rows) + 1, max([0, *map(len, rows)]) + 1)
    for r, row in enumerate(rows, start=1):
        assert grid[r, 1:len(row) + 1].tolist() == [None if v == "" else v for v in row]
        assert all(v is None for v in grid[r, len(row) + 1:])


# --- dates -------------------------------------------------------------------------------------------------

def test_a_grid_without_dates_is_left_as_it_is_and_dates_become_serials():
    grid = np.array([[None, 1, "x"], [2.5, True, None]], dtype=object)
    before = grid.copy()
    _dates_as_serials(grid, EXCEL_EPOCH)
    assert grid.tolist() == before.tolist()
    grid[1, 2] = dt.datetime(2024, 3, 1, 12)
    _dates_as_serials(grid, EXCEL_EPOCH)
    assert grid[1, 2] == excel_serial(dt.datetime(2024, 3, 1, 12)) == 45352.5 and grid[0, 1] == 1


def test_cell_reference_pattern_is_the_one_the_fast_extent_mirrors():
    assert _CELL_REF.pattern == rb'<c r="([A-Za-z]{1,3})([0-9]{1,7})"'  # else _cell_refs must change with it
