"""Find the classic spreadsheet errors in any workbook: one finding per problem, with its location.

Kinds: hard-coded numbers in formulas (unit constants allowed), a formula breaking its row's pattern,
a build formula overtyped with a constant (against the Fingerprint sheet), inputs without a source,
error values, circular references, whole-column/row references, volatile functions, and defined names
that point to nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from openpyxl.formula.tokenizer import Tokenizer
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple, get_column_letter

from ..geometry import HEADER_ROW, INPUTS, UNIT_CONSTANTS
from ..reading import fingerprint
from ..reading.snapshot import CellError, SheetCells, Snapshot, read_snapshot
from .cycles import MAX_CELL_LINKS, find_cycle
from .graph import Run, build_graph

ERRORS = ("#DIV/0!", "#REF!", "#NAME?", "#VALUE!", "#N/A", "#NUM!", "#NULL!")
VOLATILE = ("OFFSET", "INDIRECT", "NOW", "TODAY", "RAND", "RANDBETWEEN", "CELL", "INFO")


@dataclass(frozen=True)
class Finding:
    kind: str
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.kind}: {self.message}"


def audit(path: str) -> list[Finding]:
    """Every finding in the workbook at ``path``, sorted by kind and location."""
    snap = read_snapshot(path)
    graph = build_graph(snap)
    found: list[Finding] = []

    def add(kind: str, key: tuple[str, str], message: str) -> None:
        found.append(Finding(kind, f"{key[0]}!{key[1]}", message))

    ids: dict[str, int] = {}  # every R1C1 pattern of the workbook, numbered
    patterns: dict[str, np.ndarray] = {}  # sheet -> pattern number of each cell (-1: no formula)
    for sheet, cells in snap.cells.items():
        numbers = np.full(cells.grid.shape, -1, dtype=np.int64)
        for col, (rows, texts) in cells.formulas.items():
            column = graph.columns[(sheet, col)]
            local = np.array([ids.setdefault(p, len(ids)) for p in column.patterns], dtype=np.int64)
            numbers[rows, col] = local[column.which]
            _formula_findings(snap, sheet, col, rows, texts, column.runs, numbers, add)
        patterns[sheet] = numbers
        constant = ~cells.formula_mask()
        for (row, col), value in zip(np.argwhere(constant).tolist(), cells.grid[constant].tolist(), strict=True):
            if isinstance(value, str) and value in ERRORS:
                add("error value", (sheet, f"{get_column_letter(col)}{row}"), f"cell holds {value}")
    for key, tokens in graph.whole_references.items():
        add("whole-column reference", key, f"{', '.join(tokens)} in {_formula(snap, key)}: slow and fragile; "
                                           "reference the rows in use")
    for key, tokens in graph.unknown_names.items():
        add("unknown name", key, f"{', '.join(tokens)} is not a defined name (#NAME? in Excel)")
    text_of = {number: pattern for pattern, number in ids.items()}
    for sheet, numbers in patterns.items():
        _inconsistent(snap, sheet, numbers, text_of, add)
    _overtyped(snap, add)
    _without_source(snap, add)
    for name, refers in sorted(snap.broken_names.items()):
        found.append(Finding("broken name", name, f"refers to {refers}, which does not exist"))
    cycle = find_cycle(graph)
    if cycle:
        chain = " -> ".join(f"{s}!{c}" for s, c in cycle.cells)
        found.append(Finding("circular reference", f"{cycle.cells[0][0]}!{cycle.cells[0][1]}", chain if cycle.certain
                             else f"the runs starting at {chain} read each other; too many cells to follow one by "
                                  f"one (over {MAX_CELL_LINKS:,} links), so the circle may not be real"))
    return sorted(found, key=lambda f: (f.kind, f.location))


Add = Callable[[str, tuple[str, str], str], None]


def _formula(snap: Snapshot, key: tuple[str, str]) -> str | None:
    return snap.cells[key[0]].formula(*coordinate_to_tuple(key[1]))


def _formula_findings(snap: Snapshot, sheet: str, col: int, rows: np.ndarray, texts: list[str], runs: list[Run],
                      numbers: np.ndarray, add: Add) -> None:
    """What the tokens of each run's formula show (read once per run), and error values cached beside them."""
    letter = get_column_letter(col)
    cached = snap.cells[sheet].grid[rows, col].tolist()
    unparsable: set[int] = set()
    at = 0
    for run in runs:
        count = run.last - run.first + 1
        kinds = _token_findings(texts[at])
        if kinds and kinds[0][0] == "unparsable formula":
            unparsable.update(range(at, at + count))
            numbers[rows[at:at + count], col] = -1  # no pattern to keep or break
        for i in range(at, at + count) if kinds else ():
            for kind, message in kinds:
                add(kind, (sheet, f"{letter}{rows[i]}"),
                    texts[i] if i in unparsable else message.replace("{formula}", texts[i]))
        at += count
    for i, value in enumerate(cached):
        if type(value) in _TEXT and value in ERRORS and i not in unparsable:
            add("error value", (sheet, f"{letter}{rows[i]}"), f"{texts[i]} evaluates to {value}")


_TEXT = (str, CellError)


