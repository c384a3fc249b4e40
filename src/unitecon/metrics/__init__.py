"""The metric catalogue: every metric unitecon can compute, declared once.

**Where do I add a metric?** In the area module it belongs to (``arppu``, ``b2b``, ``compute``,
``finance``, ``customers``, ``forward``) or a reconciliation in ``checks``. A declaration is a name, label, unit, grain,
expression and description; the formula text, defined name, Audit entry and trace output all come
from it. A metric appears in a workbook when every input it rests on is in that model's inputs file,
so one catalogue serves every company.
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
    grain: Grain
    expr: Expr
    description: str
    section: str = ""
    by: str | None = None  # category metrics: the customer column whose values make the rows


@dataclass(frozen=True)
class Check:
    """A reconciliation: ``actual`` against ``expected``, passing within ``tolerance`` or as a bound."""

    name: str
    label: str
    unit: str
    grain: Grain
    actual: Expr
    expected: Expr
    description: str
    rule: Literal["match", "at_least"] = "match"
    tolerance: str | None = None


def catalogue(ccy: str, ledger_fx: str | None = None, reconciles_with: str | None = None,
              ledger_periods: tuple[str, ...] = (), payers: str | None = None,
              arppu_name: str | None = None) -> tuple[list[Metric], list[Check]]:
    """All metric and check declarations for a model reporting in currency ``ccy`` (``usd``/``cny``).

    ``ledger_fx`` and ``reconciles_with`` come from the inputs file's ``ledger:`` section, ``payers``
    and ``arppu_name`` from its ``forward:`` section.
    """
    from . import arppu, b2b, checks, compute, customers, finance, forward

    metrics: list[Metric] = []
    for area in (arppu, b2b, compute, finance):
        metrics.extend(area.metrics(ccy))
    metrics.extend(customers.metrics(ccy, ledger_fx, reconciles_with, ledger_periods))
    metrics.extend(forward.metrics(ccy, payers, arppu_name))
    return metrics, checks.checks(ccy)


def in_section(section: str):
    """A ``Metric`` constructor that files every metric it makes under one section heading."""

    def make(name: str, label: str, unit: str, grain: Grain, expr: Expr, description: str) -> Metric:
        return Metric(name, label, unit, grain, expr, description, section)

    return make
