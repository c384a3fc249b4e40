"""Apply the metric catalogue to one inputs file: which rows exist, over which periods, in what order.

A :class:`Model` is a list of :class:`Row` objects (input links, metrics, check parts, the master
check) plus the values the engine computes for them. Those values become the cached values written
beside each formula; the tests recompute the formulas from the written file instead and compare both
with an independent reference.
"""

from __future__ import annotations

import functools
import graphlib
import math
import re
from dataclasses import dataclass, field

import numpy as np

from .errors import ModelError, Problem
from .expr import (
    FIRST,
    LATEST,
    ONE,
    PERIOD_MONTHS,
    Above,
    Across,
    At,
    Below,
    BinOp,
    Block,
    Call,
    Coalesce,
    Column,
    Expr,
    InputLink,
    Label,
    Neg,
    Num,
    Ref,
    call,
    compare,
    ref,
)
from .functions import FUNCTIONS
from .inputs import Figure, Inputs, Series, Source
from .ledger import Ledger
from .metrics import Check, Metric, catalogue

SCALAR = None  # the "period" of a scalar cell


@dataclass
class Row:
    """One row of the workbook that holds formulas: a consistent formula over ``periods``, or one cell."""

    name: str
    label: str
    unit: str
    grain: str
    expr: Expr
    description: str
    section: str
    role: str
    periods: list[str] = field(default_factory=list)
    check: str | None = None
    category: str | None = None  # a breakdown row: the segment / deployment it is about

    @property
    def cells(self) -> list[str | None]:
        """The period ids this row has a cell (or customer column) for (``[None]`` for a scalar)."""
        return list(self.periods) if self.grain in ("period", "customer_period") else [SCALAR]

    @property
    def per_customer(self) -> bool:
        return self.grain in ("customer", "customer_period")


@dataclass
class Grid:
    """A sensitivity grid: ``output`` for each pair of values of two scalar inputs around their active ones."""

    output: str
    row_input: str
    row_step: str
    column_input: str
    column_step: str
    row_values: list[float]
    column_values: list[float]
    values: list[list[float]]  # [row][column]

    @property
    def row_offsets(self) -> list[int]:
        n = len(self.row_values) // 2
        return list(range(-n, n + 1))

    @property
    def column_offsets(self) -> list[int]:
        n = len(self.column_values) // 2
        return list(range(-n, n + 1))


