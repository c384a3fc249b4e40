"""Bring input values edited in a workbook back into its inputs file, losing nothing on either side.

Input cells are found by defined name. The inputs file is rewritten with ruamel.yaml's round-trip
mode, so comments, key order, quoting and source quotes stay as they were; only the changed values
move, each gaining an ``edited:`` note (when = the workbook's modified time, previous = the source's
figure) that the Inputs sheet shows. The new file is validated before it replaces the old one, and
the replacement is atomic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from .atomic import replacing
from .errors import InputsError, Problem
from .inputs import Figure, Inputs, load_inputs
from .model import build_model
from .snapshot import Snapshot, read_snapshot
from .units import input_bounds


@dataclass(frozen=True)
class Change:
    name: str
    cell: str
    old: float
    new: float
    figure: Figure

    def __str__(self) -> str:
        return f"{self.name} ({self.cell}): {self.old:,.10g} → {self.new:,.10g}"


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=0)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def plan_pull(workbook: str | Path, inputs_path: str | Path) -> tuple[Snapshot, Inputs, list[Change]]:
    """The input changes ``workbook`` holds relative to ``inputs_path``; InputsError if any cell is unusable."""
    snap = read_snapshot(workbook)
    inputs = load_inputs(inputs_path)
    shown = str(workbook)
    if snap.model and snap.model != inputs.model:
        raise InputsError(Problem(shown, "", f"is the {snap.model!r} workbook but {inputs_path} holds model "
                                             f"{inputs.model!r}; pass the matching --inputs file"))
    model = build_model(inputs)
    problems: list[Problem] = []
    changes: list[Change] = []
    for figure in model.input_cells():
        if figure.name not in snap.names:
            problems.append(Problem(shown, figure.name, "defined name missing from the workbook; expected a "
                                                        "workbook built from this inputs file"))
            continue
        sheet, cell = snap.names[figure.name]
        where = f"{sheet}!{cell} ({figure.name})"
        if (sheet, cell) in snap.formulas:
            problems.append(Problem(shown, where, f"input cell holds a formula {snap.formulas[(sheet, cell)]}; "
                                                  "expected a number"))
            continue
        value = snap.values.get((sheet, cell))
        if isinstance(value, bool) or not isinstance(value, int | float):
            got = "nothing" if value is None else repr(value)
            problems.append(Problem(shown, where, f"input cell holds {got}; expected a number"))
            continue
        unit = model.series[figure.series].unit
        low, high = input_bounds(figure.series, unit)
        if (low is not None and value < low) or (high is not None and value > high):
            expected = (f"between {low:g} and {high:g}" if low is not None and high is not None
                        else f">= {low:g}" if low is not None else f"<= {high:g}")
            problems.append(Problem(shown, where, f"{value:g} is out of range; expected {expected} for {unit}"))
            continue
        if figure.path[0] == "periods" and not float(value).is_integer():
            problems.append(Problem(shown, where, f"{value:g} months; expected a whole number"))
            continue
        if _same(value, figure.value):
            continue
        written = snap.written_inputs.get(figure.name, (None, None))[1]
        if written is not None and _same(value, written):
            continue  # untouched in the workbook: the inputs file changed since the build, and it wins
        if written is not None and not _same(figure.value, written):
            problems.append(Problem(shown, where, f"changed on both sides since the build: workbook {written:,.10g} "
                                                  f"→ {value:,.10g}, inputs file → {figure.value:,.10g}; keep one"))
            continue
        changes.append(Change(figure.name, f"{sheet}!{cell}", figure.value, float(value), figure))
    if problems:
        raise InputsError(problems)
    return snap, inputs, changes


def apply_pull(inputs_path: str | Path, snap: Snapshot, changes: list[Change]) -> None:
    """Write ``changes`` into the inputs file, marking each as edited; atomic, validated first."""
    inputs_path = Path(inputs_path)
    yaml = _yaml()
    data = yaml.load(inputs_path.read_text(encoding="utf-8"))
    when = snap.modified.isoformat(timespec="seconds")
    for change in changes:
        node = data
        for key in change.figure.path[:-1] if change.figure.path[0] == "periods" else change.figure.path:
            node = node[key]
        field = "months" if change.figure.path[0] == "periods" else change.figure.value_key
        new = int(change.new) if float(change.new).is_integer() else change.new
        node[field] = new
        if field not in ("value", "months"):
            continue  # a scenario's value: the scenarios mapping holds bare numbers, so no edited: note
        previous = change.figure.edited.previous if change.figure.edited else change.old
        if _same(previous, change.new):
            node.pop("edited", None)  # back to the source's figure
            continue
        edited = CommentedMap([("at", when), ("previous", int(previous) if float(previous).is_integer() else previous),
                               ("workbook", snap.path.name)])
        node["edited"] = edited
    with replacing(inputs_path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            yaml.dump(data, fh)
        load_inputs(tmp, inputs_path.parent / "sources")  # never replace a valid file with an invalid one
