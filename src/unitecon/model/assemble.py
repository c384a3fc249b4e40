"""Apply the metric catalogue to one inputs file: which rows exist, over which periods, in what order.

A :class:`Model` is a list of :class:`Row` objects (input links, metrics, check parts, the master
check) plus the values the engine computes for them. Those values become the cached values written
beside each formula; the tests recompute the formulas from the written file instead and compare both
with an independent reference.
"""

from __future__ import annotations

import difflib
import functools
import graphlib
import math
import re
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import ModelError, Problem
from ..limits import EXCEL_MAX
from .expr import (
    FIRST_YEAR,
    LAST_YEAR,
    ONE,
    PERIOD_MONTHS,
    SELECTORS,
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
    Named,
    Neg,
    Num,
    Previous,
    PriorYear,
    Ref,
    Span,
    call,
    compare,
    ref,
    transform,
)
from .functions import FUNCTIONS
from .inputs import SCENARIO, Figure, Inputs, Series, Source, scenario_header
from .ledger import Ledger
from .metrics import Check, Metric
from .metrics.catalogue import NotBuilt
from .metrics.catalogue import apply as apply_catalogue
from .metrics.catalogue import load as load_catalogue
from .metrics.customers import CUSTOMERS as CUSTOMER_SUMMARY
from .metrics.families import customer_indicator
from .timeaxis import TimeAxis

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
    pattern: str = ""  # the catalogue declaration it comes from (its name pattern)
    sheet: str | None = None  # a workings sheet of its own (a peers workbook's company sheet); None: Calculations

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
    axis: TimeAxis | None = None
    not_built: list[NotBuilt] = field(default_factory=list)  # catalogue metrics and checks this model lacks
    reconciling: list[str] = field(default_factory=list)  # check summaries that reconcile figures
    unused: list[Problem] = field(default_factory=list)  # warnings: inputs no row reads
    notes: list[str] = field(default_factory=list)  # what the build should say besides (a peers model's gaps)
    sheet_titles: dict[str, tuple[str, str]] = field(default_factory=dict)  # own workings sheet -> (whose, currency)

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


