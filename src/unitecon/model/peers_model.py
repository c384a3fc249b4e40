"""A peers workbook: several companies' figures side by side, each computed as in its own workbook.

Each company's model is built from its own inputs file, so the figures (and their sources) are taken
from there, never retyped. The rows the comparison needs, and every row and input they rest on, are
copied into one model with each name suffixed by the company's model name
(``compute_to_revenue_<model>``); amounts in another currency are converted to USD at the company's own
cited exchange rates. The Summary shows each compared metric company by company across one time axis
(the union of theirs), and each company's exchange rate in its headline period, named
``compute_to_revenue_<model>``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ModelError, Problem
from ..geometry import looks_like_a_cell
from .assemble import build_model
from .evaluate import evaluate
from .expr import PERIOD_MONTHS, At, InputLink, Ref, rename
from .inputs import Inputs, Period, Series, figure_name, load_inputs, period_months_series
from .inputs_schema import DocumentSpec
from .metrics.families import conversion, fx_rates
from .metrics.peers import COMPARED, HEADLINE, HEADLINE_SECTION, Compared
from .rows import Model, Row
from .timeaxis import TimeAxis

MODEL = "peers"
TARGET = "USD"
def _union_axis(models: list[Model]) -> dict[str, Period]:
    """Every company's periods on one axis, by end date (the longer first); one id must mean one span. Whether a
    period overlays others is each company's own matter: its rows were made on its own axis and keep their
    periods, so the union marks none."""
    periods: dict[str, Period] = {}
    owner: dict[str, Path] = {}
    for model in models:
        for pid, p in model.inputs.periods.items():
            seen = periods.get(pid)
            if seen and (seen.start, seen.end) != (p.start, p.end):
                raise ModelError(Problem(str(model.inputs.path), f"periods.{pid}",
                                         f"{pid} runs {p.start} to {p.end} here but {seen.start} to {seen.end} in "
                                         f"{owner[pid]}; one period id must mean the same dates in every company",
                                         model.inputs.line("periods", pid)))
            owner.setdefault(pid, model.inputs.path)
            periods[pid] = replace(p, overlay=False, edited=None)
    return {p.id: p for p in sorted(periods.values(), key=lambda p: (p.end, -p.months))}


def sheet_name(model: str) -> str:
    """The sheet holding a company's workings: its model name, unless Excel would read that as a cell."""
    return model if not looks_like_a_cell(model) and len(model) <= 31 else f"m_{model}"[:31]


def _closure(rows: dict[str, Row], names: list[str]) -> set[str]:
    """``names`` and every row and input they rest on (the built-in period lengths left out)."""
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in wanted or name == PERIOD_MONTHS:
            continue
        wanted.add(name)
        row = rows.get(name)
        if row is not None and row.role != "link":
            todo += [n for n in row.expr.refs() if n != name]
    return wanted


@dataclass
class _Company:
    """One company's part of the peers model."""

    series: dict[str, Series]
    rows: list[Row]
    compared: list[tuple[Compared, Row]]  # the row holding each compared metric (USD for amounts)
    headline: str | None  # the defined name of its headline exchange rate
    headline_period: str | None
    skipped: list[str]  # compared amounts left out: no cited rate to USD


