"""Follow a number to its formula and from there down to cited inputs (or up to what depends on it).

Works on any .xlsx. On a unitecon workbook each node also carries its row name and unit from the
sheet's Name/Unit columns and, for an input, its source document and quote from the Inputs sheet.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple, get_column_letter

from ..errors import UniteconError
from ..geometry import CUSTOMER_NAME_ROW, CUSTOMER_UNIT_ROW, CUSTOMERS, HEADER_ROW, INPUTS, NAME, UNIT
from ..limits import EXCEL_COLUMNS, EXCEL_ROWS
from ..reading.snapshot import Key, Snapshot, read_snapshot
from .graph import MAX_RANGE_CELLS, Graph, build_graph, split_ref

ROW_SHEETS = ("Calculations", "Checks", "Summary")


@dataclass
class Node:
    sheet: str
    cell: str
    name: str | None
    formula: str | None
    value: Any
    unit: str | None
    source: str | None = None
    quote: str | None = None
    children: list[Node] = field(default_factory=list)
    seen: bool = False  # already shown elsewhere in the tree
    empty: bool = False  # a cell holding nothing (a formula reads it, or it is the target of --dependents)
    more: int = 0  # cells below this node left out to keep the output short (--limit)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items()
               if k not in ("children", "seen", "empty", "more") and v is not None}
        if self.seen:
            out["repeated"] = True
        if self.empty:
            out["empty"] = True
        if self.more:
            out["more"] = self.more
        if self.children:
            out["children"] = [c.as_dict() for c in self.children]
        return out


def _formula(snap: Snapshot, key: Key) -> str | None:
    """The formula text at ``key``; None where the cell holds none."""
    cells = snap.cells.get(key[0])
    return cells.formula(*coordinate_to_tuple(key[1])) if cells is not None else None


def _constant(snap: Snapshot, key: Key) -> Any:
    """The value at ``key`` when it holds no formula; None otherwise."""
    return None if _formula(snap, key) is not None else snap.value(*key)


def _row_info(graph: Graph, key: Key) -> tuple[str | None, str | None, str | None, str | None]:
    """(row name, unit, source document, quote) read from a unitecon sheet's columns, when present."""
    sheet, cell = key
    row = int(re.sub(r"^[A-Z]+", "", cell))
    snap = graph.snap

    def get(at: Key) -> Any:
        return _constant(snap, at)

    def col(index: int) -> Any:
        return get((sheet, f"{chr(65 + index)}{row}"))

    if sheet == INPUTS and row > HEADER_ROW + 1:
        header = snap.columns_by_header(INPUTS, HEADER_ROW + 1)

        def under(text: str) -> Any:
            return get((sheet, f"{header[text]}{row}")) if text in header else None

        return col(1), under("Unit"), under("Source document"), under("Quote")
    if sheet in ROW_SHEETS or (get((sheet, f"A{HEADER_ROW + 1}")) == "Label"
                               and get((sheet, f"B{HEADER_ROW + 1}")) == "Name"):  # a peers company sheet
        return col(NAME), col(UNIT), None, None
    if sheet == CUSTOMERS and row > CUSTOMER_UNIT_ROW + 1:  # a column's name and unit sit above the customers
        letters = re.sub(r"[0-9]+$", "", cell)
        ledger = get((sheet, "A3")) if _formula(snap, key) is None else None
        return (get((sheet, f"{letters}{CUSTOMER_NAME_ROW + 1}")),
                get((sheet, f"{letters}{CUSTOMER_UNIT_ROW + 1}")), "customer ledger" if ledger else None,
                ledger)
    return None, None, None, None


def _node(graph: Graph, key: Key) -> Node:
    snap = graph.snap
    row_name, unit, source, quote = _row_info(graph, key)
    name = graph.name_of(key) or (row_name if isinstance(row_name, str) else None)
    formula = _formula(snap, key)
    value = snap.value(*key)
    return Node(key[0], key[1], name, formula, value, unit if isinstance(unit, str) else None,
                source if isinstance(source, str) else None, quote if isinstance(quote, str) else None,
                empty=formula is None and value is None)


_A1 = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


def _nearest(word: str, choices: list[str], what: str) -> str:
    """"; nearest {what}: a, b" for the closest of ``choices`` to ``word`` (case-insensitive), or ""."""
    by_upper = {c.upper(): c for c in choices}
    close = difflib.get_close_matches(word.upper(), list(by_upper), n=3, cutoff=0.6)
    return f"; nearest {what}: {', '.join(by_upper[c] for c in close)}" if close else ""


