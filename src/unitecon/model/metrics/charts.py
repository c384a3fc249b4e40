"""The Summary's charts, declared once: what each plots, its titles, axes, number formats and colour.

**Where do I add a chart?** Append a :class:`Chart` to :data:`CHARTS`. Its ``source`` says what it plots:

* :class:`SummarySection` — the rows of a Summary section, each row's label against its value;
* :class:`PeriodMetric` — one period metric across its periods, the period labels against its values;
* :class:`CustomerColumns` — two columns of the Customers sheet, one point per customer (an x-y chart);
* :class:`ScenarioComparison` — one metric of the Summary's scenario comparison, one bar per scenario.

A workbook draws each declared chart whose data its model has (the section has rows, the metric or the
customer columns were built, the metric is compared across scenarios), in the order of :data:`CHARTS`,
stacked down the Summary to the right of its numbers (:mod:`unitecon.excel.sheets.summary_charts`). Texts and number
formats are templates: ``{CCY}`` is the reporting currency's code (``USD``), ``{company}`` the company,
``{synthetic}`` reads `` (SYNTHETIC ledger)`` when the customer ledger is a generated sample (else nothing),
and ``{money}`` is the number format of the reporting currency (``"$"#,##0``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .arppu import SUMMARY as ARPPU_SUMMARY
from .peers import HEADLINE_SECTION as PEERS_HEADLINES


@dataclass(frozen=True)
class SummarySection:
    """The rows of a Summary section: each row's label (categories) against its value (values)."""

    section: str


@dataclass(frozen=True)
class PeriodMetric:
    """One period metric across the periods it has: the period labels against its values."""

    name: str


@dataclass(frozen=True)
class CustomerColumns:
    """Two columns of the Customers sheet (their metric names), one point per customer: ``x`` against ``y``."""

    x: str
    y: str


@dataclass(frozen=True)
class ScenarioComparison:
    """One metric of the Summary's scenario comparison: the scenario names against its value in each."""

    name: str


Source = SummarySection | PeriodMetric | CustomerColumns | ScenarioComparison

#: The placeholders a chart's texts and number formats may use (see the module's docstring).
TEMPLATE_FIELDS = frozenset({"CCY", "company", "synthetic", "money"})

#: An axis maximum that is the number of points plotted (the customers, for a :class:`CustomerColumns` chart).
POINTS = "points"


@dataclass(frozen=True)
class Axis:
    """An axis: its title, and optionally its number format and range (left to the chart where None)."""

    name: str
    num_format: str | None = None
    min: float | None = None
    max: float | Literal["points"] | None = None


@dataclass(frozen=True)
class Chart:
    """A native Excel chart on the Summary sheet: one series, no legend.

    ``type`` and ``subtype`` are XlsxWriter's (``column``, ``bar``, ``scatter`` with ``straight`` …); ``colour``
    fills the bars, or draws the line of a scatter or line chart. ``labels`` is the number format of a label on
    every point (None: no labels). An axis left None keeps the chart type's default.
    """

    source: Source
    type: str
    title: str
    series: str  # the series' name
    colour: str
    labels: str | None = None
    x_axis: Axis | None = None
    y_axis: Axis | None = None
    subtype: str | None = None


def exchange_rate(source: Source, series: str, title: str, axis: str, colour: str) -> Chart:
    """A column chart of compute-to-revenue multiples, labelled 0.00x, ``axis`` naming what the columns are."""
    return Chart(source, "column", title, series, colour, labels='0.00"x"', x_axis=Axis(axis),
                 y_axis=Axis("compute spend ÷ revenue (x)", '0.0"x"', min=0))


#: Every chart, in the order a workbook stacks those it draws.
CHARTS: tuple[Chart, ...] = (
    exchange_rate(SummarySection(PEERS_HEADLINES), "Compute spend per unit of revenue, each company's headline "
                  "period", "Compute-to-revenue exchange rate by company", "company", "#C55A11"),
    Chart(SummarySection(ARPPU_SUMMARY), "bar", "ARPPU by product line (annualised, {CCY})",
          "Annualised ARPPU ({CCY} per paying user per year)", "#4472C4", labels="{money}",
          x_axis=Axis("{CCY} per paying user per year", "{money}", min=0)),
    exchange_rate(PeriodMetric("compute_to_revenue"), "{company}: compute spend per unit of revenue",
                  "Compute-to-revenue exchange rate by period", "period", "#C55A11"),
    Chart(CustomerColumns("customer_rank", "customer_cumulative_share"), "scatter",
          "Customer concentration: Pareto curve{synthetic}", "Cumulative share of revenue", "#2E75B6",
          x_axis=Axis("customers, largest first (rank)", "#,##0", min=0, max=POINTS),
          y_axis=Axis("cumulative share of ledger revenue", "0%", min=0, max=1), subtype="straight"),
    exchange_rate(ScenarioComparison("compute_to_revenue_next"), "Compute spend per unit of revenue, next 12 months",
                  "Exchange rate next 12 months, by scenario", "scenario", "#2E75B6"),
)