def period_months_series(inputs: Inputs) -> Series:
    """The built-in series of period lengths in months, one figure per period of ``inputs``."""
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
    """What each name is: a period series (with its periods) or a scalar; and why a row cannot exist."""

    def __init__(self, series: dict[str, Series], axis: TimeAxis):
        self.axis = axis
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

    def missing(self, e: Expr, own: str = "") -> tuple[str, ...]:
        """The first name ``e`` reads that this model does not have (``own``: a running total's own row); for a
        reported-else-estimate lacking both, the first each side lacks. Empty when nothing is missing."""
        if isinstance(e, Coalesce):
            primary, fallback = self.missing(e.primary, own), self.missing(e.fallback, own)
            return (*primary, *fallback) if primary and fallback else ()
        names = e.names if isinstance(e, Block) else [e.name] if isinstance(e, Named) else []
        for name in names:
            if name != own and not self.knows(name):
                return (name,)
        for child in e.children():
            found = self.missing(child, own)
            if found:
                return found
        return ()

    def simplify(self, e: Expr) -> Expr:
        """``e`` with every reported-else-estimate reduced to the side this model can compute, where only one can."""

        def visit(node: Expr) -> Expr | None:
            if isinstance(node, Coalesce):
                primary, fallback = self.missing(node.primary), self.missing(node.fallback)
                if primary and not fallback:
                    return node.fallback
                if fallback and not primary:
                    return node.primary
            return None

        return transform(e, visit)

    def concrete(self, e: Expr) -> tuple[Expr, str | None]:
        """``e`` with its full-year selectors replaced by period ids (the row's first and last full year: the
        years every series it reads with them has), or the reason it has none."""
        series = {node.name for node in e.walk() if isinstance(node, At) and node.period in (FIRST_YEAR, LAST_YEAR)
                  and node.name != PERIOD_MONTHS}
        uses = any(isinstance(node, At | Span) and YEAR_SELECTORS & {getattr(node, f, "") for f in
                                                                     ("period", "first", "last")}
                   for node in e.walk())
        if not uses:
            return e, None
        years = None
        for name in sorted(series):
            mine = self.axis.full_years(self.period_names.get(name, []))
            years = mine if years is None else [p for p in years if p in mine]
        years = years if years is not None else self.axis.full_years(self.axis.ids)
        if len(years) < 3:  # over one year a compound rate is the year-on-year growth
            return e, f"needs three full-year (12-month) periods of {', '.join(sorted(series))}"
        first, last = years[0], years[-1]
        if not self.axis.follow_on(first, last):
            return e, f"the periods from {first} to {last} do not follow one another"
        pick = {FIRST_YEAR: first, LAST_YEAR: last}

        def visit(node: Expr) -> Expr | None:
            if isinstance(node, At) and node.period in pick:
                return At(node.name, pick[node.period])
            if isinstance(node, Span):
                return Span(node.name, pick.get(node.first, node.first), pick.get(node.last, node.last))
            return None

        return transform(e, visit), None

    def periods_for(self, name: str, grain: str, exprs: list[Expr]) -> tuple[list[str] | None, Why]:
        """The periods a row over ``exprs`` exists in, or None and why it cannot exist at all: the names it
        lacks, or a sentence."""
        for e in exprs:
            missing = self.missing(e, own=name)
            if missing:
                return None, missing
        for e in exprs:
            for node in e.walk():
                if isinstance(node, At | Across | Span) and node.name not in self.period_names:
                    return None, f"{node.name} is one number, not a series over periods"
                if isinstance(node, At) and self.axis.select(node.period, self.period_names[node.name]) is None:
                    return None, f"{node.name} has no {SELECTORS.get(node.period, node.period)} figure"
                if isinstance(node, Across) and not self.axis.regular(self.period_names[node.name]):
                    return None, f"{node.name} has no regular (non-overlay) period"
        if grain == "scalar":
            series_refs = sorted(r for e in exprs for r in e.period_refs() if r in self.period_names)
            if series_refs:
                message = f"scalar metric reads period series {series_refs}: use at(), latest() or total()"
                raise ModelError(Problem("metric catalogue", name, message))
            return [], None
        found: set[str] | object = ALL
        for e in exprs:
            mine = self._periods(e)
            found = mine if found is ALL else found if mine is ALL else found & mine
        periods = self.axis.ids if found is ALL else [p for p in self.axis.ids if p in found]
        if not periods:
            lags = {type(node).__name__: node.name for e in exprs for node in e.walk()
                    if isinstance(node, PriorYear | Previous)}
            if "PriorYear" in lags:
                return None, f"no period of {lags['PriorYear']} has one of the same length a year before it"
            if "Previous" in lags:
                return None, f"no period of {lags['Previous']} has one ending the day before it starts"
            inputs = sorted({r for e in exprs for r in e.period_refs()})
            return None, f"{', '.join(inputs)} have no period in common"
        return periods, None

    def _periods(self, e: Expr) -> set[str] | object:
        """Periods where ``e`` has a value (``ALL`` where it does not depend on the period)."""
        if isinstance(e, Ref | InputLink | Column):
            return set(self.period_names[e.name]) if e.name in self.period_names else ALL
        if isinstance(e, PriorYear | Previous):
            have = self.period_names.get(e.name, [])
            lag = self.axis.prior_year if isinstance(e, PriorYear) else self.axis.previous
            return {p for p in self.axis.ids if lag(p, have)}
        if isinstance(e, Coalesce):
            a, b = self._periods(e.primary), self._periods(e.fallback)
            return ALL if a is ALL or b is ALL else a | b
        out: set[str] | object = ALL
        for child in e.children():
            mine = self._periods(child)
            out = mine if out is ALL else out if mine is ALL else out & mine
        return out


ALL = object()  # "every period": the value does not depend on the period
YEAR_SELECTORS = {FIRST_YEAR, LAST_YEAR}
#: Why a row cannot exist: the names it reads that the model lacks (alternatives), or a sentence.
Why = tuple[str, ...] | str | None


def _order(metrics: list[Metric]) -> list[Metric]:
    """Metrics with every metric after the ones it reads, otherwise in declaration order."""
    index = {m.name: i for i, m in enumerate(metrics)}
    graph = {m.name: {r for r in m.expr.refs() if r in index and r != m.name} for m in metrics}
    sorter = graphlib.TopologicalSorter(graph)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        raise ModelError(Problem("metric catalogue", " -> ".join(exc.args[1]), "circular definition")) from None
    ready = sorted(sorter.get_ready(), key=index.__getitem__)
    ordered = []
    while ready:
        name = ready.pop(0)
        ordered.append(name)
        sorter.done(name)
        ready = sorted([*ready, *sorter.get_ready()], key=index.__getitem__)
    by_name = {m.name: m for m in metrics}
    return [by_name[n] for n in ordered]