def _listed(items: list[str], shown: int = 10) -> str:
    """``items`` joined, the first ``shown`` of them, then how many more."""
    more = f" … and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def _name_columns(snap: Snapshot):
    """(sheet, its cells, its name column) of each of a unitecon workbook's row sheets the file has."""
    for sheet in (s for s in ROW_SHEETS if s in snap.cells):
        cells = snap.cells[sheet]
        yield sheet, cells, cells.grid[:, NAME + 1] if cells.grid.shape[1] > NAME + 1 else []


def _row_names(snap: Snapshot) -> list[str]:
    """The names in the name column of a unitecon workbook's row sheets."""
    return [text for _sheet, _cells, column in _name_columns(snap) for text in column if isinstance(text, str)]


def _named_row(snap: Snapshot, name: str) -> Key | None:
    """In a unitecon workbook, the row whose name column holds ``name`` (a metric without a defined name): its
    last formula cell, the latest period's. None when no row sheet names it (or the file is no such book)."""
    for sheet, cells, column in _name_columns(snap):
        for row in (r for r, text in enumerate(column) if isinstance(text, str) and text == name):
            if cells.formula(row, NAME + 1) is not None:
                continue  # a name column holds text; a formula there is not a row's name
            in_row = [col for col, (rows, _texts) in cells.formulas.items()
                      if col > NAME + 1 and bool((rows == row).any())]
            if in_row:
                return sheet, f"{get_column_letter(max(in_row))}{row}"
    return None


def resolve_target(graph: Graph, target: str) -> Key:
    """The cell a TARGET names: a defined name, or ``Sheet!A1``; one line naming the nearest names if neither."""
    snap = graph.snap
    shown = f"{target[:60]!r}" + ("…" if len(target) > 60 else "")
    by_upper = {n.upper(): dest for n, dest in snap.names.items()}
    if target.upper() in by_upper:
        return _single(snap, target, *by_upper[target.upper()])
    local = {sheet: names[hit] for sheet, names in snap.local_names.items()
             for hit in [n for n in names if n.upper() == target.split("!")[-1].upper()]}
    if "!" not in target and len(local) == 1:  # a name only one sheet defines, for itself
        return _single(snap, target, *next(iter(local.values())))
    if "!" in target and split_ref(target, "")[0].upper() in {s.upper() for s in local}:
        sheet = next(s for s in local if s.upper() == split_ref(target, "")[0].upper())
        return _single(snap, target, *local[sheet])
    constant = next((n for n in snap.formula_names if n.upper() == target.upper()), None)
    if constant is not None:
        raise UniteconError(f"{snap.path}: {constant} is a name defined as {snap.formula_names[constant][:60]}, "
                            "not a cell; trace a cell whose formula uses it, or add --dependents to a cell it reads")
    row_cell = _named_row(snap, target) if "!" not in target else None
    if row_cell is not None:
        return row_cell
    if "!" not in target:
        a1 = target.replace("$", "").upper()
        holding = next((s for s in snap.sheets if _A1.match(target) and _holds(snap, (s, a1))),
                       snap.sheets[0] if snap.sheets else "Summary")
        hint = f"; give its sheet, e.g. {holding}!{a1}" if _A1.match(target) else \
            _nearest(target, [*snap.names, *_row_names(snap)], "names")
        raise UniteconError(f"{snap.path}: {shown} is neither a defined name nor a cell like Summary!C7{hint}")
    sheet, ref = split_ref(target, "")
    sheets = {s.upper(): s for s in snap.sheets}
    if sheet.upper() not in sheets:
        raise UniteconError(f"{snap.path}: no sheet {sheet[:40]!r}{_nearest(sheet, snap.sheets, 'sheet')} "
                            f"(sheets: {_listed(snap.sheets)})")
    sheet = sheets[sheet.upper()]
    if ":" in ref and all(_A1.match(part) for part in ref.split(":")):
        raise UniteconError(f"{snap.path}: {shown} is a range; trace one cell, e.g. {sheet}!{ref.split(':')[0]}")
    cell = _A1.match(ref)
    if cell is None or not (1 <= int(cell[2]) <= EXCEL_ROWS) or \
            not (1 <= column_index_from_string(cell[1].upper()) <= EXCEL_COLUMNS):
        raise UniteconError(f"{snap.path}: {shown} is not a cell reference (a column A to XFD, then a row 1 to "
                            f"1048576), nor a defined name; expected e.g. {sheet}!C7")
    return sheet, f"{cell[1].upper()}{int(cell[2])}"


