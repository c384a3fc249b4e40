"""Python evaluation of the expression tree: the cached values written beside each formula.

The tests recompute the written formulas instead and compare both with an independent reference."""

from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import ModelError, Problem
from ..geometry import SCENARIO
from ..limits import EXCEL_MAX
from .expr import (
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
from .functions import FUNCTIONS
from .inputs import scenario_header
from .metrics.families import customer_indicator
from .rows import SCALAR, Model, Row


def evaluate(model: Model) -> None:
    """Compute every row of ``model`` into its values: the cached values written beside the formulas."""
    values = model.values
    for s in model.series.values():
        for f in [*s.figures.values(), *s.alternatives]:
            values[(f.name, SCALAR)] = f.value
            if s.grain == "period" and f.alternative_of is None:
                values[(s.key, f.period)] = f.value
            for cell in f.scenario_cells():
                values[(cell.name, SCALAR)] = cell.value
    if model.inputs.scenarios:
        values[(SCENARIO, SCALAR)] = model.inputs.active_scenario
        values.update({(scenario_header(s), SCALAR): s for s in model.inputs.scenarios})
    if model.ledger is not None:
        customers = model.ledger.customers
        for p in model.ledger.periods:
            values[("customer_amount", p)] = customers[model.ledger.amount_column(p)].to_numpy(dtype=float)
        margins = model.inputs.ledger.margins
        if margins:
            column = customers[margins.column]
            lower = margins.column == "deployment"  # the ledger reader keeps deployments in lower case
            for segment in dict.fromkeys(margins.segments.values()):
                labels = [label.lower() if lower else label for label, s in margins.segments.items() if s == segment]
                values[(customer_indicator(segment), SCALAR)] = column.isin(labels).to_numpy(dtype=float)
        values[("customer_segment", SCALAR)] = customers["segment"].to_numpy(dtype=object)
        values[("customer_deployment", SCALAR)] = customers["deployment"].to_numpy(dtype=object)

    evaluate_rows(model, model.rows, values)


def evaluate_rows(model: Model, rows: list[Row], values: dict) -> None:
    """Compute ``rows`` (in dependency order) into ``values``, reading inputs and earlier rows from it."""
    period_rows = {s.key: s.periods for s in model.series.values() if s.grain == "period"}
    period_rows |= {r.name: r.periods for r in model.rows if r.grain in ("period", "customer_period")}
    if model.ledger is not None:
        period_rows["customer_amount"] = model.ledger.periods
    axis = model.axis

    def ev(e: Expr, p: str | None, row: Row):
        match e:
            case Num(value=v):
                return v
            case Ref(name=n) | InputLink(name=n) | Column(name=n):
                return values[(n, p)] if n in period_rows else values[(n, SCALAR)]
            case At(name=n, period=q):
                return values[(n, axis.select(q, period_rows[n]))]
            case PriorYear(name=n):
                return values[(n, axis.prior_year(p, period_rows[n]))]
            case Previous(name=n):
                return values[(n, axis.previous(p, period_rows[n]))]
            case Across(name=n) if row.per_customer:
                return np.column_stack([values[(n, q)] for q in period_rows[n]])
            case Across(name=n):
                return [values[(n, q)] for q in axis.regular(period_rows[n])]
            case Span(name=n, first=a, last=b):
                return [values[(n, q)] for q in axis.between(a, b, period_rows[n])]
            case Above(name=n):
                return np.concatenate([[0.0], values[(n, SCALAR)][:-1]])
            case Below(name=n):
                return np.concatenate([values[(n, SCALAR)][1:], [0.0]])
            case Label():
                return row.category
            case Block(names=ns):
                return np.array([values[(n, SCALAR)] for n in ns], dtype=object)
            case Neg(operand=o):
                return -ev(o, p, row)
            case Coalesce(primary=Ref(name=n), fallback=f):
                return values[(n, p)] if (n, p) in values else ev(f, p, row)
            case Call(func="ABS", args=(arg,)) if row.per_customer:
                return np.abs(ev(arg, p, row))
            case Call(func="SUM", args=(arg,)) if row.per_customer:
                table = ev(arg, p, row)  # one row of cells per customer: add left to right, as Excel does
                return functools.reduce(np.add, table.T)
            case Call(func=f, args=args):
                plain = [a.tolist() if isinstance(a, np.ndarray) else a for a in (ev(a, p, row) for a in args)]
                return FUNCTIONS[f].python(*plain)
            case BinOp(op="+", left=Above(name=n), right=rest) if n == row.name:
                steps = np.broadcast_to(np.asarray(ev(rest, p, row), dtype=float), (len(model.ledger.customers),))
                return np.add.accumulate(steps)  # a running total from the opening row's 0
            case BinOp(op=op, left=a, right=b):
                return _binop(op, ev(a, p, row), ev(b, p, row))
        raise TypeError(f"cannot evaluate {e!r}")

    for row in rows:
        for p in row.cells:
            if row.role == "link":
                continue
            try:
                result = ev(row.expr, p, row)
            except OverflowError:
                raise _not_a_cell_value(model, row, p, "the result is larger than a cell holds") from None
            except ValueError as exc:
                if "math domain error" not in str(exc):
                    raise
                raise _not_a_cell_value(model, row, p, "a power with no real result") from None
            array = np.asarray(result, dtype=float)
            if np.any(np.abs(array[~np.isnan(array)]) > EXCEL_MAX):
                raise _not_a_cell_value(model, row, p, "the result is larger than a cell holds")
            values[(row.name, p)] = array if row.per_customer else float(result)


def _not_a_cell_value(model: Model, row: Row, period: str | None, why: str) -> ModelError:
    """A row the engines would show as #NUM!: refused, so no cached value disagrees with them."""
    where = row.name if period in (None, SCALAR) else f"{row.name} ({period})"
    return ModelError(Problem(str(model.inputs.path), where, f"cannot be computed ({why}; Excel would show #NUM!); "
                                                            f"expected inputs of a size a spreadsheet can hold, "
                                                            f"within ±{EXCEL_MAX:.14E}"))


def _binop(op: str, a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return _array_binop(op, a, b)
    if op == "/":
        return a / b if b else math.nan
    if op == "^":
        return math.pow(a, b)
    return {
        "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
        "<=": lambda: a <= b, ">=": lambda: a >= b, "<": lambda: a < b, ">": lambda: a > b, "=": lambda: a == b,
    }[op]()


def _array_binop(op: str, a, b):
    """Element-wise, as a formula copied down a column computes it: TRUE/FALSE count as 1/0, x/0 is NaN."""
    a, b = (np.asarray(x, dtype=float) if np.asarray(x).dtype == bool else x for x in (a, b))
    if op in ("<=", ">=", "<", ">", "="):
        return {"<=": np.less_equal, ">=": np.greater_equal, "<": np.less, ">": np.greater,
                "=": np.equal}[op](a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        if op == "/":
            b = np.asarray(b, dtype=float)
            return np.where(b != 0, np.divide(a, np.where(b != 0, b, 1.0)), np.nan)
        return {"+": np.add, "-": np.subtract, "*": np.multiply, "^": np.power}[op](a, b)

