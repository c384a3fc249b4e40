"""Recompute a workbook from its own formula text with the ``formulas`` engine (Python).

``formulas`` parses each formula into a compiled Python function once per distinct formula text; cells
are then evaluated in dependency order. Nothing of unitecon's model is used: what is computed is the file
as written (or as a person edited and saved it). The tests' independent recomputation, ``verify
--engine formulas`` and ``diff``'s bridges all come from :func:`recompute`.

Which runs of one formula there are and in what order they are computed is
:mod:`unitecon.auditor.recompute_plan`; a planned run is computed on whole columns by
:mod:`unitecon.auditor.recompute_columns`; anything else cell by cell here (:func:`_evaluate_cells`).
Comparing the result with other values is :mod:`unitecon.auditor.comparing`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from openpyxl.utils.cell import coordinate_to_tuple, get_column_letter

from ..reading.snapshot import Snapshot, read_snapshot
from .recompute_columns import Cells, evaluate_planned, plain
from .recompute_plan import (
    Group,
    Key,
    Owners,
    Ref,
    acyclic_prefix,
    cell_precedents,
    cells_within,
    column_runs,
    compiled,
    plan_refs,
    resolve,
)
from .recomputed_workbook import Recomputed


def recompute(source: str | Path | Snapshot, overrides: dict[tuple[str, str], Any] | None = None) -> Recomputed:
    """Recompute every formula cell of a workbook (a path, or a snapshot already read).

    ``overrides`` replaces constant cells first, e.g. ``{("Inputs", "C12"): 2.0}``: the liveness check.
    """
    snap = source if isinstance(source, Snapshot) else read_snapshot(source)
    up = str.upper
    names = {up(name): (up(sheet), ref.upper()) for name, (sheet, ref) in snap.names.items()}
    rec = Recomputed(snap, {up(s): s for s in snap.sheets}, names, properties=dict(snap.properties))
    rec.grids = {up(s): cells.grid.copy() for s, cells in snap.cells.items()}
    for (sheet, a1), value in (overrides or {}).items():
        upper, ref = rec.key(sheet, a1)
        row, col = coordinate_to_tuple(ref)
        grid = rec.grids[upper]
        if row >= grid.shape[0] or col >= grid.shape[1]:
            grid = rec.grids[upper] = _grown(grid, row, col)
        grid[row, col] = value
    _evaluate(rec, names)
    return rec


def _grown(grid: np.ndarray, row: int, col: int) -> np.ndarray:
    out = np.full((max(grid.shape[0], row + 1), max(grid.shape[1], col + 1)), None, dtype=object)
    out[: grid.shape[0], : grid.shape[1]] = grid
    return out


def _evaluate(rec: Recomputed, names: dict[str, Key]) -> None:
    """Evaluate every formula cell: each column run of one R1C1 formula is compiled once and, where its
    inputs allow, evaluated for all its rows in one call on numpy columns."""
    groups = column_runs(rec)
    owners = Owners({gkey: rows for gkey, (rows, _) in groups.items()})
    get = Cells(rec.grids)

    plans: dict[Group, tuple[Any, list[Ref] | None]] = {}
    planned: dict[tuple[str, str], tuple[Any, list[Ref]]] = {}  # (sheet, R1C1) -> a plan any column can use
    graph: dict[Group, set] = {}
    recursive: set[Group] = set()
    for gkey, (rows, texts) in groups.items():
        sheet, col, r1c1 = gkey
        fn, refs = planned.get((sheet, r1c1), (None, None))
        for i in range(min(3, len(rows))) if fn is None else ():  # the first row whose references are distinct
            try:
                fn = compiled(texts[i])
                refs = plan_refs(fn, texts[i], sheet, int(rows[i]), col, names)
            except Exception:
                fn, refs = None, None
                break
            if refs is not None:
                planned[(sheet, r1c1)] = (fn, refs)  # offsets and fixed cells: the same in every column
                break
        if refs is None:
            deps = owners.of_cells(cell_precedents(rec, sheet, texts, names))
        else:
            deps = owners.of_refs(col, rows, refs)
        if gkey in deps:  # the run refers to itself: a running total
            recursive.add(gkey)
            deps.discard(gkey)
        plans[gkey] = (fn, refs)
        graph[gkey] = deps
    order = acyclic_prefix(graph)
    for gkey in order:
        sheet, col, _ = gkey
        fn, refs = plans[gkey]
        rows, texts = groups[gkey]
        try:
            if refs is None or not evaluate_planned(rec, gkey, rows, texts, fn, refs, gkey in recursive, get):
                _evaluate_cells(rec, [(sheet, col, rows, texts)], names, get)
        except Exception:  # formulas cannot compute the run as one: cell by cell, each failure its own
            _evaluate_cells(rec, [(sheet, col, rows, texts)], names, get)
    on_cycles = [(g[0], g[1], *groups[g]) for g in sorted(graph.keys() - set(order))]
    if on_cycles:  # runs that read each other (a loan schedule's two columns): ordered cell by cell
        _evaluate_cells(rec, on_cycles, names, get)


CANNOT = "#N/IMPL!"  # a cell the formulas engine cannot compile or compute (verify: not verified)


def _evaluate_cells(rec, runs: list[tuple[str, int, np.ndarray, list[str]]], names, get: Cells) -> None:
    """The cells of ``runs`` one by one, in dependency order among them; a cell on a true cycle says #CIRC!,
    one formulas cannot compile or compute says #N/IMPL!."""
    keys = {(sheet, f"{get_column_letter(col)}{row}"): (sheet, row, col)
            for sheet, col, rows, _ in runs for row in rows.tolist()}
    plans, graph = {}, {}
    for sheet, col, rows, texts in runs:
        for row, text in zip(rows.tolist(), texts, strict=True):
            key = (sheet, f"{get_column_letter(col)}{row}")
            try:
                fn = compiled(text)
            except Exception:
                rec.grids[sheet][row, col] = CANNOT
                continue
            refs = [resolve(t, sheet, names) for t in fn.inputs]
            plans[key] = (fn, refs)
            graph[key] = {(s, c) for s, r in refs for line in cells_within(r, rec, s) for c in line
                          if (s, c) in keys}
    order = acyclic_prefix(graph)
    for key in [*order, *(graph.keys() - set(order))]:
        sheet, row, col = keys[key]
        if key not in order:
            rec.grids[sheet][row, col] = "#CIRC!"
            continue
        fn, refs = plans[key]
        try:
            rec.grids[sheet][row, col] = plain(fn(*[get.arg(s, r) for s, r in refs]))
        except Exception:
            rec.grids[sheet][row, col] = CANNOT