def _company(model: Model) -> _Company:
    inputs = model.inputs
    key, company = inputs.model, inputs.company
    built = {r.name: r for r in model.rows if r.role in ("link", "metric")}
    pool = dict(built)
    picks: list[tuple[Compared, str]] = []
    skipped = []
    for c in COMPARED:
        name = c.pattern.format(ccy=inputs.ccy)
        if name not in built:
            continue
        if c.amount and inputs.currency != TARGET:
            usd = c.pattern.format(ccy=TARGET.lower())
            if usd not in built:
                expr = conversion(Ref(name), inputs.currency, TARGET, fx_rates(inputs))
                if expr is None:
                    skipped.append(name)
                    continue
                row = built[name]
                pool[usd] = Row(usd, f"{row.label} (USD)", TARGET, "period", expr,
                                f"{row.label} converted to USD at the cited exchange rate.", "", "metric",
                                list(row.periods))
            name = usd
        picks.append((c, name))
    keep = _closure(pool, [name for _, name in picks])

    keep.add(PERIOD_MONTHS)  # each company's sheet has its own row of period lengths, on its own time axis

    def moved(name: str) -> str:
        return f"{name}_{key}" if name in keep else name

    series: dict[str, Series] = {}
    for name, s in model.series.items():
        if name not in keep or name == PERIOD_MONTHS:
            continue
        figures = {pid: replace(f, name=figure_name(moved(name), None if s.grain == "scalar" else pid,
                                                    len(s.figures)), series=moved(name), scenarios=())
                   for pid, f in s.figures.items()}
        series[moved(name)] = Series(moved(name), f"{company}: {s.label}", s.unit, s.kind, s.grain, s.description,
                                     figures)
    order = [r.name for r in model.rows if r.name in pool] + [n for n in pool if n not in built]
    sheet = sheet_name(key)
    rows = []
    for name in order:
        if name not in keep:
            continue
        row = pool[name]
        if name == PERIOD_MONTHS:  # the shared period lengths, brought onto this company's axis
            rows.append(replace(row, name=moved(name), role="metric", sheet=sheet, section="Period lengths"))
            continue
        link = row.role == "link"
        rows.append(replace(row, name=moved(name), expr=InputLink(moved(name)) if link else rename(row.expr, moved),
                            section=f"{company}: {'inputs by period' if link else 'workings'}", sheet=sheet))
    by_name = {r.name: r for r in rows}
    compared = [(c, by_name[moved(name)]) for c, name in picks]
    headline = moved(HEADLINE) if HEADLINE in keep else None
    period = inputs.headlines.get(HEADLINE) or (built[HEADLINE].periods[-1] if headline else None)
    return _Company(series, rows, compared, headline, period, skipped)


def build_peers(paths: list[Path], out_dir: Path | None = None) -> Model:
    """The peers model of the companies whose inputs files are ``paths`` (two or more)."""
    if len(paths) < 2:
        raise ModelError(Problem("peers", "", f"a peers workbook compares two or more companies; got {len(paths)}"))
    models = [build_model(load_inputs(path).with_scenario(None)) for path in paths]
    keys = [m.inputs.model for m in models]
    if len(set(keys)) != len(keys):
        raise ModelError(Problem("peers", "", f"two inputs files declare the same model ({', '.join(keys)})"))
    periods = _union_axis(models)
    companies = [_company(m) for m in models]

    series: dict[str, Series] = {}
    documents: dict[str, DocumentSpec] = {}
    rows: list[Row] = []
    headlines: dict[str, str | None] = {}
    headline_rows: list[Row] = []
    compared: dict[str, list[Row]] = {c.label: [] for c in COMPARED}
    for model, part in zip(models, companies, strict=True):
        inputs = model.inputs
        series |= part.series
        for s in part.series.values():
            for f in s.figures.values():
                if f.source.document:
                    documents.setdefault(f.source.document, inputs.documents[f.source.document])
        rows += part.rows
        for c, row in part.compared:
            compared[c.label].append(Row(f"out_{row.name}", inputs.company, row.unit, "period", Ref(row.name),
                                         row.description, c.label, "output", list(row.periods)))
        if part.headline:
            headlines[part.headline] = part.headline_period
            headline_rows.append(Row(f"out_{part.headline}", f"{inputs.company} "
                                     f"({periods[part.headline_period].label})", "multiple", "scalar",
                                     At(part.headline, part.headline_period),
                                     "The company's compute-to-revenue exchange rate in its headline period.",
                                     HEADLINE_SECTION, "output"))
    peers_inputs = Inputs(
        path=(out_dir or Path("workbooks")) / f"{MODEL}.xlsx", model=MODEL,
        company="Peers: " + ", ".join(m.inputs.company for m in models), currency=TARGET,
        documents=documents, periods=periods, headlines=dict(headlines), series=series,
        digest=hashlib.sha256("".join(m.inputs.digest for m in models).encode()).hexdigest(),
        members=[(m.inputs.model, m.inputs.path, m.inputs.digest) for m in models])
    months = period_months_series(peers_inputs)
    outputs = headline_rows + [r for group in compared.values() for r in group]
    peers = Model(peers_inputs, {PERIOD_MONTHS: months, **series}, [*rows, *outputs], {}, headlines,
                  axis=TimeAxis(periods),
                  sheet_titles={sheet_name(m.inputs.model): (m.inputs.company, m.inputs.currency) for m in models})
    peers.notes = [f"{m.inputs.model} reports in {m.inputs.currency} and gives no exchange rate to USD: "
                   f"{', '.join(p.skipped)} left out of the USD comparison"
                   for m, p in zip(models, companies, strict=True) if p.skipped]
    evaluate(peers)
    return peers
