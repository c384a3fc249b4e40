"""Apply the metric catalogue to one inputs file: which rows exist, over which periods, in what order.

A :class:`Model` is a list of :class:`Row` objects (input links, metrics, check parts, the master
check) plus the values the engine computes for them. Those values become the cached values written
beside each formula; the tests recompute the formulas from the written file instead and compare both
with an independent reference.
"""

from __future__ import annotations

import difflib
import graphlib
import re
from dataclasses import replace

from ..errors import ModelError, Problem
from ..geometry import SCENARIO
from .evaluate import evaluate
from .expr import (
    PERIOD_MONTHS,
    Across,
    At,
    Block,
    Expr,
    InputLink,
    call,
    ref,
)
from .inputs import Inputs, period_months_series, scenario_header
from .ledger import Ledger
from .metrics import Check, Metric
from .metrics.catalogue import NotBuilt
from .metrics.catalogue import apply as apply_catalogue
from .metrics.catalogue import load as load_catalogue
from .metrics.checks import MASTER, PARTS, RULES
from .metrics.customers import CUSTOMERS as CUSTOMER_SUMMARY
from .metrics.families import customer_indicator
from .rows import SCALAR, Model, Row
from .scope import Scope, Why
from .timeaxis import TimeAxis
from .what_if import add_what_ifs


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
    """The rows ``check`` is shown as on the Checks sheet, as its declared ``PARTS`` say."""
    base = f"check_{check.name}"
    rule = RULES[check.rule][0]
    parts = {part.suffix: ref(f"{base}_{part.suffix}") for part in PARTS}
    return [Row(f"{base}_{part.suffix}", part.label.format(rule=rule), part.unit or check.unit, check.grain,
                part.expr(check, parts), (part.description or check.description).format(rule=rule), section,
                part.role, list(periods), check.name)
            for part in PARTS]


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
    scope = Scope(series, axis)
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
                            pattern=m.pattern, named=m.named))
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
        which = 0 if reconciling else 1
        rows += [Row(m.name, m.label[which], m.unit, "scalar", m.expr(block), m.description[which], "Master check",
                     "master") for m in MASTER]
    rows += _output_rows(inputs, rows, headlines, summaries, ledger)
    built = {r.name for r in rows} | set(series) | {f.name for f in inputs.figures()}
    model = Model(inputs, series, rows, {}, headlines, ledger, axis=axis,
                  not_built=[n for n in not_built.values() if n.name not in built], reconciling=reconciling)
    evaluate(model)
    if ledger is not None and ("customer_total_revenue", SCALAR) in model.values:
        _sort_customers(model)
    add_what_ifs(model)
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


