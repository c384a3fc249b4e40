"""Values under other inputs: the scenario comparison, the sensitivity grids, and one cell's formula
written out down to the inputs it moves with."""

from __future__ import annotations

from ..errors import ModelError, Problem
from .evaluate import evaluate_rows
from .expr import (
    At,
    Coalesce,
    Expr,
    Named,
    Previous,
    PriorYear,
    Ref,
    transform,
)
from .metrics.forward import COMPARED
from .rows import SCALAR, Grid, Model, Row
from .timeaxis import TimeAxis


def what_if(model: Model, overrides: dict[str, float]) -> dict:
    """The model's values with some inputs (figure names) overridden and every row resting on them recomputed."""
    values = dict(model.values)
    for figure in model.figures():
        if figure.name in overrides:
            values[(figure.name, SCALAR)] = overrides[figure.name]
            if model.series[figure.series].grain == "period":
                values[(figure.series, figure.period)] = overrides[figure.name]
    evaluate_rows(model, _resting_on(model, set(overrides)), values)
    return values


def _resting_on(model: Model, inputs: set[str]) -> list[Row]:
    """Rows whose value changes when any of ``inputs`` (figure names) does, in dependency order."""
    changed = set(inputs) | {f.series for f in model.figures()
                             if f.name in inputs and model.series[f.series].grain == "period"}
    rows = []
    for row in model.rows:
        if row.role != "link" and row.expr.refs() & changed:
            rows.append(row)
            changed.add(row.name)
    return rows


def _in_period(e: Expr, period: str, periods: dict[str, list[str]], axis: TimeAxis) -> Expr:
    """A period row's expression as it reads in ``period``: each period name (``periods``: name -> the periods
    it has) becomes its cell there, a lagged one the cell of the period it lags to."""

    def visit(node: Expr) -> Expr | None:
        match node:
            case Ref(name=n) if n in periods:
                return At(n, period)
            case PriorYear(name=n):
                return At(n, axis.prior_year(period, periods[n]))
            case Previous(name=n):
                return At(n, axis.previous(period, periods[n]))
            case Coalesce(primary=At(name=n), fallback=f) if period not in periods.get(n, ()):
                return f
        return None

    return transform(e, visit)


def written_out(model: Model, name: str, varying: set[str]) -> Expr:
    """Row ``name``'s expression with every row that rests on the ``varying`` inputs (figure names) replaced
    by its own expression, recursively, down to those inputs: one cell's formula that still follows them
    when they take other values than the sheet's (a scenario's column, a sensitivity grid cell). A period
    row is written out as it reads in the one period used; a varying period figure becomes its own name."""
    rows = {r.name: r for r in model.rows}
    moving = {row.name for row in _resting_on(model, varying)}
    period_names = {r.name: r.periods for r in model.rows if r.grain == "period"} | {
        k: s.periods for k, s in model.series.items() if s.grain == "period"}
    figures = {(f.series, f.period): f.name for f in model.figures() if f.name in varying}

    def resolve(n: str, q: str) -> str:
        return model.axis.select(q, period_names[n]) if n in period_names else q

    def visit(node: Expr) -> Expr | None:
        match node:
            case Ref(name=n) if n in moving and rows[n].grain == "scalar":
                return transform(rows[n].expr, visit)
            case At(name=n, period=q) if (n, resolve(n, q)) in figures:
                return Ref(figures[(n, resolve(n, q))])
            case At(name=n, period=q) if n in moving and rows[n].role != "link":
                return transform(_in_period(rows[n].expr, resolve(n, q), period_names, model.axis), visit)
            case Named(name=n) if n in moving:
                raise ModelError(Problem(str(model.inputs.path), name, f"reads {n} in every period, which moves "
                                         f"with {', '.join(sorted(varying))}; only single cells can be written out"))
        return None

    return transform(rows[name].expr, visit)


def scenario_overrides(model: Model, scenario: str) -> dict[str, float]:
    """Every figure with scenario values, at ``scenario``'s value."""
    return {f.name: dict(f.scenarios)[scenario] for f in model.figures() if f.scenarios}


def add_what_ifs(model: Model) -> None:
    """Values for the Summary's scenario comparison and the sensitivity grids."""
    names = {r.name for r in model.rows}
    inputs = model.inputs
    if inputs.scenarios:
        model.compared = [n for n in COMPARED if n in names]
        for scenario in inputs.scenarios:
            values = what_if(model, scenario_overrides(model, scenario))
            model.by_scenario.update({(n, scenario): values[(n, SCALAR)] for n in model.compared})
    spec = inputs.sensitivity
    if spec is None:
        return
    problems = []
    for axis, where in ((spec.rows, "sensitivity.rows"), (spec.columns, "sensitivity.columns")):
        for name in (axis.input, axis.step):
            series = inputs.series.get(name)
            if series is None or series.grain != "scalar":
                problems.append(Problem(str(inputs.path), where, f"{name!r} is not a scalar input"))
    for name in spec.outputs:
        if name not in names or model.row(name).grain != "scalar":
            problems.append(Problem(str(inputs.path), "sensitivity.outputs", f"{name!r} is not a scalar metric "
                                                                             "of this model"))
    if problems:
        raise ModelError(problems)

    def around(axis) -> list[float]:
        centre, step = model.value(axis.input), model.value(axis.step)
        return [centre + k * step for k in range(-axis.steps_each_side, axis.steps_each_side + 1)]

    rows, columns = around(spec.rows), around(spec.columns)
    cells = [[what_if(model, {spec.rows.input: r, spec.columns.input: c}) for c in columns] for r in rows]
    for output in spec.outputs:
        model.grids.append(Grid(output, spec.rows.input, spec.rows.step, spec.columns.input, spec.columns.step,
                                rows, columns, [[cell[(output, SCALAR)] for cell in line] for line in cells]))


