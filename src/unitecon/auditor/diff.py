"""Compare two workbooks by defined name: inputs moved, formulas changed, outputs changed, and a bridge.

The bridge attributes each output's change to the inputs that moved, one input at a time: the OLD
workbook is recomputed with that one input set to its NEW value, all others held. An input holding text
(the scenario selector) is moved the same way, and its step is split by the inputs whose live value it
switches (each frozen at its NEW value in turn). What the single moves do not explain (interactions,
changed formulas) is the residual, shown only where it is not negligible.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries

from ..errors import UniteconError
from ..reading.r1c1 import to_r1c1
from ..reading.snapshot import Key, SheetCells, Snapshot, read_snapshot
from .graph import references, split_ref
from .recompute import recompute
from .verdict import capped, shorten

STEPS_SHOWN = 5  # inputs listed under one output's bridge; the rest summed on one line
WIDTH = 200  # no line of the report is longer


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
    # a text input's step (the scenario selector), split by the inputs it switches, each moved alone
    parts: dict[str, list[tuple[str, float]]] = field(default_factory=dict)

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
    switched: dict[str, list[NameChange]] = field(default_factory=dict)  # text input -> live inputs it moved
    by: str = "name"  # "cell" when the workbooks share no defined name: compared sheet by sheet, cell by cell
    notes: list[str] = field(default_factory=list)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return not math.isclose(a, b, rel_tol=1e-12, abs_tol=0)
    return a != b


def _negligible(x: float, *scale: float) -> bool:
    """True for what float rounding leaves behind: within 1e-9 of the figures it is part of."""
    return abs(x) <= 1e-9 * max((abs(s) for s in scale), default=0.0)


def _cell_formula(snap: Snapshot, name: str) -> str | None:
    sheet, ref = snap.names[name]
    text = snap.formulas.get((sheet, ref))
    if text is None:
        return None
    col, row = range_boundaries(ref)[:2]
    return to_r1c1(text, row, col)


def diff(old_path: str | Path, new_path: str | Path) -> Diff:
    """What changed between two workbooks, name by name, with a bridge for every changed output."""
    old, new = read_snapshot(old_path), read_snapshot(new_path)
    for snap in (old, new):
        if snap.formulas and not snap.cached:  # every output would read as "changed to nothing"
            raise UniteconError(f"{snap.path}: holds no cached values for its {len(snap.formulas):,} formula cells "
                                "(saved by a program that does not calculate, such as openpyxl); open and save it in "
                                "Excel or LibreOffice, then diff again")
    shared = sorted(n for n in old.names
                    if n in new.names and ":" not in old.names[n][1] and ":" not in new.names[n][1])
    if not shared:
        return _by_cell(old, new)
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
    switched = {}
    for change in inputs:
        if isinstance(change.old, str) and isinstance(change.new, str):  # a selector: which column is live
            live = [o for o in outputs if _switched_by(old, o.name, change.name)]
            if live:
                switched[change.name] = live
    live_names = {c.name for changes in switched.values() for c in changes}
    outputs = [o for o in outputs if o.name not in live_names]  # inputs in all but form: listed with the selector
    notes: list[str] = []
    bridges = _bridges(old, inputs, outputs, switched, dict(old.names), notes) if inputs and outputs else []
    return Diff(inputs, formulas, outputs, sorted(set(new.names) - set(old.names)),
                sorted(set(old.names) - set(new.names)), bridges, switched, notes=notes)


def _by_cell(old: Snapshot, new: Snapshot) -> Diff:
    """Two workbooks without a defined name in common, compared on the sheets both hold, cell by cell:
    constants as inputs, formula text, and the cached values of formula cells as outputs."""
    inputs, formulas, outputs = [], [], []
    both = [s for s in old.sheets if s in new.sheets]
    for label, a, b in _cells_of_both(old.values, new.values, both):
        inputs.append(NameChange(label, a, b))
    for label, a, b in _cells_of_both(old.formulas, new.formulas, both):
        formulas.append(NameChange(label, a, b))
    for label, a, b in _cells_of_both(old.cached, new.cached, both):
        outputs.append(NameChange(label, a, b))
    notes = [f"compared by sheet and cell: the workbooks share no defined name ({len(both)} sheet"
             f"{'s' if len(both) != 1 else ''} in both)"]
    only = [s for s in old.sheets if s not in new.sheets] + [s for s in new.sheets if s not in old.sheets]
    if only:
        notes.append(f"sheets in one workbook only (not compared): {', '.join(shorten(s, 40) for s in only[:10])}")
    where = {c.name: _split_label(c.name) for c in [*inputs, *outputs]}
    bridges = _bridges(old, inputs, outputs, {}, where, notes) if inputs and outputs else []
    return Diff(inputs, formulas, outputs, [], [], bridges, by="cell", notes=notes)


def _cells_of_both(old: dict[Key, Any], new: dict[Key, Any], sheets: list[str]):
    """(Sheet!A1, old, new) of every cell of ``sheets`` whose entry differs between the two views."""
    keys = {k for k in (*old, *new) if k[0] in sheets}
    for key in sorted(keys, key=lambda k: (sheets.index(k[0]), *coordinate_to_tuple(k[1]))):
        a, b = old.get(key), new.get(key)
        if _differs(a, b):
            yield f"{key[0]}!{key[1]}", a, b


def _split_label(label: str) -> Key:
    sheet, _, a1 = label.rpartition("!")
    return sheet, a1


MAX_BRIDGED_INPUTS = 50  # each input moved alone is one recomputation of the old workbook


def _switched_by(snap: Snapshot, name: str, selector: str) -> bool:
    """Whether the cell named ``name`` is a live input value the text input ``selector`` picks: a formula
    on the selector's own sheet (the Inputs sheet) that reads it directly."""
    key = snap.names[name]
    target = snap.names[selector]
    if key[0] != target[0]:
        return False
    for token in references(snap.formulas.get(key, "")):
        sheet, ref = split_ref(token, key[0])
        if token.upper() == selector.upper() or (sheet.upper(), ref.replace("$", "").upper()) == \
                (target[0].upper(), target[1].upper()):
            return True
    return False