def _check_rows(check: Check, periods: list[str], section: str = "Checks") -> list[Row]:
    base = f"check_{check.name}"
    actual, expected, diff = f"{base}_actual", f"{base}_expected", f"{base}_difference"
    if check.rule == "match":
        status = compare("<=", call("ABS", ref(diff)), ref(check.tolerance)) * ONE
        rule = "within tolerance"
    elif check.rule == "at_least":
        status = compare(">=", ref(actual), ref(expected)) * ONE
        rule = "actual at least expected"
    else:
        status = compare("<=", ref(actual), ref(expected)) * ONE
        rule = "actual at most expected"

    def row(name: str, label: str, unit: str, expr: Expr, role: str, description: str) -> Row:
        return Row(name, label, unit, check.grain, expr, description, section, role, list(periods), check.name)

    return [
        row(actual, "actual", check.unit, check.actual, "check_actual", check.description),
        row(expected, "expected", check.unit, check.expected, "check_expected", check.description),
        row(diff, "difference (actual ÷ expected − 1)", "ratio", ref(actual) / ref(expected) - ONE,
            "check_difference", "actual ÷ expected − 1"),
        row(f"{base}_status", f"status (OK = {rule})", "flag", status, "check_status", f"1 = OK ({rule}), 0 = FAIL"),
    ]


def _ledger_facts(inputs: Inputs) -> dict[str, str]:
    """What the ledger gives per customer, by name, with its grain: the facts customer metrics rest on."""
    facts = {"customer_amount": "customer_period", "customer_segment": "customer", "customer_deployment": "customer"}
    if inputs.ledger and inputs.ledger.margins:
        for segment in dict.fromkeys(inputs.ledger.margins.segments.values()):
            facts[customer_indicator(segment)] = "customer"
    return facts


def _not_built_reason(name: str, why: Why, reasons: dict[str, NotBuilt]) -> NotBuilt:
    """Why ``name`` was not built: the first input it lacks, followed through the metrics it reads
    (``reasons``: why each metric not built so far was not)."""
    if isinstance(why, str):
        return NotBuilt(name, why)
    first, *others = why
    if first in reasons and not others:
        inner = reasons[first]
        if inner.reason.startswith("needs "):
            return NotBuilt(name, f"needs {first}, which {inner.reason}", inner.missing)
        return NotBuilt(name, f"needs {first}, not built: {inner.reason}", inner.missing, inner.family)
    alternatives = "".join(f" (or input {other})" for other in others)
    return NotBuilt(name, f"needs input {first}{alternatives}", first)


