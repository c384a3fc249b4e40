"""A1 formula text to relative R1C1 form: the same formula copied along a row reads the same.

``=G9/G10`` in G14 and ``=H9/H10`` in H14 both become ``=R[-5]C/R[-4]C``. Used to fingerprint what a
build wrote and to find a formula that breaks its row's pattern. References are found with openpyxl's
formula tokenizer, so names, strings and functions are left alone.
"""

from __future__ import annotations

import re

import numpy as np
from openpyxl.formula.tokenizer import Tokenizer
from openpyxl.utils.cell import column_index_from_string, get_column_letter

_CELL = re.compile(r"^(\$?)([A-Za-z]{1,3})(\$?)([0-9]+)$")


def _cell_to_r1c1(ref: str, row: int, col: int) -> str:
    m = _CELL.match(ref)
    return _parts_to_r1c1(*m.groups(), row, col) if m else ref


def _parts_to_r1c1(col_abs: str, letters: str, row_abs: str, digits: str, row: int, col: int) -> str:
    r, c = int(digits), column_index_from_string(letters.upper())
    rows = f"R{r}" if row_abs else ("R" if r == row else f"R[{r - row}]")
    cols = f"C{c}" if col_abs else ("C" if c == col else f"C[{c - col}]")
    return rows + cols


def _range_to_r1c1(token: str, row: int, col: int) -> str:
    sheet, sep, body = token.rpartition("!")
    parts = body.split(":")
    if not all(_CELL.match(p) for p in parts):
        return token  # a defined name or a whole-column reference: leave as written
    return f"{sheet}{sep}" + ":".join(_cell_to_r1c1(p, row, col) for p in parts)


# A cell reference (either case, as Excel reads it) not inside a name or a function name: the fast path for
# formulas without quotes.
_FAST = re.compile(r"(?<![A-Za-z0-9_.])(\$?)([A-Za-z]{1,3})(\$?)([0-9]+)(?![A-Za-z0-9_(.])")


def to_r1c1(formula: str, row: int, col: int) -> str:
    """``formula`` (A1 text with ``=``) as written in the cell at 1-based ``row``, ``col``, in R1C1 terms."""
    if '"' not in formula and "'" not in formula:
        return _FAST.sub(lambda m: _parts_to_r1c1(*m.groups(), row, col), formula)
    tokens = Tokenizer(formula).items
    out = []
    for tok in tokens:
        if tok.type == "OPERAND" and tok.subtype == "RANGE":
            out.append(_range_to_r1c1(tok.value, row, col))
        else:
            out.append(tok.value)
    return "=" + "".join(out)


_DIGITS = re.compile(r"[0-9]+")
_SLOT = "\x01"  # XML forbids it in a worksheet's text (checked for all the same)
_JOIN = "\x00"