def _single(snap: Snapshot, target: str, sheet: str, ref: str) -> Key:
    """The cell a name points at; one line if it names a range."""
    if ":" in ref:
        raise UniteconError(f"{snap.path}: {target} names a range ({sheet}!{ref}); trace a single cell")
    return sheet, ref


def _empty_target(graph: Graph, key: Key) -> UniteconError:
    """One line: the target cell holds nothing, inside or outside its sheet's used range."""
    sheet, cell = key
    cells = graph.snap.cells.get(sheet)
    height, width = (cells.grid.shape[0] - 1, cells.grid.shape[1] - 1) if cells is not None else (0, 0)
    if height < 1 or width < 1:
        where = f"sheet {sheet!r} is empty"
    else:
        row, col = coordinate_to_tuple(cell)
        inside = "inside" if row <= height and col <= width else "outside"
        where = f"{inside} the sheet's used range {sheet}!A1:{get_column_letter(width)}{height}"
    readers = len(graph.dependents(key))
    tail = f"; {readers:,} formula cell(s) read it: add --dependents to see them" if readers else \
        ", and no formula reads it"
    return UniteconError(f"{graph.snap.path}: {sheet}!{cell} is empty ({where}): no formula or value to trace{tail}")


def trace(path: str, target: str, depth: int | None = None, dependents: bool = False,
          limit: int | None = None) -> Node:
    """The precedent (or dependent) tree of ``target`` in the workbook at ``path``.

    The tree is grown breadth first with an explicit queue, so a chain of 100,000 cells (a running total)
    cannot exhaust the stack. A run of cells down a column or along a row is one node; beyond ``limit``
    nodes (None or 0: no limit) a node counts the cells left out in ``more`` instead of showing them.
    """
    graph = build_graph(read_snapshot(path))
    root_key = resolve_target(graph, target)
    edges = _Edges(graph.dependents if dependents else graph.precedents)
    if not _holds(graph.snap, root_key) and not (dependents and edges(root_key)):
        raise _empty_target(graph, root_key)
    root = _node(graph, root_key)
    shown: set[Key] = {root_key}
    queue: deque[tuple[Node, list[Key], int]] = deque([(root, [root_key], 0)])
    used = 1
    while queue:
        node, keys, level = queue.popleft()
        if depth is not None and level >= depth:
            continue
        groups = _groups(*_children(graph, edges, keys, dependents), graph, keys, edges)
        for i, group in enumerate(groups):
            if limit and used >= limit:
                node.more = sum(len(g) for g in groups[i:])
                break
            used += 1
            if all(k in shown for k in group):
                child = _node(graph, group[0]) if len(group) == 1 else _run_node(graph, group)
                child.seen = any(edges(k) for k in group)
                node.children.append(child)
                continue
            shown.update(group)
            if len(group) == 1:
                child = _node(graph, group[0])
                queue.append((child, group, level + 1))
            else:  # a run of one copied formula (or of data): what any of its cells reads or is read by
                child = _run_node(graph, group)
                queue.append((child, group, level + 1))
            node.children.append(child)
    return root


class _Edges:
    """A graph's precedents or dependents of a cell, each cell's worked out once."""

    def __init__(self, find: Callable[[Key], list[Key]]):
        self.find = find
        self.known: dict[Key, list[Key]] = {}

    def __call__(self, key: Key) -> list[Key]:
        if key not in self.known:
            self.known[key] = self.find(key)
        return self.known[key]


def _holds(snap: Snapshot, key: Key) -> bool:
    """True when the cell at ``key`` holds a formula or a value."""
    return _formula(snap, key) is not None or snap.value(*key) is not None


Lines = list[list[Key]]  # runs of neighbouring cells down a column


