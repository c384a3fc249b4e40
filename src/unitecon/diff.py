"""Compare two workbooks by defined name: inputs moved, formulas changed, outputs changed, and a bridge.

The bridge attributes each output's change to the inputs that moved, one input at a time: the OLD
workbook is recomputed with that one input set to its NEW value, all others held. What the single
moves do not explain (interactions, changed formulas) is the residual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .r1c1 import to_r1c1
from .snapshot import Snapshot, read_snapshot
from .verify import recompute


@dataclass
class NameChange:
    name: str
    old: Any
    new: Any


@dataclass
class Bridge:
    output: str
    old: float
    new: float
    steps: list[tuple[str, float]] = field(default_factory=list)

    @property
    def residual(self) -> float:
        return self.new - self.old - sum(delta for _, delta in self.steps)


@dataclass
class Diff:
    inputs: list[NameChange]
    formulas: list[NameChange]
    outputs: list[NameChange]
    added: list[str]
    removed: list[str]
    bridges: list[Bridge]


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return not math.isclose(a, b, rel_tol=1e-12, abs_tol=0)
    return a != b


def _cell_formula(snap: Snapshot, name: str) -> str | None:
    sheet, ref = snap.names[name]
    text = snap.formulas.get((sheet, ref))
    if text is None:
        return None
    from openpyxl.utils.cell import range_boundaries

    col, row = range_boundaries(ref)[:2]
    return to_r1c1(text, row, col)


def diff(old_path: str | Path, new_path: str | Path) -> Diff:
    """What changed between two workbooks, name by name, with a bridge for every changed output."""
    old, new = read_snapshot(old_path), read_snapshot(new_path)
    shared = sorted(n for n in old.names
                    if n in new.names and ":" not in old.names[n][1] and ":" not in new.names[n][1])
    inputs, formulas, outputs = [], [], []
    for name in shared:
        old_key, new_key = old.names[name], new.names[name]
        old_formula, new_formula = _cell_formula(old, name), _cell_formula(new, name)
        if old_formula is None and new_formula is None:
            a, b = old.values.get(old_key), new.values.get(new_key)
            if _differs(a, b):
                inputs.append(NameChange(name, a, b))
            continue
        if old_formula != new_formula:
            formulas.append(NameChange(name, old.formulas.get(old_key), new.formulas.get(new_key)))
        a, b = old.cached.get(old_key), new.cached.get(new_key)
        if _differs(a, b):
            outputs.append(NameChange(name, a, b))
    bridges = _bridges(old, inputs, outputs) if inputs and outputs else []
    return Diff(inputs, formulas, outputs, sorted(set(new.names) - set(old.names)),
                sorted(set(old.names) - set(new.names)), bridges)


def _bridges(old: Snapshot, inputs: list[NameChange], outputs: list[NameChange]) -> list[Bridge]:
    base = recompute(old)
    bridges = {o.name: Bridge(o.name, float(o.old), float(o.new)) for o in outputs
               if isinstance(o.old, int | float) and isinstance(o.new, int | float)}
    for change in inputs:
        if not isinstance(change.new, int | float):
            continue
        sheet, cell = old.names[change.name]
        moved = recompute(old, {(sheet, cell): change.new})
        for name, bridge in bridges.items():
            before, after = base.by_name(name), moved.by_name(name)
            if isinstance(before, int | float) and isinstance(after, int | float) and _differs(before, after):
                bridge.steps.append((change.name, after - before))
    return list(bridges.values())


def render_text(d: Diff) -> str:
    """A plain-text report."""
    out: list[str] = []

    def show(v: Any) -> str:
        return f"{v:,.6g}" if isinstance(v, int | float) and not isinstance(v, bool) else repr(v)

    for title, items in (("inputs changed", d.inputs), ("formulas changed", d.formulas),
                         ("outputs changed", d.outputs)):
        out.append(f"{title}: {len(items)}")
        out += [f"  {c.name}: {show(c.old)} → {show(c.new)}" for c in items]
    if d.added or d.removed:
        out.append(f"names added: {', '.join(d.added) or '-'}; removed: {', '.join(d.removed) or '-'}")
    for b in d.bridges:
        out.append(f"bridge {b.output}: {show(b.old)} → {show(b.new)} ({show(b.new - b.old):s})")
        out += [f"  {name:<40} {show(delta):>16}" for name, delta in b.steps]
        out.append(f"  {'residual (interactions, formula changes)':<40} {show(b.residual):>16}")
    return "\n".join(out)
