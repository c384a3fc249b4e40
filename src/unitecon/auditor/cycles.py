"""Circular references, found run by run and followed cell by cell only where runs read each other.

Runs (one formula copied down a column, see :mod:`.graph`) that read each other in a circle are found
with Tarjan's strongly connected components, without recursion. Only the cells of such runs are then
linked cell by cell and sorted with :mod:`graphlib`: a running total reads its own run (the row above)
yet is no circle, and 25,000 customer rows that read other columns are never expanded.
"""

from __future__ import annotations

import graphlib
from dataclasses import dataclass

import numpy as np

from ..reading.snapshot import Key
from .graph import FormulaColumn, Graph, Run

MAX_CELL_LINKS = 5_000_000  # links between cells of runs that read each other, followed cell by cell


@dataclass
class Cycle:
    """A circular chain of formula cells (the first repeated at the end); ``certain`` is False when runs read
    each other but have too many links to follow cell by cell, and ``cells`` then holds each run's first."""

    cells: list[Key]
    certain: bool = True


def find_cycle(graph: Graph) -> Cycle | None:
    """One circular chain of formula cells, or None."""
    runs = list(graph.runs)
    by_sheet: dict[str, list[tuple[int, FormulaColumn]]] = {}
    for (sheet, col), column in graph.columns.items():
        by_sheet.setdefault(sheet, []).append((col, column))
    index = {id(run): i for i, run in enumerate(runs)}
    edges = [sorted({index[id(other)] for other in _runs_read(graph, by_sheet, run)}) for run in runs]
    for component in _strong_components(edges):
        if len(component) == 1 and (component[0] not in edges[component[0]] or _one_way(runs[component[0]])):
            continue
        cycle = _cell_cycle(graph, [runs[i] for i in component])
        if cycle:
            return cycle
    return None


def _runs_read(graph: Graph, by_sheet: dict[str, list[tuple[int, FormulaColumn]]], run: Run) -> list[Run]:
    """The runs holding a cell that some cell of ``run`` reads."""
    out = []
    for sheet, top, bottom, left, right in graph.precedent_areas(run.sheet, run.col, run.first, run.last):
        for col, column in by_sheet.get(sheet, ()):
            if not left <= col <= right:
                continue
            low, high = np.searchsorted(column.rows, top), np.searchsorted(column.rows, bottom, side="right")
            if low < high:
                first = int(np.searchsorted(column.starts, low, side="right")) - 1
                last = int(np.searchsorted(column.starts, high - 1, side="right")) - 1
                out += column.runs[first:last + 1]
    return out


def _one_way(run: Run) -> bool:
    """True when every cell of ``run`` reads only cells of its own run above it, or only below it: a running
    total, not a circle."""
    directions = set()
    for area in run.areas:
        if (area.sheet or run.sheet) != run.sheet:
            continue
        for row in (run.first, run.last):
            top, bottom, left, right = area.at(row, run.col)
            if not left <= run.col <= right or bottom < run.first or top > run.last:
                continue
            directions.add("up" if bottom < row else "down" if top > row else "itself")
    return len(directions) <= 1 and "itself" not in directions


def _cell_cycle(graph: Graph, runs: list[Run]) -> Cycle | None:
    """A circle among the cells of ``runs``, followed cell by cell (up to :data:`MAX_CELL_LINKS` links)."""
    cells = dict.fromkeys(key for run in sorted(runs, key=_position) for key in run.cells())  # a set would vary
    links: dict[Key, list[Key]] = {}
    total = 0
    for key in cells:
        links[key] = [p for p in graph.precedents(key) if p in cells]
        total += len(links[key])
        if total > MAX_CELL_LINKS:
            firsts = [next(run.cells()) for run in runs]
            return Cycle([*firsts, firsts[0]], certain=False)
    try:
        graphlib.TopologicalSorter(links).prepare()
    except graphlib.CycleError as exc:
        return Cycle(list(exc.args[1]))
    return None


def _strong_components(edges: list[list[int]]) -> list[list[int]]:
    """Tarjan's strongly connected components of a graph given as adjacency lists, iteratively."""
    index: list[int | None] = [None] * len(edges)
    low = [0] * len(edges)
    on_stack = [False] * len(edges)
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in range(len(edges)):
        if index[root] is not None:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack[node] = True
            if i < len(edges[node]):
                work.append((node, i + 1))
                nxt = edges[node][i]
                if index[nxt] is None:
                    work.append((nxt, 0))
                elif on_stack[nxt]:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == node:
                        break
                out.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out


def _position(run: Run) -> tuple[str, int, int]:
    return run.sheet, run.col, run.first