def _inconsistent(snap: Snapshot, sheet: str, numbers: np.ndarray, text_of: dict[int, str], add: Add) -> None:
    """A formula that breaks the pattern of its row, or of its column, where most cells share one.

    A block is a stretch of neighbouring formula cells along a row (or down a column); a grid's row
    labels and the grid beside them, set apart by an empty column, are two blocks with a pattern each.
    Rows with the same patterns in the same places are looked at once.
    """
    flagged: set[tuple[int, int]] = set()
    cells = snap.cells[sheet]
    distinct, which = np.unique(numbers, axis=0, return_inverse=True)
    order = np.argsort(which.ravel(), kind="stable")
    rows_of = np.split(order, np.cumsum(np.bincount(which.ravel(), minlength=len(distinct)))[:-1])
    for k, line in enumerate(distinct):
        for col, pattern, n, size in _breaks(line, minimum=2):
            for row in rows_of[k].tolist():
                flagged.add((row, col))
                add("inconsistent formula", (sheet, f"{get_column_letter(col)}{row}"),
                    f"{cells.formula(row, col)} breaks its row's pattern (={text_of[pattern][1:]} in {n} of "
                    f"{size} cells)")
    for col in range(numbers.shape[1]):
        for row, pattern, n, size in _breaks(numbers[:, col], minimum=10):
            if (row, col) not in flagged:
                add("inconsistent formula", (sheet, f"{get_column_letter(col)}{row}"),
                    f"{cells.formula(row, col)} breaks its column's pattern (={text_of[pattern][1:]} in {n} of "
                    f"{size} cells)")


def _breaks(line: np.ndarray, minimum: int) -> list[tuple[int, int, int, int]]:
    """(position, most common pattern, its count, block size) of each cell along ``line`` (pattern numbers,
    -1 where no formula) whose pattern differs from its block's, where at least ``minimum`` cells and
    more than half of a block of three or more share one pattern."""
    out = []
    filled = np.flatnonzero(line >= 0)
    for block in np.split(filled, np.flatnonzero(np.diff(filled) != 1) + 1) if len(filled) else ():
        if len(block) < 3:
            continue
        values, counts = np.unique(line[block], return_counts=True)
        best = int(np.argmax(counts))  # the smallest pattern number among the most common: the first seen
        n = int(counts[best])
        if n < minimum or n <= len(block) / 2:
            continue  # no pattern to break (input links: one name per period; a column of distinct rows)
        out += [(int(i), int(values[best]), n, len(block)) for i in block[line[block] != values[best]]]
    return out


def _overtyped(snap: Snapshot, add: Add) -> None:
    """A cell where the build wrote a formula (says the Fingerprint) that now holds a constant."""
    for key, value in fingerprint.overtyped(snap, fingerprint.read(snap)):
        add("overtyped formula", key, f"the build wrote a formula here; it now holds the constant {value!r}")


def _constant(cells: SheetCells, row: int, col: int) -> Any:
    return None if cells.formula(row, col) is not None else cells.get(row, col)


def _without_source(snap: Snapshot, add: Add) -> None:
    """A number typed on the Inputs sheet under a defined name without a source document and quote."""
    if INPUTS not in snap.sheets:
        return
    cells = snap.cells[INPUTS]
    columns = snap.columns_by_header(INPUTS, HEADER_ROW + 1)
    document_col, quote_col = columns.get("Source document"), columns.get("Quote")
    for name, (sheet, cell) in sorted(snap.names.items()):
        if sheet != INPUTS or ":" in cell:
            continue
        row, col = coordinate_to_tuple(cell)
        value = cells.get(row, col)
        if cells.formula(row, col) is not None or not isinstance(value, int | float):
            continue  # an input is a number typed on the Inputs sheet (not the scenario selector's text)
        document, quote = (_constant(cells, row, column_index_from_string(letters)) if letters else None
                           for letters in (document_col, quote_col))
        if not document or not quote:
            add("input without source", (sheet, cell), f"{name} has no source document and quote")


def _token_findings(formula: str) -> list[tuple[str, str]]:
    """(kind, message with ``{formula}`` where the cell's own text goes) for what the tokens show."""
    try:
        tokens = Tokenizer(formula).items
    except Exception:
        return [("unparsable formula", "{formula}")]
    out = []
    for tok in tokens:
        if tok.type == "OPERAND" and tok.subtype == "NUMBER" and float(tok.value) not in UNIT_CONSTANTS:
            out.append(("hard-coded number", f"{tok.value} typed into {{formula}}; make it an input"))
        function = tok.value[:-1].upper().removeprefix("_XLFN.")
        if tok.type == "FUNC" and tok.subtype == "OPEN" and function in VOLATILE:
            out.append(("volatile function", f"{tok.value[:-1]} recalculates on every change: {{formula}}"))
        if tok.type == "OPERAND" and (tok.subtype == "ERROR" or (tok.subtype == "RANGE" and "#REF!" in tok.value)):
            out.append(("error value", f"{tok.value} written into the formula {{formula}}"))
    return out


def as_json(findings: list[Finding]) -> list[dict[str, str]]:
    return [asdict(f) for f in findings]
