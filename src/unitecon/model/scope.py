"""What each name of a model is (a series over periods or one number), and why a row cannot exist."""

from __future__ import annotations

from ..errors import ModelError, Problem
from .expr import (
    FIRST_YEAR,
    LAST_YEAR,
    PERIOD_MONTHS,
    SELECTORS,
    Across,
    At,
    Block,
    Coalesce,
    Column,
    Expr,
    InputLink,
    Named,
    Previous,
    PriorYear,
    Ref,
    Span,
    transform,
)
from .inputs import Series
from .timeaxis import TimeAxis


class Scope:
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