def build_model(inputs: Inputs, ledger: Ledger | None = None) -> Model:
    """Apply the catalogue to ``inputs`` (and its customer ``ledger``): rows that can be computed, in
    dependency order, with values; and what the catalogue has that this model does not."""
    if inputs.scenarios and inputs.active_scenario is None:
        inputs = inputs.with_scenario(None)
    catalogue = load_catalogue()
    applied = apply_catalogue(catalogue, inputs, ledger)
    series = {PERIOD_MONTHS: period_months_series(inputs), **inputs.series}
    clashes = [m for m in applied.metrics if m.name in series]
    if clashes:
        problems = []
        for m in clashes:
            if m.origin and "." in m.origin:
                section, _, key = m.origin.partition(".")
                problems.append(Problem(str(inputs.path), m.origin, f"makes the metric {m.name}, which is also an "
                                        "input key of the file; rename the input or the declaration",
                                        inputs.line(section, key)))
            else:
                problems.append(Problem(str(inputs.path), f"inputs.{m.name}", "is also the name of a catalogue "
                                        "metric; rename the input", inputs.line("inputs", m.name)))
        raise ModelError(problems)
    axis = TimeAxis(inputs.periods)
    scope = _Scope(series, axis)
    if inputs.scenarios:
        scope.scalar_names.update([SCENARIO, *(scenario_header(s) for s in inputs.scenarios)])
    if ledger is not None:
        for fact, grain in _ledger_facts(inputs).items():
            if grain == "customer_period":
                scope.period_names[fact] = list(ledger.periods)
            else:
                scope.scalar_names.add(fact)

    rows: list[Row] = [
        Row(s.key, s.label, s.unit, "period", InputLink(s.key), s.description or "Cited input, linked by name.",
            "Inputs by period", "link", s.periods)
        for s in series.values() if s.grain == "period"
    ]
    names = [m.name for m in applied.metrics]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems = []
        for name in duplicates:
            origins = sorted({m.origin or "the catalogue" for m in applied.metrics if m.name == name})
            section, _, key = origins[0].partition(".")
            problems.append(Problem(str(inputs.path), " and ".join(origins), f"both make the metric {name}; rename "
                                    "one of them", inputs.line(section, key)))
        raise ModelError(problems)
    by_name = {m.name: m for m in applied.metrics}
    not_built: dict[str, NotBuilt] = {s.name: s for s in applied.skipped}
    summaries: list[Metric] = []
    for m in _order(applied.metrics):
        expr = scope.simplify(m.expr)
        expr, why = scope.concrete(expr)
        like = "period" if m.grain in ("period", "customer_period") else "scalar"
        periods, why = (None, why) if why else scope.periods_for(m.name, like, [expr])
        if periods is None:
            not_built[m.name] = _not_built_reason(m.name, why, not_built)
            continue
        scope.add(m.name, like, periods)
        if m.grain == "category":
            rows += _category_rows(m, expr, ledger)
        else:
            rows.append(Row(m.name, m.label, m.unit, m.grain, expr, m.description, m.section, "metric", periods,
                            pattern=m.pattern))
        if m.summary:
            summaries.append(m)

    headlines = _headlines(inputs, rows, by_name, not_built)

    check_summaries: list[str] = []
    reconciling: list[str] = []
    for check in applied.checks:
        exprs = [scope.simplify(check.actual), scope.simplify(check.expected)]
        periods, why = scope.periods_for(check.name, check.grain, exprs)
        if periods is None:
            not_built[f"check_{check.name}"] = _not_built_reason(f"check_{check.name}", why, not_built)
            continue
        if check.tolerance and not scope.knows(check.tolerance):
            close = difflib.get_close_matches(check.tolerance, list(inputs.series), n=1)
            published = next((m for m, spec in inputs.published.items() if spec.tolerance == check.tolerance), None)
            where, line = ((f"published.{published}.tolerance", inputs.line("published", published)) if published
                           else (f"inputs.{check.tolerance}", None))
            hint = f"; did you mean {close[0]}?" if close else "; add it (unit ratio, grain scalar)"
            raise ModelError(Problem(str(inputs.path), where, f"{check.tolerance} is not an input of the file, and "
                                     f"check {check.name!r} needs it{hint}", line))
        parts = _check_rows(replace(check, actual=exprs[0], expected=exprs[1]), periods)
        for part in parts:
            scope.add(part.name, part.grain, periods)
        rows.extend(parts)
        status = parts[-1].name
        summary = call("MIN", Across(status)) if check.grain == "period" else ref(status)
        rows.append(Row(f"check_{check.name}", check.label, "flag", "scalar", summary, check.description,
                        "Check summary", "check_summary", [], check.name, pattern=check.pattern))
        check_summaries.append(f"check_{check.name}")
        if check.reconciles:
            reconciling.append(f"check_{check.name}")
        scope.add(f"check_{check.name}", "scalar", [])
    _published_built(inputs, check_summaries, not_built)
    if check_summaries:
        block = Block(tuple(check_summaries))
        scope_text = ("1 only when every check passes." if reconciling else
                      "Covers the workbook's integrity only: no reconciliation applies to these inputs, so no "
                      "figure is cross-checked.")
        rows += [
            Row("master_check", "Master check (OK only when every check passes)" if reconciling else
                "Master check (integrity only: no reconciliation applies)", "flag", "scalar",
                call("MIN", block), scope_text, "Master check", "master"),
            Row("failing_checks", "Number of failing checks", "count", "scalar",
                call("COUNT", block) - call("SUM", block), "How many checks fail.", "Master check", "master"),
        ]
    rows += _output_rows(inputs, rows, headlines, summaries, ledger)
    built = {r.name for r in rows} | set(series) | {f.name for f in inputs.figures()}
    model = Model(inputs, series, rows, {}, headlines, ledger, axis=axis,
                  not_built=[n for n in not_built.values() if n.name not in built], reconciling=reconciling)
    evaluate(model)
    if ledger is not None and ("customer_total_revenue", SCALAR) in model.values:
        _sort_customers(model)
    _what_ifs(model)
    model.unused = unused_inputs(model, catalogue)
    return model


def _published_built(inputs: Inputs, checks: list[str], not_built: dict[str, NotBuilt]) -> None:
    """A figure under ``published:`` is a check the file asks for: one that cannot be made is an error."""
    problems = []
    for metric, spec in inputs.published.items():
        if f"check_{spec.input}" in checks:
            continue
        reason = not_built.get(metric) or not_built.get(f"check_{spec.input}")
        why = reason.reason if reason else "the metric has no figure in the printed figure's period"
        problems.append(Problem(str(inputs.path), f"published.{metric}", f"cannot be checked: {why}",
                                inputs.line("published", metric)))
    if problems:
        raise ModelError(problems)


