"""Expression trees to text: Excel formula text for a cell, and the same formula written in names.

This is the one module where Excel formula text comes from. References to a row in the same period
are relative (``E12``), so one formula copies across the time axis; references to scalars go through
their workbook-scoped defined name where one exists (``usd_cny``), else an absolute address.
"""

from __future__ import annotations

from collections.abc import Callable

from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from ..geometry import CUSTOMERS, HEADER_ROW, INPUTS, LABEL, SCENARIO, SENSITIVITY
from ..model.expr import (
    PRECEDENCE,
    SELECTORS,
    Above,
    Across,
    At,
    Below,
    BinOp,
    Block,
    Call,
    Coalesce,
    Column,
    Expr,
    InputLink,
    Label,
    Neg,
    Num,
    Previous,
    PriorYear,
    Ref,
    Span,
)
from ..model.inputs import scenario_cell_name
from ..model.rows import SCALAR
from .layout import Cell, Layout

_ASSOCIATIVE = {"+", "*"}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _text(e: Expr, leaf: Callable[[Expr], str], parent: str | None = None, right: bool = False) -> str:
    if isinstance(e, BinOp):
        prec, outer = PRECEDENCE[e.op], PRECEDENCE.get(parent or "", 0)
        inner = f"{_text(e.left, leaf, e.op)}{e.op}{_text(e.right, leaf, e.op, right=True)}"
        # a-(b-c), a/(b*c), a^(b^c): a right operand of equal rank keeps its parentheses unless the outer
        # operator is associative
        needs = prec < outer or (right and prec == outer and parent not in _ASSOCIATIVE)
        return f"({inner})" if needs else inner
    if isinstance(e, Neg):
        return f"-{_text(e.operand, leaf)}" if not isinstance(e.operand, BinOp) else f"-({_text(e.operand, leaf)})"
    if isinstance(e, Coalesce):
        primary = leaf(e.primary)
        return f"IF(ISNUMBER({primary}),{primary},{_text(e.fallback, leaf)})"
    if isinstance(e, Call):
        return f"{e.func}({','.join(_text(a, leaf) for a in e.args)})"
    if isinstance(e, Num):
        return _number(e.value)
    return leaf(e)


def _scalar_ref(layout: Layout, cell: Cell, sheet: str) -> str:
    return layout.name_at(cell) or cell.qualified(sheet, absolute=True)


def _at(layout: Layout, name: str, period: str, sheet: str) -> str:
    """One period's cell of a period row (a period id or a selector such as the latest), by name where it has one."""
    return _scalar_ref(layout, layout.cells[(name, layout.select(name, period))], sheet)


def formula(e: Expr, layout: Layout, sheet: str, period: str | None, host: Cell | None = None,
            replace: dict[str, str] | None = None) -> str:
    """Excel formula text (with the leading ``=``) for expression ``e`` in cell ``host`` of ``sheet``/``period``.

    ``replace`` gives the text for some names instead of their cells (a grid cell's row and column inputs).
    """
    replace = replace or {}

    def scalar_ref(cell: Cell) -> str:
        return _scalar_ref(layout, cell, sheet)

    def span(first: Cell, last: Cell) -> str:
        text = f"{first.a1(True)}:{last.a1(True)}"
        return text if first.sheet == sheet else f"{first.sheet}!{text}"

    def leaf(node: Expr) -> str:
        match node:
            case Ref(name=n) if n in replace:
                return replace[n]
            case InputLink(name=n):
                return layout.model.series[n].figures[period].name
            case Ref(name=n) if n in layout.row_at and period is not SCALAR and (n, period) not in layout.cells:
                return layout.slot(n, period).qualified(sheet)  # an empty cell: a reported figure not given
            case Ref(name=n) if (n, period) in layout.cells and period is not SCALAR:
                return layout.cells[(n, period)].qualified(sheet)
            case Ref(name=n):
                return scalar_ref(layout.cell(n))
            case At(name=n, period=q):
                return _at(layout, n, q, sheet)
            case PriorYear(name=n) | Previous(name=n):
                return layout.cells[(n, layout.lagged(node, period))].qualified(sheet)
            case Across(name=n):
                return span(*layout.row_span(n, regular=True))
            case Span(name=n, first=a, last=b):
                return span(layout.cells[(n, a)], layout.cells[(n, b)])
            case Column(name=n):
                key = (n, period) if (n, period) in layout.customer_columns else (n, SCALAR)
                return layout.customer_columns[key].name
            case Label():
                return xl_rowcol_to_cell(host.row, LABEL, col_abs=True)
            case Block(names=ns):
                cells = [layout.cell(n) for n in ns]
                rows, cols = [c.row for c in cells], [c.col for c in cells]
                column = len({(c.sheet, c.col) for c in cells}) == 1 and rows == list(range(rows[0], rows[-1] + 1))
                row = len({(c.sheet, c.row) for c in cells}) == 1 and cols == list(range(cols[0], cols[-1] + 1))
                if not (column or row):
                    raise ValueError(f"block {ns} is not one contiguous column or row")
                return span(cells[0], cells[-1])
        raise TypeError(f"cannot render {node!r}")

    return "=" + _text(e, leaf)


