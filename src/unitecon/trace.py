"""Follow a number to its formula and from there down to cited inputs (or up to what depends on it).

Works on any .xlsx. On a unitecon workbook each node also carries its row name and unit from the
sheet's Name/Unit columns and, for an input, its source document and quote from the Inputs sheet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import UniteconError
from .graph import Graph, build_graph, split_ref
from .sheets import CUSTOMER_NAME_ROW, CUSTOMER_UNIT_ROW, CUSTOMERS, HEADER_ROW, INPUTS, NAME, UNIT
from .snapshot import Key, read_snapshot

_CELL = re.compile(r"^\$?[A-Za-z]{1,3}\$?[0-9]+$")
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
    seen: bool = False  # already shown higher up the tree

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("children", "seen") and v is not None}
        if self.seen:
            out["repeated"] = True
        if self.children:
            out["children"] = [c.as_dict() for c in self.children]
        return out


def _row_info(graph: Graph, key: Key) -> tuple[str | None, str | None, str | None, str | None]:
    """(row name, unit, source document, quote) read from a unitecon sheet's columns, when present."""
    sheet, cell = key
    row = int(re.sub(r"^[A-Z]+", "", cell))
    values = graph.snap.values

    def col(index: int) -> Any:
        return values.get((sheet, f"{chr(65 + index)}{row}"))

    if sheet == INPUTS and row > HEADER_ROW + 1:
        header = graph.snap.columns_by_header(INPUTS, HEADER_ROW + 1)

        def under(text: str) -> Any:
            return values.get((sheet, f"{header.get(text, '-')}{row}"))

        return col(1), under("Unit"), under("Source document"), under("Quote")
    if sheet in ROW_SHEETS or (values.get((sheet, f"A{HEADER_ROW + 1}")) == "Label"
                               and values.get((sheet, f"B{HEADER_ROW + 1}")) == "Name"):  # a peers company sheet
        return col(NAME), col(UNIT), None, None
    if sheet == CUSTOMERS and row > CUSTOMER_UNIT_ROW + 1:  # a column's name and unit sit above the customers
        letters = re.sub(r"[0-9]+$", "", cell)
        ledger = values.get((sheet, "A3")) if (sheet, cell) not in graph.snap.formulas else None
        return (values.get((sheet, f"{letters}{CUSTOMER_NAME_ROW + 1}")),
                values.get((sheet, f"{letters}{CUSTOMER_UNIT_ROW + 1}")), "customer ledger" if ledger else None,
                ledger)
    return None, None, None, None


def _node(graph: Graph, key: Key) -> Node:
    snap = graph.snap
    row_name, unit, source, quote = _row_info(graph, key)
    name = graph.name_of(key) or (row_name if isinstance(row_name, str) else None)
    formula = snap.formulas.get(key)
    value = snap.cached.get(key) if formula is not None else snap.values.get(key)
    return Node(key[0], key[1], name, formula, value, unit if isinstance(unit, str) else None,
                source if isinstance(source, str) else None, quote if isinstance(quote, str) else None)


def resolve_target(graph: Graph, target: str) -> Key:
    """The cell a TARGET names: a defined name, or ``Sheet!A1``."""
    snap = graph.snap
    by_upper = {n.upper(): dest for n, dest in snap.names.items()}
    if target.upper() in by_upper:
        sheet, ref = by_upper[target.upper()]
        if ":" in ref:
            raise UniteconError(f"{snap.path}: {target} names a range ({sheet}!{ref}); trace a single cell")
        return sheet, ref
    sheet, ref = split_ref(target, "")
    sheets = {s.upper(): s for s in {k[0] for k in (*snap.values, *snap.formulas)}}
    if not sheet or not _CELL.match(ref):
        raise UniteconError(f"{snap.path}: {target!r} is neither a defined name nor a cell like Summary!C7")
    if sheet.upper() not in sheets:
        raise UniteconError(f"{snap.path}: no sheet {sheet!r} (sheets: {', '.join(sorted(sheets.values()))})")
    return sheets[sheet.upper()], ref.replace("$", "").upper()


def trace(path: str, target: str, depth: int | None = None, dependents: bool = False) -> Node:
    """The precedent (or dependent) tree of ``target`` in the workbook at ``path``."""
    graph = build_graph(read_snapshot(path))
    root_key = resolve_target(graph, target)
    edges = graph.dependents if dependents else graph.precedents
    shown: set[Key] = set()

    def grow(key: Key, level: int) -> Node:
        node = _node(graph, key)
        if key in shown:
            node.seen = bool(edges.get(key))
            return node
        shown.add(key)
        if depth is None or level < depth:
            keys = [k for k in edges.get(key, [])
                    if k in graph.snap.formulas or k in graph.snap.values or not dependents]
            for run in _runs(keys):
                if len(run) <= RUN_SHOWN:
                    node.children += [grow(k, level + 1) for k in run]
                else:
                    node.children.append(_run_node(graph, run, grow(run[0], level + 1)))
        return node

    return grow(root_key, 0)


RUN_SHOWN = 3  # a longer run of cells down one column (a named customer column) is shown as one node


def _runs(keys: list[Key]) -> list[list[Key]]:
    """``keys`` split into runs of consecutive cells down one column, order kept."""
    out: list[list[Key]] = []
    for key in keys:
        if out:
            sheet, cell = out[-1][-1]
            letters, row = re.match(r"([A-Z]+)([0-9]+)", cell).groups()
            mine = re.match(r"([A-Z]+)([0-9]+)", key[1]).groups()
            if key[0] == sheet and mine[0] == letters and int(mine[1]) == int(row) + 1:
                out[-1].append(key)
                continue
        out.append([key])
    return out


def _run_node(graph: Graph, run: list[Key], first: Node) -> Node:
    """One node for a column of cells; its child is the first cell, traced as usual."""
    sheet = run[0][0]
    cells = f"{run[0][1]}:{run[-1][1]}"
    name = next((n for n, (s, ref) in graph.snap.names.items() if s == sheet and ref == cells), first.name)
    formulas = {graph.snap.formulas.get(k) is not None for k in run}
    what = f"{len(run):,} cells, the formula {first.formula} copied down" if formulas == {True} else (
        f"{len(run):,} cells of data")
    return Node(sheet, cells, name, what, f"{len(run):,} cells", None, children=[first])


def _fmt(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return "(blank)" if value is None else str(value)


def render_text(node: Node) -> str:
    """The tree as indented text, one node a line."""
    lines: list[str] = []

    def walk(n: Node, prefix: str, last: bool, top: bool) -> None:
        head = "" if top else prefix + ("└─ " if last else "├─ ")
        parts = [n.name or "", f"{n.sheet}!{n.cell}", n.formula or "input"]
        text = "  ".join(p for p in parts if p) + f"  = {_fmt(n.value)}" + (f" {n.unit}" if n.unit else "")
        if n.source:
            text += f"  [{n.source}: «{n.quote}»]"
        if n.seen:
            text += "  (see above)"
        lines.append(head + text)
        child_prefix = "" if top else prefix + ("   " if last else "│  ")
        for i, child in enumerate(n.children):
            walk(child, child_prefix, i == len(n.children) - 1, False)

    walk(node, "", True, True)
    return "\n".join(lines)
