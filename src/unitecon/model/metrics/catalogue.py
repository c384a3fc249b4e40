"""The catalogue as one object: every declaration checked when it loads, and applied to an inputs file.

Loading resolves every name a declaration reads to a metric pattern, a documented input pattern, a
family role or a built-in, and every placeholder in its texts to the reporting currency or a role of
a family it is made over; anything else is a :class:`CatalogueError` naming the declaration and the
nearest match. :func:`apply` binds the declarations to one inputs file: once per member of their
families, placeholders filled, slots and currency conversions resolved. What cannot be bound (no
member, a role the member lacks, no exchange rate) is returned with the reason, for the build to say.
"""

from __future__ import annotations

import difflib
import re
import string
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import product
from typing import TYPE_CHECKING

from ...errors import ModelError, Problem, UniteconError
from ..expr import Block, Convert, Expr, Named, Slot, transform
from ..inputs import Inputs
from . import Check, Input, Metric, arppu, checks, compute, customers, finance, forward, growth, segments
from . import peers as compared_across_companies
from .charts import CHARTS, TEMPLATE_FIELDS, Chart, CustomerColumns, PeriodMetric, ScenarioComparison, SummarySection
from .checks import MASTER, PARTS, RULES
from .cover import HIGHLIGHTS
from .families import BUILTINS, DECLARED_AS, ROLES, Member, RoleMissing, conversion, fx_rates, members

if TYPE_CHECKING:
    from ..ledger import Ledger

#: Area modules in the order their sections appear on the Calculations sheet.
AREAS = (arppu, segments, compute, finance, growth, customers, forward)
CURRENCY_FIELDS = ("ccy", "CCY")
_FIELD = re.compile(r"\{([^{}]*)\}")


METRIC_GRAINS = ("period", "scalar", "customer", "customer_period", "category")
CHECK_GRAINS = ("period", "scalar")
#: The chart types Excel draws and the subtypes of each, as XlsxWriter names them.
CHART_TYPES: dict[str, tuple[str, ...]] = {
    "area": ("stacked", "percent_stacked"),
    "bar": ("stacked", "percent_stacked"),
    "column": ("stacked", "percent_stacked"),
    "line": ("stacked", "percent_stacked"),
    "pie": (),
    "doughnut": (),
    "scatter": ("straight_with_markers", "straight", "smooth_with_markers", "smooth"),
    "radar": ("with_markers", "filled"),
}


class CatalogueError(UniteconError):
    """A declaration reads a name or placeholder that resolves to nothing."""


@dataclass(frozen=True)
class NotBuilt:
    """A catalogue metric or check this model does not have, and the first thing it lacks."""

    name: str  # the bound name (the pattern, where it names a family member and the family has none)
    reason: str
    missing: str | None = None  # the first missing input, where one is the reason
    family: str | None = None  # the family the inputs file declares no member of, where that is the reason


@dataclass(frozen=True)
class Catalogue:
    """Every declaration, checked."""

    metrics: tuple[Metric, ...]
    checks: tuple[Check, ...]
    inputs: tuple[Input, ...]
    charts: tuple[Chart, ...] = ()

    @property
    def metric_patterns(self) -> set[str]:
        return {m.name for m in self.metrics}

    def recognised_inputs(self, ccy: str, currencies: set[str]) -> dict[str, Input]:
        """Documented input names bound to reporting currency ``ccy`` (``{cur}`` to each of ``currencies``)."""
        out = {}
        for item in self.inputs:
            for cur in sorted(currencies) if "{cur}" in item.name else [""]:
                name = item.name.replace("{cur}", cur.lower()).format(ccy=ccy.lower(), CCY=ccy.upper())
                out[name] = item
        return out


def show(pattern: str) -> str:
    """A name pattern as users read it: ``{product}_arppu_{ccy}`` → ``<product>_arppu_<ccy>``."""
    return _FIELD.sub(lambda m: f"<{m[1]}>", pattern)