def _headlines(inputs: Inputs, rows: list[Row], metrics: dict[str, Metric],
               not_built: dict[str, NotBuilt]) -> dict[str, str | None]:
    """Headline metric -> its period (None: scalar); every problem with them is reported at once."""
    headlines: dict[str, str | None] = {}
    problems = []
    built = {r.name: r for r in rows}
    for name, period in inputs.headlines.items():
        pid = None if period == "scalar" else period
        where, line = f"headlines.{name}", inputs.line("headlines", name)
        row = built.get(name)
        if row is None:
            if name in not_built:
                why = not_built[name].reason
                missing = not_built[name].missing
                close = difflib.get_close_matches(missing, list(inputs.series), n=1, cutoff=0.85) if missing else []
                if close:
                    why += f"; the file has {close[0]}: misspelt?"
            else:
                close = difflib.get_close_matches(name, sorted(metrics), n=3)
                why = ("not a metric of the catalogue for this file; "
                       + (f"did you mean {' or '.join(close)}?" if close else "see `unitecon catalogue`"))
            problems.append(Problem(str(inputs.path), where, f"cannot be computed: {why}", line))
            continue
        if (row.grain == "scalar") != (pid is None) or (pid is not None and pid not in row.periods):
            have = "scalar" if row.grain == "scalar" else ", ".join(row.periods)
            problems.append(Problem(str(inputs.path), where, f"has no cell for {period!r}; expected one of: {have}",
                                    line))
            continue
        headlines[name] = pid
    if problems:
        raise ModelError(problems)
    return headlines


def unused_inputs(model: Model, catalogue) -> list[Problem]:
    """A warning for each input key no row of ``model`` reads, naming the nearest name the catalogue reads."""
    inputs = model.inputs
    read: set[str] = set()
    for row in model.rows:
        if row.role != "link":  # a period input's own link row on Calculations is not a reader
            read |= row.expr.refs()
    figure_series = {f.name: f.series for f in model.figures()}
    read |= {figure_series[n] for n in list(read) if n in figure_series}
    if inputs.sensitivity:
        read |= {inputs.sensitivity.rows.input, inputs.sensitivity.rows.step, inputs.sensitivity.columns.input,
                 inputs.sensitivity.columns.step}
    if inputs.ledger:
        read |= set(inputs.ledger.fx.values())
        sample = inputs.ledger.sample
        if sample:
            read |= {v for v in (sample.revenue, sample.share, sample.customers, sample.repurchase,
                                 *sample.deployment.values()) if isinstance(v, str)}
    currencies = {s.unit.split("/")[0] for s in inputs.series.values()}
    recognised = sorted(catalogue.recognised_inputs(inputs.ccy, {c for c in currencies if len(c) == 3}))
    out = []
    for key in inputs.series:
        if key in read:
            continue
        close = difflib.get_close_matches(key, [r for r in recognised if r != key], n=1, cutoff=0.75)
        if key in recognised:
            hint = "the catalogue reads it, but nothing this file builds needs it (a tolerance with no check to use it)"
        elif close:
            hint = f"did you mean {close[0]}?" + (" (the file gives that too)" if close[0] in inputs.series else "")
        else:
            hint = ("declare it in products:, segments: or published:, or see `unitecon catalogue` for the names "
                    "the catalogue reads")
        out.append(Problem(str(inputs.path), f"inputs.{key}", f"no metric reads this input; {hint}",
                           inputs.line("inputs", key)))
    return out


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
    evaluate(model)


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
                       heading, "metric", [], category=str(value), pattern=m.pattern))
    return out


SECTION_PREFIX = "Customers: "


