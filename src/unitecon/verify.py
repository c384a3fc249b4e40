"""Recompute a workbook from its own formula text, and compare with the values cached in it.

``formulas`` parses each formula into a compiled Python function once per distinct formula text;
cells are then evaluated in dependency order. Nothing of unitecon's model is used: what is checked is
the file as written (or as a person edited and saved it).
"""

from __future__ import annotations

import graphlib
import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import schedula as sh
from openpyxl.utils.cell import get_column_letter, range_boundaries

from .errors import UniteconError
from .snapshot import open_workbook

_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]+)$")

Key = tuple[str, str]  # (SHEET upper-case, "A1")


@cache
def _compile(text: str):
    import formulas

    return formulas.Parser().ast(text)[1].compile()


@dataclass
class Recomputed:
    """Recomputed values, cached values and formula text of every formula cell, keyed (sheet, A1)."""

    sheets: dict[str, str]
    names: dict[str, Key]
    formulas: dict[Key, str] = field(default_factory=dict)
    constants: dict[Key, Any] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    cached: dict[Key, Any] = field(default_factory=dict)
    values: dict[Key, Any] = field(default_factory=dict)

    def key(self, sheet: str, a1: str) -> Key:
        return (sheet.upper(), a1.replace("$", "").upper())

    def value(self, sheet: str, a1: str) -> Any:
        """The value of any cell: recomputed for a formula, as stored for a constant."""
        return self._get(self.key(sheet, a1))

    def by_name(self, name: str) -> Any:
        return self._get(self.names[name.upper()])

    def _get(self, key: Key) -> Any:
        return self.values[key] if key in self.formulas else self.constants.get(key)


@dataclass(frozen=True)
class Mismatch:
    sheet: str
    cell: str
    formula: str
    recomputed: Any
    cached: Any
    other: str = "the file has"

    def __str__(self) -> str:
        where = f"{self.sheet}!{self.cell}: {self.formula}"
        return f"{where} recomputes to {self.recomputed!r}, {self.other} {self.cached!r}"


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else None
    if isinstance(value, np.generic):
        value = value.item()
    if value is sh.EMPTY:
        return None
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)  # formulas' XlError renders as "#DIV/0!" etc.


def _cells_of(ref: str) -> list[list[str]]:
    min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
    return [[f"{get_column_letter(c)}{r}" for c in range(min_col, max_col + 1)] for r in range(min_row, max_row + 1)]


def recompute(path: str | Path, overrides: dict[tuple[str, str], Any] | None = None) -> Recomputed:
    """Recompute every formula cell of the workbook at ``path``.

    ``overrides`` replaces constant cells first, e.g. ``{("Inputs", "C12"): 2.0}``: the liveness check.
    """
    wb = open_workbook(Path(path))
    cached_wb = open_workbook(Path(path), data_only=True)
    sheets = {ws.title.upper(): ws.title for ws in wb.worksheets}
    names: dict[str, Key] = {}
    for name, dn in wb.defined_names.items():
        for sheet, ref in dn.destinations:
            names[name.upper()] = (sheet.upper(), ref.replace("$", "").upper())
    rec = Recomputed(sheets, names)
    rec.properties = {p.name: str(p.value) for p in wb.custom_doc_props.props}
    constants = rec.constants
    for ws in wb.worksheets:
        cached_ws = cached_wb[ws.title]
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None:
                    continue
                key = (ws.title.upper(), cell.coordinate)
                if cell.data_type == "f" and isinstance(cell.value, str):
                    rec.formulas[key] = cell.value
                    rec.cached[key] = cached_ws[cell.coordinate].value
                else:
                    constants[key] = cell.value
    for (sheet, a1), value in (overrides or {}).items():
        constants[rec.key(sheet, a1)] = value

    def resolve(token: str, sheet: str) -> tuple[str, str]:
        """(SHEET, ref) of one compiled-function input: a cell, a range or a defined name."""
        if "!" in token:
            s, r = token.rsplit("!", 1)
            return s.strip("'").upper(), r.replace("$", "")
        if token.upper() in names:
            return names[token.upper()]
        return sheet, token.replace("$", "")

    plans: dict[Key, tuple[Any, list[tuple[str, str]]]] = {}
    graph: dict[Key, set[Key]] = {}
    for key, text in rec.formulas.items():
        fn = _compile(text)
        refs = [resolve(t, key[0]) for t in fn.inputs]
        plans[key] = (fn, refs)
        deps: set[Key] = set()
        for s, r in refs:
            for line in _cells_of(r):
                deps.update((s, c) for c in line if (s, c) in rec.formulas)
        graph[key] = deps
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = ", ".join("!".join(k) for k in exc.args[1])
        raise UniteconError(f"{path}: circular reference through {cycle}") from None

    def get(key: Key) -> Any:
        value = rec.values[key] if key in rec.formulas else constants.get(key)
        return sh.EMPTY if value is None else value

    for key in order:
        fn, refs = plans[key]
        args = []
        for s, r in refs:
            grid = _cells_of(r)
            if len(grid) == 1 and len(grid[0]) == 1 and ":" not in r:
                args.append(get((s, grid[0][0])))
            else:
                args.append(np.array([[get((s, c)) for c in line] for line in grid], dtype=object))
        rec.values[key] = _plain(fn(*args))
    return rec


def compare(rec: Recomputed, rel_tol: float = 1e-9) -> list[Mismatch]:
    """Formula cells whose recomputed value differs from the cached one."""
    out = []
    for key, text in rec.formulas.items():
        new, old = rec.values[key], rec.cached.get(key)
        if not _same(new, old, rel_tol):
            out.append(Mismatch(rec.sheets[key[0]], key[1], text, new, old))
    return out


def _same(a: Any, b: Any, rel_tol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-12)
    return a == b


def compare_with_model(rec: Recomputed, layout, rel_tol: float = 1e-9) -> list[Mismatch]:
    """Row cells whose recomputed value differs from unitecon's own computation of the model."""
    out = []
    model = layout.model
    for (name, period), cell in layout.cells.items():
        key = (cell.sheet.upper(), cell.a1())
        if key not in rec.formulas or (name, period) not in model.values:
            continue
        expected = model.values[(name, period)]
        if not _same(rec.values[key], expected, rel_tol):
            out.append(Mismatch(cell.sheet, cell.a1(), rec.formulas[key], rec.values[key], expected,
                                "the inputs file gives"))
    return out