def _checked(metrics: list[Metric], checks_: list[Check], inputs: list[Input],
             charts: tuple[Chart, ...] = ()) -> Catalogue:
    problems: list[Problem] = _chart_problems(charts, metrics)
    metric_patterns = {m.name for m in metrics}
    input_patterns = {i.name for i in inputs}
    known = metric_patterns | input_patterns | BUILTINS

    def problem(decl: str, message: str) -> None:
        problems.append(Problem("metric catalogue", decl, message))

    def check_text(decl: Metric | Check, text: str) -> None:
        allowed = {*CURRENCY_FIELDS, *decl.over}
        allowed |= {f"{fam}.{role}" for fam in decl.over for role in ROLES[fam][1]}
        for name in _FIELD.findall(text):
            if name not in allowed:
                close = difflib.get_close_matches(name, sorted(allowed), n=1)
                hint = f"; nearest: {{{close[0]}}}" if close else ""
                problem(decl.name, f"placeholder {{{name}}} in {text!r} is not the currency or a role of a family "
                                   f"it is declared over ({', '.join(decl.over) or 'none'}){hint}")

    def check_name(decl: Metric | Check, name: str) -> None:
        check_text(decl, name)
        if _FIELD.fullmatch(name) or name in known:
            return
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f"; nearest: {close[0]}" if close else ""
        problem(decl.name, f"reads {name!r}, which is no metric, documented input, family role or built-in{hint}")

    def check_expr(decl: Metric | Check, e: Expr) -> None:
        for node in e.walk():
            if isinstance(node, Named):
                check_name(decl, node.name)
            elif isinstance(node, Block):
                for name in node.names:
                    check_name(decl, name)
            elif isinstance(node, Slot):
                check_text(decl, "{" + node.role + "}")
            elif isinstance(node, Convert):
                check_text(decl, node.source)
                check_text(decl, node.target)

    for decl in [*metrics, *checks_]:
        unknown = [f for f in decl.over if f not in ROLES]
        if unknown:
            problem(decl.name, f"declared over unknown famil{'y' if len(unknown) == 1 else 'ies'} "
                               f"{', '.join(unknown)}; expected one of {', '.join(ROLES)}")
            continue
        for text in (decl.name, decl.label, decl.unit, decl.description, decl.grain,
                     getattr(decl, "summary_label", None) or ""):
            check_text(decl, text)
        for text in decl.requires:
            check_text(decl, text)
        grains = METRIC_GRAINS if isinstance(decl, Metric) else CHECK_GRAINS
        if not _FIELD.fullmatch(decl.grain) and decl.grain not in grains:
            problem(decl.name, f"grain {decl.grain!r}; expected one of {', '.join(grains)}")
        if isinstance(decl, Metric):
            check_expr(decl, decl.expr)
        else:
            check_expr(decl, decl.actual)
            check_expr(decl, decl.expected)
            check_text(decl, decl.rule)
            if not _FIELD.fullmatch(decl.rule) and decl.rule not in RULES:
                problem(decl.name, f"rule {decl.rule!r}; expected one of {', '.join(RULES)}")
            if decl.tolerance:
                check_name(decl, decl.tolerance)
    seen: dict[str, tuple[str, ...]] = {}
    for m in metrics:  # one name declared twice over one family: alternatives, each member binds the one it can
        if m.name in seen and seen[m.name] != m.over:
            problem(m.name, "declared twice over different families; a name is one metric")
        seen[m.name] = m.over
    for compared in compared_across_companies.COMPARED:
        if compared.pattern not in known:
            problem(f"peers: {compared.pattern}", "compares no metric or documented input of the catalogue")
    for pattern, _ in HIGHLIGHTS:
        if pattern not in metric_patterns:
            problem(f"cover: {pattern}", "the Cover names no metric of the catalogue")
    if compared_across_companies.HEADLINE not in metric_patterns:
        problem(f"peers: {compared_across_companies.HEADLINE}", "the headline compared is no metric of the catalogue")
    for kind, names in (("check", [c.name for c in checks_]), ("master check row", [r.name for r in MASTER]),
                        ("check part", [p.suffix for p in PARTS])):
        for name in sorted({n for n in names if names.count(n) > 1}):
            problem(name, f"declared twice; a name is one {kind}")
    for rollup in MASTER:
        try:
            rollup.expr(Block(("check_a", "check_b")))
        except ValueError as exc:
            problem(rollup.name, f"cannot be made: {exc}")
    if problems:
        raise CatalogueError(problems)
    return Catalogue(tuple(metrics), tuple(checks_), tuple(inputs), tuple(charts))


