"""The model's rows: what a workbook holds formulas for, the sensitivity grids, and the :class:`Model` that
carries both with their computed values to the layout and writer."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Problem
from .expr import (
    Expr,
)
from .inputs import Figure, Inputs, Series
from .ledger import Ledger
from .metrics.catalogue import NotBuilt
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
    named: bool = False  # has a defined name of its own (besides headlines and the master check)
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
        return self.inputs.sheet_figures()

    def input_cells(self) -> list[Figure]:
        """Every cell a user types a number into: each figure, or each of its scenario values."""
        return self.inputs.input_cells()

    def row(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def value(self, name: str, period: str | None = SCALAR) -> float:
        return self.values[(name, period)]


