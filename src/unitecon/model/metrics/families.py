"""Families: what a declaration made ``over`` a family is made once for, and the roles each member plays.

A family's members come from the inputs file (its products, its segments, the alternatives it gives
for a figure …). A member formats as its key (``{product}`` → ``chat``) and exposes roles
(``{product.revenue}`` → ``chat_revenue_eur``); a role a member lacks makes the declarations that
read it not apply to that member, which the build reports. ``ROLES`` documents every role; the
catalogue refuses a declaration that reads any other.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...geometry import SCENARIO
from ..expr import LATEST, ONE, At, Block, Expr, at, call, compare, ref
from ..inputs import Inputs, scenario_header
from ..inputs_schema import ResidualSpec
from ..units import fx_pair, is_currency

if TYPE_CHECKING:
    from ..ledger import Ledger

#: family -> (where its members come from, {role: what it is}). Roles holding text are "" when absent.
ROLES: dict[str, tuple[str, dict[str, str]]] = {
    "product": ("products:", {
        "label": "the product's label", "description": "its description ('' if none)",
        "revenue": "the input (or residual metric) holding its revenue",
        "residual": "expression: the total less the other product lines (only for revenue: {total, less})",
        "paying_users": "the input holding its paying users",
        "reported_arppu": "the input holding the ARPPU the company reports",
        "press_arppu": "the input holding a press estimate of revenue per user per year",
        "press_annualised": "the annualised ARPPU metric in the press estimate's currency"}),
    "fx": ("convert_to:", {"code": "the currency code (upper case); the member's key is the lower-case code"}),
    "segment": ("segments:", {
        "label": "the segment's label", "description": "its description ('' if none)",
        "revenue": "the input or metric holding its revenue",
        "share_input": "the input holding its share of revenue (only for share:)",
        "rest_of": "expression: the other segments' revenue (only for rest: true)",
        "share_from": "its revenue, when its share is computed (not for share:)",
        "gross_margin": "the input holding its gross margin", "customers": "the input holding its customers",
        "press_revenue_per_customer": "the input holding a press estimate of revenue per customer per year"}),
    "segmentation": ("segments:", {
        "labels": "the segments' labels, joined",
        "revenue_sum": "expression: the sum of the segments' revenue (no segment is rest: true)",
        "blended_margin": "expression: Σ share × gross margin (every segment has a gross margin)"}),
    "listing": ("market_cap_<currency> input in another currency", {
        "input": "the market-cap input", "currency": "its currency code"}),
    "published": ("published:", {
        "label": "check label", "unit": "the metric's unit", "grain": "period or scalar",
        "actual": "expression: the metric (in the printed period)", "expected": "expression: the printed figure",
        "input": "the input holding the printed figure", "rule": "match, at_least or at_most",
        "tolerance": "the tolerance input"}),
    "conflict": ("alternatives: of any figure", {
        "label": "what conflicts", "unit": "the figure's unit", "description": "which sources say what",
        "primary": "expression: the figure the model uses"}),
    "scenarios": ("scenarios:", {"matches": "expression: how many scenario headers equal the selector's text"}),
    "ledger": ("ledger:", {
        "revenue": "expression: a customer's amount in the reporting currency",
        "total": "expression: a customer's revenue over the ledger periods",
        "converted": "how the amount is converted, in words",
        "reconciles_with": "the reported revenue the ledger covers",
        "margin": "expression: the customer's segment gross margin (only with ledger.margins)",
        "margins_by": "the ledger column that picks the margin"}),
    "forward": ("forward:", {"payers": "the paying-user count the view grows",
                             "arppu": "their annual revenue each"}),
}

#: Built-in names: the period lengths, the scenario selector and the ledger's facts per customer.
BUILTINS = {"period_months", "scenario", "customer_amount", "customer_segment", "customer_deployment"}
TEXT_ROLES = {"description"}


#: Roles a member derives from its declaration: what a missing one means, in the inputs file's words.
DERIVED = {
    "residual": "declares no revenue: {total, less}", "press_annualised": "declares no press_arppu",
    "share_input": "declares no share:", "rest_of": "is not rest: true", "share_from": "gives its share as an input",
    "margin": "declares no margins:", "margins_by": "declares no margins:",
    "revenue_sum": "include a rest: true segment, so they add up to the total by construction",
    "blended_margin": "do not all declare a gross_margin:",
}


#: What a role is called in the inputs file, where that differs (None: derived from another key, not shown).
DECLARED_AS = {"residual": "revenue: {total, less}", "press_annualised": None, "share_input": "share",
               "rest_of": "rest: true", "share_from": "revenue", "margin": "margins", "margins_by": "margins",
               "revenue_sum": None, "blended_margin": None, "labels": None, "label": None, "description": None}


class RoleMissing(Exception):
    """A member lacks a role a declaration reads: the declaration does not apply to it."""

    def __init__(self, where: str, role: str):
        self.where, self.role = where, role
        super().__init__(f"{where} {DERIVED.get(role, f'declares no {role}')}")


@dataclass
class Member:
    """One member of a family: formats as its key, exposes its roles as attributes."""

    family: str
    key: str
    where: str  # where the inputs file declares it, e.g. products.chat
    roles: dict[str, object] = field(default_factory=dict)

    def __format__(self, spec: str) -> str:
        return format(self.key, spec)

    def __str__(self) -> str:
        return self.key

    def __getattr__(self, role: str):
        if role.startswith("__"):
            raise AttributeError(role)
        value = self.roles.get(role)
        if value is None:
            if role in TEXT_ROLES:
                return ""
            raise RoleMissing(self.where, role)
        return value


def customer_indicator(segment: str) -> str:
    """The ledger fact column that is 1 for customers whose margin is ``segment``'s."""
    return f"customer_in_{segment}"