def scenario_formula(e: Expr, layout: Layout, scenario: str, host: Cell) -> str:
    """A Summary comparison cell: ``e`` with every input that has scenario values read from ``scenario``'s
    column of the Inputs sheet. The host sits in that same column, so the reference is column-relative
    (``Inputs!D$40``) and one formula runs across the scenarios."""
    replace = {}
    for figure in layout.model.figures():
        if figure.scenarios:
            cell = layout.names[scenario_cell_name(figure.name, scenario)]
            if cell.col != host.col:
                raise ValueError(f"{host} is not in scenario {scenario}'s Inputs column")
            replace[figure.name] = f"{INPUTS}!{xl_rowcol_to_cell(cell.row, cell.col, row_abs=True)}"
    return formula(e, layout, host.sheet, SCALAR, host, replace)


_STEPS = "__steps"  # stands for a grid line's step count in the axis expression below


def grid_axis_formula(layout: Layout, input_name: str, step_name: str, steps_cell: str) -> str:
    """A sensitivity grid line's value: the input's active value plus its step count (``steps_cell``, e.g.
    ``$A25`` or ``E$12``) times the step size, so the grid stays centred on the active scenario."""
    return formula(Ref(input_name) + Ref(_STEPS) * Ref(step_name), layout, SENSITIVITY, SCALAR, None,
                   {_STEPS: steps_cell})


def scenario_pick_formula(layout: Layout, row: int) -> str:
    """The Value cell of an Inputs row with scenario values: the value in the column whose header the
    selector names. Relative in the row, so one formula runs down the Value column."""
    scenarios = layout.model.inputs.scenarios
    first, last = (layout.input_col(s) for s in (scenarios[0], scenarios[-1]))
    headers = f"{Cell(INPUTS, HEADER_ROW, first).a1(True)}:{Cell(INPUTS, HEADER_ROW, last).a1(True)}"
    values = f"{Cell(INPUTS, row, first).a1()}:{Cell(INPUTS, row, last).a1()}"
    return f"=SUMPRODUCT(({headers}={SCENARIO})*{values})"  # "=", not SUMIF: the selector's text is no pattern


def customer_formula(e: Expr, layout: Layout, period: str | None) -> str:
    """A Customers-sheet formula as a template: ``{r}`` is the customer's row, ``{a}`` the row above and
    ``{b}`` the row below (1-based), so one rendering serves every row of the column."""
    ledger_periods = layout.model.ledger.periods

    def letter(name: str, p: str | None) -> str:
        key = (name, p) if (name, p) in layout.customer_columns else (name, SCALAR)
        return xl_col_to_name(layout.customer_columns[key].col)

    def leaf(node: Expr) -> str:
        match node:
            case Ref(name=n) if (n, period) in layout.customer_columns or (n, SCALAR) in layout.customer_columns:
                return f"{letter(n, period)}{{r}}"
            case Ref(name=n):
                return _scalar_ref(layout, layout.cell(n), CUSTOMERS)
            case At(name=n, period=q) if (n, ledger_periods[0]) in layout.customer_columns:
                p = layout.model.axis.select(q, ledger_periods)
                return f"{letter(n, p)}{{r}}"
            case At(name=n, period=q):
                return _at(layout, n, q, CUSTOMERS)
            case Across(name=n):
                return f"{letter(n, ledger_periods[0])}{{r}}:{letter(n, ledger_periods[-1])}{{r}}"
            case Above(name=n):
                return f"{letter(n, period)}{{a}}"
            case Below(name=n):
                return f"{letter(n, period)}{{b}}"
        raise TypeError(f"cannot render {node!r} in a customer row")

    return "=" + _text(e, leaf)


def in_names(e: Expr) -> str:
    """The formula written in names, for the Audit sheet and trace: ``chat_revenue_eur/chat_paying_users``."""
    if isinstance(e, Coalesce):
        return f"{e.primary.name} where reported, else {in_names(e.fallback)}"

    def leaf(node: Expr) -> str:
        match node:
            case Ref(name=n) | InputLink(name=n):
                return n
            case At(name=n, period=q):
                return f"{n}[{SELECTORS.get(q, q)}]"
            case PriorYear(name=n):
                return f"{n}[a year earlier]"
            case Previous(name=n):
                return f"{n}[previous period]"
            case Across(name=n):
                return f"{n}[all periods]"
            case Span(name=n, first=a, last=b):
                return f"{n}[{a}..{b}]"
            case Block(names=ns):
                return f"{ns[0]}…{ns[-1]}"
            case Column(name=n):
                return f"{n}[all customers]"
            case Above(name=n):
                return f"{n}[row above]"
            case Below(name=n):
                return f"{n}[row below]"
            case Label():
                return "this row's label"
        raise TypeError(f"cannot render {node!r}")

    return _text(e, leaf)