def _chart_problems(charts: tuple[Chart, ...], metrics: list[Metric]) -> list[Problem]:
    """What each chart plots must be declared (a Summary section, a metric, a compared metric), its kind and
    colour must be ones Excel draws, and its texts may use only the chart placeholders."""
    patterns = {m.name for m in metrics}
    sections = {m.summary for m in metrics if m.summary} | {compared_across_companies.HEADLINE_SECTION}
    problems = []
    seen = set()
    for chart in charts:
        source, where = chart.source, f"chart {chart.title!r}"
        if (source, chart.title) in seen:
            problems.append(Problem("metric catalogue", where, "declared twice"))
        seen.add((source, chart.title))
        subtypes = CHART_TYPES.get(chart.type)
        if subtypes is None:
            problems.append(Problem("metric catalogue", where, f"type {chart.type!r}; expected one of "
                                                               f"{', '.join(CHART_TYPES)}"))
        elif chart.subtype is not None and chart.subtype not in subtypes:
            expected = ", ".join(subtypes) or "none"
            problems.append(Problem("metric catalogue", where, f"subtype {chart.subtype!r} of a {chart.type} "
                                                               f"chart; expected one of {expected}"))
        if not re.fullmatch(r"#[0-9A-Fa-f]{6}", chart.colour):
            problems.append(Problem("metric catalogue", where, f"colour {chart.colour!r}; expected #RRGGBB"))
        match source:
            case SummarySection(section=s) if s not in sections:
                missing = f"the Summary section {s!r}, which no metric declares"
            case PeriodMetric(name=n) if n not in patterns:
                missing = f"the metric {n!r}, which is not declared"
            case CustomerColumns(x=x, y=y) if not {x, y} <= patterns:
                missing = f"the customer columns {sorted({x, y} - patterns)}, which are not declared"
            case ScenarioComparison(name=n) if n not in forward.COMPARED:
                missing = f"{n!r}, which the scenario comparison does not show"
            case _:
                missing = ""
        if missing:
            problems.append(Problem("metric catalogue", where, f"plots {missing}"))
        axes = [a for a in (chart.x_axis, chart.y_axis) if a is not None]
        for text in [chart.title, chart.series, chart.labels or "", *(f"{a.name}{a.num_format or ''}" for a in axes)]:
            fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None} - TEMPLATE_FIELDS
            if fields:
                problems.append(Problem("metric catalogue", where, f"{text!r} uses {sorted(fields)}; expected only "
                                                                   f"{', '.join(sorted(TEMPLATE_FIELDS))}"))
    return problems


@cache
def load() -> Catalogue:
    """The catalogue of every area module, checked (once per process)."""
    metrics = [m for area in AREAS for m in area.METRICS]
    documented = [i for area in (*AREAS, checks) for i in getattr(area, "INPUTS", [])]
    return _checked(metrics, list(checks.CHECKS), documented, CHARTS)


# ---------------------------------------------------------------------------------------------------
# Applying the catalogue to one inputs file.


@dataclass
class Applied:
    """The catalogue bound to one inputs file."""

    metrics: list[Metric] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    skipped: list[NotBuilt] = field(default_factory=list)
    members: dict[str, list[Member]] = field(default_factory=dict)


class _Binding:
    def __init__(self, context: dict[str, object], rates: dict[tuple[str, str], str]):
        self.context = context
        self.rates = rates

    def text(self, template: str) -> str:
        return string.Formatter().vformat(template, (), self.context)

    def expr(self, e: Expr) -> Expr:
        def visit(node: Expr) -> Expr | None:
            if isinstance(node, Slot):
                family, role = node.role.split(".")
                value = getattr(self.context[family], role)
                if not isinstance(value, Expr):
                    raise TypeError(f"slot {node.role} holds {value!r}, not an expression")
                return value
            if isinstance(node, Named):
                return replace(node, name=self.text(node.name))
            if isinstance(node, Block):
                return Block(tuple(self.text(n) for n in node.names))
            if isinstance(node, Convert):
                source, target = self.text(node.source), self.text(node.target)
                converted = conversion(node.amount, source, target, self.rates)
                if converted is None:
                    raise RoleMissing("the exchange-rate inputs", f"rate converting {source} to {target}")
                return converted
            return None

        return transform(e, visit)


def _bindings(decl: Metric | Check, families: dict[str, list[Member]], ccy: str,
              rates: dict[tuple[str, str], str]):
    base = {"ccy": ccy.lower(), "CCY": ccy.upper()}
    for combo in product(*(families[f] for f in decl.over)):
        yield _Binding(base | dict(zip(decl.over, combo, strict=True)), rates)