@dataclass
class Model:
    """Everything the layout and writer need: inputs, rows in dependency order, computed values."""

    inputs: Inputs
    series: dict[str, Series]
    rows: list[Row]
    values: dict[tuple[str, str | None], float]
    headlines: dict[str, str | None]
    ledger: Ledger | None = None
    compared: list[str] = field(default_factory=list)  # forward rows the Summary shows for every scenario
    by_scenario: dict[tuple[str, str], float] = field(default_factory=dict)  # (row, scenario) -> value
    grids: list[Grid] = field(default_factory=list)

    @property
    def periods(self) -> list[str]:
        return list(self.inputs.periods)

    def figures(self) -> list[Figure]:
        """All input figures (one Inputs row each): period lengths first, then the file's figures and
        alternatives. A figure with scenario values holds the active scenario's value."""
        return list(self.series[PERIOD_MONTHS].figures.values()) + self.inputs.figures()

    def input_cells(self) -> list[Figure]:
        """Every cell a user types a number into: each figure, or each of its scenario values."""
        return [cell for figure in self.figures() for cell in figure.input_cells()]

    def row(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def value(self, name: str, period: str | None = SCALAR) -> float:
        return self.values[(name, period)]


def _period_months_series(inputs: Inputs) -> Series:
    figures = {
        pid: Figure(
            f"months_{p.name_suffix}",
            PERIOD_MONTHS,
            pid,
            float(p.months),
            Source(None, None, f"Period definition: {p.label}, {p.start:%Y-%m-%d} to {p.end:%Y-%m-%d}", None),
            edited=p.edited,
            path=("periods", pid, "months"),
        )
        for pid, p in inputs.periods.items()
    }
    return Series(PERIOD_MONTHS, "Months in period", "months", "flow", "period",
                  "Length of each period in months, from the inputs file's periods.", figures)


class _Scope:
    """What each name is: a period series (with its periods) or a scalar."""

    def __init__(self, series: dict[str, Series], periods: list[str]):
        self.axis = periods
        self.period_names: dict[str, list[str]] = {}
        self.scalar_names: set[str] = set()
        for s in series.values():
            if s.grain == "period":
                self.period_names[s.key] = s.periods
            for f in s.figures.values():
                if f.name not in self.period_names:
                    self.scalar_names.add(f.name)
            self.scalar_names.update(a.name for a in s.alternatives)

    def knows(self, name: str) -> bool:
        return name in self.period_names or name in self.scalar_names

    def add(self, name: str, grain: str, periods: list[str]) -> None:
        if grain == "period":
            self.period_names[name] = periods
        else:
            self.scalar_names.add(name)

    def periods_for(self, name: str, grain: str, exprs: list[Expr]) -> list[str] | None:
        """The periods a row over ``exprs`` can exist in; None if it cannot exist at all."""
        refs = set().union(*(e.refs() for e in exprs))
        if any(isinstance(node, Above) and node.name == name for e in exprs for node in e.walk()):
            refs.discard(name)  # a running total reads its own row above
        if not all(self.knows(r) for r in refs):
            return None
        for e in exprs:
            for node in e.walk():
                if isinstance(node, At | Across) and node.name not in self.period_names:
                    return None
                if isinstance(node, At) and node.period not in (LATEST, FIRST, *self.period_names[node.name]):
                    return None
        if grain == "scalar":
            series_refs = sorted(r for e in exprs for r in e.period_refs() if r in self.period_names)
            if series_refs:
                message = f"scalar metric reads period series {series_refs}: use at(), latest() or total()"
                raise ModelError(Problem("metric catalogue", name, message))
            return []
        found: set[str] | None = None
        for e in exprs:
            mine = self._periods(e)
            found = mine if found is None else (mine if found is ALL else found if mine is ALL else found & mine)
        periods = self.axis if found is ALL else [p for p in self.axis if p in found]
        return periods or None

    def _periods(self, e: Expr) -> set[str] | object:
        """Periods where ``e`` has a value (``ALL`` where it does not depend on the period)."""
        if isinstance(e, Ref | InputLink | Column):
            return set(self.period_names[e.name]) if e.name in self.period_names else ALL
        if isinstance(e, Coalesce):
            a, b = self._periods(e.primary), self._periods(e.fallback)
            return ALL if a is ALL or b is ALL else a | b
        out: set[str] | object = ALL
        for child in e.children():
            mine = self._periods(child)
            out = mine if out is ALL else out if mine is ALL else out & mine
        return out

    def drop_unknown_reported(self, e: Expr) -> Expr:
        """``e`` with every ``reported_else`` whose reported input this model lacks replaced by its estimate."""
        match e:
            case Coalesce(primary=p, fallback=f):
                fallback = self.drop_unknown_reported(f)
                return Coalesce(p, fallback) if self.knows(p.name) else fallback
            case BinOp(op=op, left=a, right=b):
                return BinOp(op, self.drop_unknown_reported(a), self.drop_unknown_reported(b))
            case Neg(operand=o):
                return Neg(self.drop_unknown_reported(o))
            case Call(func=f, args=args):
                return Call(f, tuple(self.drop_unknown_reported(a) for a in args))
        return e


ALL = object()  # "every period": the value does not depend on the period


def _check_catalogue(metrics: list[Metric], checks: list[Check], inputs: Inputs) -> None:
    names = [m.name for m in metrics] + [f"check_{c.name}" for c in checks]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ModelError(Problem("metric catalogue", ", ".join(dupes), "declared more than once"))
    clash = sorted(set(names) & set(inputs.series))
    if clash:
        raise ModelError(Problem(str(inputs.path), "inputs", f"{', '.join(clash)}: input key is also a metric name"))
    graph = {m.name: {r for r in m.expr.refs() if r in set(names) and r != m.name} for m in metrics}
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise ModelError(Problem("metric catalogue", " -> ".join(exc.args[1]), "circular definition")) from None


def _missing_inputs(name: str, metrics: dict[str, Metric], scope: _Scope, seen: set[str] | None = None) -> set[str]:
    """The input names that ``name`` ultimately needs and the inputs file lacks."""
    seen = seen if seen is not None else set()
    if name in seen:
        return set()
    seen.add(name)
    if name not in metrics:
        return set() if scope.knows(name) else {name}
    out: set[str] = set()
    for r in metrics[name].expr.refs():
        out |= _missing_inputs(r, metrics, scope, seen)
    return out


def _check_rows(check: Check, periods: list[str], section: str = "Checks") -> list[Row]:
    base = f"check_{check.name}"
    actual, expected, diff = f"{base}_actual", f"{base}_expected", f"{base}_difference"
    if check.rule == "match":
        status = compare("<=", call("ABS", ref(diff)), ref(check.tolerance)) * ONE
        rule = "within tolerance"
    else:
        status = compare(">=", ref(actual), ref(expected)) * ONE
        rule = "actual at least expected"

    def row(name: str, label: str, unit: str, expr: Expr, role: str, description: str) -> Row:
        return Row(name, label, unit, check.grain, expr, description, section, role, list(periods), check.name)

    return [
        row(actual, "actual", check.unit, check.actual, "check_actual", check.description),
        row(expected, "expected", check.unit, check.expected, "check_expected", check.description),
        row(diff, "difference (actual ÷ expected − 1)", "ratio", ref(actual) / ref(expected) - ONE,
            "check_difference", "actual ÷ expected − 1"),
        row(f"{base}_status", f"status (OK = {rule})", "flag", status, "check_status", f"1 = OK ({rule}), 0 = FAIL"),
    ]


def _readable(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def _conflict_checks(inputs: Inputs) -> list[Check]:
    out = []
    for s in inputs.series.values():
        for alt in s.alternatives:
            primary = next(f for f in s.figures.values() if f.name == alt.alternative_of)
            where = alt.source.document or "an assumption"
            actual = ref(primary.name) if s.grain == "scalar" else At(s.key, primary.period)
            period = inputs.periods[primary.period].label
            used, other = _readable(primary.value), _readable(alt.value)
            out.append(Check(
                f"conflict_{alt.name}",
                f"Source conflict: {s.label}, {period} ({used} used; {other} elsewhere)",
                s.unit, "scalar", actual, ref(alt.name),
                f"The model uses {used} from {primary.source.document}; {where} reports {other}.",
                tolerance="conflict_tolerance",
            ))
    return out


#: What the ledger gives per customer, by name: the facts customer metrics rest on.
LEDGER_FACTS = {"customer_amount": "customer_period", "customer_on_prem": "customer",
                "customer_segment": "customer", "customer_deployment": "customer"}


SCENARIO = "scenario"  # the selector cell's defined name


def scenario_header(scenario: str) -> str:
    """Defined name of a scenario's column header on the Inputs sheet (the text the selector matches)."""
    return f"scenario_name_{scenario}"


def _scenario_checks(inputs: Inputs) -> list[Check]:
    if not inputs.scenarios:
        return []
    headers = Block(tuple(scenario_header(s) for s in inputs.scenarios))
    return [Check("scenario_selected", "Scenario selector names a declared scenario", "count", "scalar",
                  call("COUNTIF", headers, ref(SCENARIO)), ONE,
                  "The selector must hold one of the scenario column headers; otherwise every scenario input "
                  "would read 0.", rule="at_least")]


def build_model(inputs: Inputs, ledger: Ledger | None = None) -> Model:
    """Apply the catalogue to ``inputs`` (and its customer ``ledger``): rows that can be computed, in
    dependency order, with values."""
    fx = None
    if ledger is not None and ledger.currency != inputs.currency:
        fx = inputs.ledger.fx[ledger.currency]
    if inputs.scenarios and inputs.active_scenario is None:
        inputs = inputs.with_scenario(None)
    forward = inputs.forward
    metrics, checks = catalogue(inputs.ccy, fx, inputs.ledger.reconciles_with if ledger is not None else None,
                                tuple(ledger.periods) if ledger is not None else (),
                                forward.payers if forward else None, forward.arppu if forward else None)
    checks = checks + _conflict_checks(inputs) + _scenario_checks(inputs)
    _check_catalogue(metrics, checks, inputs)
    series = {PERIOD_MONTHS: _period_months_series(inputs), **inputs.series}
    axis = list(inputs.periods)
    scope = _Scope(series, axis)
    if inputs.scenarios:
        scope.scalar_names.update([SCENARIO, *(scenario_header(s) for s in inputs.scenarios)])
    if ledger is not None:
        scope.period_names["customer_amount"] = list(ledger.periods)
        scope.scalar_names.update(n for n, grain in LEDGER_FACTS.items() if grain == "customer")

    rows: list[Row] = [
        Row(s.key, s.label, s.unit, "period", InputLink(s.key), s.description or "Cited input, linked by name.",
            "Inputs by period", "link", s.periods)
        for s in series.values() if s.grain == "period"
    ]
    by_name = {m.name: m for m in metrics}
    pending = list(metrics)
    progress = True
    while pending and progress:
        progress = False
        for m in list(pending):
            if m.grain in ("customer", "customer_period", "category") and ledger is None:
                pending.remove(m)
                continue
            expr = scope.drop_unknown_reported(m.expr)
            like = "period" if m.grain in ("period", "customer_period") else "scalar"
            periods = scope.periods_for(m.name, like, [expr])
            if periods is None:
                continue
            scope.add(m.name, like, periods)
            if m.grain == "category":
                rows += _category_rows(m, expr, ledger)
            else:
                rows.append(Row(m.name, m.label, m.unit, m.grain, expr, m.description, m.section, "metric",
                                periods))
            pending.remove(m)
            progress = True

    headlines: dict[str, str | None] = {}
    problems = []
    for name, period in inputs.headlines.items():
        pid = None if period == "scalar" else period
        row = next((r for r in rows if r.name == name), None)
        if row is None:
            missing = _missing_inputs(name, by_name, scope) if name in by_name else set()
            why = f"missing input(s) {', '.join(sorted(missing))}" if missing else "not a metric (misspelt?)"
            problems.append(Problem(str(inputs.path), f"headlines.{name}", f"cannot be computed: {why}"))
            continue
        if (row.grain == "scalar") != (pid is None) or (pid is not None and pid not in row.periods):
            have = "scalar" if row.grain == "scalar" else ", ".join(row.periods)
            problems.append(Problem(str(inputs.path), f"headlines.{name}",
                                    f"has no cell for {period!r}; expected one of: {have}"))
            continue
        headlines[name] = pid
    if problems:
        raise ModelError(problems)

    summaries: list[str] = []
    for check in checks:
        periods = scope.periods_for(check.name, check.grain, [check.actual, check.expected])
        if periods is None:
            continue
        if check.tolerance and not scope.knows(check.tolerance):
            raise ModelError(Problem(str(inputs.path), f"inputs.{check.tolerance}",
                                     f"required by check {check.name!r}: add it (unit ratio, grain scalar)"))
        parts = _check_rows(check, periods)
        for part in parts:
            scope.add(part.name, part.grain, periods)
        rows.extend(parts)
        status = parts[-1].name
        summary = call("MIN", Across(status)) if check.grain == "period" else ref(status)
        rows.append(Row(f"check_{check.name}", check.label, "flag", "scalar", summary, check.description,
                        "Check summary", "check_summary", [], check.name))
        summaries.append(f"check_{check.name}")
        scope.add(f"check_{check.name}", "scalar", [])
    if summaries:
        block = Block(tuple(summaries))
        rows += [
            Row("master_check", "Master check (OK only when every check passes)", "flag", "scalar",
                call("MIN", block), "1 only when every check passes.", "Master check", "master"),
            Row("failing_checks", "Number of failing checks", "count", "scalar",
                call("COUNT", block) - call("SUM", block), "How many checks fail.", "Master check", "master"),
        ]
    rows += _output_rows(inputs, rows, headlines, ledger)
    model = Model(inputs, series, rows, {}, headlines, ledger)
    _evaluate(model)
    if ledger is not None and ("customer_total_revenue", SCALAR) in model.values:
        _sort_customers(model)
    _what_ifs(model)
    return model


def what_if(model: Model, overrides: dict[str, float]) -> dict:
    """The model's values with some inputs (figure names) overridden and every row resting on them recomputed."""
    values = dict(model.values)
    for figure in model.figures():
        if figure.name in overrides:
            values[(figure.name, SCALAR)] = overrides[figure.name]
            if model.series[figure.series].grain == "period":
                values[(figure.series, figure.period)] = overrides[figure.name]
    _evaluate_rows(model, _resting_on(model, set(overrides)), values)
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


def _in_period(e: Expr, period: str, periods: dict[str, list[str]]) -> Expr:
    """A period row's expression as it reads in ``period``: each period name (``periods``: name -> the periods
    it has) becomes its cell there."""
    match e:
        case Ref(name=n) if n in periods:
            return At(n, period)
        case Coalesce(primary=Ref(name=n), fallback=f):
            fallback = _in_period(f, period, periods)
            return Coalesce(At(n, period), fallback) if period in periods.get(n, ()) else fallback
        case BinOp(op=op, left=a, right=b):
            return BinOp(op, _in_period(a, period, periods), _in_period(b, period, periods))
        case Neg(operand=o):
            return Neg(_in_period(o, period, periods))
        case Call(func=f, args=args):
            return Call(f, tuple(_in_period(a, period, periods) for a in args))
    return e


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
        periods = period_names[n]
        return periods[-1] if q == LATEST else periods[0] if q == FIRST else q

    def visit(e: Expr) -> Expr:
        match e:
            case Ref(name=n) if n in moving and rows[n].grain == "scalar":
                return visit(rows[n].expr)
            case At(name=n, period=q) if (n, resolve(n, q) if n in period_names else q) in figures:
                return Ref(figures[(n, resolve(n, q))])
            case At(name=n, period=q) if n in moving and rows[n].role != "link":
                return visit(_in_period(rows[n].expr, resolve(n, q), period_names))
            case Ref(name=n) | At(name=n) | Across(name=n) if n in moving:
                raise ModelError(Problem(str(model.inputs.path), name, f"reads {n} in every period, which moves "
                                         f"with {', '.join(sorted(varying))}; only single cells can be written out"))
            case BinOp(op=op, left=a, right=b):
                return BinOp(op, visit(a), visit(b))
            case Neg(operand=o):
                return Neg(visit(o))
            case Call(func=f, args=args):
                return Call(f, tuple(visit(a) for a in args))
            case Coalesce(primary=p, fallback=f):
                return Coalesce(visit(p), visit(f))
        return e

    return visit(rows[name].expr)


def scenario_overrides(model: Model, scenario: str) -> dict[str, float]:
    """Every figure with scenario values, at ``scenario``'s value."""
    return {f.name: dict(f.scenarios)[scenario] for f in model.figures() if f.scenarios}


def _what_ifs(model: Model) -> None:
    """Values for the Summary's scenario comparison and the sensitivity grids."""
    from .metrics.forward import COMPARED

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


def _sort_customers(model: Model) -> None:
    """Order customers by their revenue as the workbook computes it (largest first, then by id), so the
    order check holds exactly in every engine; then compute again in that order."""
    ledger = model.ledger
    totals = model.values[("customer_total_revenue", SCALAR)]
    ledger.customers = (ledger.customers.assign(_total=totals)
                        .sort_values(["_total", "customer_id"], ascending=[False, True], kind="stable")
                        .drop(columns="_total").reset_index(drop=True))
    model.values.clear()
    _evaluate(model)


def _category_rows(m: Metric, expr: Expr, ledger: Ledger) -> list[Row]:
    """One row per value of the ledger column ``m.by`` (largest customers' values first)."""
    column = m.by.removeprefix("customer_")
    heading = f"{SECTION_PREFIX}{m.label.lower()} by {column}"
    out, used = [], set()
    for value in dict.fromkeys(ledger.customers[column]):
        slug = re.sub(r"[^a-z0-9]+", "_", str(value).lower()).strip("_") or "blank"
        name = f"{m.name}_{slug}"
        while name in used:
            name += "_"
        used.add(name)
        out.append(Row(name, str(value), m.unit, "scalar", expr, f"{m.description} ({column} {value!r})",
                       heading, "metric", [], category=str(value)))
    return out


SECTION_PREFIX = "Customers: "


#: Customer summaries shown on the Summary sheet, in order.
CUSTOMER_OUTPUTS = ("ledger_customers", "ledger_average_revenue", "ledger_median_revenue", "ledger_top_a_share",
                    "ledger_top_b_share", "ledger_top_fraction_share", "ledger_hhi", "ledger_repurchase_rate")


def _output_rows(inputs: Inputs, rows: list[Row], headlines: dict[str, str | None],
                 ledger: Ledger | None) -> list[Row]:
    """The Summary sheet: headline metrics, annualised ARPPU by product line for the chart, and the
    customer ledger's summaries."""
    from .metrics.arppu import PRODUCTS

    by_name = {r.name: r for r in rows}
    out = []
    for name, pid in headlines.items():
        row = by_name[name]
        label = f"{row.label} ({inputs.periods[pid].label})" if pid else row.label
        out.append(Row(f"out_{name}", label, row.unit, "scalar",
                       At(name, pid) if pid else ref(name), row.description, "Headline metrics", "output"))
    for key, (label, _, _) in PRODUCTS.items():
        row = by_name.get(f"{key}_arppu_annualised_usd")
        if row:
            pid = row.periods[-1]
            out.append(Row(f"out_arppu_{key}", f"{label} ({inputs.periods[pid].label})", row.unit, "scalar",
                           At(row.name, pid), row.description, "ARPPU by product line, annualised", "output"))
    if ledger is not None:
        section = "Customers, from a SYNTHETIC sample ledger" if ledger.synthetic else "Customers, from the ledger"
        for name in CUSTOMER_OUTPUTS:
            row = by_name.get(name)
            if row:
                out.append(Row(f"out_{name}", row.label, row.unit, "scalar", ref(name), row.description, section,
                               "output"))
    return out


# ---------------------------------------------------------------------------------------------------
# Python evaluation of the tree, for the cached values written beside each formula.


def _evaluate(model: Model) -> None:
    values = model.values
    for s in model.series.values():
        for f in [*s.figures.values(), *s.alternatives]:
            values[(f.name, SCALAR)] = f.value
            if s.grain == "period" and f.alternative_of is None:
                values[(s.key, f.period)] = f.value
            for cell in f.scenario_cells():
                values[(cell.name, SCALAR)] = cell.value
    if model.inputs.scenarios:
        values[(SCENARIO, SCALAR)] = model.inputs.active_scenario
        values.update({(scenario_header(s), SCALAR): s for s in model.inputs.scenarios})
    if model.ledger is not None:
        customers = model.ledger.customers
        for p in model.ledger.periods:
            values[("customer_amount", p)] = customers[model.ledger.amount_column(p)].to_numpy(dtype=float)
        values[("customer_on_prem", SCALAR)] = (customers["deployment"] == "on-prem").to_numpy(dtype=float)
        values[("customer_segment", SCALAR)] = customers["segment"].to_numpy(dtype=object)
        values[("customer_deployment", SCALAR)] = customers["deployment"].to_numpy(dtype=object)

    _evaluate_rows(model, model.rows, values)


def _evaluate_rows(model: Model, rows: list[Row], values: dict) -> None:
    """Compute ``rows`` (in dependency order) into ``values``, reading inputs and earlier rows from it."""
    period_rows = {r.name: r.periods for r in model.rows if r.grain in ("period", "customer_period")}
    if model.ledger is not None:
        period_rows["customer_amount"] = model.ledger.periods

    def ev(e: Expr, p: str | None, row: Row):
        match e:
            case Num(value=v):
                return v
            case Ref(name=n) | InputLink(name=n) | Column(name=n):
                return values[(n, p)] if n in period_rows else values[(n, SCALAR)]
            case At(name=n, period=q):
                periods = period_rows[n]
                return values[(n, periods[-1] if q == LATEST else periods[0] if q == FIRST else q)]
            case Across(name=n) if row.per_customer:
                return np.column_stack([values[(n, q)] for q in period_rows[n]])
            case Across(name=n):
                return [values[(n, q)] for q in period_rows[n]]
            case Above(name=n):
                return np.concatenate([[0.0], values[(n, SCALAR)][:-1]])
            case Below(name=n):
                return np.concatenate([values[(n, SCALAR)][1:], [0.0]])
            case Label():
                return row.category
            case Block(names=ns):
                return [values[(n, SCALAR)] for n in ns]
            case Neg(operand=o):
                return -ev(o, p, row)
            case Coalesce(primary=Ref(name=n), fallback=f):
                return values[(n, p)] if (n, p) in values else ev(f, p, row)
            case Call(func="ABS", args=(arg,)) if row.per_customer:
                return np.abs(ev(arg, p, row))
            case Call(func="SUM", args=(arg,)) if row.per_customer:
                table = ev(arg, p, row)  # one row of cells per customer: add left to right, as Excel does
                return functools.reduce(np.add, table.T)
            case Call(func=f, args=args):
                plain = [a.tolist() if isinstance(a, np.ndarray) else a for a in (ev(a, p, row) for a in args)]
                return FUNCTIONS[f].python(*plain)
            case BinOp(op="+", left=Above(name=n), right=rest) if n == row.name:
                steps = np.broadcast_to(np.asarray(ev(rest, p, row), dtype=float), (len(model.ledger.customers),))
                return np.add.accumulate(steps)  # a running total from the opening row's 0
            case BinOp(op=op, left=a, right=b):
                return _binop(op, ev(a, p, row), ev(b, p, row))
        raise TypeError(f"cannot evaluate {e!r}")

    for row in rows:
        for p in row.cells:
            if row.role == "link":
                continue
            result = ev(row.expr, p, row)
            values[(row.name, p)] = np.asarray(result, dtype=float) if row.per_customer else float(result)


def _binop(op: str, a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return _array_binop(op, a, b)
    if op == "/":
        return a / b if b else math.nan
    if op == "^":
        return math.pow(a, b)
    return {
        "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
        "<=": lambda: a <= b, ">=": lambda: a >= b, "<": lambda: a < b, ">": lambda: a > b, "=": lambda: a == b,
    }[op]()


def _array_binop(op: str, a, b):
    """Element-wise, as a formula copied down a column computes it: TRUE/FALSE count as 1/0, x/0 is NaN."""
    a, b = (np.asarray(x, dtype=float) if np.asarray(x).dtype == bool else x for x in (a, b))
    if op in ("<=", ">=", "<", ">", "="):
        return {"<=": np.less_equal, ">=": np.greater_equal, "<": np.less, ">": np.greater,
                "=": np.equal}[op](a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        if op == "/":
            b = np.asarray(b, dtype=float)
            return np.where(b != 0, np.divide(a, np.where(b != 0, b, 1.0)), np.nan)
        return {"+": np.add, "-": np.subtract, "*": np.multiply, "^": np.power}[op](a, b)