def _frozen(snap: Snapshot, cells: dict[Key, Any]) -> Snapshot:
    """``snap`` with formula cells turned into constants holding the given values."""
    sheets = dict(snap.cells)
    for (sheet, a1), value in cells.items():
        row, col = coordinate_to_tuple(a1)
        grid = sheets[sheet].grid.copy()
        grid[row, col] = value
        formulas = dict(sheets[sheet].formulas)
        if col in formulas:
            rows, texts = formulas[col]
            keep = rows != row
            formulas[col] = (rows[keep], [t for t, k in zip(texts, keep.tolist(), strict=True) if k])
            if not len(formulas[col][0]):
                del formulas[col]
        sheets[sheet] = SheetCells(grid, formulas)
    return dataclasses.replace(snap, cells=sheets)


def _bridges(old: Snapshot, inputs: list[NameChange], outputs: list[NameChange],
             switched: dict[str, list[NameChange]], where: dict[str, Key], notes: list[str]) -> list[Bridge]:
    """Each numeric output's change split by the inputs that moved it, one at a time with the others held.
    ``where`` locates each input and output (a defined name's cell, or Sheet!A1's own); what cannot be
    bridged is said in one line in ``notes``."""
    if len(inputs) > MAX_BRIDGED_INPUTS:
        notes.append(f"no bridges: {len(inputs):,} inputs changed; moving each alone would recompute the workbook "
                     f"{len(inputs):,} times (at most {MAX_BRIDGED_INPUTS})")
        return []
    base = recompute(old)
    bridges = {o.name: Bridge(o.name, float(o.old), float(o.new)) for o in outputs
               if _number(o.old) and _number(o.new)}
    unable = sorted(name for name in bridges if not _number(base.value(*where[name])))
    if unable:
        notes.append(f"no bridge for {', '.join(shorten(n, 40) for n in unable[:5])}: the formulas engine cannot "
                     f"recompute {'it' if len(unable) == 1 else 'them'} from the old workbook (it gives "
                     f"{shorten(repr(base.value(*where[unable[0]])), 30)})")
        for name in unable:
            del bridges[name]

    def moves(rec) -> dict[str, float]:
        out = {}
        for name in bridges:
            before, after = base.value(*where[name]), rec.value(*where[name])
            if _number(before) and _number(after) and _differs(before, after):
                out[name] = after - before
        return out

    for change in inputs:
        moved = moves(recompute(old, {where[change.name]: change.new}))
        for name, delta in moved.items():
            bridges[name].steps.append((change.name, delta))
        for live in switched.get(change.name, []):
            if not moved or not _number(live.new):
                continue
            for name, delta in moves(recompute(_frozen(old, {where[live.name]: live.new}))).items():
                if name in moved:
                    bridges[name].parts.setdefault(change.name, []).append((live.name, delta))
    return list(bridges.values())


def number(v: Any) -> str:
    """A figure as the workbook shows it: thousands separated, no decimals from 1,000 up, five significant
    digits below (2,679,600,000; 4.4966; 0.2)."""
    if not _number(v):
        return shorten(repr(v), 40)
    if not math.isfinite(v):
        return str(v)
    if v == 0 or abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) < 1e-6:
        return f"{v:.4g}"
    decimals = max(0, 4 - math.floor(math.log10(abs(v))))
    text = f"{v:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def signed(v: float) -> str:
    text = number(v)
    return text if text.startswith("-") or text == "0" else f"+{text}"


def _names(title: str, names: list[str], limit: int) -> list[str]:
    """``title (N): a, b, c … and K more``, each line at most WIDTH characters; every name with limit 0."""
    head = f"{title} ({len(names):,}): "
    lines, line = [], head
    for i, name in enumerate(names):
        piece = shorten(name, 60) + (", " if i < len(names) - 1 else "")
        rest = f"… and {len(names) - i:,} more (use --limit 0 for all)"
        if limit and len(line) + len(piece) + len(rest) > WIDTH:
            return [*lines, line + rest]
        if len(line) + len(piece) > WIDTH:
            lines.append(line.rstrip())
            line = "  "
        line += piece
    return [*lines, line]


