"""The metric catalogue: every metric, check and input unitecon knows, declared once.

**Where do I add a metric?** In the area module it belongs to (``arppu``, ``segments``, ``compute``,
``finance``, ``growth``, ``customers``, ``forward``) or a reconciliation in ``checks``. A declaration
is a name, label, unit, grain, expression and description; the formula text, Audit entry and trace
output all come from it, and so does its defined name where it has one (a headline, a scalar declared
``named``, the master check). Names are patterns: ``{ccy}`` is the reporting currency
(``usd``), ``{CCY}`` its code (``USD``), and a declaration made ``over`` a family (``product``,
``segment`` …, see :mod:`unitecon.model.metrics.families`) is made once per member the inputs file declares,
``{product}`` standing for the member's key and ``{product.revenue}`` for one of its roles.

A metric appears in a workbook when every input it rests on is in that model's inputs file; every
build says which catalogue metrics it did not build and the first input each lacks. Every name a
declaration reads must resolve to a metric, a documented input (``INPUTS`` of an area module), a
family role or a built-in when the catalogue loads (:mod:`unitecon.model.metrics.catalogue`), so a typo fails
there, naming the nearest match.

**Where do I add a chart?** In :mod:`unitecon.model.metrics.charts`: a declaration says what it plots (a Summary
section, a metric over its periods, two customer columns, a metric across scenarios), its texts and colours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..expr import Expr

Grain = Literal["period", "scalar", "customer", "customer_period", "category"]


@dataclass(frozen=True)
class Metric:
    """A calculated row: one consistent formula across the periods it exists in (or one scalar cell)."""

    name: str
    label: str
    unit: str
    grain: str
    expr: Expr
    description: str
    section: str = ""
    over: tuple[str, ...] = ()  # the families it is declared for each member of
    requires: tuple[str, ...] = ()  # role placeholders it needs besides those its expression reads
    by: str | None = None  # category metrics: the customer column whose values make the rows
    summary: str | None = None  # the Summary section it is shown in (its latest value), if any
    summary_label: str | None = None  # its label there (default: its label)
    named: bool = False  # a scalar with a defined name of its own, as headlines have (customer summary, forward view)
    pattern: str = ""  # set on a bound metric: the name pattern of its declaration
    origin: str = ""  # set on a bound metric: the inputs file's declaration it was made for (products.chat)


@dataclass(frozen=True)
class Check:
    """A reconciliation: ``actual`` against ``expected``, passing within ``tolerance`` or as a bound.

    ``reconciles`` is False for checks of the workbook's own integrity (a scenario selector naming a
    scenario, customers kept in order): those alone do not make a model's numbers checked.
    """

    name: str
    label: str
    unit: str
    grain: str
    actual: Expr
    expected: Expr
    description: str
    rule: str = "match"  # match | at_least | at_most (a placeholder for checks over ``published``)
    tolerance: str | None = None
    over: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    reconciles: bool = True
    pattern: str = ""


@dataclass(frozen=True)
class Input:
    """An input the catalogue reads by name: what an inputs file may declare under ``inputs:``."""

    name: str  # pattern: revenue_{ccy}; {cur} stands for any currency code in lower case
    label: str
    unit: str
    kind: str  # flow (summed over time), balance (at a date), rate (a ratio or price)
    grain: str  # period or scalar
    description: str
    section: str


def in_section(section: str, over: tuple[str, ...] = (), named: bool = False):
    """A ``Metric`` constructor that files every metric it makes under one section heading (and family);
    ``named``: each scalar it makes gets a defined name of its own."""

    def make(name: str, label: str, unit: str, grain: str, expr: Expr, description: str,
             requires: tuple[str, ...] = (), summary: str | None = None, summary_label: str | None = None) -> Metric:
        return Metric(name, label, unit, grain, expr, description, section, over, requires, summary=summary,
                      summary_label=summary_label, named=named and grain == "scalar")

    return make
