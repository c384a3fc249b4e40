"""Charts are declared (:mod:`unitecon.model.metrics.charts`) and drawn from the declaration: each chart whose
data a model has is in the workbook, in declaration order, plotting the ranges where the layout put that data
(worked out here from the layout's lines and columns, not by the writer's code); a new declaration is a new
chart; every declaration names data the catalogue declares and texts the writer can fill in."""

from __future__ import annotations

import re
import string
import zipfile
from dataclasses import replace

import pytest
from conftest import COMPANIES
from xlsxwriter.utility import xl_rowcol_to_cell

from unitecon.build import plan, plan_peers
from unitecon.excel.layout import Layout
from unitecon.excel.sheets import summary_charts as drawn
from unitecon.excel.writer import write_workbook
from unitecon.geometry import CUSTOMERS, FIRST_CUSTOMER_ROW, HEADER_ROW, LABEL, SCALAR_COL, SUMMARY
from unitecon.model.metrics.catalogue import CatalogueError, _checked, load
from unitecon.model.metrics.charts import (
    CHARTS,
    Chart,
    CustomerColumns,
    PeriodMetric,
    ScenarioComparison,
    SummarySection,
)
from unitecon.model.metrics.forward import COMPARED
from unitecon.model.metrics.peers import HEADLINE_SECTION

#: The workbooks drawn here, and the charts (their sources' kinds) each must have.
EXPECTED = {
    "minimax": [SummarySection, PeriodMetric, CustomerColumns, ScenarioComparison],
    "openai": [PeriodMetric],
    "peers": [SummarySection],
}
TEMPLATE_FIELDS = {"CCY", "company", "synthetic", "money"}


@pytest.fixture(scope="module")
def layouts(small_inputs, tmp_path_factory) -> dict[str, Layout]:
    out = tmp_path_factory.mktemp("charts")
    found = {m: plan(small_inputs / f"{m}.yaml") for m in ("minimax", "openai")}
    found["peers"] = plan_peers([small_inputs / f"{m}.yaml" for m in COMPANIES], out)
    return found


def _area(sheet: str, first_row: int, first_col: int, last_row: int, last_col: int) -> str:
    """An absolute range as a chart names it (one cell without a colon)."""
    first, last = (xl_rowcol_to_cell(first_row, first_col, True, True),
                   xl_rowcol_to_cell(last_row, last_col, True, True))
    return f"{sheet}!{first}" + ("" if first == last else f":{last}")


def _expected(layout: Layout, chart: Chart) -> tuple[str, str] | None:
    """(categories, values) of ``chart`` read off the layout's lines and columns; None where it has no data."""
    model, source = layout.model, chart.source
    if isinstance(source, SummarySection):
        lines = layout.lines[SUMMARY]
        start = next((i for i, line in enumerate(lines) if line.kind == "heading" and line.text == source.section),
                     None)
        if start is None:
            return None
        rows = []
        for line in lines[start + 1:]:
            if line.kind != "row":
                break
            rows.append(line.row)
        first, last = rows[0], rows[-1]
        return _area(SUMMARY, first, LABEL, last, LABEL), _area(SUMMARY, first, SCALAR_COL, last, SCALAR_COL)
    if isinstance(source, PeriodMetric):
        if source.name not in layout.row_at:
            return None
        sheet, row = layout.row_at[source.name]
        cols = [layout.col_of(sheet, p) for p in model.row(source.name).periods]
        return _area(sheet, HEADER_ROW, cols[0], HEADER_ROW, cols[-1]), _area(sheet, row, cols[0], row, cols[-1])
    if isinstance(source, CustomerColumns):
        if not layout.customers:
            return None
        x, y = layout.customer_column(source.x).col, layout.customer_column(source.y).col
        last = FIRST_CUSTOMER_ROW + layout.customers - 1
        return _area(CUSTOMERS, FIRST_CUSTOMER_ROW, x, last, x), _area(CUSTOMERS, FIRST_CUSTOMER_ROW, y, last, y)
    if isinstance(source, ScenarioComparison):
        lines = layout.lines[SUMMARY]
        header = next((line.row for line in lines if line.kind == "compare_header"), None)
        row = next((line.row for line in lines if line.kind == "compare" and line.item.name == source.name), None)
        if row is None:
            return None
        scenarios = model.inputs.scenarios
        first, last = layout.input_col(scenarios[0]), layout.input_col(scenarios[-1])
        return _area(SUMMARY, header, first, header, last), _area(SUMMARY, row, first, row, last)
    raise AssertionError(f"no expectation for a {type(source).__name__}")


def _charts_in(path) -> list[tuple[str, str, list[str], int]]:
    """(title, series name, the series' range formulas, top row) of each chart, in the file's order."""
    with zipfile.ZipFile(path) as zf:
        names = sorted((n for n in zf.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)),
                       key=lambda n: int(re.search(r"\d+", n)[0]))
        xml = [zf.read(n).decode() for n in names]
        drawing = zf.read("xl/drawings/drawing1.xml").decode() if names else ""
    tops = [int(r) for r in re.findall(r"<xdr:from><xdr:col>\d+</xdr:col><xdr:colOff>0</xdr:colOff>"
                                       r"<xdr:row>(\d+)</xdr:row>", drawing)]
    return [(re.search(r"<a:t>([^<]*)</a:t>", x)[1], re.search(r"<c:tx><c:v>([^<]*)</c:v>", x)[1],
             re.findall(r"<c:f>([^<]*)</c:f>", x), top) for x, top in zip(xml, tops, strict=True)]