def _output_rows(inputs: Inputs, rows: list[Row], headlines: dict[str, str | None], summaries: list[Metric],
                 ledger: Ledger | None) -> list[Row]:
    """The Summary sheet: headline metrics, then every metric declared with a Summary section (a period
    metric in the latest period it has)."""
    by_name = {r.name: r for r in rows}
    out = []
    for name, pid in headlines.items():
        row = by_name[name]
        label = f"{row.label} ({inputs.periods[pid].label})" if pid else row.label
        out.append(Row(f"out_{name}", label, row.unit, "scalar",
                       At(name, pid) if pid else ref(name), row.description, "Headline metrics", "output"))
    for m in summaries:
        row = by_name[m.name]
        section = m.summary
        if section == CUSTOMER_SUMMARY and ledger is not None:
            section = "Customers, from a SYNTHETIC sample ledger" if ledger.synthetic else "Customers, from the ledger"
        label = m.summary_label or row.label
        if row.grain == "period":
            pid = row.periods[-1]
            out.append(Row(f"out_{row.name}", f"{label} ({inputs.periods[pid].label})", row.unit, "scalar",
                           At(row.name, pid), row.description, section, "output"))
        else:
            out.append(Row(f"out_{row.name}", label, row.unit, "scalar", ref(row.name), row.description, section,
                           "output"))
    return out


# ---------------------------------------------------------------------------------------------------
# Python evaluation of the tree, for the cached values written beside each formula.


def evaluate(model: Model) -> None:
    """Compute every row of ``model`` into its values: the cached values written beside the formulas."""
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
        margins = model.inputs.ledger.margins
        if margins:
            column = customers[margins.column]
            lower = margins.column == "deployment"  # the ledger reader keeps deployments in lower case
            for segment in dict.fromkeys(margins.segments.values()):
                labels = [label.lower() if lower else label for label, s in margins.segments.items() if s == segment]
                values[(customer_indicator(segment), SCALAR)] = column.isin(labels).to_numpy(dtype=float)
        values[("customer_segment", SCALAR)] = customers["segment"].to_numpy(dtype=object)
        values[("customer_deployment", SCALAR)] = customers["deployment"].to_numpy(dtype=object)

    _evaluate_rows(model, model.rows, values)


def _evaluate_rows(model: Model, rows: list[Row], values: dict) -> None:
    """Compute ``rows`` (in dependency order) into ``values``, reading inputs and earlier rows from it."""
    period_rows = {s.key: s.periods for s in model.series.values() if s.grain == "period"}
    period_rows |= {r.name: r.periods for r in model.rows if r.grain in ("period", "customer_period")}
    if model.ledger is not None:
        period_rows["customer_amount"] = model.ledger.periods
    axis = model.axis

    def ev(e: Expr, p: str | None, row: Row):
        match e:
            case Num(value=v):
                return v
            case Ref(name=n) | InputLink(name=n) | Column(name=n):
                return values[(n, p)] if n in period_rows else values[(n, SCALAR)]
            case At(name=n, period=q):
                return values[(n, axis.select(q, period_rows[n]))]
            case PriorYear(name=n):
                return values[(n, axis.prior_year(p, period_rows[n]))]
            case Previous(name=n):
                return values[(n, axis.previous(p, period_rows[n]))]
            case Across(name=n) if row.per_customer:
                return np.column_stack([values[(n, q)] for q in period_rows[n]])
            case Across(name=n):
                return [values[(n, q)] for q in axis.regular(period_rows[n])]
            case Span(name=n, first=a, last=b):
                return [values[(n, q)] for q in axis.between(a, b, period_rows[n])]
            case Above(name=n):
                return np.concatenate([[0.0], values[(n, SCALAR)][:-1]])
            case Below(name=n):
                return np.concatenate([values[(n, SCALAR)][1:], [0.0]])
            case Label():
                return row.category
            case Block(names=ns):
                return np.array([values[(n, SCALAR)] for n in ns], dtype=object)
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
            try:
                result = ev(row.expr, p, row)
            except OverflowError:
                raise _not_a_cell_value(model, row, p, "the result is larger than a cell holds") from None
            except ValueError as exc:
                if "math domain error" not in str(exc):
                    raise
                raise _not_a_cell_value(model, row, p, "a power with no real result") from None
            array = np.asarray(result, dtype=float)
            if np.any(np.abs(array[~np.isnan(array)]) > EXCEL_MAX):
                raise _not_a_cell_value(model, row, p, "the result is larger than a cell holds")
            values[(row.name, p)] = array if row.per_customer else float(result)


def _not_a_cell_value(model: Model, row: Row, period: str | None, why: str) -> ModelError:
    """A row the engines would show as #NUM!: refused, so no cached value disagrees with them."""
    where = row.name if period in (None, SCALAR) else f"{row.name} ({period})"
    return ModelError(Problem(str(model.inputs.path), where, f"cannot be computed ({why}; Excel would show #NUM!); "
                                                            f"expected inputs of a size a spreadsheet can hold, "
                                                            f"within ±{EXCEL_MAX:.14E}"))


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