def render_text(d: Diff, limit: int = 10) -> str:
    """A plain-text report: at most ``limit`` entries of each list (0: all), no line over WIDTH characters."""
    out: list[str] = [*d.notes]
    out.append(f"inputs changed: {len(d.inputs)}")
    entries: list[list[str]] = []
    for c in d.inputs:
        lines = [f"  {shorten(c.name, 60)}: {number(c.old)} → {number(c.new)}"]
        live = d.switched.get(c.name, [])
        if live:
            lines[0] += f", which switches the live value of {len(live)} input{'s' if len(live) > 1 else ''}:"
            lines += [f"    {shorten(s.name, 60)}: {number(s.old)} → {number(s.new)}" for s in live]
        entries.append(lines)
    out += [line for lines in capped(entries, limit, "inputs changed", "  ") for line in _flat(lines)]
    out.append(f"formulas changed: {len(d.formulas)}")
    out += capped([f"  {shorten(c.name, 40)}: {shorten(c.old or '(a constant)', 75)} → "
                   f"{shorten(c.new or '(a constant)', 75)}" for c in d.formulas], limit, "formulas changed", "  ")
    out.append(f"outputs changed: {len(d.outputs)}" + (", each bridged from the inputs that moved it"
                                                       if d.bridges else ""))
    bridges = {b.output: b for b in d.bridges}
    changes = {c.name: c for c in d.inputs}
    entries = [_bridge_lines(bridges[o.name], changes, bool(d.formulas), limit) if o.name in bridges
               else [f"  {shorten(o.name, 60)}: {number(o.old)} → {number(o.new)}"] for o in d.outputs]
    out += [line for lines in capped(entries, limit, "outputs changed", "  ") for line in _flat(lines)]
    if d.added:
        out += _names("names added", d.added, limit)
    if d.removed:
        out += _names("names removed", d.removed, limit)
    return "\n".join(out)


def _flat(entry: list[str] | str) -> list[str]:
    return [entry] if isinstance(entry, str) else entry


def _bridge_lines(b: Bridge, changes: dict[str, NameChange], formulas_changed: bool, limit: int) -> list[str]:
    """One output's bridge: where its change came from, step by step, the residual only if there is one."""
    total = b.new - b.old
    scale = (b.old, b.new, total)
    head = f"  bridge {shorten(b.output, 60)}: {number(b.old)} → {number(b.new)} ({signed(total)})"

    def label(name: str) -> str:
        c = changes.get(name)
        moved = f"{number(c.old)} → {number(c.new)}" if c is not None and not _number(c.new) else ""
        return shorten(f"{name} {moved}".strip(), 60)

    residual = "" if _negligible(b.residual, *scale) else (
        "residual (formula changes, interactions)" if formulas_changed else "residual (interactions between inputs)")
    steps = sorted(b.steps, key=lambda step: -abs(step[1]))
    if len(steps) == 1 and not residual:  # one input explains it all
        name = steps[0][0]
        parts = b.parts.get(name, [])
        if len(parts) == 1 and _negligible(parts[0][1] - steps[0][1], *scale):
            return [f"{head}: all from {label(name)}, through {shorten(parts[0][0], 60)}"]
        return [f"{head}: all from {label(name)}" + (":" if parts else ""),
                *_part_lines(parts, steps[0][1], scale, "    ")]
    lines = [head]
    shown = steps if not limit or len(steps) <= STEPS_SHOWN else steps[:STEPS_SHOWN - 1]
    for name, delta in shown:
        lines.append(f"    {label(name):<52} {signed(delta):>20}")
        parts = b.parts.get(name, [])
        if len(parts) > 1 or (parts and not _negligible(parts[0][1] - delta, *scale)):
            lines += _part_lines(parts, delta, scale, "      ")
    if len(shown) < len(steps):
        rest = steps[len(shown):]
        lines.append(f"    {f'… and {len(rest)} more inputs':<52} {signed(sum(d for _, d in rest)):>20}")
    if residual:
        lines.append(f"    {residual:<52} {signed(b.residual):>20}")
    return lines


def _part_lines(parts: list[tuple[str, float]], step: float, scale: tuple[float, ...], indent: str) -> list[str]:
    """The inputs a selector switched, each moved alone, and what they explain only together."""
    lines = [f"{indent}{shorten('through ' + name, 52 + 4 - len(indent)):<{52 + 4 - len(indent)}} {signed(d):>20}"
             for name, d in sorted(parts, key=lambda part: -abs(part[1]))]
    together = step - sum(d for _, d in parts)
    if parts and not _negligible(together, *scale):
        lines.append(f"{indent}{'interactions of these':<{52 + 4 - len(indent)}} {signed(together):>20}")
    return lines