def _children(graph: Graph, edges: _Edges, keys: list[Key], dependents: bool) -> tuple[list[Key], Lines | None]:
    """The cells ``keys`` point at along ``edges``, in order, without ``keys`` themselves. For a run of
    cells down a column, found for the whole run at once (what any of its cells reads, or what reads any
    of them), as lines down columns."""
    own = set(keys)
    (sheet, first, col), (last_sheet, last, last_col) = _split(keys[0]), _split(keys[-1])
    if len(keys) > 1 and (sheet, col) == (last_sheet, last_col) and last - first == len(keys) - 1:
        if dependents:  # blocks of distinct runs: no cell twice
            lines = []
            for s, c, low, high in graph.dependent_blocks(sheet, col, first, last):
                letter = get_column_letter(c)
                spans = _outside((s, c), low, high, (sheet, col), first, last)
                lines += [[(s, f"{letter}{r}") for r in range(a, b + 1)] for a, b in spans]
            return [k for line in lines for k in line], lines
        found: dict[Key, None] = {}  # each cell once (a run's areas may overlap), in the order they name them
        for s, top, bottom, left, right in graph.precedent_areas(sheet, col, first, last):
            if (bottom - top + 1) * (right - left + 1) > MAX_RANGE_CELLS or top < 1 or left < 1:
                continue
            for c in range(left, right + 1):
                letter = get_column_letter(c)
                for a, b in _outside((s, c), top, bottom, (sheet, col), first, last):
                    found.update(((s, f"{letter}{r}"), None) for r in range(a, b + 1))
        return list(found), None
    found = dict.fromkeys(k for key in keys for k in edges(key))
    return [k for k in found if k not in own], None


def _outside(column: tuple[str, int], low: int, high: int, own: tuple[str, int], first: int,
             last: int) -> list[tuple[int, int]]:
    """Rows ``low`` to ``high`` of ``column`` less rows ``first`` to ``last`` of column ``own`` (the run
    whose neighbours are found), as stretches that are not empty."""
    spans = [(low, high)] if column != own else [(low, min(high, first - 1)), (max(low, last + 1), high)]
    return [(a, b) for a, b in spans if a <= b]


RUN_SHOWN = 3  # a longer run of cells down a column or along a row (a named customer column) is one node


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _split(key: Key) -> tuple[str, int, int]:
    """(sheet, row, column) of a key such as ("Customers", "G9"): a trace splits every cell it meets."""
    digits = key[1].lstrip(_LETTERS)
    return key[0], int(digits), _column(key[1][:len(key[1]) - len(digits)])


@functools.cache
def _column(letters: str) -> int:
    return column_index_from_string(letters)


def _groups(keys: list[Key], lines: Lines | None, graph: Graph, parents: list[Key], edges: _Edges) -> Lines:
    """``keys`` as runs down a column or along a row (longer than RUN_SHOWN) and single cells, ordered by
    where their first cell comes in ``keys``. A running total beside its one parent is one run. ``lines``:
    ``keys`` already cut into runs down columns, if known."""
    if len(parents) == 1:
        keys = _with_chain(keys, graph, parents[0], edges)
        lines = None
    position = {k: i for i, k in enumerate(keys)}
    runs: list[list[Key]] = []
    singles: list[Key] = []
    for line in (part for whole in (lines if lines is not None else _lines(keys, by_column=True))
                 for part in _same_formula(whole, graph)):
        if len(line) > RUN_SHOWN:
            runs.append(line)
        else:
            singles += line
    for line in (part for whole in _lines(singles, by_column=False) for part in _same_formula(whole, graph)):
        runs += [line] if len(line) > RUN_SHOWN else [[k] for k in line]
    return sorted(runs, key=lambda group: min(position[k] for k in group))


def _same_formula(line: list[Key], graph: Graph) -> Lines:
    """``line`` cut where the formula changes: a node for several cells stands for one copied formula (or
    for data), never for different formulas side by side."""
    if len(line) <= RUN_SHOWN:
        return [line]
    (sheet, first, col), (_, last, last_col) = _split(line[0]), _split(line[-1])
    if col == last_col and last - first == len(line) - 1:  # down a column: the column's patterns at once
        cuts = np.flatnonzero(np.diff(graph.patterns_down(sheet, col, first, last))) + 1
        return [line[i:j] for i, j in zip([0, *cuts.tolist()], [*cuts.tolist(), len(line)], strict=True)]
    out: Lines = []
    last: object = ()
    for key in line:
        pattern = graph.pattern_of(key)
        if pattern == last:
            out[-1].append(key)
        else:
            out.append([key])
        last = pattern
    return out


def _lines(keys: list[Key], by_column: bool) -> list[list[Key]]:
    """``keys`` cut into runs of neighbouring cells down one column (or along one row), each in order."""
    along = sorted(((*_split(k), k) for k in keys),
                   key=lambda item: (item[0], item[2], item[1]) if by_column else item[:3])
    out: list[list[Key]] = []
    last: tuple[str, int, int] | None = None
    for sheet, row, col, key in along:
        follows = (sheet, row - 1, col) if by_column else (sheet, row, col - 1)
        if follows == last:
            out[-1].append(key)
        else:
            out.append([key])
        last = (sheet, row, col)
    return out


