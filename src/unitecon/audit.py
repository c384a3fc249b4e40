"""Find the classic spreadsheet errors in any workbook: one finding per problem, with its location.

Kinds: hard-coded numbers in formulas (unit constants allowed), a formula breaking its row's pattern,
a build formula overtyped with a constant (against the Fingerprint sheet), inputs without a source,
error values, circular references, whole-column/row references, volatile functions, and defined names
that point to nothing.
"""

from __future__ import annotations

import graphlib
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass

from openpyxl.formula.tokenizer import Tokenizer
from openpyxl.utils.cell import coordinate_to_tuple, get_column_letter, range_boundaries

from .expr import UNIT_CONSTANTS
from .graph import build_graph
from .sheets import HEADER_ROW, INPUTS
from .snapshot import read_snapshot

ERRORS = ("#DIV/0!", "#REF!", "#NAME?", "#VALUE!", "#N/A", "#NUM!", "#NULL!")
VOLATILE = ("OFFSET", "INDIRECT", "NOW", "TODAY", "RAND", "RANDBETWEEN", "CELL", "INFO")


@dataclass(frozen=True)
class Finding:
    kind: str
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.kind}: {self.message}"


def _blocks(cells: list[tuple[int, str, tuple[str, str]]]) -> list[list[tuple[int, str, tuple[str, str]]]]:
    """A row's (or column's) formula cells split where a gap separates them: a grid's row labels and the grid
    beside them, set apart by an empty column, are two blocks with a pattern each."""
    out: list[list[tuple[int, str, tuple[str, str]]]] = []
    for cell in sorted(cells, key=lambda c: c[0]):
        if out and cell[0] == out[-1][-1][0] + 1:
            out[-1].append(cell)
        else:
            out.append([cell])
    return out


def audit(path: str) -> list[Finding]:
    """Every finding in the workbook at ``path``, sorted by kind and location."""
    snap = read_snapshot(path)
    graph = build_graph(snap)
    found: list[Finding] = []

    def add(kind: str, key: tuple[str, str], message: str) -> None:
        found.append(Finding(kind, f"{key[0]}!{key[1]}", message))

    rows: dict[tuple[str, int], list[tuple[int, str, tuple[str, str]]]] = defaultdict(list)
    columns: dict[tuple[str, int], list[tuple[int, str, tuple[str, str]]]] = defaultdict(list)
    by_pattern: dict[str, list[tuple[str, str]]] = {}  # a formula copied down a column is tokenized once
    for key, formula in snap.formulas.items():
        row, col = coordinate_to_tuple(key[1])
        pattern = snap.patterns[key]
        if pattern not in by_pattern:
            by_pattern[pattern] = _token_findings(formula)
        for kind, message in by_pattern[pattern]:
            if kind == "unparsable formula":
                add(kind, key, formula)
            else:
                add(kind, key, message.replace("{formula}", formula))
        if by_pattern[pattern] and by_pattern[pattern][0][0] == "unparsable formula":
            continue
        rows[(key[0], row)].append((col, pattern, key))
        columns[(key[0], col)].append((row, pattern, key))
        cached = snap.cached.get(key)
        if isinstance(cached, str) and cached in ERRORS:
            add("error value", key, f"{formula} evaluates to {cached}")
    for key, tokens in graph.whole_references.items():
        add("whole-column reference", key, f"{', '.join(tokens)} in {snap.formulas[key]}: slow and fragile; "
                                           "reference the rows in use")
    for key, tokens in graph.unknown_names.items():
        add("unknown name", key, f"{', '.join(tokens)} is not a defined name (#NAME? in Excel)")
    for key, value in snap.values.items():
        if isinstance(value, str) and value in ERRORS:
            add("error value", key, f"cell holds {value}")

    flagged: set[tuple[str, str]] = set()
    for what, lines in (("row", rows.values()), ("column", columns.values())):
        for cells in (block for line in lines for block in _blocks(line)):
            if len(cells) < 3:
                continue
            counts = Counter(r1c1 for _, r1c1, _ in cells)
            pattern, n = counts.most_common(1)[0]
            if n < 2 or n <= len(cells) / 2 or (what == "column" and n < 10):
                continue  # no pattern to break (input links: one name per period; a column of distinct rows)
            for _, r1c1, key in cells:
                if r1c1 != pattern and key not in flagged:
                    flagged.add(key)
                    add("inconsistent formula", key, f"{snap.formulas[key]} breaks its {what}'s pattern "
                                                     f"(={pattern[1:]} in {n} of {len(cells)} cells)")

    for sheet, cells, _ in snap.written_formulas:
        min_col, min_row, max_col, max_row = range_boundaries(cells)
        for row in range(min_row, max_row + 1):
            for col in range(min_col, max_col + 1):
                key = (sheet, f"{get_column_letter(col)}{row}")
                if key not in snap.formulas and key in snap.values:
                    add("overtyped formula", key, f"the build wrote a formula here; it now holds the constant "
                                                  f"{snap.values[key]!r}")

    if INPUTS in snap.sheets:
        columns = snap.columns_by_header(INPUTS, HEADER_ROW + 1)
        document_col, quote_col = columns.get("Source document"), columns.get("Quote")
        for name, (sheet, cell) in sorted(snap.names.items()):
            value = snap.values.get((sheet, cell))
            if sheet != INPUTS or (sheet, cell) in snap.formulas or not isinstance(value, int | float):
                continue  # an input is a number typed on the Inputs sheet (not the scenario selector's text)
            row = coordinate_to_tuple(cell)[0]
            document = snap.values.get((INPUTS, f"{document_col}{row}")) if document_col else None
            quote = snap.values.get((INPUTS, f"{quote_col}{row}")) if quote_col else None
            if not document or not quote:
                add("input without source", (sheet, cell), f"{name} has no source document and quote")

    for name, refers in sorted(snap.broken_names.items()):
        found.append(Finding("broken name", name, f"refers to {refers}, which does not exist"))

    try:
        graphlib.TopologicalSorter({k: [p for p in v if p in snap.formulas]
                                    for k, v in graph.precedents.items()}).prepare()
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        found.append(Finding("circular reference", f"{cycle[0][0]}!{cycle[0][1]}",
                             " -> ".join(f"{s}!{c}" for s, c in cycle)))
    return sorted(found, key=lambda f: (f.kind, f.location))


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
        if tok.type == "OPERAND" and tok.subtype == "ERROR":
            out.append(("error value", f"{tok.value} written into the formula {{formula}}"))
    return out


def as_json(findings: list[Finding]) -> list[dict[str, str]]:
    return [asdict(f) for f in findings]