def members(inputs: Inputs, ledger: Ledger | None) -> dict[str, list[Member]]:
    """Every family's members for ``inputs``, but ``published`` (see :func:`published_members`)."""
    ccy = inputs.ccy
    out: dict[str, list[Member]] = {family: [] for family in ROLES}
    for key, spec in inputs.products.items():
        residual = None
        if isinstance(spec.revenue, ResidualSpec):
            residual = functools.reduce(operator.sub, [ref(n) for n in spec.revenue.less], ref(spec.revenue.total))
            revenue = f"{key}_revenue_{ccy}"
        else:
            revenue = spec.revenue
        press = inputs.series.get(spec.press_arppu) if spec.press_arppu else None
        press_annualised = None
        if press is not None:
            press_annualised = f"{key}_arppu_annualised_{press.unit.split('/')[0].lower()}"
        out["product"].append(Member("product", key, f"products.{key}", {
            "label": spec.label, "description": spec.description, "revenue": revenue, "residual": residual,
            "paying_users": spec.paying_users, "reported_arppu": spec.reported_arppu,
            "press_arppu": spec.press_arppu, "press_annualised": press_annualised}))

    for code in inputs.convert_to:
        out["fx"].append(Member("fx", code.lower(), "convert_to", {"code": code}))

    segments = inputs.segments
    for key, spec in segments.items():
        revenue = spec.revenue or f"{key}_revenue_{ccy}"
        others = [s.revenue or f"{k}_revenue_{ccy}" for k, s in segments.items() if k != key]
        out["segment"].append(Member("segment", key, f"segments.{key}", {
            "label": spec.label, "description": spec.description, "revenue": revenue,
            "share_input": spec.share,
            "rest_of": functools.reduce(operator.add, [ref(n) for n in others]) if spec.rest and others else None,
            "share_from": None if spec.share else revenue, "gross_margin": spec.gross_margin,
            "customers": spec.customers, "press_revenue_per_customer": spec.press_revenue_per_customer}))
    if segments:
        revenues = [ref(s.revenue or f"{k}_revenue_{ccy}") for k, s in segments.items()]
        shares = [ref(s.share or f"{k}_revenue_share") for k, s in segments.items()]
        margins = [s.gross_margin for s in segments.values()]
        blended = None
        if all(margins):
            blended = functools.reduce(operator.add, [share * ref(m) for share, m in zip(shares, margins,
                                                                                         strict=True)])
        out["segmentation"].append(Member("segmentation", "segments", "segments", {
            "labels": " + ".join(s.label for s in segments.values()),
            "revenue_sum": None if any(s.rest for s in segments.values()) else functools.reduce(operator.add,
                                                                                                 revenues),
            "blended_margin": blended}))

    for name, series in inputs.series.items():
        code = series.unit
        if name == f"market_cap_{code.lower()}" and is_currency(code) and code != inputs.currency:
            out["listing"].append(Member("listing", code.lower(), f"inputs.{name}",
                                         {"input": name, "currency": code}))

    for s in inputs.series.values():
        for alt in s.alternatives:
            primary = next(f for f in s.figures.values() if f.name == alt.alternative_of)
            where = alt.source.document or "an assumption"
            period = inputs.periods[primary.period].label
            used, other = _readable(primary.value), _readable(alt.value)
            out["conflict"].append(Member("conflict", alt.name, ".".join(map(str, alt.path)), {
                "label": f"{s.label}, {period} ({used} used; {other} elsewhere)", "unit": s.unit,
                "description": f"The model uses {used} from {primary.source.document}; {where} reports {other}.",
                "primary": ref(primary.name) if s.grain == "scalar" else At(s.key, primary.period)}))

    if inputs.scenarios:
        headers = Block(tuple(scenario_header(s) for s in inputs.scenarios))
        out["scenarios"].append(Member("scenarios", "scenarios", "scenarios",
                                       {"matches": call("SUMPRODUCT", compare("=", headers, ref(SCENARIO)) * ONE)}))

    if ledger is not None and inputs.ledger is not None:
        out["ledger"].append(_ledger(inputs, ledger))

    if inputs.forward:
        out["forward"].append(Member("forward", "forward", "forward", {"payers": inputs.forward.payers,
                                                                      "arppu": inputs.forward.arppu}))
    return out