def _with_chain(keys: list[Key], graph: Graph, parent: Key, edges: _Edges) -> list[Key]:
    """``keys`` with the rest of a running total added: from a cell next to ``parent`` down its column with
    the same copied formula, on along the column while each next cell is the last one's neighbour in ``edges``
    with that formula."""
    pattern = graph.pattern_of(parent)
    if pattern is None:
        return keys
    sheet, row, col = _split(parent)
    letter = get_column_letter(col)
    out = list(keys)
    present = set(keys)
    for step in (-1, 1):
        at = row + step
        if (sheet, f"{letter}{at}") not in present or graph.pattern_of((sheet, f"{letter}{at}")) != pattern:
            continue
        run = graph.run_at(parent)
        moving = run is not None and all(not a.top[0] and not a.bottom[0] for a in run.areas)
        while True:
            here, there = (sheet, f"{letter}{at}"), (sheet, f"{letter}{at + step}")
            if at + step < 1 or graph.pattern_of(there) != pattern or there not in edges(here):
                break
            if moving:  # every reference moves with the row: each next cell of the run links as this one did
                end = run.last if step > 0 else run.first
                rest = [(sheet, f"{letter}{r}") for r in range(at + step, end + step, step)]
                out += [k for k in rest if k not in present]
                present.update(rest)
                break
            if there not in present:
                out.append(there)
                present.add(there)
            at += step
    return out


def _run_node(graph: Graph, run: list[Key]) -> Node:
    """One node for a run of cells: one copied formula, or data."""
    sheet = run[0][0]
    cells = f"{run[0][1]}:{run[-1][1]}"
    sample = _node(graph, run[0])
    name = next((n for n, (s, ref) in graph.snap.names.items() if s == sheet and ref == cells), None)
    if name is None:  # rows of different metrics on one sheet (or one customer column): name both ends
        last = _node(graph, run[-1]).name
        name = f"{sample.name} … {last}" if sample.name and last and last != sample.name else sample.name
    (_, top, col), (_, bottom, last_col) = _split(run[0]), _split(run[-1])
    if col == last_col:  # a run down a column: counted from the column's formula rows
        formulas = graph.formula_rows(sheet, col, top, bottom)
    else:
        formulas = sum(_formula(graph.snap, k) is not None for k in run)
    what = (f"{len(run):,} cells, the formula {sample.formula} copied" if formulas == len(run) else
            f"{len(run):,} cells of data" if formulas == 0 else f"{len(run):,} cells, some formulas")
    return Node(sheet, cells, name, what, f"{len(run):,} cells", None)


def _fmt(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return "(blank)" if value is None else str(value)


def _cells(n: int) -> str:
    return "cell" if n == 1 else "cells"


def render_text(node: Node) -> str:
    """The tree as indented text, one node a line (walked with an explicit stack: any depth)."""
    lines: list[str] = []
    stack: list[tuple[Node | int, str, bool, bool]] = [(node, "", True, True)]
    while stack:
        n, prefix, last, top = stack.pop()
        head = "" if top else prefix + ("└─ " if last else "├─ ")
        if isinstance(n, int):  # the cells a node's children leave out
            lines.append(f"{head}… and {n:,} more {_cells(n)} (use --limit 0 for all)")
            continue
        parts = [n.name or "", f"{n.sheet}!{n.cell}", n.formula or ("empty" if n.empty else "input")]
        text = "  ".join(p for p in parts if p)
        if not n.empty:
            text += f"  = {_fmt(n.value)}" + (f" {n.unit}" if n.unit else "")
        if n.source:
            text += f"  [{n.source}: «{n.quote}»]"
        if n.seen:
            text += "  (repeated: followed where it first appears)"
        if n.more and not n.children:
            text += f"  (… {n.more:,} more {_cells(n.more)} below; use --limit 0 for all)"
        lines.append(head + text)
        child_prefix = "" if top else prefix + ("   " if last else "│  ")
        below: list[Node | int] = [*n.children, n.more] if n.more and n.children else list(n.children)
        stack += [(child, child_prefix, i == len(below) - 1, False) for i, child in reversed(list(enumerate(below)))]
    return "\n".join(lines)
