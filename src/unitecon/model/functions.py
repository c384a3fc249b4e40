"""The allow-list of spreadsheet functions, in one place.

Only functions that Excel, LibreOffice Calc and the ``formulas`` package evaluate alike may appear in
a metric. None reads a cell's text as a pattern: SUMIF, COUNTIF, MATCH and their kind would treat a
ledger label such as ``*`` or ``>0`` as a wildcard or a comparison, so text is matched with ``=``
inside SUMPRODUCT. Each entry gives the Excel name and the Python meaning the engine uses to compute the
cached values it writes. Anything else is refused when a metric is declared.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Function:
    name: str
    min_args: int
    max_args: int | None
    python: Callable[..., float]
    description: str


def _numbers(args: tuple[object, ...]) -> list[float]:
    """Flatten arguments the way SUM/MIN/MAX see them: ranges arrive as lists, blanks are skipped."""
    out: list[float] = []
    for arg in args:
        items = arg if isinstance(arg, list) else [arg]
        numbers = _floats(items)
        if numbers is not None:  # a column of numbers, such as 100,000 customers' revenue
            out.extend(numbers[~np.isnan(numbers)].tolist())
        else:
            out.extend(float(x) for x in items if x is not None and not (isinstance(x, float) and math.isnan(x)))
    return out


def _floats(items: list) -> np.ndarray | None:
    """``items`` as a float array when every one is a number (not TRUE/FALSE, text or a blank), else None."""
    if len(items) < 2 or not set(map(type, items)) <= {float, int}:
        return None
    return np.asarray(items, dtype=float)


def _min(*args: object) -> float:
    values = _numbers(args)
    return min(values) if values else 0.0


def _max(*args: object) -> float:
    values = _numbers(args)
    return max(values) if values else 0.0


def _cells(arg: object) -> list:
    return list(arg) if isinstance(arg, list) else [arg]


def _sumproduct(*arrays: object) -> float:
    columns = [_cells(a) for a in arrays]
    numbers = [_floats(c) for c in columns]
    if all(n is not None for n in numbers) and len({len(n) for n in numbers}) == 1:
        products = numbers[0]
        for n in numbers[1:]:
            products = products * n  # row by row, in the order the loop below multiplies
        return sum(products.tolist(), 0.0)
    total = 0.0
    for items in zip(*columns, strict=True):
        product = 1.0
        for x in items:
            # text, blanks and bare TRUE/FALSE count as 0, as in Excel (multiply a comparison by 1 first)
            product *= float(x) if isinstance(x, int | float) and not isinstance(x, bool) else 0.0
        total += product
    return total


def _median(*args: object) -> float:
    values = sorted(_numbers(args))
    n = len(values)
    if not n:
        return math.nan
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("ABS", 1, 1, lambda x: abs(x), "absolute value"),
        Function("SUM", 1, None, lambda *a: sum(_numbers(a)), "sum; blanks count as nothing"),
        Function("MIN", 1, None, _min, "smallest value; blanks skipped; 0 if none"),
        Function("MAX", 1, None, _max, "largest value; blanks skipped; 0 if none"),
        Function("COUNT", 1, None, lambda *a: float(len(_numbers(a))), "how many numbers"),
        Function("ISNUMBER", 1, 1, lambda x: isinstance(x, float) and not math.isnan(x), "is the cell a number"),
        Function("IF", 3, 3, lambda c, a, b: a if c else b, "one condition, two outcomes (no nesting)"),
        Function("SUMPRODUCT", 1, None, _sumproduct, "sum of the products of ranges of equal size"),
        Function("MEDIAN", 1, None, _median, "middle value; blanks skipped"),
    )
}


def lookup(name: str) -> Function:
    """The allow-listed function called ``name``; ValueError for anything not on the list."""
    try:
        return FUNCTIONS[name.upper()]
    except KeyError:
        allowed = ", ".join(sorted(FUNCTIONS))
        raise ValueError(f"function {name!r} is not on the allow-list ({allowed})") from None