def _bind_metric(m: Metric, b: _Binding) -> Metric:
    for text in m.requires:
        b.text(text)
    origin = next((b.context[f].where for f in m.over), "")
    return replace(m, origin=origin, name=b.text(m.name), label=b.text(m.label), unit=b.text(m.unit),
                   description=b.text(m.description).strip(), expr=b.expr(m.expr), over=(), requires=(),
                   summary_label=b.text(m.summary_label) if m.summary_label else None, pattern=m.name)


def _bind_check(c: Check, b: _Binding) -> Check:
    for text in c.requires:
        b.text(text)
    return replace(c, name=b.text(c.name), label=b.text(c.label), unit=b.text(c.unit), grain=b.text(c.grain),
                   actual=b.expr(c.actual), expected=b.expr(c.expected), description=b.text(c.description),
                   rule=b.text(c.rule), tolerance=b.text(c.tolerance) if c.tolerance else None, over=(),
                   requires=(), pattern=c.name)


#: Roles that name an input or metric of the file (as opposed to text or expressions).
NAMED_ROLES = {"product": ("revenue", "paying_users", "reported_arppu", "press_arppu"),
               "segment": ("revenue", "share_input", "gross_margin", "customers", "press_revenue_per_customer"),
               "forward": ("payers", "arppu"), "ledger": ("reconciles_with",)}


def _check_named(inputs: Inputs, families: dict[str, list[Member]], names: set[str]) -> None:
    """Every name a product, segment, forward view or ledger declares is an input of the file or a metric the
    catalogue makes for it: a reference that resolves to nothing is an error, never a row gone missing."""
    problems = []
    for family, roles in NAMED_ROLES.items():
        for member in families[family]:
            declared = [(role, member.roles.get(role)) for role in roles]
            spec = inputs.products.get(member.key) if family == "product" else None
            if spec is not None and not isinstance(spec.revenue, str):
                declared += [("revenue", n) for n in (spec.revenue.total, *spec.revenue.less)]
            for role, name in declared:
                if isinstance(name, str) and name not in names:
                    close = difflib.get_close_matches(name, sorted(names), n=1)
                    hint = f"; did you mean {close[0]}?" if close else ""
                    section, _, key = member.where.partition(".")
                    problems.append(Problem(str(inputs.path), f"{member.where}.{DECLARED_AS.get(role) or role}",
                                            f"{name!r} is neither an input of this file nor a metric{hint}",
                                            inputs.line(section, key) if key else inputs.line(section)))
    if problems:
        raise ModelError(problems)


def apply(catalogue: Catalogue, inputs: Inputs, ledger: Ledger | None = None) -> Applied:
    """Bind every declaration to ``inputs`` (and its ``ledger``): the metrics and checks that could be made,
    and what could not, with why."""
    from .families import published_members

    ccy = inputs.ccy
    rates = fx_rates(inputs)
    families = members(inputs, ledger)
    out = Applied(members=families)

    def bind(decls, binder, into: list, prefix: str = "") -> None:
        for decl in decls:
            empty = [f for f in decl.over if not families[f]]
            if empty:
                try:
                    name = decl.name.format(ccy=ccy.lower(), CCY=ccy.upper())
                except (KeyError, AttributeError):
                    name = show(decl.name)
                out.skipped.append(NotBuilt(prefix + name, f"the inputs file declares no {ROLES[empty[0]][0]}",
                                            family=empty[0]))
                continue
            for b in _bindings(decl, families, ccy, rates):
                name = prefix + b.text(decl.name)
                try:
                    into.append(binder(decl, b))
                except RoleMissing as missing:
                    out.skipped.append(NotBuilt(name, str(missing)))

    bind(catalogue.metrics, _bind_metric, out.metrics)
    _check_named(inputs, families, {m.name for m in out.metrics} | set(inputs.series))
    grains = {m.name: (m.grain, m.unit, m.label) for m in out.metrics}
    families["published"] = published_members(inputs, grains)
    bind(catalogue.checks, _bind_check, out.checks, prefix="check_")
    made = {m.name for m in out.metrics} | {f"check_{c.name}" for c in out.checks}
    out.skipped = [s for s in out.skipped if s.name not in made]
    return out
