"""The precedent / dependent graph of a workbook, read from its formula text.

References are found with openpyxl's tokenizer; defined names are followed to the cells they name;
ranges are expanded to their cells. Whole-column or whole-row references are kept as findings, not
expanded (they would cover a million cells).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from openpyxl.formula.tokenizer import Tokenizer
from openpyxl.utils.cell import coordinate_to_tuple, get_column_letter, range_boundaries

from .r1c1 import Axis, cell_axes, reference_at, reference_r1c1
from .snapshot import Key, Snapshot

_CELL_OR_RANGE = re.compile(r"^\$?[A-Za-z]{1,3}\$?[0-9]+(:\$?[A-Za-z]{1,3}\$?[0-9]+)?$")
_WHOLE = re.compile(r"^(\$?[A-Za-z]{1,3}:\$?[A-Za-z]{1,3}|\$?[0-9]+:\$?[0-9]+)$")
MAX_RANGE_CELLS = 2_000_000


@dataclass
class Graph:
    snap: Snapshot
    precedents: dict[Key, list[Key]] = field(default_factory=dict)
    dependents: dict[Key, list[Key]] = field(default_factory=dict)
    whole_references: dict[Key, list[str]] = field(default_factory=dict)
    unknown_names: dict[Key, list[str]] = field(default_factory=dict)
    names_by_cell: dict[Key, str] = field(default_factory=dict)

    def name_of(self, key: Key) -> str | None:
        """The defined name of a single cell, if one points at it."""
        return self.names_by_cell.get(key)


def expand(sheet: str, ref: str) -> list[Key]:
    """The cells of ``ref`` (``A1`` or ``A1:C3``) on ``sheet``."""
    min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
    if (max_col - min_col + 1) * (max_row - min_row + 1) > MAX_RANGE_CELLS:
        return []
    return [(sheet, f"{get_column_letter(c)}{r}") for r in range(min_row, max_row + 1)
            for c in range(min_col, max_col + 1)]


def split_ref(token: str, host_sheet: str) -> tuple[str, str]:
    """(sheet, ref) of a reference token such as ``'My Sheet'!$A$1:B2`` written on ``host_sheet``."""
    if "!" in token:
        sheet, ref = token.rsplit("!", 1)
        return sheet.strip("'").replace("''", "'"), ref
    return host_sheet, token


def references(formula: str) -> list[str]:
    """The reference and name tokens of ``formula``, as written."""
    try:
        tokens = Tokenizer(formula).items
    except Exception:
        return []
    return [t.value for t in tokens if t.type == "OPERAND" and t.subtype == "RANGE"]


_Mover = tuple[str | None, Axis, Axis]  # sheet (None: the host's), row axis, column axis


def _mover(r1c1: str) -> _Mover | None:
    """A single-cell reference in R1C1 form as (sheet, row axis, column axis); None for a range or a name."""
    _, sep, body = r1c1.rpartition("!")
    axes = cell_axes(body)
    return None if axes is None else ((split_ref(r1c1, "")[0] if sep else None), *axes)


def build_graph(snap: Snapshot) -> Graph:
    """Direct precedents and dependents of every formula cell.

    A formula copied down a column is tokenized once: its references are kept in R1C1 form and moved
    to each cell of the copy.
    """
    graph = Graph(snap)
    names = {n.upper(): dest for n, dest in snap.names.items()}
    constants = {n.upper() for n in snap.formula_names}
    for name, (sheet, ref) in sorted(snap.names.items()):
        if ":" not in ref:
            graph.names_by_cell.setdefault((sheet, ref), name)
    moved: dict[str, list[tuple[str, _Mover | None]]] = {}
    for key, formula in snap.formulas.items():
        row, col = coordinate_to_tuple(key[1])
        pattern = snap.patterns[key]
        found: list[Key] = []
        if pattern in moved:
            tokens = []
            for r1c1, mover in moved[pattern]:
                if mover is None:
                    tokens.append(reference_at(r1c1, row, col))
                else:  # one cell: moved by arithmetic, no text round trip
                    sheet, (row_abs, r), (col_abs, c) = mover
                    found.append((sheet or key[0], f"{get_column_letter(c if col_abs else col + c)}"
                                                   f"{r if row_abs else row + r}"))
        else:
            tokens = references(formula)
            moved[pattern] = [(t, _mover(t)) for t in (reference_r1c1(t, row, col) for t in tokens)]
        for token in tokens:
            sheet, ref = split_ref(token, key[0])
            if _WHOLE.match(ref):
                graph.whole_references.setdefault(key, []).append(token)
            elif _CELL_OR_RANGE.match(ref):
                found += expand(sheet, ref)
            elif token.upper() in names:
                found += expand(*names[token.upper()])
            elif token.upper() not in constants:  # a name defined as a constant or formula reads no cell here
                graph.unknown_names.setdefault(key, []).append(token)
        graph.precedents[key] = list(dict.fromkeys(found))
        for p in graph.precedents[key]:
            graph.dependents.setdefault(p, []).append(key)
    return graph

