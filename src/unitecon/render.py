"""Expression trees to text: Excel formula text for a cell, and the same formula written in names.

This is the one module where Excel formula text comes from. References to a row in the same period
are relative (``E12``), so one formula copies across the time axis; references to scalars go through
their workbook-scoped defined name where one exists (``usd_cny``), else an absolute address.
"""

from __future__ import annotations

from collections.abc import Callable

from .expr import LATEST, PRECEDENCE, Across, At, BinOp, Block, Call, Coalesce, Expr, InputLink, Neg, Num, Ref
from .layout import Cell, Layout
from .model import SCALAR

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


def formula(e: Expr, layout: Layout, sheet: str, period: str | None) -> str:
    """Excel formula text (with the leading ``=``) for expression ``e`` in a cell of ``sheet``/``period``."""

    def scalar_ref(cell: Cell) -> str:
        return layout.name_at(cell) or cell.qualified(sheet, absolute=True)

    def span(first: Cell, last: Cell) -> str:
        text = f"{first.a1(True)}:{last.a1(True)}"
        return text if first.sheet == sheet else f"{first.sheet}!{text}"

    def leaf(node: Expr) -> str:
        match node:
            case InputLink(name=n):
                return layout.model.series[n].figures[period].name
            case Ref(name=n) if n in layout.row_at and period is not SCALAR and (n, period) not in layout.cells:
                return layout.slot(n, period).qualified(sheet)  # an empty cell: a reported figure not given
            case Ref(name=n) if (n, period) in layout.cells and period is not SCALAR:
                return layout.cells[(n, period)].qualified(sheet)
            case Ref(name=n):
                return scalar_ref(layout.cell(n))
            case At(name=n, period=q):
                return scalar_ref(layout.cells[(n, q)] if q != LATEST else layout.row_span(n)[1])
            case Across(name=n):
                return span(*layout.row_span(n))
            case Block(names=ns):
                cells = [layout.cell(n) for n in ns]
                rows = [c.row for c in cells]
                if len({(c.sheet, c.col) for c in cells}) != 1 or rows != list(range(rows[0], rows[0] + len(rows))):
                    raise ValueError(f"block {ns} is not one contiguous column")
                return span(cells[0], cells[-1])
        raise TypeError(f"cannot render {node!r}")

    return "=" + _text(e, leaf)


def in_names(e: Expr) -> str:
    """The formula written in names, for the Audit sheet and trace: ``hailuo_revenue_usd/hailuo_paying_users``."""
    if isinstance(e, Coalesce):
        return f"{e.primary.name} where reported, else {in_names(e.fallback)}"

    def leaf(node: Expr) -> str:
        match node:
            case Ref(name=n) | InputLink(name=n):
                return n
            case At(name=n, period=q):
                return f"{n}[{'latest' if q == LATEST else q}]"
            case Across(name=n):
                return f"{n}[all periods]"
            case Block(names=ns):
                return f"{ns[0]}…{ns[-1]}"
        raise TypeError(f"cannot render {node!r}")

    return _text(e, leaf)