def _text(layout: Layout, template: str) -> str:
    inputs = layout.model.inputs
    synthetic = " (SYNTHETIC ledger)" if layout.model.ledger is not None and layout.model.ledger.synthetic else ""
    return template.replace("{CCY}", inputs.currency).replace("{company}", inputs.company).replace(
        "{synthetic}", synthetic)


@pytest.mark.parametrize("model", list(EXPECTED))
def test_each_declared_chart_with_data_is_drawn_in_order_over_the_ranges_the_layout_gives(layouts, tmp_path, model):
    layout = layouts[model]
    path = tmp_path / f"{model}.xlsx"
    write_workbook(layout, path)
    wanted = [(chart, ranges) for chart in CHARTS if (ranges := _expected(layout, chart)) is not None]
    assert [type(chart.source) for chart, _ in wanted] == EXPECTED[model]
    found = _charts_in(path)
    assert [(title, series, formulas) for title, series, formulas, _ in found] == [
        (_text(layout, chart.title), _text(layout, chart.series), list(ranges)) for chart, ranges in wanted]
    assert [top for *_, top in found] == [HEADER_ROW + 17 * i for i in range(len(found))]  # stacked, none overlaps


def test_a_new_declaration_is_a_new_chart_below_the_others(layouts, tmp_path, monkeypatch):
    layout = layouts["openai"]
    model = layout.model
    name = next(r.name for r in model.rows if r.role == "metric" and r.grain == "period" and len(r.periods) > 1
                and r.name != "compute_to_revenue")
    period_chart = next(chart for chart in CHARTS if isinstance(chart.source, PeriodMetric))
    extra = replace(period_chart, source=PeriodMetric(name), title="{company}: " + name, series=name)
    monkeypatch.setattr(drawn, "CHARTS", (*CHARTS, extra))
    write_workbook(layout, tmp_path / "openai.xlsx")
    *_, (title, series, formulas, top) = _charts_in(tmp_path / "openai.xlsx")
    assert (title, series, formulas) == (f"{model.inputs.company}: {name}", name, list(_expected(layout, extra)))
    assert top == HEADER_ROW + 17


def test_every_declaration_names_declared_data_and_fills_its_templates():
    catalogue = load()
    metrics = catalogue.metric_patterns
    sections = {m.summary for m in catalogue.metrics if m.summary} | {HEADLINE_SECTION}
    for chart in CHARTS:
        source = chart.source
        if isinstance(source, SummarySection):
            assert source.section in sections, chart
        elif isinstance(source, PeriodMetric):
            assert source.name in metrics, chart
        elif isinstance(source, CustomerColumns):
            assert {source.x, source.y} <= metrics, chart
        else:
            assert isinstance(source, ScenarioComparison) and source.name in COMPARED, chart
        texts = [chart.title, chart.series, chart.labels or ""]
        for axis in (chart.x_axis, chart.y_axis):
            if axis is not None:
                texts += [axis.name, axis.num_format or ""]
        for text in texts:
            fields = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
            assert fields <= TEMPLATE_FIELDS, (chart.title, text)


@pytest.mark.parametrize("source, text, expected", [
    (PeriodMetric("compute_to_revenu"), "Exchange rate", "plots the metric 'compute_to_revenu', which is not declared"),
    (SummarySection("ARPPU by product"), "ARPPU", "plots the Summary section 'ARPPU by product', which no metric"),
    (CustomerColumns("customer_rank", "customer_cumulative"), "Pareto", "customer columns ['customer_cumulative']"),
    (ScenarioComparison("revenue_usd"), "Next year", "plots 'revenue_usd', which the scenario comparison does not"),
    (PeriodMetric("compute_to_revenue"), "Rate in {ccy}", "'Rate in {ccy}' uses ['ccy']; expected only CCY, company"),
])
def test_a_chart_plotting_something_undeclared_fails_when_the_catalogue_loads(source, text, expected):
    catalogue = load()
    bad = Chart(source, "column", text, "series", "#000000")
    with pytest.raises(CatalogueError) as caught:
        _checked(list(catalogue.metrics), list(catalogue.checks), list(catalogue.inputs), (*CHARTS, bad))
    [problem] = caught.value.problems  # the shipped charts pass; only the planted one fails
    assert str(problem).startswith(f"metric catalogue: chart {text!r}: ")
    assert expected in str(problem)


@pytest.mark.parametrize("changes, expected", [
    ({"type": "colum"}, "type 'colum'; expected one of area, bar, column, line, pie, doughnut, scatter, radar"),
    ({"type": "scatter", "subtype": "stakced"}, "subtype 'stakced' of a scatter chart; expected one of "
                                                 "straight_with_markers, straight, smooth_with_markers, smooth"),
    ({"colour": "orangey"}, "colour 'orangey'; expected #RRGGBB"),
])
def test_a_chart_excel_cannot_draw_fails_when_the_catalogue_loads(changes, expected):
    catalogue = load()
    bad = replace(CHARTS[2], **changes)
    with pytest.raises(CatalogueError) as caught:
        _checked(list(catalogue.metrics), list(catalogue.checks), list(catalogue.inputs), (*CHARTS[:2], bad))
    assert [str(p) for p in caught.value.problems] == [f"metric catalogue: chart {bad.title!r}: {expected}"]


def test_a_chart_declared_twice_fails_when_the_catalogue_loads():
    catalogue = load()
    with pytest.raises(CatalogueError, match="declared twice"):
        _checked(list(catalogue.metrics), list(catalogue.checks), list(catalogue.inputs), (*CHARTS, CHARTS[0]))
