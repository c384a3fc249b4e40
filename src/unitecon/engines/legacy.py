"""A formula saved as a plain (not array) formula, rewritten so a dynamic-array engine computes it as Excel does.

Excel evaluates a plain formula from a file with *implicit intersection*: where a range stands in a place
that takes one value, the cell of the range in the formula's own row (or column) is used. Excel 365
shows this by writing ``@`` in front of the range when it opens such a file; an engine that treats every
formula as dynamic spills an array instead (``#SPILL!``, or values in neighbouring cells). The rewrite
adds that ``@`` where a range is

* the whole formula (``=A1:A3``, ``=Col``), or an operand of an operator (``=Col*2``, ``=2+B1:B3``),
  unless a function that evaluates its arguments as arrays encloses it (``SUMPRODUCT((A1:A3=x)*B1:B3)``);
* the whole argument of a function that takes one value there (``IF(A1:A3, ...)``, ``ABS(A1:A3)``).

A name that stands for several areas (``S!$A$1:$A$3,S!$C$1:$C$3``) is written out as those areas where
it is a whole argument of a function that takes any number of ranges (``SUM(TwoAreas)``).

Both rewrites are reasons for verify to be cautious, not certain: a cell rewritten here is reported as
not verified, never as a mismatch, when it still differs from the value Excel cached.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from openpyxl.formula.tokenizer import Token, Tokenizer

# Functions whose arguments may be whole ranges (a reference passed as it is, never intersected).
RANGE_ARGUMENTS = frozenset("""
SUM SUMPRODUCT PRODUCT COUNT COUNTA COUNTBLANK COUNTIF COUNTIFS SUMIF SUMIFS AVERAGE AVERAGEA AVERAGEIF
AVERAGEIFS MIN MINA MAX MAXA MINIFS MAXIFS MEDIAN MODE MODE.SNGL MODE.MULT LARGE SMALL RANK RANK.EQ RANK.AVG
PERCENTILE PERCENTILE.INC PERCENTILE.EXC QUARTILE QUARTILE.INC QUARTILE.EXC PERCENTRANK STDEV STDEVA STDEVP
STDEVPA STDEV.S STDEV.P VAR VARA VARP VARPA VAR.S VAR.P INDEX MATCH LOOKUP VLOOKUP HLOOKUP XLOOKUP XMATCH ROWS
COLUMNS ROW COLUMN AREAS OFFSET AND OR XOR CONCAT TEXTJOIN NPV IRR XIRR XNPV MIRR MMULT MDETERM MINVERSE
TRANSPOSE FREQUENCY TREND LINEST LOGEST GROWTH FORECAST FORECAST.LINEAR SLOPE INTERCEPT CORREL COVAR
COVARIANCE.P COVARIANCE.S PEARSON RSQ STEYX SUMSQ SUMX2MY2 SUMX2PY2 SUMXMY2 DEVSQ AVEDEV GEOMEAN HARMEAN KURT
SKEW SUBTOTAL AGGREGATE CELL ISREF FILTER SORT SORTBY UNIQUE DSUM DCOUNT DCOUNTA DAVERAGE DMAX DMIN DGET
DPRODUCT DSTDEV DSTDEVP DVAR DVARP PROB TTEST T.TEST CHITEST CHISQ.TEST FTEST F.TEST ZTEST Z.TEST
""".split())  # noqa: SIM905 (a word list reads best as words)

# Functions that evaluate their arguments as arrays even in a plain formula.
ARRAY_ARGUMENTS = frozenset("""
SUMPRODUCT MMULT MDETERM MINVERSE TRANSPOSE FREQUENCY TREND LINEST LOGEST GROWTH LOOKUP MATCH INDEX SUMX2MY2
SUMX2PY2 SUMXMY2 CORREL PEARSON RSQ SLOPE INTERCEPT FORECAST FORECAST.LINEAR STEYX COVAR FILTER SORT SORTBY
UNIQUE
""".split())  # noqa: SIM905 (a word list reads best as words)

# Functions taking any number of ranges, into which a multi-area name can be written out area by area.
AREA_LISTS = frozenset("""
SUM PRODUCT COUNT COUNTA COUNTBLANK AVERAGE AVERAGEA MIN MINA MAX MAXA MEDIAN STDEV STDEVA STDEVP STDEVPA
STDEV.S STDEV.P VAR VARA VARP VARPA VAR.S VAR.P SUMSQ DEVSQ AVEDEV GEOMEAN HARMEAN AND OR XOR CONCAT
""".split())  # noqa: SIM905 (a word list reads best as words)

_XL_PREFIX = re.compile(r"^(_xlfn\.|_xlws\.)+", re.IGNORECASE)


def function_name(token_value: str) -> str:
    """``SUM(`` or ``_xlfn.STDEV.S(`` -> ``SUM`` / ``STDEV.S``."""
    return _XL_PREFIX.sub("", token_value[:-1]).upper()


def is_range_text(ref: str) -> bool:
    """True for a reference of more than one cell written with ``:`` (``A1:B3``, ``A:A``, ``1:1``)."""
    part = ref.rsplit("!", 1)[-1].replace("$", "")
    if ":" not in part:
        return False
    first, last = part.split(":", 1)
    return first.upper() != last.upper()


class _Frame:
    """One open function call or parenthesis while walking a formula's tokens."""

    def __init__(self, function: str | None):
        self.function = function  # None for a parenthesis or the formula itself
        self.argument: list[int] = []  # token positions of the current argument, at this depth
        self.nested = False  # the current argument holds a nested call or parenthesis


def _tokens(text: str) -> list[Token] | None:
    try:
        return Tokenizer(text).items
    except Exception:
        return None


def with_implicit_intersection(text: str, multi_cell: Callable[[str], bool]) -> str | None:
    """``text`` with ``@`` before every range that a plain formula intersects; None when nothing changes
    or the formula cannot be tokenized. ``multi_cell(token)`` tells whether a reference or name token
    stands for more than one cell."""
    tokens = _tokens(text)
    if not tokens:
        return None
    marked: set[int] = set()
    stack = [_Frame(None)]

    def close_argument(frame: _Frame) -> None:
        items = [i for i in frame.argument if tokens[i].type != Token.WSPACE]
        ranges = [i for i in items if tokens[i].type == Token.OPERAND and tokens[i].subtype == Token.RANGE
                  and not tokens[i].value.startswith("@") and multi_cell(tokens[i].value)]
        whole = len(items) == 1 and not frame.nested
        for i in ranges:
            if whole and frame.function in RANGE_ARGUMENTS:
                continue
            if not whole and any(f.function in ARRAY_ARGUMENTS for f in (frame, *stack)):
                continue
            marked.add(i)
        frame.argument, frame.nested = [], False

    for i, token in enumerate(tokens):
        if token.type == Token.FUNC and token.subtype == Token.OPEN:
            stack[-1].nested = True
            stack[-1].argument.append(i)
            stack.append(_Frame(function_name(token.value)))
        elif token.type == Token.PAREN and token.subtype == Token.OPEN:
            stack[-1].nested = True
            stack[-1].argument.append(i)
            stack.append(_Frame(None))
        elif token.type in (Token.FUNC, Token.PAREN) and token.subtype == Token.CLOSE:
            if len(stack) > 1:
                close_argument(stack.pop())
        elif token.type == Token.SEP and token.subtype == Token.ARG:
            close_argument(stack[-1])
        else:
            stack[-1].argument.append(i)
    close_argument(stack[0])
    if not marked:
        return None
    return "=" + "".join(("@" + t.value) if i in marked else t.value for i, t in enumerate(tokens))


def with_areas(text: str, areas: dict[str, str]) -> str | None:
    """``text`` with each multi-area name (upper-case key -> ``S!$A$1:$A$3,S!$C$1:$C$3``) written out where it
    is a whole argument of a function taking any number of ranges; None when nothing changes, or when such
    a name stands anywhere else (no rewrite is faithful there)."""
    tokens = _tokens(text)
    if not tokens:
        return None
    out, changed, functions = [], False, [None]
    for i, token in enumerate(tokens):
        if token.type == Token.FUNC and token.subtype == Token.OPEN:
            functions.append(function_name(token.value))
        elif token.type in (Token.FUNC, Token.PAREN) and token.subtype == Token.CLOSE:
            functions.pop() if len(functions) > 1 else None
        elif token.type == Token.PAREN and token.subtype == Token.OPEN:
            functions.append("(")
        if token.type == Token.OPERAND and token.subtype == Token.RANGE and token.value.upper() in areas:
            before = _neighbour(tokens, i, -1)
            after = _neighbour(tokens, i, 1)
            if functions[-1] not in AREA_LISTS or not (_starts_argument(before) and _ends_argument(after)):
                return None
            out.append(areas[token.value.upper()])
            changed = True
        else:
            out.append(token.value)
    return "=" + "".join(out) if changed else None


def _neighbour(tokens: list[Token], i: int, step: int) -> Token | None:
    i += step
    while 0 <= i < len(tokens) and tokens[i].type == Token.WSPACE:
        i += step
    return tokens[i] if 0 <= i < len(tokens) else None


def _starts_argument(token: Token | None) -> bool:
    return token is not None and ((token.type == Token.FUNC and token.subtype == Token.OPEN)
                                  or (token.type == Token.SEP and token.subtype == Token.ARG))


def _ends_argument(token: Token | None) -> bool:
    return token is not None and ((token.type == Token.FUNC and token.subtype == Token.CLOSE)
                                  or (token.type == Token.SEP and token.subtype == Token.ARG))
