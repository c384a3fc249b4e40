"""The Summary's charts: each chart :mod:`unitecon.model.metrics.charts` declares, drawn where the model has its
data, one below the other to the right of the Summary's numbers.

Where the data is comes from the kind of source alone (a Summary section's label and value columns, a metric's
row and the period headers above it, two Customers columns, a row of the scenario comparison under the scenario
names), so a new declaration needs nothing here.
"""

from __future__ import annotations

from xlsxwriter.utility import xl_rowcol_to_cell

from ...geometry import CUSTOMERS, FIRST_CUSTOMER_ROW, FIRST_PERIOD, HEADER_ROW, LABEL, SCALAR_COL, SUMMARY
from ...model.metrics.charts import (
    CHARTS,
    POINTS,
    Axis,
    Chart,
    CustomerColumns,
    PeriodMetric,
    ScenarioComparison,
    Source,
    SummarySection,
)
from ...model.rows import SCALAR
from ...model.units import Unit
from ..layout import Layout
from ..xlsxwriter_adapter import chart_text
from .row_sheets import has_period_columns

WIDTH, HEIGHT = 640, 300  # pixels
ROWS_APART = 17  # one chart's height in Summary rows, and a spare row


def write_charts(wb, ws, layout: Layout) -> None:
    """Draw every declared chart whose data ``layout``'s model has on the Summary sheet ``ws``."""
    texts = _texts(layout)
    column = _charts_column(layout)
    placed = 0
    for chart in CHARTS:
        data = series_ranges(layout, chart.source)
        if data is None:
            continue
        ws.insert_chart(xl_rowcol_to_cell(HEADER_ROW + ROWS_APART * placed, column),
                        _draw(wb, chart, data, texts))
        placed += 1


def series_ranges(layout: Layout, source: Source) -> tuple[list, list, int] | None:
    """Where ``source``'s data is: categories and values as [sheet, first row, first col, last row, last col],
    and the number of points; None when the model does not have it."""
    model = layout.model
    if isinstance(source, SummarySection):
        rows = [r for r in model.rows if r.role == "output" and r.section == source.section]
        if not rows:
            return None
        first, last = layout.cells[(rows[0].name, SCALAR)], layout.cells[(rows[-1].name, SCALAR)]
        return ([SUMMARY, first.row, LABEL, last.row, LABEL],
                [SUMMARY, first.row, SCALAR_COL, last.row, SCALAR_COL], len(rows))
    if isinstance(source, PeriodMetric):
        if not any(r.name == source.name for r in model.rows):
            return None
        first, last = layout.row_span(source.name)
        return ([first.sheet, HEADER_ROW, first.col, HEADER_ROW, last.col],
                [first.sheet, first.row, first.col, last.row, last.col], last.col - first.col + 1)
    if isinstance(source, CustomerColumns):
        keys = ((source.x, SCALAR), (source.y, SCALAR))
        if not layout.customers or any(key not in layout.customer_columns for key in keys):
            return None
        x, y = (layout.customer_columns[key].col for key in keys)
        first, last = FIRST_CUSTOMER_ROW, layout.last_customer_row
        return [CUSTOMERS, first, x, last, x], [CUSTOMERS, first, y, last, y], layout.customers
    if isinstance(source, ScenarioComparison):
        if source.name not in model.compared:
            return None
        scenarios = model.inputs.scenarios
        first = layout.compare_cells[(source.name, scenarios[0])]
        last = layout.compare_cells[(source.name, scenarios[-1])]
        header = layout.compare_cells[(model.compared[0], scenarios[0])].row - 1  # the scenario names
        return ([SUMMARY, header, first.col, header, last.col],
                [SUMMARY, first.row, first.col, last.row, last.col], len(scenarios))
    raise TypeError(f"a chart's source cannot be a {type(source).__name__}")


def _charts_column(layout: Layout) -> int:
    """The column the charts stand in: right of the Summary's values and scenario comparison (and, where the
    Summary has period columns, of those and one spare column)."""
    right = [FIRST_PERIOD, *(cell.col for cell in layout.compare_cells.values())]
    if has_period_columns(layout, SUMMARY):
        right.append(FIRST_PERIOD + len(layout.periods_of(SUMMARY)))
    return max(right) + 1


def _literal(template: str, texts: dict[str, str]) -> str:
    """A chart text filled from ``texts``, shown as text even where it looks like a cell reference."""
    return chart_text(template.format_map(texts))


def _texts(layout: Layout) -> dict[str, str]:
    """What a declaration's templates may read."""
    inputs = layout.model.inputs
    ledger = layout.model.ledger
    return {"CCY": inputs.currency, "company": inputs.company, "money": Unit(inputs.currency).number_format(),
            "synthetic": " (SYNTHETIC ledger)" if ledger is not None and ledger.synthetic else ""}


def _draw(wb, chart: Chart, data: tuple[list, list, int], texts: dict[str, str]):
    categories, values, points = data
    drawn = wb.add_chart({"type": chart.type} | ({"subtype": chart.subtype} if chart.subtype else {}))
    series = {"name": _literal(chart.series, texts), "categories": categories, "values": values}
    if chart.labels is not None:
        series["data_labels"] = {"value": True, "num_format": chart.labels.format_map(texts)}
    if chart.type in ("scatter", "line"):
        series["line"] = {"color": chart.colour, "width": 2}
    else:
        series["fill"] = {"color": chart.colour}
    drawn.add_series(series)
    drawn.set_title({"name": _literal(chart.title, texts)})
    if chart.x_axis is not None:
        drawn.set_x_axis(_axis(chart.x_axis, texts, points))
    if chart.y_axis is not None:
        drawn.set_y_axis(_axis(chart.y_axis, texts, points))
    drawn.set_legend({"none": True})
    drawn.set_size({"width": WIDTH, "height": HEIGHT})
    return drawn


def _axis(axis: Axis, texts: dict[str, str], points: int) -> dict:
    """XlsxWriter's axis options: only those declared (an option given as None would replace a default)."""
    options: dict = {"name": _literal(axis.name, texts)}
    if axis.num_format is not None:
        options["num_format"] = axis.num_format.format_map(texts)
    if axis.min is not None:
        options["min"] = axis.min
    if axis.max is not None:
        options["max"] = points if axis.max == POINTS else axis.max
    return options