def _ledger(inputs: Inputs, ledger: Ledger) -> Member:
    spec = inputs.ledger
    fx = spec.fx.get(ledger.currency) if ledger.currency != inputs.currency else None
    revenue = ref("customer_amount") / ref(fx) if fx else ref("customer_amount")
    converted = f"the ledger amount divided by {fx}" if fx else "the ledger amount (same currency)"
    total = functools.reduce(operator.add, [at("customer_revenue", p) for p in ledger.periods])
    margin, margins_by = None, None
    if spec.margins:
        margins_by = spec.margins.column
        keys = list(dict.fromkeys(spec.margins.segments.values()))
        margin = functools.reduce(operator.add, [
            ref(customer_indicator(k)) * at(inputs.segments[k].gross_margin, LATEST) for k in keys])
    return Member("ledger", "ledger", "ledger", {
        "revenue": revenue, "total": total, "converted": converted, "reconciles_with": spec.reconciles_with,
        "margin": margin, "margins_by": margins_by})


def published_members(inputs: Inputs, metric_grains: dict[str, tuple[str, str, str]]) -> list[Member]:
    """One member per ``published:`` figure. ``metric_grains``: metric name -> (grain, unit, label) of every
    metric the catalogue binds for this file."""
    return [_published(inputs, metric, spec, metric_grains) for metric, spec in inputs.published.items()]


def _published(inputs: Inputs, metric: str, spec, metric_grains: dict[str, tuple[str, str, str]]) -> Member:
    from ...errors import ModelError, Problem

    where = f"published.{metric}"
    known = metric_grains.get(metric)
    if known is None:
        import difflib

        close = difflib.get_close_matches(metric, list(metric_grains), n=1)
        hint = f"; did you mean {close[0]}?" if close else "; see `unitecon catalogue` for the metrics"
        raise ModelError(Problem(str(inputs.path), where, f"{metric!r} is not a metric of the catalogue{hint}",
                                 inputs.line("published", metric)))
    grain, unit, label = known
    series = inputs.series[spec.input]
    if series.unit != unit:
        raise ModelError(Problem(str(inputs.path), where, f"{spec.input} is in {series.unit} but {metric} is in "
                                 f"{unit}; a printed figure is compared with a metric of the same unit",
                                 inputs.line("published", metric)))
    if series.grain == "scalar":
        period = next(iter(series.figures))
        if grain == "period":
            actual: Expr = at(metric, period)
            label = f"{label} ({inputs.periods[period].label})"
        else:
            actual = ref(metric)
        check_grain = "scalar"
    else:
        if grain != "period":
            raise ModelError(Problem(str(inputs.path), where, f"{spec.input} gives a figure per period but {metric} "
                                     "is one number; make the input grain: scalar", inputs.line("published", metric)))
        actual, check_grain = ref(metric), "period"
    rule_text = {"match": "= printed figure", "at_least": "at least the printed figure",
                 "at_most": "at most the printed figure"}[spec.rule]
    return Member("published", spec.input, where, {
        "label": f"{label} {rule_text}", "unit": unit, "grain": check_grain, "actual": actual,
        "expected": ref(spec.input), "input": spec.input, "rule": spec.rule, "tolerance": spec.tolerance})


def _readable(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def fx_rates(inputs: Inputs) -> dict[tuple[str, str], str]:
    """(A, B) -> the input giving A per one B, for every exchange-rate input of the file."""
    out: dict[tuple[str, str], str] = {}
    for name, series in inputs.series.items():
        pair = fx_pair(series.unit)
        if pair:
            out.setdefault(pair, name)
    return out


def conversion(amount: Expr, source: str, target: str, rates: dict[tuple[str, str], str]) -> Expr | None:
    """``amount`` in ``source`` converted to ``target`` through the fewest rates; None if no path."""
    if source == target:
        return amount
    edges: dict[str, list[tuple[str, str, bool]]] = {}
    for (a, b), name in rates.items():  # name = A per one B: B -> A multiplies, A -> B divides
        edges.setdefault(b, []).append((a, name, True))
        edges.setdefault(a, []).append((b, name, False))
    paths: dict[str, Expr] = {source: amount}
    frontier = [source]
    while frontier:
        nxt = []
        for here in frontier:
            for there, name, multiply in edges.get(here, []):
                if there not in paths:
                    paths[there] = paths[here] * ref(name) if multiply else paths[here] / ref(name)
                    nxt.append(there)
        frontier = nxt
    return paths.get(target)