def column_patterns(texts: list[str], rows: np.ndarray, col: int) -> tuple[list[str], np.ndarray]:
    """The R1C1 form of every formula down one column: the distinct patterns, and which one each cell has.

    Equal to ``to_r1c1(text, row, col)`` cell by cell, but found with array operations: cells whose text
    has the same shape once numbers are blanked out share a pattern when their fixed numbers agree and
    their relative row numbers differ from their own row by the same amounts. ``to_r1c1`` runs once per
    distinct pattern (and per cell only for texts with quotes, where a number may sit in a sheet name).
    """
    which = np.empty(len(texts), dtype=np.int64)
    patterns: list[str] = []
    number: dict[str, int] = {}

    def assign(cells: np.ndarray, pattern: str) -> None:
        which[cells] = number.setdefault(pattern, len(number))
        if len(patterns) < len(number):
            patterns.append(pattern)

    joined = _JOIN.join(texts)
    if _SLOT in joined:  # a control character XML forbids, yet a reader let through: cell by cell
        for i, text in enumerate(texts):
            assign(np.array([i]), to_r1c1(text, int(rows[i]), col))
        return patterns, which
    templates = _DIGITS.sub(_SLOT, joined).split(_JOIN)
    if len(templates) != len(texts):
        templates = [_DIGITS.sub(_SLOT, t) for t in texts]
    numbers = _DIGITS.findall(joined)
    same_shape: dict[str, list[int]] = {}
    if len(set(templates)) == 1:  # a column filled down with one formula: no per-cell work below
        same_shape[templates[0]] = list(range(len(texts)))
        counts = np.full(len(texts), templates[0].count(_SLOT), dtype=np.int64)
    else:
        for i, template in enumerate(templates):
            same_shape.setdefault(template, []).append(i)
        counts = np.fromiter((t.count(_SLOT) for t in templates), dtype=np.int64, count=len(texts))
    starts = np.cumsum(counts) - counts
    wide = bool(numbers) and max(map(len, numbers)) > 18  # would overflow int64: convert cell by cell
    flat = np.fromiter(map(int, numbers), dtype=np.int64, count=len(numbers)) if numbers and not wide else None
    for template, members in same_shape.items():
        cells = np.array(members, dtype=np.int64)
        first = members[0]
        if '"' in template or "'" in template or (flat is None and counts[first]):
            for i in members:
                assign(np.array([i]), to_r1c1(texts[i], int(rows[i]), col))
            continue
        width = int(counts[first])
        if width == 0:
            assign(cells, to_r1c1(texts[first], int(rows[first]), col))
            continue
        key = flat[starts[cells][:, None] + np.arange(width)]
        key[:, _relative_row_slots(texts[first])] -= rows[cells][:, None]
        _, first_of, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        for k, j in enumerate(first_of.tolist()):
            i = members[j]
            assign(cells[inverse.ravel() == k], to_r1c1(texts[i], int(rows[i]), col))
    return patterns, which


def _relative_row_slots(formula: str) -> np.ndarray:
    """For each run of digits in ``formula`` (no quotes), whether it is the row of a relative reference."""
    relative = {m.start(4) for m in _FAST.finditer(formula) if not m.group(3)}
    return np.array([m.start() in relative for m in _DIGITS.finditer(formula)], dtype=bool)


_R1C1_CELL = re.compile(r"^R(\[-?[0-9]+\]|[0-9]+)?C(\[-?[0-9]+\]|[0-9]+)?$")


Axis = tuple[bool, int]  # (absolute?, row or column number if absolute, else offset)


def cell_axes(part: str) -> tuple[Axis, Axis] | None:
    """A single-cell reference in R1C1 form (no sheet) as its row and column axes; None for anything else."""
    m = _R1C1_CELL.match(part)
    if not m:
        return None

    def axis(spec: str | None) -> Axis:
        if spec is None:
            return False, 0
        return (False, int(spec[1:-1])) if spec.startswith("[") else (True, int(spec))

    return axis(m.group(1)), axis(m.group(2))


def _part_to_a1(part: str, row: int, col: int) -> str:
    axes = cell_axes(part)
    if axes is None:
        return part
    (row_abs, r), (col_abs, c) = axes
    return f"{'$' if col_abs else ''}{get_column_letter(c if col_abs else col + c)}{'$' if row_abs else ''}" \
           f"{r if row_abs else row + r}"


def reference_at(r1c1: str, row: int, col: int) -> str:
    """A reference token in R1C1 form (as :func:`to_r1c1` writes it) back in A1 form for the cell at
    1-based ``row``, ``col``; names and other tokens come back unchanged."""
    sheet, sep, body = r1c1.rpartition("!")
    parts = body.split(":")
    if not all(_R1C1_CELL.match(p) for p in parts):
        return r1c1
    return f"{sheet}{sep}" + ":".join(_part_to_a1(p, row, col) for p in parts)


def reference_r1c1(token: str, row: int, col: int) -> str:
    """A reference token (``$A$1:B2``, ``Sheet!C3``, a name) in R1C1 form for the cell at ``row``, ``col``."""
    return _range_to_r1c1(token, row, col)
